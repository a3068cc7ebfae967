package netio

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

func checkPacket(t *testing.T, p Packet, src, dst netip.Addr, ifindex int, payload string) {
	t.Helper()
	if p.Src != src || p.Dst != dst || p.TTL != 255 || p.IfIndex != ifindex || string(p.Data) != payload {
		t.Errorf("got src=%v dst=%v ttl=%d ifindex=%d data=%q, want src=%v dst=%v ttl=255 ifindex=%d data=%q",
			p.Src, p.Dst, p.TTL, p.IfIndex, p.Data, src, dst, ifindex, payload)
	}
	if p.At.IsZero() {
		t.Error("receive time not set")
	}
}

func TestIPv4MulticastAdvertArrivesWithTTL255(t *testing.T) {
	t.Parallel()
	a, b := pair(t)
	ca, cb := listen(t, a, IPv4), listen(t, b, IPv4)

	send(t, ca, "advert", netip.Addr{}, GroupIPv4)
	checkPacket(t, read(t, cb), a.v4, GroupIPv4, b.ifindex, "advert")
}

func TestIPv4ExplicitSourceIsUsedAndPrimarySkipsSecondary(t *testing.T) {
	t.Parallel()
	a, b := pair(t)
	run(t, "ip", "-n", a.ns, "addr", "add", "192.0.2.100/24", "dev", a.ifname) // secondary
	ca, cb := listen(t, a, IPv4), listen(t, b, IPv4)

	if got := primary(t, a, IPv4); got != a.v4 {
		t.Errorf("PrimaryAddr = %v, want %v (not the secondary)", got, a.v4)
	}
	src := netip.MustParseAddr("192.0.2.100")
	send(t, ca, "from secondary", src, GroupIPv4)
	checkPacket(t, read(t, cb), src, GroupIPv4, b.ifindex, "from secondary")
}

func TestMulticastLoopbackIsOff(t *testing.T) {
	t.Parallel()
	for _, family := range []Family{IPv4, IPv6} {
		t.Run(family.String(), func(t *testing.T) {
			t.Parallel()
			a, b := pair(t)
			ca, cb := listen(t, a, family), listen(t, b, family)
			srcA, srcB := primary(t, a, family), primary(t, b, family)

			send(t, ca, "own", srcA, family.Group())
			checkPacket(t, read(t, cb), srcA, family.Group(), b.ifindex, "own")
			// A's own advert left before B's reply was sent: with loopback on
			// it would be queued on A ahead of the reply.
			send(t, cb, "reply", srcB, family.Group())
			checkPacket(t, read(t, ca), srcB, family.Group(), a.ifindex, "reply")
		})
	}
}

func TestUnicastOnlyReceivesUnicastNotGroup(t *testing.T) {
	t.Parallel()
	for _, family := range []Family{IPv4, IPv6} {
		t.Run(family.String(), func(t *testing.T) {
			t.Parallel()
			a, b := pair(t)
			ca, cb := listen(t, a, family, UnicastOnly()), listen(t, b, family, UnicastOnly())
			srcA, dstB := a.v4, b.v4
			if family == IPv6 {
				srcA, dstB = a.v6, b.v6
			}

			send(t, ca, "group", srcA, family.Group())
			send(t, ca, "unicast", srcA, dstB)
			checkPacket(t, read(t, cb), srcA, dstB, b.ifindex, "unicast")
		})
	}
}

func TestIPv6MulticastAdvertFromLinkLocal(t *testing.T) {
	t.Parallel()
	a, b := pair(t)
	ca, cb := listen(t, a, IPv6), listen(t, b, IPv6)
	ll := primary(t, a, IPv6)
	if !ll.IsLinkLocalUnicast() {
		t.Fatalf("PrimaryAddr(IPv6) = %v, want a link-local address", ll)
	}

	send(t, ca, "explicit", ll, GroupIPv6)
	checkPacket(t, read(t, cb), ll, GroupIPv6, b.ifindex, "explicit")
	// Without a source the kernel picks the link-local one for ff02::12.
	send(t, ca, "default", netip.Addr{}, GroupIPv6)
	checkPacket(t, read(t, cb), ll, GroupIPv6, b.ifindex, "default")
}

func TestSocketIsBoundToItsDevice(t *testing.T) {
	t.Parallel()
	nsA, nsB, nsC := newNamespace(t), newNamespace(t), newNamespace(t)
	a, b1 := link(t, nsA, "eth0", 1, nsB, "eth1", 2)
	c, b2 := link(t, nsC, "eth0", 3, nsB, "eth2", 4)
	ca, cc := listen(t, a, IPv4), listen(t, c, IPv4)
	cb1, cb2 := listen(t, b1, IPv4), listen(t, b2, IPv4)

	send(t, ca, "from A", netip.Addr{}, GroupIPv4)
	checkPacket(t, read(t, cb1), a.v4, GroupIPv4, b1.ifindex, "from A")
	send(t, cc, "from C", netip.Addr{}, GroupIPv4)
	// A's advert reached B before C's was sent; eth2's socket must skip it.
	checkPacket(t, read(t, cb2), c.v4, GroupIPv4, b2.ifindex, "from C")
	if cb2.Dropped() != 0 {
		t.Errorf("eth2 socket dropped %d packets: it saw another interface's traffic", cb2.Dropped())
	}
}

