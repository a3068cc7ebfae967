package agent

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/agent/probe"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// trackedConf is seedConf with a track_script line of the given weight.
func trackedConf(prio, weight int) string {
	c := seedConf(prio)
	return "vrrp_script chk {\n script /bin/true\n weight -30\n}\n" + c[:len(c)-2] +
		fmt.Sprintf("    track_script {\n        chk weight %d\n    }\n}\n", weight)
}

// A reload that changes the priority, then a track's weight, keeps the MASTER master
// and its VIP (keepalived's reload_master): no transition, no unbind, the instance is
// the same loop, and its adverts carry the new effective priority at once.
func TestReloadKeepsMasterThroughPriorityAndWeightChanges(t *testing.T) {
	t.Parallel()
	h := start(t, trackedConf(100, -20))
	h.seg.advertFrom(t, 0) // no other master: take over at once (Skew_Time)
	waitFor(t, 2*time.Second, "MASTER", func() bool { return h.instanceState(t).GetState() == hactlv1.State_STATE_MASTER })
	in := h.a.instance("VI_1")
	// The check fails: weight -20 applies.
	if err := in.call(context.Background(), func(now time.Time) {
		in.onProbe(now, probeMsg{key: "script:chk", ev: probe.Event{
			Change: &probe.StateChange{Probe: "chk", Healthy: false, Reason: "nginx down"},
		}})
	}); err != nil {
		t.Fatal(err)
	}
	if p := h.instanceState(t).GetEffectivePriority(); p != 80 {
		t.Fatalf("effective priority %d, want 100-20", p)
	}
	trans := h.instanceState(t).GetTransitions()
	binds := len(h.bind.history())

	changes := reload(t, h, trackedConf(110, -20))
	if !strings.Contains(strings.Join(changes, ";"), "VI_1: reconfigured in place, still MASTER") {
		t.Errorf("changes %v, want an in-place reconfiguration", changes)
	}
	for a := h.seg.nextSent(t, time.Second); a.Priority != 90; a = h.seg.nextSent(t, time.Second) {
	}
	changes = reload(t, h, trackedConf(110, -5))
	if !strings.Contains(strings.Join(changes, ";"), "VI_1: tracks changed") {
		t.Errorf("changes %v, want the track change", changes)
	}
	for a := h.seg.nextSent(t, time.Second); a.Priority != 105; a = h.seg.nextSent(t, time.Second) {
	}
	st := h.instanceState(t)
	if st.GetState() != hactlv1.State_STATE_MASTER || st.GetTransitions() != trans {
		t.Errorf("after the reloads: %v with %d transitions, want MASTER with %d", st.GetState(), st.GetTransitions(), trans)
	}
	if st.GetBasePriority() != 110 || st.GetEffectivePriority() != 105 {
		t.Errorf("priority %d/%d, want 110/105", st.GetBasePriority(), st.GetEffectivePriority())
	}
	if got := h.bind.history()[binds:]; len(got) != 0 {
		t.Errorf("the reloads moved addresses: %v", got)
	}
	if h.a.instance("VI_1") != in {
		t.Error("the instance was restarted")
	}

	// A changed VRID is another router: that one restarts.
	changes = reload(t, h, strings.Replace(trackedConf(110, -5), "virtual_router_id 51", "virtual_router_id 52", 1))
	if !strings.Contains(strings.Join(changes, ";"), "restarted VI_1") || h.a.instance("VI_1") == in {
		t.Errorf("changes %v, want VI_1 restarted for a new VRID", changes)
	}
}
