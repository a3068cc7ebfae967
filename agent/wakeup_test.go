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

// The timerfd is armed for the earliest slot as soon as one is earlier than what it is
// armed for; slots that move later or go leave it armed (it then wakes early, which
// TestWakeups_EarlyWakeRearms covers), and a deadline already past arms nothing.
func TestWakeups_ArmsTheEarliestSlot(t *testing.T) {
	t.Parallel()
	w, _ := startTestWakeups(t)
	base := time.Now().Add(time.Hour)
	var a, b, c wakeSlot
	w.set(&a, base.Add(3*time.Second))
	if armed, _, _ := w.state(); !armed.Equal(base.Add(3 * time.Second)) {
		t.Fatalf("one slot: armed base+%v, want base+3s", armed.Sub(base))
	}
	w.set(&b, base.Add(1*time.Second))
	w.set(&c, base.Add(2*time.Second))
	if armed, _, n := w.state(); !armed.Equal(base.Add(time.Second)) || n != 3 {
		t.Fatalf("armed base+%v with %d slots, want base+1s with 3", armed.Sub(base), n)
	}
	w.set(&b, base.Add(4*time.Second)) // the earliest moves later: no syscall
	if armed, _, _ := w.state(); !armed.Equal(base.Add(time.Second)) {
		t.Fatalf("after moving b later: armed base+%v, want still base+1s", armed.Sub(base))
	}
	w.set(&a, base) // one moves earlier than the armed time
	if armed, _, _ := w.state(); !armed.Equal(base) {
		t.Fatalf("after moving a earlier: armed base+%v, want base", armed.Sub(base))
	}
	w.set(&a, time.Time{})                  // disarmed
	w.set(&c, time.Now().Add(-time.Second)) // already past: the runtime's timer is due anyway
	if _, _, n := w.state(); n != 1 {
		t.Fatalf("after disarming a and a past deadline for c: %d slots, want b alone", n)
	}
	var nilW *wakeups
	nilW.set(&a, base) // no timerfd: a no-op
}

// The kernel wakes the netpoller for a deadline, never before it; the due slot is
// consumed and the next one armed.
func TestWakeups_WakesAtTheDeadline(t *testing.T) {
	t.Parallel()
	w, cancel := startTestWakeups(t)
	var a, b wakeSlot
	due := time.Now().Add(5 * time.Millisecond)
	later := time.Now().Add(time.Hour)
	w.set(&a, due)
	w.set(&b, later)
	if woke := waitWoke(t, w, time.Time{}, "a deadline 5 ms ahead"); woke.Before(due) {
		t.Fatalf("woke %v before the deadline", due.Sub(woke))
	}
	if armed, _, n := w.state(); !armed.Equal(later) || n != 1 || a.in {
		t.Fatalf("after the wake-up: armed %v with %d slots (a in: %v), want the later slot alone", armed, n, a.in)
	}
	cancel()
	// Closed: setting a slot no longer arms anything and does not fail.
	limit := time.Now().Add(5 * time.Second)
	at := time.Now().Add(time.Minute)
	for {
		at = at.Add(-time.Millisecond) // earlier every time: always a re-arm
		w.set(&a, at)
		if armed, _, _ := w.state(); armed.IsZero() {
			break
		}
		if time.Now().After(limit) {
			t.Fatal("the timerfd still arms 5 s after the context ended")
		}
		time.Sleep(time.Millisecond)
	}
}

// A slot moved later after the timerfd was armed for it: the early wake-up finds
// nothing due, keeps the slot and re-arms for its new deadline, at which it wakes.
func TestWakeups_EarlyWakeRearms(t *testing.T) {
	t.Parallel()
	w, _ := startTestWakeups(t)
	var a wakeSlot
	first := time.Now().Add(5 * time.Millisecond)
	w.set(&a, first)
	moved := first.Add(20 * time.Millisecond)
	w.set(&a, moved)
	woke := waitWoke(t, w, time.Time{}, "the early wake-up")
	if woke.Before(first) {
		t.Fatalf("woke %v before the armed time", first.Sub(woke))
	}
	if woke.Before(moved) {
		if armed, _, n := w.state(); n != 1 || !armed.Equal(moved) {
			t.Fatalf("early wake-up: %d slots, armed %v; want the slot kept and armed at its new deadline", n, armed)
		}
		woke = waitWoke(t, w, woke, "the moved deadline")
	}
	if woke.Before(moved) {
		t.Fatalf("woke %v before the moved deadline", moved.Sub(woke))
	}
	if _, _, n := w.state(); n != 0 {
		t.Fatalf("%d slots after the moved deadline passed, want 0", n)
	}
}