// TestHostilePacketsDoNotEndReadLoop sends from a plain raw socket what no
// VRRP speaker would: empty and oversized payloads, IP options, TTL 1. Each
// is handed over as data (judging it is the codec's job) and the loop goes on.
func TestHostilePacketsDoNotEndReadLoop(t *testing.T) {
	t.Parallel()
	a, b := pair(t)
	cb := listen(t, b, IPv4)

	big := bytes.Repeat([]byte{0xff}, 1400)
	type hostile struct {
		payload []byte
		options []byte
		ttl     int
	}
	packets := []hostile{
		{payload: nil, ttl: 255},
		{payload: []byte{0x21}, ttl: 255},
		{payload: big, ttl: 255},
		{payload: []byte("with options"), options: []byte{1, 1, 1, 0}, ttl: 255}, // NOP NOP NOP EOL
		{payload: []byte("ttl one"), ttl: 1},
	}
	err := InNamespace(a.ns, func() error {
		pc, err := net.ListenPacket("ip4:112", "0.0.0.0")
		if err != nil {
			return err
		}
		defer pc.Close()
		raw, err := ipv4.NewRawConn(pc)
		if err != nil {
			return err
		}
		for _, p := range packets {
			h := &ipv4.Header{
				Version: 4, Len: ipv4.HeaderLen + len(p.options), TotalLen: ipv4.HeaderLen + len(p.options) + len(p.payload),
				TTL: p.ttl, Protocol: ProtocolVRRP, Dst: b.v4.AsSlice(), Options: p.options,
			}
			if err := raw.WriteTo(h, p.payload, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("send hostile packets: %v", err)
	}
	for i, want := range packets {
		got := read(t, cb)
		if !bytes.Equal(got.Data, want.payload) || got.TTL != want.ttl || got.Src != a.v4 {
			t.Errorf("packet %d: got data %q ttl %d src %v, want %q ttl %d src %v",
				i, trim(got.Data), got.TTL, got.Src, trim(want.payload), want.ttl, a.v4)
		}
	}
	ca := listen(t, a, IPv4)
	send(t, ca, "real advert", netip.Addr{}, GroupIPv4)
	checkPacket(t, read(t, cb), a.v4, GroupIPv4, b.ifindex, "real advert")
}

func trim(b []byte) []byte {
	if len(b) > 16 {
		return b[:16]
	}
	return b
}

func TestCloseEndsBlockedRead(t *testing.T) {
	t.Parallel()
	_, b := pair(t)
	cb := listen(t, b, IPv4)
	errc := make(chan error, 1)
	go func() {
		_, err := cb.ReadPacket(make([]byte, 1500))
		errc <- err
	}()
	// Close may run before the read blocks; either way the read must end.
	if err := cb.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("read after close: %v, want net.ErrClosed", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("ReadPacket still blocked 3s after Close")
	}
}

func TestWriteToRejectsWrongFamily(t *testing.T) {
	t.Parallel()
	a, _ := pair(t)
	ca := listen(t, a, IPv4)
	if err := ca.WriteTo([]byte("x"), netip.Addr{}, GroupIPv6); err == nil {
		t.Error("IPv4 conn sent to an IPv6 destination")
	}
	if err := ca.WriteTo([]byte("x"), a.v6, GroupIPv4); err == nil {
		t.Error("IPv4 conn sent from an IPv6 source")
	}
}

func TestReceiveBufferIsAtLeastOneMiB(t *testing.T) {
	t.Parallel()
	a, _ := pair(t)
	ca := listen(t, a, IPv4)
	rc, err := ca.t.(*ipv4Transport).raw.IPConn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var size int
	var serr error
	if err := rc.Control(func(fd uintptr) {
		size, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	}); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	if size < defaultReceiveBuffer {
		t.Errorf("SO_RCVBUF = %d, want >= %d", size, defaultReceiveBuffer)
	}
}

func TestListenUnknownInterfaceFails(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	err := InNamespace(ns, func() error {
		c, err := Listen("nosuch0", IPv4)
		if err == nil {
			c.Close()
		}
		return err
	})
	if err == nil {
		t.Error("Listen on a missing interface succeeded")
	}
}

func TestIsSocketError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "read", Err: net.ErrClosed}, true},
		{&net.OpError{Op: "read", Err: unix.EBADF}, true},
		{&net.OpError{Op: "read", Err: errors.New("header too short")}, false},
		{errNoControlMessage, false},
	}
	for _, c := range cases {
		if got := isSocketError(c.err); got != c.want {
			t.Errorf("isSocketError(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// Pending sees a packet the kernel queued for the socket and nobody read yet, and not
// once it is read.
func TestPendingUntilRead(t *testing.T) {
	t.Parallel()
	a, b := pair(t)
	ca, cb := listen(t, a, IPv4), listen(t, b, IPv4)
	if cb.Pending() {
		t.Fatal("Pending before anything was sent")
	}
	send(t, ca, "queued", netip.Addr{}, GroupIPv4)
	deadline := time.Now().Add(5 * time.Second)
	for !cb.Pending() {
		if time.Now().After(deadline) {
			t.Fatal("the advert sent is not pending 5 s later")
		}
		time.Sleep(time.Millisecond)
	}
	checkPacket(t, read(t, cb), a.v4, GroupIPv4, b.ifindex, "queued")
	if cb.Pending() {
		t.Fatal("still pending after the only packet was read")
	}
	var zero Conn
	if zero.Pending() {
		t.Fatal("a Conn without a socket has nothing pending")
	}
}
