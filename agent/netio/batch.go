package netio

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BatchSize is how many packets one ReadBatch takes from the socket at most.
const BatchSize = 16

// maxPacket holds the largest VRRP packet there is: VRRPv3 over IPv6 with 255
// addresses is 8 + 255 × 16 bytes (the kernel strips the IPv6 header), VRRPv2 over
// IPv4 with its header and options at most 60 + 8 + 255 × 4 + 8. A longer datagram is
// truncated and fails the receive checks as it would whole.
const maxPacket = 4160

// oobSize holds an IPv6 packet's hop limit and packet info control messages.
const oobSize = 128

// batch is a Conn's receive state for recvmmsg(2): the message headers and what they
// point at, allocated once with the Conn's first ReadBatch and reused.
type batch struct {
	hdrs  [BatchSize]unix.Mmsghdr
	iovs  [BatchSize]unix.Iovec
	names [BatchSize]unix.RawSockaddrInet6
	oob   [BatchSize][oobSize]byte
	bufs  [BatchSize][maxPacket]byte
}

func newBatch() *batch {
	b := new(batch)
	for k := range b.hdrs {
		b.iovs[k].Base = &b.bufs[k][0]
		b.iovs[k].SetLen(maxPacket)
		h := &b.hdrs[k].Hdr
		h.Iov = &b.iovs[k]
		h.SetIovlen(1)
	}
	return b
}

// ReadBatch blocks until at least one packet arrives, then takes every packet the
// socket holds, up to len(ps) and BatchSize, with one recvmmsg(2), and fills ps in the
// order they arrived. Each Packet's Data aliases the Conn's buffers until the next
// ReadBatch. Unparsable packets are skipped and counted (Dropped) as by ReadPacket; it
// fails only when the socket does.
//
// Why: a backup of hundreds of instances receives their adverts as one burst every
// advert interval (the masters send on one grid); a read(2) each, and a park in the
// netpoller whenever the reader has caught up, cost more than the state machine's work.
func (c *Conn) ReadBatch(ps []Packet) (int, error) {
	if c.rc == nil {
		return 0, fmt.Errorf("read VRRP on %s: no raw socket", c.ifname)
	}
	if c.batch == nil {
		c.batch = newBatch()
	}
	b := c.batch
	want := min(len(ps), BatchSize)
	if want == 0 {
		return 0, nil
	}
	for {
		for k := range want {
			h := &b.hdrs[k]
			h.Len = 0
			h.Hdr.Name = (*byte)(unsafe.Pointer(&b.names[k]))
			h.Hdr.Namelen = unix.SizeofSockaddrInet6
			h.Hdr.Control = &b.oob[k][0]
			h.Hdr.SetControllen(oobSize)
			h.Hdr.Flags = 0
		}
		var got int
		var rerr syscall.Errno
		err := c.rc.Read(func(fd uintptr) bool {
			// RawSyscall: the socket is non-blocking (MSG_DONTWAIT too), so the call
			// returns at once; the runtime's syscall entry would wake its sysmon
			// thread from its sleep on every burst, for nothing.
			r, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(want), unix.MSG_DONTWAIT, 0, 0)
			got, rerr = int(r), errno
			return errno != unix.EAGAIN
		})
		if err != nil {
			return 0, fmt.Errorf("read VRRP on %s: %w", c.ifname, err)
		}
		if rerr != 0 {
			return 0, fmt.Errorf("read VRRP on %s: %w", c.ifname, os.NewSyscallError("recvmmsg", rerr))
		}
		now := time.Now()
		n := 0
		for k := range got {
			h := &b.hdrs[k]
			size := min(int(h.Len), maxPacket)
			var p Packet
			var perr error
			if c.family == IPv4 {
				p, perr = parseIPv4(b.bufs[k][:size])
				p.IfIndex = c.ifindex
			} else {
				p, perr = parseIPv6(b.bufs[k][:size], &b.names[k], b.oob[k][:h.Hdr.Controllen])
			}
			if perr != nil || (p.IfIndex != 0 && p.IfIndex != c.ifindex) {
				c.dropped.Add(1)
				continue
			}
			p.At = now
			ps[n] = p
			n++
		}
		if n > 0 {
			return n, nil
		}
	}
}

// parseIPv6 makes a Packet of what recvmmsg(2) gave for one IPv6 datagram: its payload
// (the kernel strips the IPv6 header), the sender's address and the control messages
// for the hop limit and the destination and interface (IPV6_RECVHOPLIMIT and
// IPV6_RECVPKTINFO, set by newIPv6Transport).
func parseIPv6(data []byte, from *unix.RawSockaddrInet6, oob []byte) (Packet, error) {
	p := Packet{Data: data}
	seen := false
	if from.Family == unix.AF_INET6 {
		p.Src = netip.AddrFrom16(from.Addr)
	}
	hdrLen := unix.CmsgLen(0)
	for len(oob) >= hdrLen {
		l := int(binary.NativeEndian.Uint64(oob[0:8]))
		level := int32(binary.NativeEndian.Uint32(oob[8:12]))
		typ := int32(binary.NativeEndian.Uint32(oob[12:16]))
		if l < hdrLen || l > len(oob) {
			break
		}
		d := oob[hdrLen:l]
		if level == unix.IPPROTO_IPV6 {
			seen = true
			switch {
			case typ == unix.IPV6_HOPLIMIT && len(d) >= 4:
				p.TTL = int(int32(binary.NativeEndian.Uint32(d[:4])))
			case typ == unix.IPV6_PKTINFO && len(d) >= unix.SizeofInet6Pktinfo:
				p.Dst = netip.AddrFrom16([16]byte(d[:16]))
				p.IfIndex = int(binary.NativeEndian.Uint32(d[16:20]))
			}
		}
		next := unix.CmsgSpace(l - hdrLen)
		if next > len(oob) {
			break
		}
		oob = oob[next:]
	}
	if !seen {
		// As x/net's ReadFrom without a control message.
		return Packet{}, errNoControlMessage
	}
	return p, nil
}
