package agent

import (
	"context"
	"strings"
	"testing"
	"time"
)

func (w *wakeups) state() (armed, woke time.Time, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.armed, w.woke, len(w.slots)
}

func startTestWakeups(t *testing.T) (*wakeups, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w, err := startWakeups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return w, cancel
}

// waitWoke waits for a wake-up after since and returns its time.
func waitWoke(t *testing.T, w *wakeups, since time.Time, what string) time.Time {
	t.Helper()
	limit := time.Now().Add(5 * time.Second)
	for {
		armed, woke, n := w.state()
		if woke.After(since) {
			return woke
		}
		if time.Now().After(limit) {
			t.Fatalf("no wake-up for %s within 5 s (armed %v, %d slots)", what, armed, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// firedSlot is a slot whose fire records when it ran, on a channel.
func firedSlot() (*wakeSlot, chan time.Time) {
	ch := make(chan time.Time, 8)
	return &wakeSlot{fire: func() { ch <- time.Now() }}, ch
}

// waitFired waits for a slot's fire and returns when it ran.
func waitFired(t *testing.T, ch chan time.Time, what string) time.Time {
	t.Helper()
	select {
	case at := <-ch:
		return at
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: not fired within 5 s", what)
	}
	return time.Time{}
}

// The timerfd is armed for the earliest slot as soon as one is earlier than what it is
// armed for; slots that move later or go leave it armed (it then wakes early, which
// TestWakeups_EarlyWakeRearms covers).
func TestWakeups_ArmsTheEarliestSlot(t *testing.T) {
	t.Parallel()
	w, _ := startTestWakeups(t)
	base := time.Now().Add(time.Hour)
	var a, b, c wakeSlot
	w.set(&a, base.Add(3*time.Second), wakeWhole)
	if armed, _, _ := w.state(); !armed.Equal(base.Add(3 * time.Second)) {
		t.Fatalf("one slot: armed base+%v, want base+3s", armed.Sub(base))
	}
	w.set(&b, base.Add(1*time.Second), wakeWhole)
	w.set(&c, base.Add(2*time.Second), wakeWhole)
	if armed, _, n := w.state(); !armed.Equal(base.Add(time.Second)) || n != 3 {
		t.Fatalf("armed base+%v with %d slots, want base+1s with 3", armed.Sub(base), n)
	}
	w.set(&b, base.Add(4*time.Second), wakeWhole) // the earliest moves later: no syscall
	if armed, _, _ := w.state(); !armed.Equal(base.Add(time.Second)) {
		t.Fatalf("after moving b later: armed base+%v, want still base+1s", armed.Sub(base))
	}
	w.set(&a, base, wakeWhole) // one moves earlier than the armed time
	if armed, _, _ := w.state(); !armed.Equal(base) {
		t.Fatalf("after moving a earlier: armed base+%v, want base", armed.Sub(base))
	}
	w.set(&a, time.Time{}, wakeWhole) // disarmed
	w.set(&c, time.Time{}, wakeWhole)
	if _, _, n := w.state(); n != 1 {
		t.Fatalf("after disarming a and c: %d slots, want b alone", n)
	}
	var nilW *wakeups
	nilW.set(&a, base, wakeWhole) // no timerfd: a no-op
}

// A deadline that has already passed is fired at once.
func TestWakeups_PastDeadlineFiresAtOnce(t *testing.T) {
	t.Parallel()
	w, _ := startTestWakeups(t)
	s, fired := firedSlot()
	past := time.Now().Add(-time.Second)
	w.set(s, past, wakePrecise)
	waitFired(t, fired, "a deadline a second ago")
	if _, _, n := w.state(); n != 0 {
		t.Fatalf("%d slots after firing the past deadline, want 0", n)
	}
}

// The kernel wakes serve at most maxLead before a deadline, and the slot fires at its
// deadline, never before it; the due slot is consumed and the next one armed.
func TestWakeups_FiresAtTheDeadline(t *testing.T) {
	t.Parallel()
	w, cancel := startTestWakeups(t)
	a, firedA := firedSlot()
	b, firedB := firedSlot()
	due := time.Now().Add(5 * time.Millisecond)
	later := time.Now().Add(time.Hour)
	w.set(a, due, wakePrecise)
	w.set(b, later, wakePrecise)
	at := waitFired(t, firedA, "a deadline 5 ms ahead")
	if at.Before(due) {
		t.Fatalf("fired %v before the deadline", due.Sub(at))
	}
	if woke := waitWoke(t, w, time.Time{}, "the deadline"); woke.Before(due.Add(-maxLead)) {
		t.Fatalf("woke %v before the deadline, more than maxLead (%v)", due.Sub(woke), maxLead)
	}
	// serve re-arms for what is left after fire returns: wait for that, bounded.
	limit := time.Now().Add(5 * time.Second)
	for {
		armed, _, n := w.state()
		w.mu.Lock()
		wakeB := b.wakeAt
		w.mu.Unlock()
		if armed.Equal(wakeB) && !wakeB.Before(later.Add(-maxLead)) && n == 1 {
			break
		}
		if time.Now().After(limit) {
			t.Fatalf("5 s after firing: armed %v with %d slots, want the later slot alone", armed, n)
		}
		time.Sleep(time.Millisecond)
	}
	if w.mu.Lock(); a.in {
		t.Fatal("the fired slot is still in the heap")
	}
	w.mu.Unlock()
	select {
	case <-firedB:
		t.Fatal("the slot an hour ahead fired")
	default:
	}
	cancel()
	// Closed: setting a slot no longer arms anything and does not fail.
	limit = time.Now().Add(5 * time.Second)
	for w.set(a, time.Now().Add(time.Minute), wakePrecise) {
		if time.Now().After(limit) {
			t.Fatal("the wake-ups still arm 5 s after the context ended")
		}
		time.Sleep(time.Millisecond)
	}
}

// A whole-second instance's slot (not precise) is woken at its deadline, not a lead
// before it, and fired without a wait on CPU.
func TestWakeups_WholeSecondSlotWakesAtItsDeadline(t *testing.T) {
	t.Parallel()
	w, _ := startTestWakeups(t)
	a, fired := firedSlot()
	due := time.Now().Add(20 * time.Millisecond)
	w.set(a, due, wakeWhole)
	if armed, _, _ := w.state(); !armed.Equal(due) {
		t.Fatalf("armed %v before the deadline, want at it", due.Sub(armed))
	}
	at := waitFired(t, fired, "a deadline 20 ms ahead")
	if woke := waitWoke(t, w, time.Time{}, "the deadline"); woke.Before(due) {
		t.Fatalf("woke %v before the deadline: a whole-second slot has no lead", due.Sub(woke))
	}
	if at.Before(due) {
		t.Fatalf("fired %v before the deadline", due.Sub(at))
	}
}

// When the wake-ups end, every armed slot fires once (its instance then re-arms on a
// runtime timer: a whole-second one has no other) and set refuses to arm.
func TestWakeups_EndHandsTheSlotsBack(t *testing.T) {
	t.Parallel()
	w, cancel := startTestWakeups(t)
	a, fired := firedSlot()
	if !w.set(a, time.Now().Add(time.Hour), wakeWhole) {
		t.Fatal("set refused a slot while serving")
	}
	cancel()
	waitFired(t, fired, "the armed slot after the end")
	if w.set(a, time.Now().Add(time.Hour), wakeWhole) {
		t.Fatal("set armed a slot after the end")
	}
	if _, _, n := w.state(); n != 0 {
		t.Fatalf("%d slots after the end, want 0", n)
	}
}

// While every P is busy the netpoller is not polled, and the timerfd's expiry waits; a
// precise slot is then run from the runtime timer armed for its wakeAt, at its deadline.
// Here nothing serves the timerfd at all: the runtime timer alone must fire it. A
// whole-second slot gets no runtime timer (see TestWakeups_WholeSecondInstanceHasNoRuntimeTimer).
func TestWakeups_PreciseSlotAlsoRunsFromARuntimeTimer(t *testing.T) {
	t.Parallel()
	w, err := openWakeups()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.tfd.Close() })
	whole, wholeFired := firedSlot()
	w.set(whole, time.Now().Add(time.Hour), wakeWhole)
	if w.mu.Lock(); !w.rtAt.IsZero() {
		t.Errorf("a whole-second slot armed the runtime timer for %v", w.rtAt)
	}
	w.mu.Unlock()
	a, fired := firedSlot()
	due := time.Now().Add(20 * time.Millisecond)
	w.set(a, due, wakePrecise)
	if w.mu.Lock(); !w.rtAt.Equal(a.wakeAt) || !a.wakeAt.Before(due) {
		t.Errorf("runtime timer armed for %v, want the precise slot's wakeAt, %v before its deadline", w.rtAt, due.Sub(a.wakeAt))
	}
	w.mu.Unlock()
	if at := waitFired(t, fired, "a precise deadline with no timerfd served"); at.Before(due) {
		t.Fatalf("fired %v before the deadline", due.Sub(at))
	}
	select {
	case <-wholeFired:
		t.Fatal("the whole-second slot an hour ahead fired")
	default:
	}
}

// Takeovers due together (every backup's Master_Down_Timer when the link goes) run side
// by side, not one after another: each slot's fire here waits for the other's to start,
// which one after another never happens.
func TestWakeups_TakeoversDueTogetherRunSideBySide(t *testing.T) {
	t.Parallel()
	w, _ := startTestWakeups(t)
	started := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	met := make(chan bool, 2)
	slots := [2]*wakeSlot{}
	for k := range slots {
		slots[k] = &wakeSlot{fire: func() {
			close(started[k])
			select {
			case <-started[1-k]:
				met <- true
			case <-time.After(5 * time.Second):
				met <- false
			}
		}}
	}
	due := time.Now().Add(10 * time.Millisecond)
	w.set(slots[0], due, wakeTakeover)
	w.set(slots[1], due, wakeTakeover)
	for range 2 {
		select {
		case ok := <-met:
			if !ok {
				t.Fatal("one deadline's fire ran 5 s without the other's starting: they ran one after another")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the two deadlines did not both fire within 10 s")
		}
	}
}

// A slot moved later after the timerfd was armed for it: the early wake-up finds
// nothing due, keeps the slot and re-arms for its new deadline, at which it fires.
func TestWakeups_EarlyWakeRearms(t *testing.T) {
	t.Parallel()
	w, _ := startTestWakeups(t)
	a, fired := firedSlot()
	first := time.Now().Add(5 * time.Millisecond)
	w.set(a, first, wakePrecise)
	moved := first.Add(20 * time.Millisecond)
	w.set(a, moved, wakePrecise)
	at := waitFired(t, fired, "the moved deadline")
	if at.Before(moved) {
		t.Fatalf("fired %v before the moved deadline", moved.Sub(at))
	}
	select {
	case at := <-fired:
		t.Fatalf("fired a second time, at moved%+v", at.Sub(moved))
	default:
	}
	if _, _, n := w.state(); n != 0 {
		t.Fatalf("%d slots after the moved deadline passed, want 0", n)
	}
}

// The lead follows the wake-ups' latency: the 99th percentile of the recent ones plus
// leadMargin, recomputed every leadEvery, kept within minLead and maxLead.
func TestWakeups_LeadFollowsTheLatency(t *testing.T) {
	t.Parallel()
	w := &wakeups{lead: initialLead}
	feed := func(d time.Duration, n int) {
		for range n {
			w.recordLatency(d)
		}
	}
	feed(100*time.Microsecond, leadEvery-1)
	if w.lead != initialLead {
		t.Fatalf("lead %v before %d wake-ups, want the initial %v", w.lead, leadEvery, initialLead)
	}
	feed(100*time.Microsecond, 1)
	if want := 100*time.Microsecond + leadMargin; w.lead != want {
		t.Fatalf("lead %v after %d wake-ups 100µs late, want %v", w.lead, leadEvery, want)
	}
	// One slow wake-up in 128 is above the 99th percentile; three are not.
	feed(time.Millisecond, 1)
	feed(100*time.Microsecond, leadEvery-1)
	if want := 100*time.Microsecond + leadMargin; w.lead != want {
		t.Fatalf("lead %v with one slow wake-up in %d, want still %v", w.lead, 2*leadEvery, want)
	}
	feed(200*time.Microsecond, 2)
	feed(100*time.Microsecond, leadEvery-2)
	if want := 200*time.Microsecond + leadMargin; w.lead != want {
		t.Fatalf("lead %v with three slow wake-ups in %d, want %v", w.lead, 3*leadEvery, want)
	}
	feed(300*time.Microsecond, leadEvery)
	if want := 300*time.Microsecond + leadMargin; w.lead != want {
		t.Fatalf("lead %v after %d wake-ups 300µs late, want %v", w.lead, leadEvery, want)
	}
	feed(5*time.Millisecond, leadSamples)
	if w.lead != maxLead {
		t.Fatalf("lead %v after slow wake-ups only, want the cap %v", w.lead, maxLead)
	}
	feed(time.Microsecond, leadSamples)
	if w.lead != minLead {
		t.Fatalf("lead %v after fast wake-ups only, want the floor %v", w.lead, minLead)
	}
}

// A whole-second master runs on the wake-ups alone, with no runtime timer armed (issue
// 14: a pending runtime timer wakes the runtime's sysmon twice per advert, and its
// AfterFunc a second thread), and its adverts still leave every second. A sub-second one
// keeps its runtime timer as well, for while the Ps are busy and the timerfd is not
// polled.
func TestWakeups_WholeSecondInstanceHasNoRuntimeTimer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		conf      string
		wantTimer bool
	}{
		{"advert_int 1", seedConf(255), false},
		{"advert_int 0.05", strings.Replace(seedConf(255), "advert_int 1", "version 3\n    advert_int 0.05", 1), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, tc.conf)
			for range 3 {
				h.seg.nextSent(t, 3*time.Second)
			}
			in := h.a.instance("VI_1")
			var timerOn, wakeUsed bool
			if err := in.call(context.Background(), func(time.Time) { timerOn, wakeUsed = in.timerOn, in.wakeUsed }); err != nil {
				t.Fatal(err)
			}
			if !wakeUsed || timerOn != tc.wantTimer {
				t.Fatalf("after three adverts: wake-ups used %v, runtime timer armed %v; want true, %v", wakeUsed, timerOn, tc.wantTimer)
			}
		})
	}
}
