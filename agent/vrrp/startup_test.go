package vrrp

import (
	"strings"
	"testing"
	"time"
)

// keepalived vrrp_track.c: initialise_track_script_state counts a weight-0 script that
// has not exited yet in num_script_init, and vrrp_scheduler.c: vrrp_init_state keeps such
// an instance out of BACKUP and MASTER; process_script_update_priority lets it up at the
// first result (try_up_instance) or takes it down (down_instance).
func TestKeepalived_InitialiseTrackScriptState_FaultSourceHoldsInit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		first Event
		want  State
	}{
		{"first result ok", FaultCleared{Source: "script chk"}, StateBackup},
		{"first result failed", Fault{Source: "script chk", Reason: "exit status 1"}, StateFault},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			i := mustNew(t, v2Config())
			i.Step(t0, Unreported{Source: "script chk", Fault: true})
			i.Step(t0, Unreported{Source: "script weighted"})
			acts := i.Step(t0, Start{})
			if len(acts) != 0 {
				t.Fatalf("start while a fault source is unreported acted: %#v", acts)
			}
			st := i.Status(t0)
			if st.State != StateInit || !strings.Contains(st.Reason, "waiting for the first result of script chk") {
				t.Fatalf("status %s %q", st.State, st.Reason)
			}
			if len(st.Unreported) != 2 {
				t.Fatalf("unreported %v", st.Unreported)
			}
			// The weighted check reporting does not let it up.
			if acts := i.Step(t0.Add(time.Second), PriorityDelta{Source: "script weighted"}); len(acts) != 0 {
				t.Fatalf("weighted report acted: %#v", acts)
			}
			now := t0.Add(2 * time.Second)
			acts = i.Step(now, tc.first)
			wantTransition(t, acts, StateInit, tc.want)
			if tc.want == StateBackup {
				if got, want := armed(t, acts, TimerMasterDown), now.Add(MasterDownInterval(2, 100, time.Second)); !got.Equal(want) {
					t.Fatalf("Master_Down_Timer %v, want %v", got, want)
				}
			}
			if st := i.Status(now); len(st.Unreported) != 0 {
				t.Fatalf("unreported %v", st.Unreported)
			}
		})
	}
}

// The address owner too waits for its weight-0 checks (keepalived's vrrp_init_state
// tests !num_script_init before the priority-255 fast path), and a Stop while waiting
// stops it.
func TestKeepalived_VrrpInitState_OwnerWaitsForFirstResult(t *testing.T) {
	t.Parallel()
	c := v2Config()
	c.Priority = 255
	i := mustNew(t, c)
	i.Step(t0, Unreported{Source: "script chk", Fault: true})
	i.Step(t0, Start{})
	wantState(t, i, StateInit)
	wantTransition(t, i.Step(t0.Add(time.Second), FaultCleared{Source: "script chk"}), StateInit, StateMaster)

	j := mustNew(t, c)
	j.Step(t0, Unreported{Source: "script chk", Fault: true})
	j.Step(t0, Start{})
	wantTransition(t, j.Step(t0, Stop{}), StateInit, StateStopped)
	if acts := j.Step(t0, FaultCleared{Source: "script chk"}); len(actionsOf[Transition](acts)) != 0 {
		t.Fatalf("stopped instance started: %#v", acts)
	}
}

// A node that boots with its service down must not preempt and then fail back: while a
// weighted check has not given its first result, the effective priority is not known, so
// a lower master is not preempted (not even with FastPreempt). The first result decides.
// keepalived (vrrp_track.c: process_script_update_priority) counts a positive weight
// only after a success, a negative one only after a failure.
func TestUnreportedWeightedCheckHoldsOffPreemption(t *testing.T) {
	t.Parallel()
	c := v2Config()
	c.FastPreempt = true
	i := mustNew(t, c)
	i.Step(t0, Unreported{Source: "script chk"})
	i.Step(t0, Start{})
	wantState(t, i, StateBackup)
	wantNoTransition(t, recv(t, i, t0.Add(100*time.Millisecond), lowPeer, advertFor(c, 90)))

	// nginx is down: -20 brings us to 80, below the master: no preemption, ever.
	i.Step(t0.Add(200*time.Millisecond), PriorityDelta{Source: "script chk", Delta: -20})
	wantNoTransition(t, recv(t, i, t0.Add(time.Second), lowPeer, advertFor(c, 90)))
	wantState(t, i, StateBackup)

	// The same node with nginx up: the first result (no contribution) lets it preempt.
	j := mustNew(t, c)
	j.Step(t0, Unreported{Source: "script chk"})
	j.Step(t0, Start{})
	wantNoTransition(t, recv(t, j, t0.Add(100*time.Millisecond), lowPeer, advertFor(c, 90)))
	j.Step(t0.Add(200*time.Millisecond), PriorityDelta{Source: "script chk", Delta: 0})
	wantTransition(t, recv(t, j, t0.Add(time.Second), lowPeer, advertFor(c, 90)), StateBackup, StateMaster)
}

// With no master at all, an unreported weighted check does not stop the takeover: the
// Master_Down_Timer runs as at any start (availability first).
func TestUnreportedWeightedCheckStillTakesOverWhenNoMaster(t *testing.T) {
	t.Parallel()
	i := mustNew(t, v2Config())
	i.Step(t0, Unreported{Source: "script chk"})
	i.Step(t0, Start{})
	at, acts := fireAt(t, i, TimerMasterDown)
	if !at.Equal(t0.Add(MasterDownInterval(2, 100, time.Second))) {
		t.Fatalf("took over at %v", at)
	}
	wantTransition(t, acts, StateBackup, StateMaster)
}
