package vip

import (
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestAddAndRemoveAreIdempotent(t *testing.T) {
	t.Parallel()
	ns := hostWithLink(t)
	b := NewBinder(handle(t, ns))
	for _, p := range []string{"198.51.100.10/32", "fd00::10/128"} {
		v := VIP{Prefix: netip.MustParsePrefix(p), Dev: "eth0"}
		steps := []struct {
			name    string
			op      func(VIP) (bool, error)
			changed bool
			present bool
		}{
			{"add", b.Add, true, true},
			{"add again", b.Add, false, true},
			{"remove", b.Remove, true, false},
			{"remove again", b.Remove, false, false},
		}
		for _, s := range steps {
			changed, err := s.op(v)
			if err != nil || changed != s.changed {
				t.Errorf("%s %s: changed=%v err=%v, want changed=%v", s.name, p, changed, err, s.changed)
			}
			list, err := b.List("eth0")
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Contains(list, v.Prefix); got != s.present {
				t.Errorf("after %s %s: listed=%v, want %v (list %v)", s.name, p, got, s.present, list)
			}
		}
	}
}

func findAddr(t *testing.T, h *netlink.Handle, ifname string, ip netip.Addr) netlink.Addr {
	t.Helper()
	l, err := h.LinkByName(ifname)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := h.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if got, _ := netip.AddrFromSlice(a.IP); got.Unmap() == ip {
			return a
		}
	}
	t.Fatalf("%v not on %s: %v", ip, ifname, addrs)
	return netlink.Addr{}
}

func TestAddHonoursLabelScopeBroadcastAndMask(t *testing.T) {
	t.Parallel()
	ns := hostWithLink(t)
	h := handle(t, ns)
	b := NewBinder(h)
	v := VIP{
		Prefix:    netip.MustParsePrefix("198.51.100.10/24"),
		Dev:       "eth0",
		Label:     "eth0:1",
		Scope:     "link",
		Broadcast: netip.MustParseAddr("198.51.100.255"),
	}
	if _, err := b.Add(v); err != nil {
		t.Fatal(err)
	}
	a := findAddr(t, h, "eth0", v.Prefix.Addr())
	if ones, _ := a.Mask.Size(); ones != 24 {
		t.Errorf("mask /%d, want /24", ones)
	}
	if a.Label != "eth0:1" || a.Scope != unix.RT_SCOPE_LINK || !a.Broadcast.Equal(net.ParseIP("198.51.100.255")) {
		t.Errorf("label %q scope %d brd %v, want eth0:1 %d 198.51.100.255", a.Label, a.Scope, a.Broadcast, unix.RT_SCOPE_LINK)
	}

	plain := VIP{Prefix: netip.MustParsePrefix("203.0.113.20/24"), Dev: "eth0"}
	if _, err := b.Add(plain); err != nil {
		t.Fatal(err)
	}
	a = findAddr(t, h, "eth0", plain.Prefix.Addr())
	if a.Broadcast != nil || a.Scope != unix.RT_SCOPE_UNIVERSE || a.Label != "eth0" {
		t.Errorf("without options: brd %v scope %d label %q, want no brd (as keepalived), global, eth0", a.Broadcast, a.Scope, a.Label)
	}

	numeric := VIP{Prefix: netip.MustParsePrefix("198.51.100.30/32"), Dev: "eth0", Scope: "254"}
	if _, err := b.Add(numeric); err != nil {
		t.Fatal(err)
	}
	if a = findAddr(t, h, "eth0", numeric.Prefix.Addr()); a.Scope != unix.RT_SCOPE_HOST {
		t.Errorf("scope %d, want 254 (host)", a.Scope)
	}
}

// TestIPv6VIPSkipsDAD: DAD is on in this namespace, so without nodad the
// address would stay tentative (unusable) for about a second.
func TestIPv6VIPSkipsDAD(t *testing.T) {
	t.Parallel()
	ns := hostWithLink(t)
	h := handle(t, ns)
	v := VIP{Prefix: netip.MustParsePrefix("fd00::10/64"), Dev: "eth0"}
	if _, err := NewBinder(h).Add(v); err != nil {
		t.Fatal(err)
	}
	a := findAddr(t, h, "eth0", v.Prefix.Addr())
	if a.Flags&unix.IFA_F_NODAD == 0 || a.Flags&unix.IFA_F_TENTATIVE != 0 {
		t.Errorf("flags %#x, want nodad and not tentative", a.Flags)
	}
	if ones, _ := a.Mask.Size(); ones != 64 {
		t.Errorf("mask /%d, want /64", ones)
	}
}

