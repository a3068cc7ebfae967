package vrrp

import (
	"testing"
	"time"
)

// RFC 3768 6.1: Skew_Time = (256 - Priority) / 256 seconds;
// Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time.
func TestRFC3768_6_1_MasterDownIntervalIsExact(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		prio     uint8
		adverInt time.Duration
		skew     time.Duration
		down     time.Duration
	}{
		{90, time.Second, 648437500 * time.Nanosecond, 3648437500 * time.Nanosecond},  // 3 + 166/256 s = 3.6484375 s
		{100, time.Second, 609375000 * time.Nanosecond, 3609375000 * time.Nanosecond}, // 3 + 156/256 s
		{254, time.Second, 7812500 * time.Nanosecond, 3007812500 * time.Nanosecond},   // 3 + 2/256 s
		{255, time.Second, 3906250 * time.Nanosecond, 3003906250 * time.Nanosecond},   // 3 + 1/256 s
		{1, time.Second, 996093750 * time.Nanosecond, 3996093750 * time.Nanosecond},   // 3 + 255/256 s
		// v2's skew does not scale with the interval.
		{100, 2 * time.Second, 609375000 * time.Nanosecond, 6609375000 * time.Nanosecond},
	} {
		if got := SkewTime(2, tc.prio, tc.adverInt); got != tc.skew {
			t.Errorf("v2 prio %d int %s: Skew_Time %s, want %s", tc.prio, tc.adverInt, got, tc.skew)
		}
		if got := MasterDownInterval(2, tc.prio, tc.adverInt); got != tc.down {
			t.Errorf("v2 prio %d int %s: Master_Down_Interval %s, want %s", tc.prio, tc.adverInt, got, tc.down)
		}
	}
}

// RFC 5798 6.1: Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256.
func TestRFC5798_6_1_SkewTimeScalesWithMasterAdverInterval(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		prio     uint8
		adverInt time.Duration
		skew     time.Duration
	}{
		{100, time.Second, 609375 * time.Microsecond},
		{100, 100 * time.Millisecond, 60937500 * time.Nanosecond}, // 156 * 100ms / 256
		{90, 100 * time.Millisecond, 64843750 * time.Nanosecond},  // 166 * 100ms / 256
		{254, 100 * time.Millisecond, 781250 * time.Nanosecond},   // 2 * 100ms / 256
		{100, 10 * time.Millisecond, 6093750 * time.Nanosecond},   // 156 * 10ms / 256
		{90, 10 * time.Millisecond, 6484375 * time.Nanosecond},    // 166 * 10ms / 256
		// 255 * 10ms / 256 = 9960937.5 ns: truncated to the nanosecond.
		{1, 10 * time.Millisecond, 9960937 * time.Nanosecond},
	} {
		if got := SkewTime(3, tc.prio, tc.adverInt); got != tc.skew {
			t.Errorf("v3 prio %d int %s: Skew_Time %s, want %s", tc.prio, tc.adverInt, got, tc.skew)
		}
		want := 3*tc.adverInt + tc.skew
		if got := MasterDownInterval(3, tc.prio, tc.adverInt); got != want {
			t.Errorf("v3 prio %d int %s: Master_Down_Interval %s, want %s", tc.prio, tc.adverInt, got, want)
		}
	}
}

// The integer centisecond reading of the formula would make every Skew_Time at 10 ms
// zero; ours keeps the backups apart.
func TestRFC5798_6_1_SkewTimeOrdersBackupsAt10ms(t *testing.T) {
	t.Parallel()
	prev := time.Duration(0)
	for p := 254; p >= 1; p-- {
		s := SkewTime(3, uint8(p), 10*time.Millisecond)
		if s <= prev {
			t.Fatalf("Skew_Time(prio %d) = %s is not above Skew_Time(prio %d) = %s", p, s, p+1, prev)
		}
		prev = s
	}
}

