package netio

import (
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/ipv6"
)

// ipv6Transport uses the kernel's IPv6 header (raw IPv6 sockets cannot
// prepend their own) and per-packet control messages for hop limit,
// interface and source. IPV6_CHECKSUM stays off: the VRRP checksum,
// pseudo-header included, is the caller's.
type ipv6Transport struct {
	ifindex int
	pc      *ipv6.PacketConn
}

func newIPv6Transport(ipc *net.IPConn, ifi *net.Interface, group netip.Addr) (*ipv6Transport, error) {
	pc := ipv6.NewPacketConn(ipc)
	if err := pc.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true); err != nil {
		return nil, err
	}
	if err := pc.SetMulticastInterface(ifi); err != nil {
		return nil, err
	}
	if err := pc.SetMulticastHopLimit(vrrpTTL); err != nil {
		return nil, err
	}
	if err := pc.SetHopLimit(vrrpTTL); err != nil {
		return nil, err
	}
	if err := pc.SetMulticastLoopback(false); err != nil {
		return nil, err
	}
	if err := pc.SetTrafficClass(tosCS6); err != nil {
		return nil, err
	}
	if group.IsValid() {
		if err := pc.JoinGroup(ifi, &net.IPAddr{IP: group.AsSlice()}); err != nil {
			return nil, err
		}
	}
	return &ipv6Transport{ifindex: ifi.Index, pc: pc}, nil
}

func (t *ipv6Transport) read(buf []byte) (Packet, error) {
	n, cm, from, err := t.pc.ReadFrom(buf)
	if err != nil {
		return Packet{}, err
	}
	if cm == nil {
		return Packet{}, errNoControlMessage
	}
	var src netip.Addr
	if ipa, ok := from.(*net.IPAddr); ok {
		src, _ = netip.AddrFromSlice(ipa.IP)
	}
	dst, _ := netip.AddrFromSlice(cm.Dst)
	return Packet{Src: src, Dst: dst, TTL: cm.HopLimit, IfIndex: cm.IfIndex, Data: buf[:n]}, nil
}

func (t *ipv6Transport) write(payload []byte, src, dst netip.Addr) error {
	cm := &ipv6.ControlMessage{HopLimit: vrrpTTL, IfIndex: t.ifindex}
	if src.IsValid() {
		cm.Src = src.AsSlice()
	}
	_, err := t.pc.WriteTo(payload, cm, &net.IPAddr{IP: dst.AsSlice()})
	return err
}

func (t *ipv6Transport) setReadDeadline(d time.Time) error { return t.pc.SetReadDeadline(d) }

func (t *ipv6Transport) close() error { return t.pc.Close() }
