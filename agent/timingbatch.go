package agent

import (
	"slices"
	"strings"
	"sync"
	"time"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// timingBatchEvery is how long an instance's advert timing may wait to be sent together
// with the others'. Every advert sent or received changes an instance's timing, so at
// 255 instances and advert_int 1 an agent would otherwise publish 255 events a second,
// each a wake-up, a gRPC message and a decode in every console; batched, it publishes
// at most 20. The period is half the per-instance coalescing (timingPublishEvery), so
// one batch never holds two events of an instance (none is superseded unseen) and an
// event waits at most 50 ms: at advert_int 0.01 an instance makes one every 100 ms, so
// two that a watcher receives are about 150 ms apart at most, less than the 160 ms the
// 16 recent intervals of an event cover, and a watcher that rebuilds the master's
// advert arrivals from them (e2e stressWatcher) still misses none.
const timingBatchEvery = timingPublishEvery / 2

// timingBatch gathers the advert-timing events of every instance and publishes them as
// one event a period: the latest event of each instance that made one, in an
// AdvertTimingBatchEvent, or the event alone when only one instance is due (so that a
// console that does not know the batch still follows a small cluster). Transitions and
// every other event are published at once, as before.
//
// The instance loops stay the only writers of their state: each hands over an event it
// built from its own state, and the batch only holds it. The mutex is also held while
// publishing (Hub.Publish never blocks), so an instance's timing events leave in the
// order the instance made them, whether batched or sent at once.
type timingBatch struct {
	every   time.Duration
	publish func(*hactlv1.WatchResponse)
	// arm schedules fn after d (time.AfterFunc; tests run fn by hand).
	arm func(d time.Duration, fn func())

	mu      sync.Mutex
	pending map[string]*hactlv1.AdvertTimingEvent // by instance name
	armed   bool                                  // a flush is scheduled
}

func newTimingBatch(every time.Duration, publish func(*hactlv1.WatchResponse)) *timingBatch {
	return &timingBatch{
		every:   every,
		publish: publish,
		arm:     func(d time.Duration, fn func()) { time.AfterFunc(d, fn) },
		pending: map[string]*hactlv1.AdvertTimingEvent{},
	}
}

// add queues ev for the next batch, in place of the same instance's queued event,
// which it supersedes (its values are absolute). The first event of a period arms the
// flush, so an agent nobody watches, or whose adverts stopped, never wakes for it.
func (b *timingBatch) add(ev *hactlv1.AdvertTimingEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending[ev.GetInstance()] = ev
	if !b.armed {
		b.armed = true
		b.arm(b.every, b.flush)
	}
}

// now publishes ev at once (with a transition, whose new master a console shows at
// once) and drops the same instance's queued event, which is older.
func (b *timingBatch) now(ev *hactlv1.AdvertTimingEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.pending, ev.GetInstance())
	b.publish(timingEvent(ev))
}

// flush publishes what is queued: nothing, one event alone, or a batch ordered by
// instance name.
func (b *timingBatch) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.armed = false
	switch len(b.pending) {
	case 0:
		return
	case 1:
		for _, ev := range b.pending {
			b.publish(timingEvent(ev))
		}
	default:
		evs := make([]*hactlv1.AdvertTimingEvent, 0, len(b.pending))
		for _, ev := range b.pending {
			evs = append(evs, ev)
		}
		slices.SortFunc(evs, func(x, y *hactlv1.AdvertTimingEvent) int {
			return strings.Compare(x.GetInstance(), y.GetInstance())
		})
		b.publish(&hactlv1.WatchResponse{Event: &hactlv1.WatchResponse_AdvertTimingBatch{
			AdvertTimingBatch: &hactlv1.AdvertTimingBatchEvent{Timings: evs},
		}})
	}
	clear(b.pending)
}

func timingEvent(ev *hactlv1.AdvertTimingEvent) *hactlv1.WatchResponse {
	return &hactlv1.WatchResponse{Event: &hactlv1.WatchResponse_AdvertTiming{AdvertTiming: ev}}
}
