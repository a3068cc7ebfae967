package netio

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// Test topologies: network namespaces named netio-<pid>-<n>, joined by veth
// pairs, removed by t.Cleanup.

var nsSeq atomic.Int64

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
}

func run(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// newNamespace creates an empty namespace with lo up and IPv6 DAD off, so
// that link-local addresses are usable as soon as a link is up.
func newNamespace(t *testing.T) string {
	t.Helper()
	requireRoot(t)
	name := fmt.Sprintf("netio-%d-%d", os.Getpid(), nsSeq.Add(1))
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("delete namespace %s: %v: %s", name, err, out)
		}
	})
	run(t, "ip", "netns", "exec", name, "sysctl", "-q", "-w",
		"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
	run(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// end is one side of a veth link.
type end struct {
	ns, ifname string
	ifindex    int
	v4, v6     netip.Addr
}

// link joins two namespaces with a veth pair, addresses both ends
// (192.0.2.<a>/24 and fd00::<a>/64 nodad) and brings them up.
func link(t *testing.T, nsA, ifA string, a int, nsB, ifB string, b int) (end, end) {
	t.Helper()
	run(t, "ip", "-n", nsA, "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", nsB)
	ea, eb := setUp(t, nsA, ifA, a), setUp(t, nsB, ifB, b)
	waitReady(t, ea)
	waitReady(t, eb)
	return ea, eb
}

// waitReady waits until the kernel has finished bringing e up: operational
// state UP (carrier changes reach IPv6 through the delayed linkwatch work)
// and a link-local address. Before that an IPv6 multicast may be dropped.
func waitReady(t *testing.T, e end) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := InNamespace(e.ns, func() error {
			l, err := netlink.LinkByName(e.ifname)
			if err != nil {
				return err
			}
			if l.Attrs().OperState != netlink.OperUp {
				return fmt.Errorf("operstate %v", l.Attrs().OperState)
			}
			_, err = PrimaryAddr(e.ifname, IPv6)
			return err
		})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s in %s not ready: %v", e.ifname, e.ns, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func setUp(t *testing.T, ns, ifname string, host int) end {
	t.Helper()
	e := end{
		ns:     ns,
		ifname: ifname,
		v4:     netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", host)),
		v6:     netip.MustParseAddr(fmt.Sprintf("fd00::%d", host)),
	}
	run(t, "ip", "-n", ns, "addr", "add", e.v4.String()+"/24", "dev", ifname)
	run(t, "ip", "-n", ns, "addr", "add", e.v6.String()+"/64", "dev", ifname, "nodad")
	run(t, "ip", "-n", ns, "link", "set", ifname, "up")
	err := InNamespace(ns, func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		e.ifindex = ifi.Index
		return nil
	})
	if err != nil {
		t.Fatalf("look up %s in %s: %v", ifname, ns, err)
	}
	return e
}

// pair is the common two-host segment: A (192.0.2.1) -- B (192.0.2.2).
func pair(t *testing.T) (end, end) {
	t.Helper()
	return link(t, newNamespace(t), "eth0", 1, newNamespace(t), "eth0", 2)
}

// listen opens a Conn inside e's namespace, closed by t.Cleanup.
func listen(t *testing.T, e end, family Family, opts ...Option) *Conn {
	t.Helper()
	var c *Conn
	err := InNamespace(e.ns, func() (err error) {
		c, err = Listen(e.ifname, family, opts...)
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s in %s: %v", e.ifname, e.ns, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// read returns the next packet or fails the test after a bounded wait.
func read(t *testing.T, c *Conn) Packet {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
		t.Fatal(err)
	}
	p, err := c.ReadPacket(make([]byte, 65536))
	if err != nil {
		t.Fatalf("no packet on %s: %v", c.Ifname(), err)
	}
	return p
}

func send(t *testing.T, c *Conn, payload string, src, dst netip.Addr) {
	t.Helper()
	if err := c.WriteTo([]byte(payload), src, dst); err != nil {
		t.Fatal(err)
	}
}

func primary(t *testing.T, e end, family Family) netip.Addr {
	t.Helper()
	var addr netip.Addr
	err := InNamespace(e.ns, func() (err error) {
		addr, err = PrimaryAddr(e.ifname, family)
		return err
	})
	if err != nil {
		t.Fatalf("primary %v address of %s in %s: %v", family, e.ifname, e.ns, err)
	}
	return addr
}