func TestRemoveMatchesAddressNotLabel(t *testing.T) {
	t.Parallel()
	ns := hostWithLink(t)
	b := NewBinder(handle(t, ns))
	p := netip.MustParsePrefix("198.51.100.10/32")
	if _, err := b.Add(VIP{Prefix: p, Dev: "eth0", Label: "eth0:vip"}); err != nil {
		t.Fatal(err)
	}
	if changed, err := b.Remove(VIP{Prefix: p, Dev: "eth0"}); !changed || err != nil {
		t.Errorf("remove without label: changed=%v err=%v, want true nil", changed, err)
	}
}

func TestMissingDevice(t *testing.T) {
	t.Parallel()
	ns := hostWithLink(t)
	b := NewBinder(handle(t, ns))
	v := VIP{Prefix: netip.MustParsePrefix("198.51.100.10/32"), Dev: "nosuch0"}
	if _, err := b.Add(v); err == nil {
		t.Error("add on a missing device succeeded")
	}
	if changed, err := b.Remove(v); changed || err != nil {
		t.Errorf("remove from a missing device: changed=%v err=%v, want false nil (nothing to remove)", changed, err)
	}
	if _, err := b.List("nosuch0"); err == nil {
		t.Error("list of a missing device succeeded")
	}
}

func TestAddRejectsWhatTheKernelWouldMisapply(t *testing.T) {
	t.Parallel()
	b := NewBinder(nil) // validation fails before any netlink call
	p4 := netip.MustParsePrefix("198.51.100.10/32")
	bad := map[string]VIP{
		"label of another device": {Prefix: p4, Dev: "eth0", Label: "eth1:1"},
		"label too long":          {Prefix: p4, Dev: "eth0", Label: "eth0:0123456789a"},
		"unknown scope":           {Prefix: p4, Dev: "eth0", Scope: "galaxy"},
		"scope out of range":      {Prefix: p4, Dev: "eth0", Scope: "256"},
		"IPv6 broadcast":          {Prefix: netip.MustParsePrefix("fd00::1/128"), Dev: "eth0", Broadcast: netip.MustParseAddr("fd00::ff")},
		"no device":               {Prefix: p4},
		"no prefix":               {Dev: "eth0"},
	}
	for name, v := range bad {
		if _, err := b.Add(v); err == nil {
			t.Errorf("%s: Add(%v) accepted", name, v)
		}
	}
}

func TestParseScope(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"": 0, "global": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255, "Host": 254, "0x10": 16, "7": 7} {
		if got, err := ParseScope(in); err != nil || got != want {
			t.Errorf("ParseScope(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

// TestAddAfterTheDeviceWasRecreated: the binder keeps the device it looked up (one
// request per VIP), and a device deleted and created again under the same name (a new
// index) is found again: the VIP lands on the new one, and removing it works.
func TestAddAfterTheDeviceWasRecreated(t *testing.T) {
	t.Parallel()
	ns := hostWithLink(t)
	h := handle(t, ns)
	b := NewBinder(h)
	v := VIP{Prefix: netip.MustParsePrefix("198.51.100.10/32"), Dev: "eth0"}
	if _, err := b.Add(v); err != nil {
		t.Fatal(err)
	}
	run(t, "ip", "-n", ns, "link", "del", "eth0")
	run(t, "ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "peer0")
	run(t, "ip", "-n", ns, "link", "set", "eth0", "up")
	if changed, err := b.Add(v); err != nil || !changed {
		t.Fatalf("add on the re-created eth0: changed=%v err=%v, want changed", changed, err)
	}
	findAddr(t, h, "eth0", v.Prefix.Addr())
	if changed, err := b.Remove(v); err != nil || !changed {
		t.Fatalf("remove from the re-created eth0: changed=%v err=%v, want changed", changed, err)
	}
}
