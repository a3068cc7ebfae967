package netio

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// sourceIn is SourceAddr run inside ns.
func sourceIn(t *testing.T, ns, ifname string, family Family, ignore func(netip.Addr) bool) (netip.Addr, error) {
	t.Helper()
	var addr netip.Addr
	var serr error
	if err := InNamespace(ns, func() error {
		addr, serr = SourceAddr(ifname, family, ignore)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return addr, serr
}

// Why an interface has no source address, in words for the FAULT reason: it does not
// exist, it has none, the only one is a VIP of ours, or the IPv6 link-local one is still
// tentative.
func TestSourceAddrSaysWhyThereIsNone(t *testing.T) {
	t.Parallel()
	a, _ := pair(t)

	if _, err := sourceIn(t, a.ns, "bond7", IPv4, nil); !errors.Is(err, ErrNoInterface) {
		t.Errorf("missing interface: err %v, want ErrNoInterface", err)
	}

	run(t, "ip", "-n", a.ns, "-4", "addr", "flush", "dev", a.ifname)
	if _, err := sourceIn(t, a.ns, a.ifname, IPv4, nil); err == nil || err.Error() != a.ifname+" has no primary IPv4 address" {
		t.Errorf("no IPv4 address: err %v", err)
	}
	vip := netip.MustParseAddr("192.0.2.109")
	run(t, "ip", "-n", a.ns, "addr", "add", vip.String()+"/32", "dev", a.ifname)
	isVIP := func(x netip.Addr) bool { return x == vip }
	if got, err := sourceIn(t, a.ns, a.ifname, IPv4, isVIP); err == nil {
		t.Errorf("only a VIP on the interface: source %v, want none", got)
	}
	if got, err := sourceIn(t, a.ns, a.ifname, IPv4, nil); err != nil || got != vip {
		t.Errorf("nothing ignored: %v, %v; want %v", got, err, vip)
	}

	run(t, "ip", "-n", a.ns, "-6", "addr", "flush", "dev", a.ifname, "scope", "link")
	if _, err := sourceIn(t, a.ns, a.ifname, IPv6, nil); err == nil || err.Error() != a.ifname+" has no IPv6 link-local address" {
		t.Errorf("no link-local address: err %v", err)
	}
	// Duplicate address detection on (the namespace has it off) with many probes: the
	// address stays tentative long after this test has looked.
	run(t, "ip", "netns", "exec", a.ns, "sysctl", "-q", "-w",
		"net.ipv6.conf."+a.ifname+".accept_dad=1", "net.ipv6.conf."+a.ifname+".dad_transmits=100")
	run(t, "ip", "-n", a.ns, "addr", "add", "fe80::77/64", "dev", a.ifname)
	if _, err := sourceIn(t, a.ns, a.ifname, IPv6, nil); err == nil || !strings.Contains(err.Error(), "fe80::77 is tentative") {
		t.Errorf("tentative link-local address: err %v", err)
	}
}
