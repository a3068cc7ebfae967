package api

import (
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// defaultSubscriberBuffer is how far one Watch stream may fall behind the publisher
// before the hub gives up on its backlog and resynchronises it with a snapshot.
const defaultSubscriberBuffer = 256

// Hub numbers the agent's events, keeps the most recent ones for clients that
// reconnect, and fans them out to Watch streams.
//
// Publish never blocks on a subscriber: each one has a bounded buffer, and one that
// lets it fill is marked lagged. The hub then stops queueing for it, and its stream
// throws the stale backlog away and sends a fresh snapshot followed by live events. A
// slow client therefore costs a bounded amount of memory and never slows the agent.
//
// Contract for the publisher: publish an event only once its effect is visible in
// Backend.Status, and do not modify an event after publishing it (it is shared by
// every stream and the ring). A snapshot taken at sequence N then reflects at least
// every event up to N.
type Hub struct {
	now     func() time.Time
	bufSize int

	mu   sync.Mutex
	seq  uint64
	ring []*hactlv1.WatchResponse // event seq lives at ring[(seq-1) % len(ring)]
	subs map[*subscriber]struct{}
}

// subscriber is one Watch stream's queue.
type subscriber struct {
	events chan *hactlv1.WatchResponse
	// lagged carries one token when the hub has dropped events for this subscriber.
	lagged chan struct{}
	// dropping is set, under Hub.mu, from the overflow until the stream resyncs.
	dropping bool
}

// NewHub returns a hub that keeps the last ringSize events for resuming clients.
// ringSize 0 keeps none: every Watch then starts with a snapshot.
func NewHub(ringSize int) *Hub {
	return &Hub{
		now:     time.Now,
		bufSize: defaultSubscriberBuffer,
		ring:    make([]*hactlv1.WatchResponse, max(ringSize, 0)),
		subs:    make(map[*subscriber]struct{}),
	}
}

// Publish assigns ev the next sequence number (and the current time when ev.Time is
// unset), records it and hands it to every subscriber. It never blocks.
func (h *Hub) Publish(ev *hactlv1.WatchResponse) {
	if ev == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	ev.Seq = h.seq
	if ev.Time == nil {
		ev.Time = timestamppb.New(h.now())
	}
	if n := uint64(len(h.ring)); n > 0 {
		h.ring[(h.seq-1)%n] = ev
	}
	for s := range h.subs {
		if s.dropping {
			continue
		}
		select {
		case s.events <- ev:
		default:
			s.dropping = true
			select {
			case s.lagged <- struct{}{}:
			default:
			}
		}
	}
}

// LastSeq is the sequence number of the last published event, 0 before the first.
func (h *Hub) LastSeq() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq
}

// subscribe registers a subscriber. When the ring still holds every event after
// resumeAfter it returns them as replay; otherwise snapshot is true and snapSeq is the
// sequence the caller's snapshot stands for. Either way, the subscriber receives
// exactly the events after that point, because registration and the reading of the
// sequence happen under one lock.
func (h *Hub) subscribe(resumeAfter uint64) (s *subscriber, replay []*hactlv1.WatchResponse, snapSeq uint64, snapshot bool) {
	s = &subscriber{
		events: make(chan *hactlv1.WatchResponse, h.bufSize),
		lagged: make(chan struct{}, 1),
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs[s] = struct{}{}
	if resumeAfter > 0 && h.holdsAfter(resumeAfter) {
		return s, h.eventsAfter(resumeAfter), 0, false
	}
	return s, nil, h.seq, true
}

// holdsAfter reports whether the ring holds every event after seq. Called with mu held.
func (h *Hub) holdsAfter(seq uint64) bool {
	if seq > h.seq {
		return false // a sequence from before an agent restart
	}
	return h.seq-seq <= uint64(len(h.ring))
}

// eventsAfter copies the events after seq out of the ring. Called with mu held.
func (h *Hub) eventsAfter(seq uint64) []*hactlv1.WatchResponse {
	n := uint64(len(h.ring))
	out := make([]*hactlv1.WatchResponse, 0, h.seq-seq)
	for q := seq + 1; q <= h.seq; q++ {
		out = append(out, h.ring[(q-1)%n])
	}
	return out
}

// resync throws away a lagged subscriber's backlog and resumes queueing for it. It
// returns the sequence number the caller's fresh snapshot stands for.
func (h *Hub) resync(s *subscriber) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	for len(s.events) > 0 {
		<-s.events
	}
	s.dropping = false
	return h.seq
}

func (h *Hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
}

// Watched reports whether any Watch stream is open, so that a publisher can skip
// building events nobody would read (advert timing at hundreds of instances).
func (h *Hub) Watched() bool { return h.subscriberCount() > 0 }

// subscriberCount is for tests that check streams do not leak.
func (h *Hub) subscriberCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
