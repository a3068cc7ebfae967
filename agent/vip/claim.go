package vip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"
)

// PacketAnnounceWatcher watches a segment for another host claiming our virtual
// addresses: an ARP packet (gratuitous ARP, or a reply) whose sender address is one of
// them and whose sender hardware address is not ours. A router that handed its VIPs over
// releases them at that moment (agent/vrrp handover.go): from then on the clients'
// neighbour entries point at the successor.
//
// The watch starts when the successor's advert has been read, and the successor sends its
// gratuitous ARPs right after that advert: on a busy host they can pass before the watch's
// socket is open. So once it is open the watch asks for each address with an ARP probe
// (RFC 5227 2.1.1: sender address 0.0.0.0, which no receiver's neighbour cache learns
// from); a successor that already holds the address answers, and its reply is a claim.
//
// Only IPv4 is watched; for IPv6 addresses Watch returns at once and the handover ends
// on its timer.
type PacketAnnounceWatcher struct{}

// WatchAnnouncements reads ARP on ifname until ctx ends and calls seen for each claim
// of one of addrs by another host. It returns nil when ctx ends.
func (PacketAnnounceWatcher) WatchAnnouncements(ctx context.Context, ifname string, addrs []netip.Addr, seen func(netip.Addr)) error {
	var v4 []netip.Addr
	for _, a := range addrs {
		if a = a.Unmap(); a.Is4() {
			v4 = append(v4, a)
		}
	}
	if len(v4) == 0 {
		return nil
	}
	ifi, err := interfaceByName(ifname)
	if err != nil {
		return fmt.Errorf("watch ARP on %s: %w", ifname, err)
	}
	c, err := packet.Listen(ifi, packet.Raw, unix.ETH_P_ARP, nil)
	if err != nil {
		return fmt.Errorf("watch ARP on %s: open packet socket: %w", ifname, err)
	}
	for _, a := range v4 {
		frame, err := ARPProbeFrame(ifi.HardwareAddr, a)
		if err == nil {
			_, err = c.WriteTo(frame, &packet.Addr{HardwareAddr: ethernet.Broadcast})
		}
		if err != nil {
			c.Close()
			return fmt.Errorf("watch ARP on %s: ask who holds %v: %w", ifname, a, err)
		}
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
		}
		c.Close()
	}()
	buf := make([]byte, 1500)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("watch ARP on %s: %w", ifname, err)
		}
		if a, ok := ClaimedBy(buf[:n], ifi.HardwareAddr, v4); ok {
			seen(a)
		}
	}
}

// ClaimedBy reports whether an Ethernet frame is an ARP packet by which another host
// (a sender hardware address other than own) claims one of addrs, and which.
func ClaimedBy(frame []byte, own net.HardwareAddr, addrs []netip.Addr) (netip.Addr, bool) {
	var f ethernet.Frame
	if err := f.UnmarshalBinary(frame); err != nil || f.EtherType != ethernet.EtherTypeARP {
		return netip.Addr{}, false
	}
	var p arp.Packet
	if err := p.UnmarshalBinary(f.Payload); err != nil {
		return netip.Addr{}, false
	}
	if bytes.Equal(p.SenderHardwareAddr, own) || bytes.Equal(f.Source, own) {
		return netip.Addr{}, false
	}
	if !slices.Contains(addrs, p.SenderIP) {
		return netip.Addr{}, false
	}
	return p.SenderIP, true
}
