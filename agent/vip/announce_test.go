package vip

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"golang.org/x/net/ipv6"
)

// TestAnnounceReachesThePeer announces an IPv4 and an IPv6 VIP from one
// namespace and reads them in another: the GARP byte for byte from a packet
// socket, the NA through an ICMPv6 socket, which only delivers it if the
// kernel accepted its checksum and hop limit.
func TestAnnounceReachesThePeer(t *testing.T) {
	t.Parallel()
	nsA, nsB := vethPair(t)
	llA := waitLinkLocal(t, nsA, "eth0")
	waitLinkLocal(t, nsB, "eth0") // the ICMPv6 socket binds to it

	arpConn := listenARP(t, nsB)
	var (
		ndpConn *ndp.Conn
		macA    net.HardwareAddr
	)
	inNamespace(t, nsA, func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		macA = ifi.HardwareAddr
		return nil
	})
	inNamespace(t, nsB, func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		if ndpConn, _, err = ndp.Listen(ifi, ndp.LinkLocal); err != nil {
			return err
		}
		return ndpConn.SetControlMessage(ipv6.FlagHopLimit, true)
	})
	t.Cleanup(func() { ndpConn.Close() })

	v4, v6 := netip.MustParseAddr("198.51.100.10"), netip.MustParseAddr("fd00::10")
	inNamespace(t, nsA, func() error { return NewAnnouncer().Announce("eth0", []netip.Addr{v4, v6}, 1) })

	want, err := GARPFrame(macA, v4)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	if err := arpConn.SetReadDeadline(deadline); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	for {
		n, _, err := arpConn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no gratuitous ARP received: %v", err)
		}
		if bytes.Equal(buf[:n], want) {
			break
		}
	}

	if err := ndpConn.SetReadDeadline(deadline); err != nil {
		t.Fatal(err)
	}
	for {
		m, cm, from, err := ndpConn.ReadFrom()
		if err != nil {
			t.Fatalf("no neighbor advertisement received: %v", err)
		}
		na, ok := m.(*ndp.NeighborAdvertisement)
		if !ok || na.TargetAddress != v6 {
			continue // router solicitations, MLD-triggered traffic
		}
		if !na.Override || na.Solicited || from.WithZone("") != llA || cm == nil || cm.HopLimit != 255 {
			t.Errorf("NA %+v from %v hop limit %v, want override, unsolicited, from %v, hop limit 255", na, from, cm, llA)
		}
		return
	}
}

func TestAnnounceNeedsEthernet(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t, true)
	err := func() (err error) {
		inNamespace(t, ns, func() error {
			err = NewAnnouncer().Announce("lo", []netip.Addr{netip.MustParseAddr("127.0.0.2")}, 1)
			return nil
		})
		return err
	}()
	if err == nil {
		t.Error("announce on loopback succeeded")
	}
}

// TestAnnounceKeepsItsSocketAcrossBursts: one socket per interface and EtherType for
// every burst (opening and closing one per burst held a thread per instance in the RCU
// wait of the close), and a new one once the interface was re-created, so the GARPs
// still leave after `ip link del` + `add`.
func TestAnnounceKeepsItsSocketAcrossBursts(t *testing.T) {
	t.Parallel()
	nsA, nsB := newNamespace(t, true), newNamespace(t, true)
	mkLink := func() {
		run(t, "ip", "-n", nsA, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", nsB)
		run(t, "ip", "-n", nsA, "link", "set", "eth0", "up")
		run(t, "ip", "-n", nsB, "link", "set", "eth0", "up")
		waitOperUp(t, nsA, "eth0")
		waitOperUp(t, nsB, "eth0")
	}
	mkLink()
	an := NewAnnouncer()
	t.Cleanup(an.Close)
	v4 := netip.MustParseAddr("198.51.100.10")
	announce := func() { inNamespace(t, nsA, func() error { return an.Announce("eth0", []netip.Addr{v4}, 1) }) }
	socketOf := func() *packet.Conn {
		t.Helper()
		an.mu.Lock()
		defer an.mu.Unlock()
		if len(an.conns) != 1 {
			t.Fatalf("announcer holds %d sockets, want 1", len(an.conns))
		}
		for _, c := range an.conns {
			return c.c
		}
		return nil
	}
	announce()
	first := socketOf()
	announce()
	if socketOf() != first {
		t.Fatal("the second burst opened a new socket")
	}

	run(t, "ip", "-n", nsA, "link", "del", "eth0")
	mkLink()
	arpConn := listenARP(t, nsB)
	// A burst of three rounds: three gratuitous ARPs, on the new socket.
	inNamespace(t, nsA, func() error { return an.Announce("eth0", []netip.Addr{v4}, 3) })
	if socketOf() == first {
		t.Fatal("a burst after the interface was re-created used the socket of the old one")
	}
	if err := arpConn.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	for seen := 0; seen < 3; {
		n, _, err := arpConn.ReadFrom(buf)
		if err != nil {
			t.Fatalf("%d of 3 gratuitous ARPs on the re-created interface: %v", seen, err)
		}
		if n >= 42 && bytes.Equal(buf[38:42], v4.AsSlice()) {
			seen++
		}
	}
	// And no fourth: the burst was sent at once, so 200 ms is ample.
	if err := arpConn.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	for {
		n, _, err := arpConn.ReadFrom(buf)
		if err != nil {
			return
		}
		if n >= 42 && bytes.Equal(buf[38:42], v4.AsSlice()) {
			t.Fatal("a fourth gratuitous ARP from a burst of three")
		}
	}
}

// TestAnnounceUsesTheMACOfTheMoment: the interface's MAC changed between two bursts (a
// bond whose active slave changed, with fail_over_mac): the second burst announces the
// new one. The announcer shares lookups only among calls made before the lookup began.
func TestAnnounceUsesTheMACOfTheMoment(t *testing.T) {
	t.Parallel()
	nsA, nsB := vethPair(t)
	arpConn := listenARP(t, nsB)
	an := NewAnnouncer()
	t.Cleanup(an.Close)
	v4 := netip.MustParseAddr("198.51.100.10")
	buf := make([]byte, 1500)
	for _, mac := range []string{"02:00:00:00:00:71", "02:00:00:00:00:72"} {
		run(t, "ip", "-n", nsA, "link", "set", "eth0", "address", mac)
		inNamespace(t, nsA, func() error { return an.Announce("eth0", []netip.Addr{v4}, 1) })
		want, _ := net.ParseMAC(mac)
		if err := arpConn.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
			t.Fatal(err)
		}
		for {
			n, _, err := arpConn.ReadFrom(buf)
			if err != nil {
				t.Fatalf("no gratuitous ARP from %s: %v", mac, err)
			}
			if n < 42 || !bytes.Equal(buf[38:42], v4.AsSlice()) {
				continue
			}
			if got := net.HardwareAddr(buf[22:28]); !bytes.Equal(got, want) {
				t.Fatalf("gratuitous ARP announces %v, want the interface's MAC now, %v", got, want)
			}
			break
		}
	}
}