func TestStaleTimerFiredIsIgnored(t *testing.T) {
	t.Parallel()
	i := started(t, v2Config())
	down := i.timers[TimerMasterDown]

	// Never armed.
	if acts := i.Step(t0.Add(time.Hour), TimerFired{Kind: TimerAdver}); len(acts) != 0 {
		t.Fatalf("disarmed adver timer: %#v", acts)
	}
	// Unknown kind.
	if acts := i.Step(t0.Add(time.Hour), TimerFired{Kind: 99}); len(acts) != 0 {
		t.Fatalf("unknown timer: %#v", acts)
	}
	// Early: the deadline is re-announced and nothing else happens.
	acts := i.Step(down.Add(-time.Nanosecond), TimerFired{Kind: TimerMasterDown})
	if len(acts) != 1 || acts[0] != (ArmTimer{Kind: TimerMasterDown, At: down}) {
		t.Fatalf("early fire: %#v", acts)
	}
	wantState(t, i, StateBackup)

	// A re-armed timer: an advert pushes the deadline; a fire at the old one is early.
	acts = recv(t, i, t0.Add(time.Second), highPeer, advertFor(v2Config(), 200))
	newDown := armed(t, acts, TimerMasterDown)
	if !newDown.After(down) {
		t.Fatalf("deadline %v not pushed past %v", newDown, down)
	}
	acts = i.Step(down, TimerFired{Kind: TimerMasterDown})
	wantNoTransition(t, acts)
	wantState(t, i, StateBackup)

	// Exactly at the deadline it is real.
	acts = i.Step(newDown, TimerFired{Kind: TimerMasterDown})
	wantTransition(t, acts, StateBackup, StateMaster)

	// A second delivery of the same fire is ignored: the timer was consumed.
	if acts := i.Step(newDown, TimerFired{Kind: TimerMasterDown}); len(acts) != 0 {
		t.Fatalf("duplicate fire: %#v", acts)
	}
	// After stepping down, the cancelled Adver_Timer's fire is ignored.
	recv(t, i, newDown.Add(time.Millisecond), highPeer, advertFor(v2Config(), 200))
	wantState(t, i, StateBackup)
	if acts := i.Step(newDown.Add(time.Second), TimerFired{Kind: TimerAdver}); len(acts) != 0 {
		t.Fatalf("fire of cancelled adver timer: %#v", acts)
	}
}

// tenMsMaster is a VRRPv3 address owner at advert_int 0.01: MASTER from t0, its
// Adver_Timer at t0+10ms.
func tenMsMaster(t *testing.T) (*Instance, Config) {
	t.Helper()
	c := v3Config()
	c.AdverInt = 10 * time.Millisecond
	c.Priority = 255
	i := started(t, c)
	wantState(t, i, StateMaster)
	if got := i.timers[TimerAdver]; !got.Equal(t0.Add(c.AdverInt)) {
		t.Fatalf("first Adver_Timer at %v, want t0+10ms", got)
	}
	return i, c
}

// fireAdverLate delivers the Adver_Timer late by late and checks that exactly one
// advert went out; it returns the re-armed deadline.
func fireAdverLate(t *testing.T, i *Instance, late time.Duration) time.Time {
	t.Helper()
	at := i.timers[TimerAdver]
	acts := i.Step(at.Add(late), TimerFired{Kind: TimerAdver})
	if p := sentPriorities(acts); len(p) != 1 {
		t.Fatalf("fired %s late: sent %v, want one advert", late, p)
	}
	return armed(t, acts, TimerAdver)
}

// A master re-arms the Adver_Timer from the deadline that fired, not from when the
// expiry was handled: a wake-up 3 ms late delays that advert only, and the later ones
// stay on the grid t0 + n*10ms (with the re-arm from "now" every interval would carry
// the latency and the adverts would drift).
func TestAdverTimer_LateFireKeepsTheGrid(t *testing.T) {
	t.Parallel()
	i, _ := tenMsMaster(t)
	ms := time.Millisecond
	if got := fireAdverLate(t, i, 3*ms); !got.Equal(t0.Add(20 * ms)) {
		t.Fatalf("fired at t0+13ms: next at t0+%s, want t0+20ms", got.Sub(t0))
	}
	if got := fireAdverLate(t, i, 0); !got.Equal(t0.Add(30 * ms)) {
		t.Fatalf("fired on time at t0+20ms: next at t0+%s, want t0+30ms", got.Sub(t0))
	}
	// Just under a whole interval late: the next grid point is still ahead.
	if got := fireAdverLate(t, i, 10*ms-time.Nanosecond); !got.Equal(t0.Add(40 * ms)) {
		t.Fatalf("fired at t0+40ms-1ns: next at t0+%s, want t0+40ms", got.Sub(t0))
	}
	if st := i.Status(t0.Add(40 * ms)); st.AdvertsSent != 4 {
		t.Fatalf("%d adverts sent, want 4 (start + 3 fires)", st.AdvertsSent)
	}
}

