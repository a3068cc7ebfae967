package probe

import (
	"strings"
	"testing"
	"time"
)

func TestInterfaceProbeFollowsLinkState(t *testing.T) {
	t.Parallel()
	ns := netnsAdd(t)
	run(t, "ip", "-n", ns, "link", "add", "d0", "type", "veth", "peer", "name", "d1")
	run(t, "ip", "-n", ns, "link", "set", "d0", "up")
	run(t, "ip", "-n", ns, "link", "set", "d1", "up")
	p, err := NewInterface(InterfaceSpec{Ifname: "d0", NetNSPath: "/run/netns/" + ns, InitFail: true})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, p)
	r.change(true, 2*time.Second)

	// The peer going down takes the carrier away: up but not running.
	run(t, "ip", "-n", ns, "link", "set", "d1", "down")
	if c := r.change(false, 2*time.Second); !strings.HasPrefix(c.Reason, "interface d0 has no carrier") {
		t.Errorf("reason = %q", c.Reason)
	}
	run(t, "ip", "-n", ns, "link", "set", "d1", "up")
	r.change(true, 2*time.Second)

	run(t, "ip", "-n", ns, "link", "set", "d0", "down")
	if c := r.change(false, 2*time.Second); c.Reason != "interface d0 is down" {
		t.Errorf("reason = %q", c.Reason)
	}
	run(t, "ip", "-n", ns, "link", "set", "d0", "up")
	r.change(true, 2*time.Second)

	// Deleting goes through "down" first, then the link is gone.
	run(t, "ip", "-n", ns, "link", "del", "d0")
	r.next(2*time.Second, "not found result", func(ev Event) bool { return ev.Result.Err == "interface d0 not found" })
	if p.Healthy() {
		t.Error("healthy after the link was deleted")
	}
	if !strings.HasPrefix(p.History()[0].Output, "d0: admin up") {
		t.Errorf("history = %+v", p.History())
	}
}

func TestInterfaceProbeMissingInterfaceFails(t *testing.T) {
	t.Parallel()
	ns := netnsAdd(t)
	p, err := NewInterface(InterfaceSpec{Ifname: "nope0", NetNSPath: "/run/netns/" + ns})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, p)
	r.change(false, 2*time.Second)
	run(t, "ip", "-n", ns, "link", "add", "nope0", "type", "veth", "peer", "name", "nope1")
	run(t, "ip", "-n", ns, "link", "set", "nope0", "up")
	run(t, "ip", "-n", ns, "link", "set", "nope1", "up")
	r.change(true, 2*time.Second)
}
