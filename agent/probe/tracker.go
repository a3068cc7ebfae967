package probe

import (
	"sync"
	"time"
)

// HistorySize is how many results a Tracker keeps.
const HistorySize = 32

// Tracker applies keepalived's fall/rise rule to a stream of results and
// keeps the most recent ones. It is safe for concurrent use: the probe
// goroutine writes, anyone may read.
//
// keepalived (vrrp_script_child_thread) counts consecutive results: a healthy
// script goes FAILED after `fall` failures in a row, a FAILED one comes back
// after `rise` successes in a row; a result of the other sign restarts the
// count.
type Tracker struct {
	name string
	fall int
	rise int

	mu      sync.Mutex
	healthy bool
	// reported: a first result was observed (or init_fail said FAILED); until then the
	// first result decides, as keepalived's SCRIPT_INIT_STATE_INIT.
	reported bool
	streak   int // consecutive results disagreeing with the current state
	ring     [HistorySize]Result
	next     int
	count    int
}

// NewTracker returns a tracker that starts healthy, or FAILED when initFail
// is set (keepalived's init_fail). fall and rise below 1 mean 1.
func NewTracker(name string, fall, rise int, initFail bool) *Tracker {
	return &Tracker{name: name, fall: max(fall, 1), rise: max(rise, 1), healthy: !initFail, reported: initFail}
}

// Observe records r and returns the state change it caused, if any.
// Results of KindRestart are recorded but do not count.
func (t *Tracker) Observe(r Result) *StateChange {
	r = r.safe()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ring[t.next] = r
	t.next = (t.next + 1) % HistorySize
	t.count = min(t.count+1, HistorySize)
	if r.Kind == KindRestart {
		return nil
	}
	if !t.reported {
		// The first result decides and is always a change: from pending to known.
		t.reported = true
		t.healthy = r.OK
		t.streak = 0
		return &StateChange{Probe: t.name, Healthy: r.OK, Reason: r.Reason(), At: r.Started.Add(r.Duration)}
	}
	if r.OK == t.healthy {
		t.streak = 0
		return nil
	}
	t.streak++
	need := t.fall
	if !t.healthy {
		need = t.rise
	}
	if t.streak < need {
		return nil
	}
	t.healthy = r.OK
	t.streak = 0
	return &StateChange{Probe: t.name, Healthy: r.OK, Reason: r.Reason(), At: r.Started.Add(r.Duration)}
}

// Initial is the change that announces the current state, sent first by
// every Run: Pending unless init_fail made it FAILED.
func (t *Tracker) Initial(now time.Time) *StateChange {
	t.mu.Lock()
	defer t.mu.Unlock()
	return &StateChange{Probe: t.name, Healthy: t.healthy, Pending: !t.reported, Reason: "initial state", At: now}
}

// Healthy reports the current state.
func (t *Tracker) Healthy() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.healthy
}

// History returns a copy of the recorded results, oldest first.
func (t *Tracker) History() []Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Result, 0, t.count)
	start := (t.next - t.count + HistorySize) % HistorySize
	for i := range t.count {
		out = append(out, t.ring[(start+i)%HistorySize])
	}
	return out
}