// Held up for a whole interval or more, the master sends one advert and restarts the
// grid from now: no burst of catch-up adverts for the grid points it missed.
func TestAdverTimer_FireLaterThanAnIntervalRestartsFromNow(t *testing.T) {
	t.Parallel()
	for _, late := range []time.Duration{10 * time.Millisecond, 10*time.Millisecond + time.Nanosecond, 37 * time.Millisecond} {
		t.Run(late.String(), func(t *testing.T) {
			t.Parallel()
			i, c := tenMsMaster(t)
			now := t0.Add(c.AdverInt + late)
			if got := fireAdverLate(t, i, late); !got.Equal(now.Add(c.AdverInt)) {
				t.Fatalf("fired %s late at t0+%s: next at t0+%s, want now+10ms = t0+%s",
					late, now.Sub(t0), got.Sub(t0), now.Add(c.AdverInt).Sub(t0))
			}
			// The restarted grid holds: late again by 2 ms, the next stays on it.
			grid := i.timers[TimerAdver]
			if got := fireAdverLate(t, i, 2*time.Millisecond); !got.Equal(grid.Add(c.AdverInt)) {
				t.Fatalf("next at t0+%s, want t0+%s", got.Sub(t0), grid.Add(c.AdverInt).Sub(t0))
			}
		})
	}
}

// Every advert sent out of turn restarts the grid from its own send time, as RFC 5798
// 6.4.3 resets the Adver_Timer to Advertisement_Interval after it: the first advert as
// master (a late Master_Down_Timer counts from the takeover, not from its deadline), a
// reload (the new advert_int from the reload, keepalived's reload_master), a priority
// change, and the answer to a priority-0 advert. A late fire after each stays on the
// new grid.
func TestAdverTimer_OutOfTurnAdvertRestartsTheGrid(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	c := v3Config()
	c.AdverInt = 10 * ms
	i := started(t, c)

	// Takeover: the Master_Down_Timer handled 4 ms late.
	down := i.timers[TimerMasterDown]
	took := down.Add(4 * ms)
	acts := i.Step(took, TimerFired{Kind: TimerMasterDown})
	wantTransition(t, acts, StateBackup, StateMaster)
	if got := armed(t, acts, TimerAdver); !got.Equal(took.Add(10 * ms)) {
		t.Fatalf("takeover: Adver_Timer at takeover+%s, want +10ms", got.Sub(took))
	}
	if got := fireAdverLate(t, i, 3*ms); !got.Equal(took.Add(20 * ms)) {
		t.Fatalf("after takeover: next at takeover+%s, want +20ms", got.Sub(took))
	}

	// Reload with advert_int 0.05: an advert at once, then every 50 ms from the reload.
	reload := took.Add(25 * ms)
	c2 := c
	c2.AdverInt = 50 * ms
	acts, err := i.Reconfigure(reload, c2)
	if err != nil {
		t.Fatalf("Reconfigure: %v", err)
	}
	if p := sentPriorities(acts); len(p) != 1 {
		t.Fatalf("reload: sent %v, want one advert", p)
	}
	if got := armed(t, acts, TimerAdver); !got.Equal(reload.Add(50 * ms)) {
		t.Fatalf("reload: Adver_Timer at reload+%s, want +50ms", got.Sub(reload))
	}
	if got := fireAdverLate(t, i, 7*ms); !got.Equal(reload.Add(100 * ms)) {
		t.Fatalf("after reload: next at reload+%s, want +100ms", got.Sub(reload))
	}

	// Priority change: advertised at once, the grid from then.
	change := reload.Add(120 * ms)
	acts = i.Step(change, PriorityDelta{Source: "chk", Delta: -10})
	if p := sentPriorities(acts); len(p) != 1 || p[0] != 90 {
		t.Fatalf("priority change: sent %v, want [90]", p)
	}
	if got := armed(t, acts, TimerAdver); !got.Equal(change.Add(50 * ms)) {
		t.Fatalf("priority change: Adver_Timer at change+%s, want +50ms", got.Sub(change))
	}

	// A peer resigns: answered at once, the grid from then.
	resign := change.Add(13 * ms)
	acts = recv(t, i, resign, highPeer, advertFor(c2, 0))
	if p := sentPriorities(acts); len(p) != 1 {
		t.Fatalf("priority 0 heard: sent %v, want one advert", p)
	}
	if got := armed(t, acts, TimerAdver); !got.Equal(resign.Add(50 * ms)) {
		t.Fatalf("priority 0 heard: Adver_Timer at +%s, want +50ms", got.Sub(resign))
	}
	if got := fireAdverLate(t, i, ms); !got.Equal(resign.Add(100 * ms)) {
		t.Fatalf("after priority 0: next at +%s, want +100ms", got.Sub(resign))
	}

	// Preempted: the Adver_Timer is cancelled, and a fire the driver still delivers at
	// the old deadline sends nothing.
	old := i.timers[TimerAdver]
	recv(t, i, old.Add(-ms), highPeer, advertFor(c2, 200))
	wantState(t, i, StateBackup)
	if acts := i.Step(old.Add(ms), TimerFired{Kind: TimerAdver}); len(sentPriorities(acts)) != 0 {
		t.Fatalf("cancelled Adver_Timer still sent: %#v", acts)
	}
}

