package agent

import (
	"context"
	"testing"
	"time"
)

func (w *wakeups) state() (armed, woke time.Time, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.armed, w.woke, len(w.slots)
}

// The timerfd follows the earliest armed slot: moving, adding and disarming slots
// re-points it, and a deadline already past arms nothing.
func TestWakeups_ArmsTheEarliestSlot(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := startWakeups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(time.Hour)
	var a, b, c wakeSlot
	w.set(&a, base.Add(3*time.Second))
	w.set(&b, base.Add(1*time.Second))
	w.set(&c, base.Add(2*time.Second))
	if armed, _, n := w.state(); !armed.Equal(base.Add(time.Second)) || n != 3 {
		t.Fatalf("armed %v with %d slots, want base+1s with 3", armed.Sub(base), n)
	}
	w.set(&b, base.Add(4*time.Second)) // the earliest moves back
	if armed, _, _ := w.state(); !armed.Equal(base.Add(2 * time.Second)) {
		t.Fatalf("after moving b: armed base+%v, want base+2s", armed.Sub(base))
	}
	w.set(&a, base) // one moves forward
	if armed, _, _ := w.state(); !armed.Equal(base) {
		t.Fatalf("after moving a: armed base+%v, want base", armed.Sub(base))
	}
	w.set(&a, time.Time{}) // disarmed
	w.set(&c, time.Now().Add(-time.Second))
	if armed, _, n := w.state(); !armed.Equal(base.Add(4*time.Second)) || n != 1 {
		t.Fatalf("after disarming a and a past deadline for c: armed base+%v with %d slots, want base+4s with 1", armed.Sub(base), n)
	}
	w.set(&b, time.Time{})
	if armed, _, n := w.state(); !armed.IsZero() || n != 0 {
		t.Fatalf("all disarmed: armed %v with %d slots", armed, n)
	}
	var nilW *wakeups
	nilW.set(&a, base) // no timerfd: a no-op
}

// The kernel wakes the netpoller for a deadline, never before it, and the due slot is
// consumed; the next slot is armed after it.
func TestWakeups_WakesAtTheDeadline(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := startWakeups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var a, b wakeSlot
	due := time.Now().Add(5 * time.Millisecond)
	later := time.Now().Add(time.Hour)
	w.set(&a, due)
	w.set(&b, later)
	limit := time.Now().Add(5 * time.Second)
	for {
		armed, woke, n := w.state()
		if !woke.IsZero() {
			if woke.Before(due) {
				t.Fatalf("woke %v before the deadline", due.Sub(woke))
			}
			if !armed.Equal(later) || n != 1 {
				t.Fatalf("after the wake-up: armed %v with %d slots, want the later slot alone", armed, n)
			}
			break
		}
		if time.Now().After(limit) {
			t.Fatalf("no wake-up 5 s after a deadline 5 ms ahead (armed %v, %d slots)", armed, n)
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	// Closed: setting a slot no longer arms anything and does not fail.
	limit = time.Now().Add(5 * time.Second)
	for {
		w.set(&a, time.Now().Add(time.Minute)) // earlier than b: a re-arm
		if armed, _, _ := w.state(); armed.IsZero() {
			break
		}
		if time.Now().After(limit) {
			t.Fatal("the timerfd still arms 5 s after the context ended")
		}
		w.set(&a, time.Time{})
		time.Sleep(time.Millisecond)
	}
}
