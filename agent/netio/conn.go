package netio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Packet is one received VRRP packet.
type Packet struct {
	Src, Dst netip.Addr
	// TTL is the IPv4 TTL or the IPv6 hop limit the packet arrived with.
	TTL int
	// IfIndex is the index of the interface the packet arrived on.
	IfIndex int
	// Data is the VRRP payload, the IP header stripped. It aliases the
	// buffer given to ReadPacket.
	Data []byte
	// At is when the packet was read from the socket.
	At time.Time
}

// transport is the family-specific half of a Conn.
type transport interface {
	// read returns one packet. A non-nil error that is not a socket error
	// (see isSocketError) means this one packet was unusable.
	read(buf []byte) (Packet, error)
	write(payload []byte, src, dst netip.Addr) error
	setReadDeadline(t time.Time) error
	close() error
}

// Conn is a raw VRRP socket on one interface for one address family. It is
// safe for one reader and any number of writers at the same time.
type Conn struct {
	family  Family
	ifname  string
	ifindex int
	t       transport
	rc      syscall.RawConn // the socket, for Pending and ReadBatch
	dropped atomic.Uint64
	batch   *batch // ReadBatch's buffers, from its first call (one reader at a time)
}

// Listen opens a raw protocol-112 socket in the current network namespace,
// binds it to the device ifname so that packets of other interfaces are not
// received, and (unless UnicastOnly) joins the VRRP group of the family on
// that interface. Multicast loopback is off: the Conn never reads its own
// adverts.
func Listen(ifname string, family Family, opts ...Option) (*Conn, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("listen VRRP on %s: %w", ifname, err)
	}
	network, address := "ip4:112", "0.0.0.0"
	if family == IPv6 {
		network, address = "ip6:112", "::"
	} else if family != IPv4 {
		return nil, fmt.Errorf("listen VRRP on %s: unsupported family %v", ifname, family)
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		return setupSocket(rc, ifname, o.receiveBuffer)
	}}
	pc, err := lc.ListenPacket(context.Background(), network, address)
	if err != nil {
		return nil, fmt.Errorf("open raw %v VRRP socket on %s: %w", family, ifname, err)
	}
	ipc := pc.(*net.IPConn)
	var group netip.Addr
	if o.joinGroup {
		group = family.Group()
		if o.group.IsValid() {
			if FamilyOf(o.group) != family || !o.group.IsMulticast() {
				ipc.Close()
				return nil, fmt.Errorf("listen VRRP on %s: %s is not an %v multicast group", ifname, o.group, family)
			}
			group = o.group
		}
	}
	var t transport
	if family == IPv4 {
		t, err = newIPv4Transport(ipc, ifi, group)
	} else {
		t, err = newIPv6Transport(ipc, ifi, group)
	}
	if err != nil {
		ipc.Close()
		return nil, fmt.Errorf("set up %v VRRP socket on %s: %w", family, ifname, err)
	}
	rc, err := ipc.SyscallConn()
	if err != nil {
		t.close()
		return nil, fmt.Errorf("set up %v VRRP socket on %s: %w", family, ifname, err)
	}
	return &Conn{family: family, ifname: ifname, ifindex: ifi.Index, t: t, rc: rc}, nil
}

// setupSocket runs before bind: pin the socket to the device and make its
// receive queue large.
func setupSocket(rc syscall.RawConn, ifname string, rcvbuf int) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		if serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifname); serr != nil {
			serr = fmt.Errorf("bind to device %s: %w", ifname, serr)
			return
		}
		if rcvbuf <= 0 {
			return
		}
		// SO_RCVBUFFORCE ignores net.core.rmem_max but needs CAP_NET_ADMIN.
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf) != nil {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf); serr != nil {
				serr = fmt.Errorf("set receive buffer: %w", serr)
			}
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// Pending reports whether a packet waits in the socket's receive queue, read by nobody
// yet. A reader that was not scheduled for a while leaves adverts there; whoever
// decides that nobody advertised checks this first (see agent: receiveQueued).
func (c *Conn) Pending() bool {
	if c.rc == nil {
		return false
	}
	n := 0
	err := c.rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, _ = unix.Poll(fds, 0)
	})
	return err == nil && n > 0
}

// Family is the address family of the Conn.
func (c *Conn) Family() Family { return c.family }

// Ifname is the interface the Conn is bound to.
func (c *Conn) Ifname() string { return c.ifname }

// IfIndex is the index of the interface the Conn is bound to.
func (c *Conn) IfIndex() int { return c.ifindex }

// Dropped counts packets ReadPacket discarded before returning: unparsable
// headers, or packets that arrived on another interface before the socket
// was bound to its device.
func (c *Conn) Dropped() uint64 { return c.dropped.Load() }

// ReadPacket blocks until a packet arrives and returns it; Data aliases buf.
// A packet that cannot be parsed is skipped and counted (Dropped), never
// returned as an error: ReadPacket fails only when the socket does (it was
// closed, or a read deadline passed), so a hostile packet cannot end a
// receive loop.
func (c *Conn) ReadPacket(buf []byte) (Packet, error) {
	for {
		p, err := c.t.read(buf)
		if err != nil {
			if isSocketError(err) {
				return Packet{}, fmt.Errorf("read VRRP on %s: %w", c.ifname, err)
			}
			c.dropped.Add(1)
			continue
		}
		if p.IfIndex != 0 && p.IfIndex != c.ifindex {
			c.dropped.Add(1)
			continue
		}
		p.At = time.Now()
		return p, nil
	}
}

// isSocketError reports whether err is a failure of the socket rather than
// of one received packet.
func isSocketError(err error) bool {
	var errno syscall.Errno
	return errors.Is(err, net.ErrClosed) ||
		errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.As(err, &errno)
}

// WriteTo sends payload, a complete VRRP packet with its checksum, to dst:
// the family's group or a unicast peer. The packet leaves with TTL / hop
// limit 255 and TOS / traffic class 0xc0. An invalid src lets the kernel pick
// the interface's primary address (for IPv6 with a link-scope destination,
// its link-local address); a valid one is used as is (unicast_src_ip,
// mcast_src_ip).
func (c *Conn) WriteTo(payload []byte, src, dst netip.Addr) error {
	if FamilyOf(dst) != c.family {
		return fmt.Errorf("send VRRP on %s: destination %v is not %v", c.ifname, dst, c.family)
	}
	if src.IsValid() && FamilyOf(src) != c.family {
		return fmt.Errorf("send VRRP on %s: source %v is not %v", c.ifname, src, c.family)
	}
	if err := c.t.write(payload, src.Unmap(), dst.Unmap()); err != nil {
		return fmt.Errorf("send VRRP on %s to %v: %w", c.ifname, dst, err)
	}
	return nil
}

// SetReadDeadline makes a blocked or future ReadPacket fail once t passes;
// the zero time means no deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.t.setReadDeadline(t) }

// Close closes the socket; a blocked ReadPacket returns an error wrapping
// net.ErrClosed.
func (c *Conn) Close() error { return c.t.close() }
