package cluster

import (
	"sync"
	"time"
)

// briefTimingEvery is how long an agent may hold the advert timing of the instances a
// focused console does not show in detail (WatchTiming.brief_every). The console draws
// only their master from it and redraws the clock every 250 ms; a transition, a VIP, a
// probe or a priority is never held.
const briefTimingEvery = 500 * time.Millisecond

// refocusAfter is how long the focus must rest on an instance before the streams are
// re-opened for it: holding a key down through 255 instances re-opens them once.
const refocusAfter = 200 * time.Millisecond

// TimingFocus is the instance whose advert timing a console shows in detail (issue
// 18). WatchFocused asks each agent for that instance's timing in full, and for the
// others' only when their master or interval changes (what the list shows; without
// recent intervals, held up to briefTimingEvery): at 255 instances and advert_int 1
// an agent then sends about one timing message a second instead of 20 batches
// holding 255 timings. Set it from any goroutine; a change re-opens the streams on
// the same connections, resuming after the last event seen, so nothing is missed, and
// the watchers deliver Focused first.
type TimingFocus struct {
	mu       sync.Mutex
	instance string
	changed  chan struct{} // closed, and replaced, when instance changes
}

// NewTimingFocus returns a focus on no instance (every timing brief).
func NewTimingFocus() *TimingFocus { return &TimingFocus{changed: make(chan struct{})} }

// Set focuses on instance ("" for none); setting the current one does nothing.
func (f *TimingFocus) Set(instance string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if instance == f.instance {
		return
	}
	f.instance = instance
	close(f.changed)
	f.changed = make(chan struct{})
}

// get returns the instance and a channel closed at its next change.
func (f *TimingFocus) get() (string, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.instance, f.changed
}
