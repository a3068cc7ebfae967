package netio

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/ipv4"
)

// ipv4Transport sends with IP_HDRINCL so that it controls the whole header
// as keepalived does: TOS 0xc0, TTL 255, no DF, and any source address
// (mcast_src_ip / unicast_src_ip) without a bind. Reading the header back
// gives the TTL, source and destination without extra control messages.
type ipv4Transport struct {
	raw *ipv4.RawConn
}

var errNoControlMessage = errors.New("packet without control message")

func newIPv4Transport(ipc *net.IPConn, ifi *net.Interface, group netip.Addr) (*ipv4Transport, error) {
	raw, err := ipv4.NewRawConn(ipc)
	if err != nil {
		return nil, err
	}
	if err := raw.SetControlMessage(ipv4.FlagInterface, true); err != nil {
		return nil, err
	}
	if err := raw.SetMulticastInterface(ifi); err != nil {
		return nil, err
	}
	if err := raw.SetMulticastTTL(vrrpTTL); err != nil {
		return nil, err
	}
	if err := raw.SetMulticastLoopback(false); err != nil {
		return nil, err
	}
	if group.IsValid() {
		if err := raw.JoinGroup(ifi, &net.IPAddr{IP: group.AsSlice()}); err != nil {
			return nil, err
		}
	}
	return &ipv4Transport{raw: raw}, nil
}

func (t *ipv4Transport) read(buf []byte) (Packet, error) {
	h, payload, cm, err := t.raw.ReadFrom(buf)
	if err != nil {
		return Packet{}, err
	}
	if cm == nil {
		return Packet{}, errNoControlMessage
	}
	src, _ := netip.AddrFromSlice(h.Src.To4())
	dst, _ := netip.AddrFromSlice(h.Dst.To4())
	return Packet{Src: src, Dst: dst, TTL: h.TTL, IfIndex: cm.IfIndex, Data: payload}, nil
}

func (t *ipv4Transport) write(payload []byte, src, dst netip.Addr) error {
	h := &ipv4.Header{
		Version:  ipv4.Version,
		Len:      ipv4.HeaderLen,
		TOS:      tosCS6,
		TotalLen: ipv4.HeaderLen + len(payload),
		TTL:      vrrpTTL,
		Protocol: ProtocolVRRP,
		Dst:      dst.AsSlice(),
		// ID and checksum zero: the kernel fills them in. Src nil (0.0.0.0):
		// the kernel uses the route's source, the device's primary address.
	}
	if src.IsValid() {
		h.Src = src.AsSlice()
	}
	return t.raw.WriteTo(h, payload, nil)
}

func (t *ipv4Transport) setReadDeadline(d time.Time) error { return t.raw.SetReadDeadline(d) }

func (t *ipv4Transport) close() error { return t.raw.Close() }
