package vrrp

import (
	"strings"
	"testing"
	"time"
)

// stallBackup is a VRRPv3 backup at advert_int 0.01 (the jitter benchmark's setting)
// following highPeer, with Config.StallGrace as given; it returns the instance and its
// Master_Down_Timer deadline after highPeer's advert at t0 + 1 s.
func stallBackup(t *testing.T, grace bool) (*Instance, time.Time) {
	t.Helper()
	c := v3Config()
	c.AdverInt = 10 * time.Millisecond
	c.Priority = 90
	c.StallGrace = grace
	i := started(t, c)
	peer := advertFor(c, 100)
	recv(t, i, t0.Add(time.Second), highPeer, peer)
	wantState(t, i, StateBackup)
	down := i.timers[TimerMasterDown]
	if want := t0.Add(time.Second).Add(MasterDownInterval(3, 90, 10*time.Millisecond)); !down.Equal(want) {
		t.Fatalf("Master_Down_Timer at %s after the advert, want %s", down.Sub(t0), want.Sub(t0))
	}
	return i, down
}

// A timer handled on time, or late by no more than StallLate, takes over at once, grace
// or not: StallGrace costs a real failure nothing when this host was running.
func TestStallGrace_OnTimeTakesOverAtOnce(t *testing.T) {
	t.Parallel()
	for _, late := range []time.Duration{0, 300 * time.Microsecond, StallLate(10 * time.Millisecond)} {
		i, down := stallBackup(t, true)
		acts := i.Step(down.Add(late), TimerFired{Kind: TimerMasterDown})
		tr := wantTransition(t, acts, StateBackup, StateMaster)
		if g := actionsOf[StallGraced](acts); len(g) != 0 {
			t.Fatalf("late %s: %+v", late, g)
		}
		if strings.Contains(tr.Reason, "held up") {
			t.Fatalf("late %s: reason %q speaks of a stall", late, tr.Reason)
		}
	}
}

// Held up 7 ms past the deadline (both vCPUs of a VM stopped): the backup waits 7 ms
// more, and the master's overdue advert that arrives meanwhile keeps it BACKUP with a
// fresh Master_Down_Interval.
func TestStallGrace_LateTimerWaitsForTheOverdueAdvert(t *testing.T) {
	t.Parallel()
	i, down := stallBackup(t, true)
	late := 7 * time.Millisecond
	woke := down.Add(late)
	acts := i.Step(woke, TimerFired{Kind: TimerMasterDown})
	wantNoTransition(t, acts)
	wantState(t, i, StateBackup)
	if got := armed(t, acts, TimerMasterDown); !got.Equal(woke.Add(late)) {
		t.Fatalf("grace re-armed the Master_Down_Timer for +%s, want +%s", got.Sub(woke), late)
	}
	if g := actionsOf[StallGraced](acts); len(g) != 1 || g[0].Late != late || g[0].Grace != late {
		t.Fatalf("StallGraced actions %+v, want one with Late and Grace %s", g, late)
	}
	heard := woke.Add(400 * time.Microsecond)
	acts = recv(t, i, heard, highPeer, advertFor(i.cfg, 100))
	wantNoTransition(t, acts)
	if got, want := armed(t, acts, TimerMasterDown), heard.Add(i.masterDownInterval()); !got.Equal(want) {
		t.Fatalf("after the overdue advert the timer is at +%s, want a full Master_Down_Interval (+%s)", got.Sub(heard), want.Sub(heard))
	}
	// The next silence is a new one: a late timer gets its grace again.
	next := i.timers[TimerMasterDown].Add(5 * time.Millisecond)
	wantNoTransition(t, i.Step(next, TimerFired{Kind: TimerMasterDown}))
	wantState(t, i, StateBackup)
}

// The grace is given once per silence: when the re-armed timer runs out with no advert,
// the backup takes over, even if it is late again; and the reason says what happened.
func TestStallGrace_OnceThenTakesOver(t *testing.T) {
	t.Parallel()
	i, down := stallBackup(t, true)
	woke := down.Add(4 * time.Millisecond)
	wantNoTransition(t, i.Step(woke, TimerFired{Kind: TimerMasterDown}))
	again := i.timers[TimerMasterDown].Add(3 * time.Millisecond) // late again
	tr := wantTransition(t, i.Step(again, TimerFired{Kind: TimerMasterDown}), StateBackup, StateMaster)
	for _, want := range []string{"no advert from " + highPeer.String(), "4ms more", "held up 4ms"} {
		if !strings.Contains(tr.Reason, want) {
			t.Fatalf("reason %q does not say %q", tr.Reason, want)
		}
	}
}

// The grace is as long as the stall, but never more than one Master_Adver_Interval.
func TestStallGrace_AtMostOneAdvertInterval(t *testing.T) {
	t.Parallel()
	i, down := stallBackup(t, true)
	woke := down.Add(2 * time.Second)
	acts := i.Step(woke, TimerFired{Kind: TimerMasterDown})
	wantNoTransition(t, acts)
	if got := armed(t, acts, TimerMasterDown); got.Sub(woke) != 10*time.Millisecond {
		t.Fatalf("grace after a 2 s stall: +%s, want one Master_Adver_Interval (+10ms)", got.Sub(woke))
	}
}

// Without StallGrace (the RFC, keepalived) a late timer takes over at once.
func TestStallGrace_OffIsTheRFC(t *testing.T) {
	t.Parallel()
	i, down := stallBackup(t, false)
	wantTransition(t, i.Step(down.Add(7*time.Millisecond), TimerFired{Kind: TimerMasterDown}), StateBackup, StateMaster)
}

// At whole-second intervals a timer late by tens of milliseconds is an agent busy with
// hundreds of takeovers at once, not a stall: it takes over at once; a tenth of the
// interval late is a stall.
func TestStallGrace_LateIsATenthOfTheInterval(t *testing.T) {
	t.Parallel()
	c := v3Config()
	c.Priority = 90
	c.StallGrace = true
	for _, x := range []struct {
		late  time.Duration
		grace bool
	}{{50 * time.Millisecond, false}, {100 * time.Millisecond, false}, {150 * time.Millisecond, true}} {
		i := started(t, c)
		recv(t, i, t0.Add(time.Second), highPeer, advertFor(c, 100))
		down := i.timers[TimerMasterDown]
		acts := i.Step(down.Add(x.late), TimerFired{Kind: TimerMasterDown})
		if _, took := transitionTo(acts); took == x.grace {
			t.Fatalf("advert_int 1 s, late %s: took over %v, want %v", x.late, took, !x.grace)
		}
	}
}
