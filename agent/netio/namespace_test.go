package netio

import (
	"errors"
	"net"
	"testing"

	"github.com/vishvananda/netns"
)

func TestInNamespaceRunsInsideAndLeavesCallerAlone(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	run(t, "ip", "-n", ns, "link", "add", "inside0", "type", "veth", "peer", "name", "inside1")
	before, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()

	if err := InNamespace(ns, func() error {
		_, err := net.InterfaceByName("inside0")
		return err
	}); err != nil {
		t.Errorf("interface of the namespace not visible inside: %v", err)
	}
	if _, err := net.InterfaceByName("inside0"); err == nil {
		t.Error("interface of the namespace visible outside")
	}
	sentinel := errors.New("from fn")
	if err := InNamespace(ns, func() error { return sentinel }); !errors.Is(err, sentinel) {
		t.Errorf("InNamespace returned %v, want fn's error", err)
	}
}

func TestInNamespaceUnknownName(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	called := false
	err := InNamespace("netio-no-such-namespace", func() error { called = true; return nil })
	if err == nil || called {
		t.Errorf("err=%v called=%v, want an error and fn not run", err, called)
	}
}
