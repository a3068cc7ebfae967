package vip

import (
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// linkLocal gives the interface's link-local address once DAD has passed: not while it
// is tentative, and not a global address (a nodad VIP) instead of it.
func TestLinkLocalSkipsTentativeAndGlobal(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, false)
	run(t, "ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "peer0")
	run(t, "ip", "-n", ns, "link", "set", "eth0", "addrgenmode", "none") // no link-local of its own
	run(t, "ip", "-n", ns, "link", "set", "eth0", "up")
	run(t, "ip", "-n", ns, "link", "set", "peer0", "up")
	waitOperUp(t, ns, "eth0")
	h := handle(t, ns)
	link, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	idx := link.Attrs().Index
	ll := func() (a netip.Addr) {
		inNamespace(t, ns, func() error { a = linkLocal(idx); return nil })
		return a
	}
	run(t, "ip", "-n", ns, "addr", "add", "fd00:189::1/128", "dev", "eth0", "nodad")
	if a := ll(); a.IsValid() {
		t.Fatalf("linkLocal = %v with only a global address, want none", a)
	}
	want := netip.MustParseAddr("fe80::99")
	run(t, "ip", "-n", ns, "addr", "add", "fe80::99/64", "dev", "eth0") // DAD: tentative for about a second
	tentative := func() bool {
		addrs, err := h.AddrList(link, netlink.FAMILY_V6)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range addrs {
			if ip, _ := netip.AddrFromSlice(a.IP); ip == want {
				return a.Flags&unix.IFA_F_TENTATIVE != 0
			}
		}
		t.Fatalf("%v not on eth0", want)
		return false
	}
	if !tentative() {
		t.Fatal("fe80::99 passed DAD at once: the test cannot see a tentative address")
	}
	a := ll()
	if tentative() && a.IsValid() {
		t.Fatalf("linkLocal = %v while fe80::99 is tentative, want none", a)
	}
	deadline := time.Now().Add(10 * time.Second)
	for tentative() {
		if time.Now().After(deadline) {
			t.Fatal("fe80::99 still tentative after 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if a := ll(); a != want {
		t.Fatalf("linkLocal = %v after DAD, want %v", a, want)
	}
}
