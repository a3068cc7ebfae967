package api

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestHubNumbersAndStampsEvents(t *testing.T) {
	t.Parallel()
	h := NewHub(4)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h.now = func() time.Time { return at }
	if h.LastSeq() != 0 {
		t.Fatalf("LastSeq before any event: %d", h.LastSeq())
	}
	a, b := transition("VI_1"), transition("VI_1")
	given := timestamppb.New(at.Add(-time.Minute))
	b.Time = given
	h.Publish(a)
	h.Publish(b)
	h.Publish(nil) // ignored
	if a.Seq != 1 || b.Seq != 2 || h.LastSeq() != 2 {
		t.Errorf("seqs %d, %d, last %d; want 1, 2, 2", a.Seq, b.Seq, h.LastSeq())
	}
	if !a.Time.AsTime().Equal(at) || b.Time != given {
		t.Errorf("times %v, %v; want the hub's clock for the first and the given time kept", a.Time.AsTime(), b.Time.AsTime())
	}
}

func TestHubRingReplay(t *testing.T) {
	t.Parallel()
	h := NewHub(4)
	for range 10 {
		h.Publish(transition("VI_1"))
	}
	for _, tc := range []struct {
		after    uint64
		replay   []uint64 // nil: a snapshot at seq 10
		snapshot bool
	}{
		{after: 10, replay: []uint64{}},
		{after: 9, replay: []uint64{10}},
		{after: 6, replay: []uint64{7, 8, 9, 10}},
		{after: 5, snapshot: true}, // 6 fell out of the ring
		{after: 0, snapshot: true},
		{after: 11, snapshot: true}, // from before an agent restart
	} {
		s, replay, snapSeq, snapshot := h.subscribe(tc.after)
		h.unsubscribe(s)
		if snapshot != tc.snapshot {
			t.Errorf("after %d: snapshot %v, want %v", tc.after, snapshot, tc.snapshot)
			continue
		}
		if snapshot {
			if snapSeq != 10 {
				t.Errorf("after %d: snapshot seq %d, want 10", tc.after, snapSeq)
			}
			continue
		}
		var got []uint64
		for _, ev := range replay {
			got = append(got, ev.Seq)
		}
		if len(got) != len(tc.replay) || (len(got) > 0 && (got[0] != tc.replay[0] || got[len(got)-1] != tc.replay[len(tc.replay)-1])) {
			t.Errorf("after %d: replay %v, want %v", tc.after, got, tc.replay)
		}
	}
	if h.subscriberCount() != 0 {
		t.Errorf("%d subscribers left", h.subscriberCount())
	}
}

func TestHubWithoutRingSnapshotsWhenAnythingWasMissed(t *testing.T) {
	t.Parallel()
	h := NewHub(0)
	h.Publish(transition("VI_1"))
	h.Publish(transition("VI_1"))
	s, _, seq, snapshot := h.subscribe(1)
	h.unsubscribe(s)
	if !snapshot || seq != 2 {
		t.Errorf("missed one: snapshot %v at %d, want a snapshot at 2", snapshot, seq)
	}
	s, replay, _, snapshot := h.subscribe(2)
	h.unsubscribe(s)
	if snapshot || len(replay) != 0 {
		t.Errorf("missed nothing: snapshot %v, replay %d; want straight to live events", snapshot, len(replay))
	}
}

// TestHubLagMarksAndResyncs drives a subscriber that does not read past its buffer.
func TestHubLagMarksAndResyncs(t *testing.T) {
	t.Parallel()
	h := NewHub(8)
	h.bufSize = 3
	s, _, _, _ := h.subscribe(0)
	defer h.unsubscribe(s)
	for range 5 {
		h.Publish(transition("VI_1"))
	}
	select {
	case <-s.lagged:
	default:
		t.Fatal("subscriber with a full buffer not marked lagged")
	}
	if seq := h.resync(s); seq != 5 {
		t.Fatalf("resync at %d, want 5", seq)
	}
	if len(s.events) != 0 {
		t.Fatalf("%d stale events kept after resync", len(s.events))
	}
	h.Publish(transition("VI_1"))
	if ev := <-s.events; ev.Seq != 6 {
		t.Fatalf("after resync got seq %d, want 6", ev.Seq)
	}
}
