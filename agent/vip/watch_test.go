package vip

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// expect reads events until want arrives. Events of the other kind (address
// versus link) are skipped, since the kernel adds and drops link-local
// addresses as links flap; a different event of the same kind fails.
func expect(t *testing.T, events <-chan Event, want Event) {
	t.Helper()
	timeout := time.After(3 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("event channel closed while waiting for %#v", want)
			}
			if ev == want {
				return
			}
			if isLinkEvent(ev) == isLinkEvent(want) {
				t.Fatalf("got %#v, want %#v", ev, want)
			}
		case <-timeout:
			t.Fatalf("no %#v within 3s", want)
		}
	}
}

func isLinkEvent(ev Event) bool {
	switch ev.(type) {
	case LinkUp, LinkDown:
		return true
	}
	return false
}

func TestWatchSeesRemovedAddressAndLinkDownUp(t *testing.T) {
	t.Parallel()
	ns := hostWithLink(t)
	b := NewBinder(handle(t, ns))
	vip := VIP{Prefix: netip.MustParsePrefix("198.51.100.10/32"), Dev: "eth0"}
	if _, err := b.Add(vip); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	events, err := Watch(ctx, nsHandle(t, ns), []string{"eth0"})
	if err != nil {
		t.Fatal(err)
	}

	expect(t, events, LinkUp{Ifname: "eth0"}) // the initial state
	run(t, "ip", "-n", ns, "addr", "del", "198.51.100.10/32", "dev", "eth0")
	expect(t, events, AddrRemoved{Ifname: "eth0", Prefix: vip.Prefix})
	if _, err := b.Add(vip); err != nil {
		t.Fatal(err)
	}
	expect(t, events, AddrAdded{Ifname: "eth0", Prefix: vip.Prefix})

	run(t, "ip", "-n", ns, "link", "set", "peer0", "down")
	expect(t, events, LinkDown{Ifname: "eth0", Reason: "no carrier"})
	run(t, "ip", "-n", ns, "link", "set", "peer0", "up")
	expect(t, events, LinkUp{Ifname: "eth0"})
	run(t, "ip", "-n", ns, "link", "set", "eth0", "down")
	expect(t, events, LinkDown{Ifname: "eth0", Reason: "admin down"})
	run(t, "ip", "-n", ns, "link", "set", "eth0", "up")
	expect(t, events, LinkUp{Ifname: "eth0"})
	run(t, "ip", "-n", ns, "link", "del", "eth0")
	// The kernel closes a device before unregistering it.
	expect(t, events, LinkDown{Ifname: "eth0", Reason: "admin down"})
	expect(t, events, LinkDown{Ifname: "eth0", Reason: "deleted"})

	cancel()
	timeout := time.After(3 * time.Second)
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("event channel still open 3s after the context ended")
		}
	}
}

// TestWatchFiltersInterfaces: peer0 changes are not reported when only eth0
// is watched; an eth0 change made afterwards is the next link event.
func TestWatchFiltersInterfaces(t *testing.T) {
	t.Parallel()
	ns := hostWithLink(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	events, err := Watch(ctx, nsHandle(t, ns), []string{"eth0"})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, events, LinkUp{Ifname: "eth0"})
	run(t, "ip", "-n", ns, "addr", "add", "198.51.100.99/32", "dev", "peer0")
	run(t, "ip", "-n", ns, "addr", "add", "198.51.100.1/32", "dev", "eth0")
	expect(t, events, AddrAdded{Ifname: "eth0", Prefix: netip.MustParsePrefix("198.51.100.1/32")})
}

func TestWatchAllInterfacesWhenNoneNamed(t *testing.T) {
	t.Parallel()
	ns := hostWithLink(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	events, err := Watch(ctx, nsHandle(t, ns), nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	timeout := time.After(3 * time.Second)
	for !seen["lo"] || !seen["eth0"] || !seen["peer0"] {
		select {
		case ev := <-events:
			if up, ok := ev.(LinkUp); ok {
				seen[up.Ifname] = true
			}
		case <-timeout:
			t.Fatalf("initial LinkUp seen for %v, want lo, eth0, peer0", seen)
		}
	}
}
