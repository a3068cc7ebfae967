package api

import (
	"context"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// watch runs one Watch stream: a snapshot (or, when resuming, the missed events from
// the ring), then live events, until send fails or ctx ends. It runs in the caller's
// goroutine and starts none, so a finished stream leaves nothing behind.
//
// The stream subscribes before it snapshots, so no event is lost between the two. An
// event published while status() runs is both reflected in the snapshot and sent after
// it; clients apply events idempotently (they carry absolute values), so that is
// harmless and cheaper than stopping the agent while a snapshot is taken.
//
// timing (nil: none) thins the stream's advert timing; see timingShaper.
func (h *Hub) watch(ctx context.Context, resumeAfter uint64, timing *hactlv1.WatchTiming, status func() *hactlv1.Node, send func(*hactlv1.WatchResponse) error) error {
	s, replay, snapSeq, snapshot := h.subscribe(resumeAfter)
	defer h.unsubscribe(s)
	sh := newTimingShaper(timing, send)
	defer sh.reset()

	if snapshot {
		if err := send(h.snapshotEvent(snapSeq, status())); err != nil {
			return err
		}
	}
	for _, ev := range replay {
		if err := sh.out(ev); err != nil {
			return err
		}
	}
	resync := func() error {
		sh.reset() // the snapshot supersedes what is held
		return send(h.snapshotEvent(h.resync(s), status()))
	}
	for {
		// A lag notice goes before anything still buffered: the snapshot supersedes it.
		select {
		case <-s.lagged:
			if err := resync(); err != nil {
				return err
			}
			continue
		default:
		}
		select {
		case <-ctx.Done():
			return contextStatus(ctx)
		case <-s.lagged:
			if err := resync(); err != nil {
				return err
			}
		case ev := <-s.events:
			if err := sh.out(ev); err != nil {
				return err
			}
		case <-sh.due():
			if err := sh.flush(); err != nil {
				return err
			}
		}
	}
}

// snapshotEvent wraps a node snapshot that stands for every event up to seq.
func (h *Hub) snapshotEvent(seq uint64, node *hactlv1.Node) *hactlv1.WatchResponse {
	at := node.GetNow()
	if at == nil {
		at = timestamppb.New(h.now())
	}
	return &hactlv1.WatchResponse{
		Seq:   seq,
		Time:  at,
		Event: &hactlv1.WatchResponse_Snapshot{Snapshot: node},
	}
}

func contextStatus(ctx context.Context) error {
	return status.FromContextError(ctx.Err()).Err()
}
