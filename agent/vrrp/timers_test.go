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
