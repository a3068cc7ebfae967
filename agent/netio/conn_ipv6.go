package netio

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// ipv6Transport uses the kernel's IPv6 header (raw IPv6 sockets cannot
// prepend their own) and per-packet control messages for hop limit,
// interface and source. IPV6_CHECKSUM stays off: the VRRP checksum,
// pseudo-header included, is the caller's.
type ipv6Transport struct {
	ifindex int
	pc      *ipv6.PacketConn
	rc      syscall.RawConn // writes, one sendmsg(2) per packet
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
	rc, err := ipc.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &ipv6Transport{ifindex: ifi.Index, pc: pc, rc: rc}, nil
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

// The control messages of every advert: the interface and source (IPV6_PKTINFO) and
// the hop limit (IPV6_HOPLIMIT), each aligned as CMSG_SPACE lays them out.
var (
	pktinfoSpace  = unix.CmsgSpace(unix.SizeofInet6Pktinfo)
	hoplimitSpace = unix.CmsgSpace(4)
)

// write sends the packet with one sendmsg(2) whose control messages it lays out itself,
// without the runtime's syscall entry, as the IPv4 transport's write does and for the
// same reasons: the socket is non-blocking (EAGAIN waits in the netpoller), and the
// entry woke the runtime's sysmon thread for every advert of an idle agent. x/net's
// WriteTo also allocated the control messages and the destination's address each time;
// at 1 000 instances half of a master's adverts are IPv6 (issue 14).
func (t *ipv6Transport) write(payload []byte, src, dst netip.Addr) error {
	var oob [64]byte // pktinfoSpace + hoplimitSpace: 32 + 16 on 64-bit Linux
	n := pktinfoSpace + hoplimitSpace
	if n > len(oob) {
		panic("netio: IPv6 control messages larger than their buffer")
	}
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level, h.Type = unix.IPPROTO_IPV6, unix.IPV6_PKTINFO
	h.SetLen(unix.CmsgLen(unix.SizeofInet6Pktinfo))
	pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&oob[unix.CmsgLen(0)]))
	if src.IsValid() {
		pi.Addr = src.As16()
	}
	pi.Ifindex = uint32(t.ifindex)
	h = (*unix.Cmsghdr)(unsafe.Pointer(&oob[pktinfoSpace]))
	h.Level, h.Type = unix.IPPROTO_IPV6, unix.IPV6_HOPLIMIT
	h.SetLen(unix.CmsgLen(4))
	binary.NativeEndian.PutUint32(oob[pktinfoSpace+unix.CmsgLen(0):], vrrpTTL)

	to := unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: dst.As16()}
	iov := unix.Iovec{Base: unsafe.SliceData(payload)}
	iov.SetLen(len(payload))
	msg := unix.Msghdr{
		Name:    (*byte)(unsafe.Pointer(&to)),
		Namelen: unix.SizeofSockaddrInet6,
		Iov:     &iov,
		Control: &oob[0],
	}
	msg.SetIovlen(1)
	msg.SetControllen(n)
	var errno syscall.Errno
	err := t.rc.Write(func(fd uintptr) bool {
		_, _, errno = unix.RawSyscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&msg)), 0)
		return errno != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	if errno != 0 {
		return os.NewSyscallError("sendmsg", errno)
	}
	return nil
}

func (t *ipv6Transport) setReadDeadline(d time.Time) error { return t.pc.SetReadDeadline(d) }

func (t *ipv6Transport) close() error { return t.pc.Close() }