// With Config.AdvertPhase every Adver_Timer deadline is a point of the phase's grid: an
// out-of-turn advert (takeover, priority change, reload, answering priority 0) is
// followed by the one grid point within the next interval — never later than the RFC's
// AdverInt, so a backup's Master_Down_Timer never runs closer — and instances with the
// same phase advertise together however apart they took over.
func TestAdverTimer_PhaseGrid(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	phase := t0.Add(-1234 * ms) // any instant, even before the instance existed
	onGrid := func(at time.Time, interval time.Duration) bool { return at.Sub(phase)%interval == 0 }

	c := v3Config()
	c.AdverInt = 100 * ms
	c.AdvertPhase = phase
	a, b := started(t, c), started(t, c)

	// Two backups taking over 37 ms apart, each 4 ms late.
	tookA := a.timers[TimerMasterDown].Add(4 * ms)
	tookB := tookA.Add(37 * ms)
	actsA := a.Step(tookA, TimerFired{Kind: TimerMasterDown})
	actsB := b.Step(tookB, TimerFired{Kind: TimerMasterDown})
	wantTransition(t, actsA, StateBackup, StateMaster)
	wantTransition(t, actsB, StateBackup, StateMaster)
	nextA, nextB := armed(t, actsA, TimerAdver), armed(t, actsB, TimerAdver)
	for _, x := range []struct {
		name       string
		took, next time.Time
	}{{"A", tookA, nextA}, {"B", tookB, nextB}} {
		if !onGrid(x.next, c.AdverInt) || !x.next.After(x.took) || x.next.Sub(x.took) > c.AdverInt {
			t.Fatalf("%s took over at phase+%s: next advert at phase+%s, want the grid point in (took, took+100ms]",
				x.name, x.took.Sub(phase), x.next.Sub(phase))
		}
	}
	if !nextA.Equal(nextB) {
		// 0.037 s apart at a 0.1 s grid: the same grid point unless the grid lies between.
		if nextB.Sub(nextA) != c.AdverInt {
			t.Fatalf("next adverts at phase+%s and phase+%s: not on one grid", nextA.Sub(phase), nextB.Sub(phase))
		}
	}
	// On the grid from then on, late fires or not.
	if got := fireAdverLate(t, a, 3*ms); !got.Equal(nextA.Add(c.AdverInt)) {
		t.Fatalf("A's next after a late fire at phase+%s, want phase+%s", got.Sub(phase), nextA.Add(c.AdverInt).Sub(phase))
	}
	// Held up for more than an interval: one advert now, then back on the grid.
	held := a.timers[TimerAdver].Add(250 * ms)
	acts := a.Step(held, TimerFired{Kind: TimerAdver})
	if p := sentPriorities(acts); len(p) != 1 {
		t.Fatalf("held up: sent %v, want one advert", p)
	}
	if got := armed(t, acts, TimerAdver); !onGrid(got, c.AdverInt) || got.Sub(held) > c.AdverInt || !got.After(held) {
		t.Fatalf("held up: next at phase+%s (fired at phase+%s), want the grid point within 100ms", got.Sub(phase), held.Sub(phase))
	}

	// A priority change and a reload to 0.05 s: out of turn, then the (new) grid.
	change := a.timers[TimerAdver].Add(-61 * ms)
	acts = a.Step(change, PriorityDelta{Source: "chk", Delta: -10})
	if got := armed(t, acts, TimerAdver); !onGrid(got, c.AdverInt) || got.Sub(change) > c.AdverInt || !got.After(change) {
		t.Fatalf("priority change at phase+%s: next at phase+%s", change.Sub(phase), got.Sub(phase))
	}
	c2 := c
	c2.AdverInt = 50 * ms
	reload := change.Add(7 * ms)
	acts, err := a.Reconfigure(reload, c2)
	if err != nil {
		t.Fatal(err)
	}
	if got := armed(t, acts, TimerAdver); !onGrid(got, c2.AdverInt) || got.Sub(reload) > c2.AdverInt || !got.After(reload) {
		t.Fatalf("reload at phase+%s: next at phase+%s, want the 50ms grid point within 50ms", reload.Sub(phase), got.Sub(phase))
	}
}
