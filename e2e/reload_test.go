package e2e

// Issue 10, "Driver robustness", in the lab: a reload that restarts an instance whose
// notify_stop script is slow must not starve the other instances on the interface.
// Helpers are prefixed with "reload".

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/cluster"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
	"github.com/hagent-dev/hagent/lab"
)

// reloadObserve is how long after the SIGHUP the backup must keep hearing VI_FAST's
// master: the stopping VI_SLOW's queues (packetQueue 128 + inbox 256) fill in under
// 4 s at its 100 adverts a second, after which a reader that waits for it starves
// VI_FAST, whose Master_Down_Interval is under 0.2 s.
const reloadObserve = 7 * time.Second

// cenvm72 is the backup of two VRRPv3 instances on eth0: VI_SLOW (10 ms adverts, a
// notify_stop that takes 20 s) and VI_FAST (50 ms). A reload restarts VI_SLOW, so its
// notify_stop runs; meanwhile VI_FAST's backup must keep hearing its master: it stays
// BACKUP, with no transition at all, and cenvm71 stays its MASTER. The reload itself
// finishes at once and the restarted VI_SLOW is BACKUP at its new priority.
func TestReloadSlowNotifyKeepsOtherInstancesHearingTheirMaster(t *testing.T) {
	t.Parallel()
	l := lab.Start(t, lab.Options{Configs: map[string]string{
		"cenvm71": "testdata/reload/slow-notify-cenvm71.conf",
		"cenvm72": "testdata/reload/slow-notify-cenvm72.conf",
	}})
	roles := func(doc cluster.StatusDoc) (fast71, fast72, slow71, slow72 *cluster.InstanceDoc) {
		return reloadInstance(doc, "cenvm71", "VI_FAST"), reloadInstance(doc, "cenvm72", "VI_FAST"),
			reloadInstance(doc, "cenvm71", "VI_SLOW"), reloadInstance(doc, "cenvm72", "VI_SLOW")
	}
	state := func(in *cluster.InstanceDoc) string {
		if in == nil {
			return "unreachable"
		}
		return in.State
	}
	var before *cluster.InstanceDoc
	faultsPoll(t, 20*time.Second, "cenvm71 MASTER and cenvm72 BACKUP of VI_SLOW and VI_FAST", func() bool {
		doc, err := faultsStatus(l)
		if err != nil {
			return false
		}
		f71, f72, s71, s72 := roles(doc)
		before = f72
		return state(f71) == "MASTER" && state(s71) == "MASTER" && state(f72) == "BACKUP" && state(s72) == "BACKUP"
	})
	w := faultsWatch(t, l, "cenvm72")

	path := filepath.Join(l.HostDir("cenvm72"), "keepalived.conf")
	conf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A new priority alone is applied in place; a new mcast_src_ip (the same address,
	// now written) makes it another router's socket: a restart.
	next := strings.Replace(string(conf), "priority 80", "priority 81\n    mcast_src_ip 192.168.188.72", 1)
	if next == string(conf) {
		t.Fatal("no \"priority 80\" (VI_SLOW) in cenvm72's config")
	}
	if err := os.WriteFile(path, []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(l.HostDir("cenvm72"), "slow-notify.started")
	hup := time.Now()
	if err := syscall.Kill(l.AgentPID("cenvm72"), syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP cenvm72: %v", err)
	}
	faultsPoll(t, 5*time.Second, "VI_SLOW's notify_stop to start on cenvm72", func() bool {
		_, err := os.Stat(marker)
		return err == nil
	})
	for time.Since(hup) < reloadObserve {
		doc, err := faultsStatus(l)
		if err != nil {
			t.Fatal(err)
		}
		f71, f72, _, _ := roles(doc)
		if state(f72) != "BACKUP" || state(f71) != "MASTER" {
			t.Fatalf("%v after the SIGHUP, while VI_SLOW's notify_stop runs: VI_FAST is %s on cenvm72 and %s on cenvm71, want BACKUP and MASTER (the backup stopped hearing its master)",
				time.Since(hup).Round(time.Millisecond), state(f72), state(f71))
		}
		time.Sleep(200 * time.Millisecond) // observation period
	}

	var moves []string
	for _, r := range w.events() {
		if tr := r.GetTransition(); tr != nil && tr.GetInstance() == "VI_FAST" {
			moves = append(moves, tr.GetFrom().String()+"->"+tr.GetTo().String()+" ("+tr.GetReason()+")")
		}
	}
	if len(moves) > 0 {
		t.Errorf("VI_FAST on cenvm72 changed state %d times during the reload: %q", len(moves), moves)
	}
	ev := w.waitFor(t, time.Second, "cenvm72's config_reload event", func(r *hactlv1.WatchResponse) bool {
		return r.GetConfigReload() != nil
	}).GetConfigReload()
	if !ev.GetOk() || !slices.Contains(ev.GetChanges(), "restarted VI_SLOW") {
		t.Errorf("config_reload %v, want ok with \"restarted VI_SLOW\"", ev)
	}
	doc, err := faultsStatus(l)
	if err != nil {
		t.Fatal(err)
	}
	_, f72, _, s72 := roles(doc)
	if f72 == nil || before.StateSince == nil || f72.StateSince == nil || !f72.StateSince.Equal(*before.StateSince) {
		t.Errorf("VI_FAST on cenvm72 was BACKUP since %v before the reload, and %+v after: it changed state", before.StateSince, f72)
	}
	if state(s72) != "BACKUP" || s72.Priority != 81 {
		t.Errorf("restarted VI_SLOW on cenvm72: %+v, want BACKUP at priority 81", s72)
	}
}

// reloadInstance is node's instance name in doc, or nil.
func reloadInstance(doc cluster.StatusDoc, node, name string) *cluster.InstanceDoc {
	for _, n := range doc.Nodes {
		for i, in := range n.Instances {
			if n.Name == node && n.Reachable && in.Name == name {
				return &n.Instances[i]
			}
		}
	}
	return nil
}

// A reload that restarts an instance while its link is down: the new instance reads
// the link's state before it starts (the kernel watch reports only changes), so it is
// FAULT at once, even as the address owner (priority 255) that would otherwise take
// the VIP the moment it starts. When the link comes back it takes over.
func TestReloadWhileLinkDownRestartsInFault(t *testing.T) {
	t.Parallel()
	l := lab.Start(t, faultsVRRPOnly)
	n := faultsOpenNet(t, l)
	faultsWaitRoles(t, l, "cenvm71", 15*time.Second)
	l.LinkDown("cenvm72")
	faultsPoll(t, 5*time.Second, "cenvm72 FAULT with its link down", func() bool {
		doc, err := faultsStatus(l)
		return err == nil && faultsStates(doc)["cenvm72"] == "FAULT"
	})
	w := faultsWatch(t, l, "cenvm72")

	path := filepath.Join(l.HostDir("cenvm72"), "keepalived.conf")
	conf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	next := strings.Replace(string(conf), "priority 90", "priority 255", 1)
	if next == string(conf) {
		t.Fatal("no \"priority 90\" in cenvm72's config")
	}
	if err := os.WriteFile(path, []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(l.AgentPID("cenvm72"), syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP cenvm72: %v", err)
	}
	ev := w.waitFor(t, 5*time.Second, "cenvm72's config_reload event", func(r *hactlv1.WatchResponse) bool {
		return r.GetConfigReload() != nil
	}).GetConfigReload()
	if !ev.GetOk() || !slices.Contains(ev.GetChanges(), "restarted VI_1") {
		t.Fatalf("config_reload %v, want ok with \"restarted VI_1\"", ev)
	}
	doc, err := faultsStatus(l)
	if err != nil {
		t.Fatal(err)
	}
	if in := faultsInstance(doc, "cenvm72"); in == nil || in.State != "FAULT" || in.Priority != 255 {
		t.Fatalf("restarted VI_1 on cenvm72: %+v, want FAULT at priority 255 (its link is down)", in)
	}
	if got := n.holders(lab.VIP); slices.Contains(got, "cenvm72") {
		t.Fatalf("the VIP is on %v: the restarted owner took it with its link down", got)
	}
	for _, r := range w.events() {
		if tr := r.GetTransition(); tr != nil && tr.GetTo() == hactlv1.State_STATE_MASTER {
			t.Fatalf("cenvm72 became MASTER with its link down: %v", tr)
		}
	}

	l.LinkUp("cenvm72")
	faultsWaitRoles(t, l, "cenvm72", 10*time.Second)
}
