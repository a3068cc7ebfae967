package agent

import (
	"fmt"
	"sync"
	"testing"
	"time"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// batchHarness runs a timingBatch whose flushes the test fires by hand.
type batchHarness struct {
	b         *timingBatch
	published []*hactlv1.WatchResponse
	flushes   []func()
	armedFor  []time.Duration
}

func newBatchHarness() *batchHarness {
	h := &batchHarness{}
	h.b = newTimingBatch(timingBatchEvery, func(ev *hactlv1.WatchResponse) { h.published = append(h.published, ev) })
	h.b.arm = func(d time.Duration, fn func()) {
		h.armedFor = append(h.armedFor, d)
		h.flushes = append(h.flushes, fn)
	}
	return h
}

// fire runs the one flush armed since the last fire.
func (h *batchHarness) fire(t *testing.T) {
	t.Helper()
	if len(h.flushes) != 1 {
		t.Fatalf("%d flushes armed, want 1", len(h.flushes))
	}
	fn := h.flushes[0]
	h.flushes = nil
	fn()
}

func timingOf(inst string, sent uint64) *hactlv1.AdvertTimingEvent {
	return &hactlv1.AdvertTimingEvent{Instance: inst, AdvertsSent: sent}
}

// instancesSent lists "instance:sent" of every timing in ev, alone or batched.
func instancesSent(ev *hactlv1.WatchResponse) []string {
	var out []string
	add := func(a *hactlv1.AdvertTimingEvent) {
		out = append(out, fmt.Sprintf("%s:%d", a.GetInstance(), a.GetAdvertsSent()))
	}
	if a := ev.GetAdvertTiming(); a != nil {
		add(a)
	}
	for _, a := range ev.GetAdvertTimingBatch().GetTimings() {
		add(a)
	}
	return out
}

func TestTimingBatchSendsTheLatestOfEachInstanceInOneEvent(t *testing.T) {
	h := newBatchHarness()
	h.b.add(timingOf("VI_2", 1))
	h.b.add(timingOf("VI_1", 1))
	h.b.add(timingOf("VI_2", 2)) // supersedes VI_2:1
	h.b.add(timingOf("VI_3", 1))
	if len(h.published) != 0 {
		t.Fatalf("published before the period ended: %v", h.published)
	}
	if len(h.armedFor) != 1 || h.armedFor[0] != timingBatchEvery {
		t.Fatalf("armed %v, want one flush after %v", h.armedFor, timingBatchEvery)
	}
	h.fire(t)
	if len(h.published) != 1 || h.published[0].GetAdvertTimingBatch() == nil {
		t.Fatalf("published %v, want one batch", h.published)
	}
	if got, want := fmt.Sprint(instancesSent(h.published[0])), "[VI_1:1 VI_2:2 VI_3:1]"; got != want {
		t.Errorf("batch carries %s, want %s (latest of each, by name)", got, want)
	}

	// Nothing queued: the next event arms a new flush, and one alone goes out alone
	// (a console that does not know batches still follows a one-instance agent).
	h.b.add(timingOf("VI_1", 2))
	h.fire(t)
	if len(h.published) != 2 || h.published[1].GetAdvertTiming() == nil {
		t.Fatalf("published %v, want the lone timing as an AdvertTimingEvent", h.published[1:])
	}
	if got := instancesSent(h.published[1]); fmt.Sprint(got) != "[VI_1:2]" {
		t.Errorf("lone event carries %v", got)
	}
	if len(h.armedFor) != 2 {
		t.Errorf("armed %d times, want 2 (once a period with something to send)", len(h.armedFor))
	}
}

func TestTimingBatchNowSupersedesTheQueuedEventOfItsInstance(t *testing.T) {
	h := newBatchHarness()
	h.b.add(timingOf("VI_1", 1))
	h.b.add(timingOf("VI_2", 1))
	h.b.now(timingOf("VI_1", 2)) // a transition: at once
	if len(h.published) != 1 || fmt.Sprint(instancesSent(h.published[0])) != "[VI_1:2]" {
		t.Fatalf("published %v, want VI_1:2 at once", h.published)
	}
	h.fire(t)
	// VI_1:1 is older than what was sent at once: it must not follow it.
	if len(h.published) != 2 || fmt.Sprint(instancesSent(h.published[1])) != "[VI_2:1]" {
		t.Fatalf("flush published %v, want VI_2:1 only", instancesSent(h.published[len(h.published)-1]))
	}
	if len(h.flushes) != 0 {
		t.Errorf("%d flushes armed with nothing queued", len(h.flushes))
	}
}

// TestTimingBatchConcurrentInstances is for -race: instance loops hand events over
// while the timer flushes.
func TestTimingBatchConcurrentInstances(t *testing.T) {
	var mu sync.Mutex
	last := map[string]uint64{}
	b := newTimingBatch(time.Millisecond, func(ev *hactlv1.WatchResponse) {
		mu.Lock()
		defer mu.Unlock()
		evs := ev.GetAdvertTimingBatch().GetTimings()
		if a := ev.GetAdvertTiming(); a != nil {
			evs = append(evs, a)
		}
		for _, a := range evs {
			if a.GetAdvertsSent() < last[a.GetInstance()] {
				t.Errorf("%s went back from %d to %d", a.GetInstance(), last[a.GetInstance()], a.GetAdvertsSent())
			}
			last[a.GetInstance()] = a.GetAdvertsSent()
		}
	})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			name := fmt.Sprintf("VI_%d", i)
			for n := range uint64(2000) {
				if n%100 == 0 {
					b.now(timingOf(name, n))
				} else {
					b.add(timingOf(name, n))
				}
			}
		})
	}
	wg.Wait()
	b.flush()
	mu.Lock()
	defer mu.Unlock()
	for i := range 8 {
		if got := last[fmt.Sprintf("VI_%d", i)]; got != 1999 {
			t.Errorf("VI_%d: last published %d, want 1999", i, got)
		}
	}
}
