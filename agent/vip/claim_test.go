package vip

import (
	"net"
	"net/netip"
	"testing"

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
