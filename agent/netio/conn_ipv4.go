package netio

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// ipv4Transport sends with IP_HDRINCL so that it controls the whole header
// as keepalived does: TOS 0xc0, TTL 255, no DF, and any source address
// (mcast_src_ip / unicast_src_ip) without a bind. Reading the header back
// gives the TTL, source and destination without extra control messages.
type ipv4Transport struct {
	raw *ipv4.RawConn
	rc  syscall.RawConn // reads, one read(2) per packet
	// ifindex is the device the socket is bound to (SO_BINDTODEVICE): the one every
	// packet it reads arrived on.
	ifindex int
}

var (
	errNoControlMessage = errors.New("packet without control message")
	errShortHeader      = errors.New("packet without a whole IPv4 header")
)

func newIPv4Transport(ipc *net.IPConn, ifi *net.Interface, group netip.Addr) (*ipv4Transport, error) {
	raw, err := ipv4.NewRawConn(ipc)
	if err != nil {
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
	rc, err := ipc.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &ipv4Transport{raw: raw, rc: rc, ifindex: ifi.Index}, nil
}

// read takes one packet with read(2): a raw IPv4 socket returns the IP header with
// the payload, which gives the source, destination and TTL, and the socket is bound to
// its device, so the interface needs no control message. x/net's ReadFrom took a
// recvmsg, a getsockopt (for the source's address family) and allocations for the
// header and the control message, per packet; at 255 instances a backup reads 255
// adverts a second.
func (t *ipv4Transport) read(buf []byte) (Packet, error) {
	var n int
	var rerr error
	err := t.rc.Read(func(fd uintptr) bool {
		n, rerr = unix.Read(int(fd), buf)
		return rerr != unix.EAGAIN
	})
	if err != nil {
		return Packet{}, err
	}
	if rerr != nil {
		return Packet{}, os.NewSyscallError("read", rerr)
	}
	p, err := parseIPv4(buf[:n])
	p.IfIndex = t.ifindex
	return p, err
}

// parseIPv4 splits a raw socket's IPv4 packet into its header fields and payload.
func parseIPv4(b []byte) (Packet, error) {
	if len(b) < ipv4.HeaderLen || b[0]>>4 != 4 {
		return Packet{}, errShortHeader
	}
	hl := int(b[0]&0x0f) * 4
	if hl < ipv4.HeaderLen || hl > len(b) {
		return Packet{}, errShortHeader
	}
	end := len(b)
	if total := int(binary.BigEndian.Uint16(b[2:4])); total >= hl && total < end {
		end = total // trailing bytes beyond the IP datagram (none on Linux)
	}
	return Packet{
		Src:  netip.AddrFrom4([4]byte(b[12:16])),
		Dst:  netip.AddrFrom4([4]byte(b[16:20])),
		TTL:  int(b[8]),
		Data: b[hl:end],
	}, nil
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
