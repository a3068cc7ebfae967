package netio

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
	"unsafe"

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

// write sends the packet with one sendto(2) of a header it builds itself (IP_HDRINCL)
// without the runtime's syscall entry: the socket is non-blocking, so the call returns
// at once, and a full send buffer (EAGAIN) waits in the netpoller as any write does.
// The entry would wake the runtime's sysmon thread from its sleep for every advert of
// an otherwise idle agent; x/net's WriteTo also allocated the header and a message
// each time.
func (t *ipv4Transport) write(payload []byte, src, dst netip.Addr) error {
	pkt := make([]byte, ipv4.HeaderLen+len(payload))
	h := pkt[:ipv4.HeaderLen]
	h[0] = ipv4.Version<<4 | ipv4.HeaderLen>>2
	h[1] = tosCS6
	binary.BigEndian.PutUint16(h[2:4], uint16(len(pkt)))
	// ID, flags (no DF, as keepalived) and checksum zero: the kernel fills in the ID
	// and the checksum. Source 0.0.0.0 unless given: the kernel uses the route's
	// source, the device's primary address.
	h[8] = vrrpTTL
	h[9] = ProtocolVRRP
	if src.IsValid() {
		copy(h[12:16], src.AsSlice())
	}
	copy(h[16:20], dst.AsSlice())
	copy(pkt[ipv4.HeaderLen:], payload)
	to := unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: dst.As4()}
	var errno syscall.Errno
	err := t.rc.Write(func(fd uintptr) bool {
		_, _, errno = unix.RawSyscall6(unix.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&pkt[0])), uintptr(len(pkt)),
			0, uintptr(unsafe.Pointer(&to)), unix.SizeofSockaddrInet4)
		return errno != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	if errno != 0 {
		return os.NewSyscallError("sendto", errno)
	}
	return nil
}

func (t *ipv4Transport) setReadDeadline(d time.Time) error { return t.raw.SetReadDeadline(d) }

func (t *ipv4Transport) close() error { return t.raw.Close() }
