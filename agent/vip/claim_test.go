package vip

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/agent/netio"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
)

func TestClaimedBy(t *testing.T) {
	t.Parallel()
	own := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x71}
	other := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x72}
	client := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x10}
	vip := netip.MustParseAddr("192.168.188.109")
	addrs := []netip.Addr{vip}
	garp := func(mac net.HardwareAddr, ip netip.Addr) []byte {
		b, err := GARPFrame(mac, ip)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	reply := func(mac net.HardwareAddr, ip netip.Addr) []byte {
		p, err := arp.NewPacket(arp.OperationReply, mac, ip, client, netip.MustParseAddr("192.168.188.10"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := p.MarshalBinary()
		return ethFrame(client, mac, ethernet.EtherTypeARP, body)
	}
	request := func() []byte {
		p, _ := arp.NewPacket(arp.OperationRequest, client, netip.MustParseAddr("192.168.188.10"), ethernet.Broadcast, vip)
		body, _ := p.MarshalBinary()
		return ethFrame(ethernet.Broadcast, client, ethernet.EtherTypeARP, body)
	}
	for _, tc := range []struct {
		name  string
		frame []byte
		want  bool
	}{
		{"successor's gratuitous ARP", garp(other, vip), true},
		{"successor's ARP reply for the VIP", reply(other, vip), true},
		{"our own gratuitous ARP", garp(own, vip), false},
		{"another address", garp(other, netip.MustParseAddr("192.168.188.110")), false},
		{"a client asking for the VIP", request(), false},
		{"not ARP", ethFrame(ethernet.Broadcast, other, ethernet.EtherTypeIPv4, make([]byte, 28)), false},
		{"truncated", garp(other, vip)[:20], false},
	} {
		got, ok := ClaimedBy(tc.frame, own, addrs)
		if ok != tc.want || (ok && got != vip) {
			t.Errorf("%s: ClaimedBy = %v, %v; want %v", tc.name, got, ok, tc.want)
		}
	}
}

// TestWatchSeesAClaimMadeBeforeItStarted: the successor bound the VIP and announced it
// before the watch opened its socket (a busy host reads the successor's advert late); the
// watch's ARP probe makes the successor's kernel answer, and that answer is the claim.
// Then a gratuitous ARP sent while the watch runs is seen too.
func TestWatchSeesAClaimMadeBeforeItStarted(t *testing.T) {
	t.Parallel()
	succ, old := vethPair(t)
	vip := netip.MustParseAddr("198.51.100.109")
	// Both hold it, as during a handover: the old master until it sees the claim.
	run(t, "ip", "-n", old, "addr", "add", vip.String()+"/32", "dev", "eth0")
	run(t, "ip", "-n", succ, "addr", "add", vip.String()+"/32", "dev", "eth0")

	ctx, cancel := context.WithCancel(context.Background())
	seen := make(chan netip.Addr, 16)
	done := make(chan error, 1)
	go func() {
		done <- netio.InNamespace(old, func() error {
			return PacketAnnounceWatcher{}.WatchAnnouncements(ctx, "eth0", []netip.Addr{vip}, func(a netip.Addr) { seen <- a })
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watch: %v", err)
		}
	})
	wait := func(what string) {
		t.Helper()
		select {
		case a := <-seen:
			if a != vip {
				t.Fatalf("%s: claim of %v, want %v", what, a, vip)
			}
		case err := <-done:
			t.Fatalf("%s: the watch ended: %v", what, err)
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no claim of %v seen in 5 s", what, vip)
		}
	}
	wait("the successor's answer to the probe")
	for len(seen) > 0 {
		<-seen
	}
	inNamespace(t, succ, func() error { return NewAnnouncer().Announce("eth0", []netip.Addr{vip}, 1) })
	wait("the successor's gratuitous ARP")
}

func TestARPProbeFrame(t *testing.T) {
	t.Parallel()
	mac := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x71}
	vip := netip.MustParseAddr("192.168.188.109")
	b, err := ARPProbeFrame(mac, vip)
	if err != nil {
		t.Fatal(err)
	}
	var f ethernet.Frame
	if err := f.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	var p arp.Packet
	if err := p.UnmarshalBinary(f.Payload); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Destination, ethernet.Broadcast) || p.Operation != arp.OperationRequest ||
		!bytes.Equal(p.SenderHardwareAddr, mac) || p.SenderIP != netip.IPv4Unspecified() || p.TargetIP != vip {
		t.Errorf("probe %+v in %+v: want a broadcast request from %v, sender 0.0.0.0, target %v", p, f, mac, vip)
	}
	// Our own watch must not take its probe for a claim, nor anyone's probe.
	if _, ok := ClaimedBy(b, net.HardwareAddr{0x02, 0, 0, 0, 0, 0x72}, []netip.Addr{vip}); ok {
		t.Error("an ARP probe counted as a claim")
	}
}
