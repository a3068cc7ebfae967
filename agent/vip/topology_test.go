package vip

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

	"github.com/hagent-dev/hagent/agent/netio"
	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Test namespaces are named vip-<pid>-<n> and removed by t.Cleanup.

var nsSeq atomic.Int64

func run(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// newNamespace creates a namespace with lo up. IPv6 DAD stays on unless
// noDAD, so that tests can tell a nodad address from a tentative one.
func newNamespace(t *testing.T, noDAD bool) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	name := fmt.Sprintf("vip-%d-%d", os.Getpid(), nsSeq.Add(1))
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("delete namespace %s: %v: %s", name, err, out)
		}
	})
	if noDAD {
		run(t, "ip", "netns", "exec", name, "sysctl", "-q", "-w",
			"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
	}
	run(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

// vethPair is two namespaces joined by a veth pair, eth0 in each, both up.
func vethPair(t *testing.T) (a, b string) {
	t.Helper()
	a, b = newNamespace(t, true), newNamespace(t, true)
	run(t, "ip", "-n", a, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b)
	run(t, "ip", "-n", a, "link", "set", "eth0", "up")
	run(t, "ip", "-n", b, "link", "set", "eth0", "up")
	waitOperUp(t, a, "eth0")
	waitOperUp(t, b, "eth0")
	return a, b
}

// listenARP opens a packet socket for ARP on eth0 in ns, closed by t.Cleanup.
func listenARP(t *testing.T, ns string) *packet.Conn {
	t.Helper()
	var c *packet.Conn
	inNamespace(t, ns, func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		c, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_ARP, nil)
		return err
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// hostWithLink is a namespace with a veth pair eth0 <-> peer0, both up.
func hostWithLink(t *testing.T) string {
	t.Helper()
	ns := newNamespace(t, false)
	run(t, "ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "peer0")
	run(t, "ip", "-n", ns, "link", "set", "eth0", "up")
	run(t, "ip", "-n", ns, "link", "set", "peer0", "up")
	waitOperUp(t, ns, "eth0")
	return ns
}

// waitOperUp waits until the kernel reports the link operationally up
// (carrier changes go through the delayed linkwatch work).
func waitOperUp(t *testing.T, ns, ifname string) {
	t.Helper()
	h := handle(t, ns)
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := h.LinkByName(ifname)
		if err == nil && l.Attrs().OperState == netlink.OperUp {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s in %s not up: %v", ifname, ns, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func nsHandle(t *testing.T, ns string) netns.NsHandle {
	t.Helper()
	h, err := netns.GetFromName(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func handle(t *testing.T, ns string) *netlink.Handle {
	t.Helper()
	h, err := netlink.NewHandleAt(nsHandle(t, ns))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func inNamespace(t *testing.T, ns string, fn func() error) {
	t.Helper()
	if err := netio.InNamespace(ns, fn); err != nil {
		t.Fatal(err)
	}
}

// waitLinkLocal waits until ifname has a usable (not tentative) link-local
// address: it is configured asynchronously after the link comes up.
func waitLinkLocal(t *testing.T, ns, ifname string) netip.Addr {
	t.Helper()
	h := handle(t, ns)
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := h.LinkByName(ifname)
		if err != nil {
			t.Fatal(err)
		}
		var ll netip.Addr
		inNamespace(t, ns, func() error {
			ll = linkLocal(l.Attrs().Index)
			return nil
		})
		if ll.IsValid() {
			return ll
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s in %s has no usable link-local address", ifname, ns)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
