package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/agent/probe"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// syncConf is two instances of the seed (VRIDs 51 and 52) in vrrp_sync_group G, VI_1
// tracking chk (weight 0: a failure is a FAULT), and the group's notify lines.
func syncConf(script string) string {
	vi2 := strings.NewReplacer("VI_1", "VI_2", "virtual_router_id 51", "virtual_router_id 52",
		"192.168.188.109", "192.168.188.110").Replace(seedConf(100))
	vi1 := seedConf(100)
	return "vrrp_script chk {\n script /bin/true\n}\n" +
		vi1[:len(vi1)-2] + "    track_script {\n        chk\n    }\n}\n" + vi2 +
		fmt.Sprintf("vrrp_sync_group G {\n  group {\n    VI_1\n    VI_2\n  }\n  notify %s\n  notify_fault \"%s fault-hook\"\n}\n", script, script)
}

func (h *harness) states(t *testing.T) map[string]hactlv1.State {
	t.Helper()
	out := map[string]hactlv1.State{}
	for _, in := range h.a.Status().GetInstances() {
		out[in.GetName()] = in.GetState()
	}
	return out
}

// The members of a sync group move together (keepalived vrrp_sync.c): VI_1 taking
// over takes VI_2 with it (vrrp_sync_master); VI_1's failing check puts both in FAULT
// and releases both VIPs (vrrp_sync_fault); the group's notify scripts get
// keepalived's GROUP arguments; status shows the group.
func TestSyncGroupMembersMoveTogether(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := filepath.Join(dir, "notify.log")
	script := filepath.Join(dir, "notify.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$*\" >> "+log+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := start(t, syncConf(script))
	// VI_1 waits in INIT for chk's first result: the resignation must reach a BACKUP.
	waitFor(t, 3*time.Second, "VI_1 BACKUP", func() bool { return h.states(t)["VI_1"] == hactlv1.State_STATE_BACKUP })
	h.seg.advertFrom(t, 0) // VI_1's master resigns: VI_1 takes over after Skew_Time
	waitFor(t, 3*time.Second, "both MASTER", func() bool {
		st := h.states(t)
		return st["VI_1"] == hactlv1.State_STATE_MASTER && st["VI_2"] == hactlv1.State_STATE_MASTER
	})
	for _, in := range h.a.Status().GetInstances() {
		if in.GetSyncGroup() != "G" {
			t.Errorf("%s: sync_group %q, want G", in.GetName(), in.GetSyncGroup())
		}
	}
	if in := h.a.Status().GetInstances()[1]; !strings.Contains(in.GetStateReason(), "vrrp_sync_group G: VI_1 became MASTER") {
		t.Errorf("VI_2 became MASTER because %q, want its group", in.GetStateReason())
	}
	waitFor(t, 2*time.Second, "both VIPs bound", func() bool {
		return h.bind.has("192.168.188.109/32") && h.bind.has("192.168.188.110/32")
	})

	in := h.a.instance("VI_1")
	fail := func(healthy bool) {
		if err := in.call(context.Background(), func(now time.Time) {
			in.onProbe(now, probeMsg{key: "script:chk", ev: probe.Event{
				Change: &probe.StateChange{Probe: "chk", Healthy: healthy, Reason: "nginx down"},
			}})
		}); err != nil {
			t.Fatal(err)
		}
	}
	fail(false)
	waitFor(t, 2*time.Second, "both FAULT, both VIPs released", func() bool {
		st := h.states(t)
		return st["VI_1"] == hactlv1.State_STATE_FAULT && st["VI_2"] == hactlv1.State_STATE_FAULT &&
			!h.bind.has("192.168.188.109/32") && !h.bind.has("192.168.188.110/32")
	})
	vi2 := h.a.Status().GetInstances()[1]
	if len(vi2.GetFaults()) != 1 || vi2.GetFaults()[0].GetSource() != "vrrp_sync_group G" || vi2.GetFaults()[0].GetReason() != "VI_1 in FAULT" {
		t.Errorf("VI_2 faults %v, want the group's", vi2.GetFaults())
	}
	if vi2.GetSyncGroupState() != hactlv1.State_STATE_FAULT {
		t.Errorf("group state %v, want FAULT", vi2.GetSyncGroupState())
	}
	read := func() string {
		b, _ := os.ReadFile(log)
		return string(b)
	}
	waitFor(t, 3*time.Second, "the group's notify scripts", func() bool {
		return read() == "GROUP G BACKUP 0\nGROUP G MASTER 0\nfault-hook\nGROUP G FAULT 0\n"
	})
	fail(true)
	waitFor(t, 2*time.Second, "both BACKUP", func() bool {
		st := h.states(t)
		return st["VI_1"] == hactlv1.State_STATE_BACKUP && st["VI_2"] == hactlv1.State_STATE_BACKUP
	})
	// Shutdown: keepalived's notify_shutdown sends the group STOP (vrrp_notify.c).
	h.stop()
	select {
	case <-h.done:
	case <-time.After(5 * time.Second):
		t.Fatal("agent did not stop")
	}
	h.done <- nil
	if got := read(); !strings.HasSuffix(got, "GROUP G BACKUP 0\nGROUP G STOP 0\n") {
		t.Errorf("notify log:\n%s\nwant the group BACKUP after the recovery, then STOP", got)
	}
}

// A reload that puts two running instances in a group joins them in place (no
// restart), and one that takes the group away again clears what it put on them.
func TestReloadJoinsAndLeavesSyncGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := filepath.Join(dir, "notify.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	grouped := syncConf(script)
	plain := grouped[:strings.Index(grouped, "vrrp_sync_group")]
	h := start(t, plain)
	// VI_1 waits in INIT for chk's first result: the resignation must reach a BACKUP.
	waitFor(t, 3*time.Second, "VI_1 BACKUP", func() bool { return h.states(t)["VI_1"] == hactlv1.State_STATE_BACKUP })
	h.seg.advertFrom(t, 0) // VI_1 takes over; VI_2, alone, stays BACKUP
	waitFor(t, 3*time.Second, "VI_1 MASTER", func() bool { return h.states(t)["VI_1"] == hactlv1.State_STATE_MASTER })
	if st := h.states(t)["VI_2"]; st != hactlv1.State_STATE_BACKUP {
		t.Fatalf("VI_2 %v before the group exists, want BACKUP", st)
	}
	vi1 := h.a.instance("VI_1")

	changes := reload(t, h, grouped)
	if h.a.instance("VI_1") != vi1 || strings.Contains(strings.Join(changes, ";"), "restarted") {
		t.Fatalf("joining a group restarted an instance: %v", changes)
	}
	for _, in := range h.a.Status().GetInstances() {
		if in.GetSyncGroup() != "G" {
			t.Errorf("%s: sync_group %q after the reload, want G", in.GetName(), in.GetSyncGroup())
		}
	}
	// VI_1's check fails: the group takes VI_2 to FAULT.
	if err := vi1.call(context.Background(), func(now time.Time) {
		vi1.onProbe(now, probeMsg{key: "script:chk", ev: probe.Event{Change: &probe.StateChange{Probe: "chk", Healthy: false, Reason: "down"}}})
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Second, "VI_2 FAULT with its group", func() bool { return h.states(t)["VI_2"] == hactlv1.State_STATE_FAULT })

	reload(t, h, plain)
	waitFor(t, 2*time.Second, "VI_2 out of FAULT once the group is gone", func() bool { return h.states(t)["VI_2"] == hactlv1.State_STATE_BACKUP })
	if in := h.a.Status().GetInstances()[1]; in.GetSyncGroup() != "" || len(in.GetFaults()) != 0 {
		t.Errorf("VI_2 after leaving the group: group %q, faults %v", in.GetSyncGroup(), in.GetFaults())
	}
}
