package api

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// watchStream opens a Watch that ends with the test (or when cancel is called).
func watchStream(t *testing.T, c hactlv1.AgentServiceClient, resumeAfter uint64) (grpc.ServerStreamingClient[hactlv1.WatchResponse], context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	stream, err := c.Watch(ctx, &hactlv1.WatchRequest{ResumeAfter: resumeAfter})
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	return stream, cancel
}

func recv(t *testing.T, stream grpc.ServerStreamingClient[hactlv1.WatchResponse]) *hactlv1.WatchResponse {
	t.Helper()
	ev, err := stream.Recv()
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	return ev
}

func wantSnapshot(t *testing.T, ev *hactlv1.WatchResponse, seq uint64) {
	t.Helper()
	if ev.GetSnapshot().GetName() != "cenvm71" || ev.GetSeq() != seq {
		t.Fatalf("got seq %d %T, want the snapshot at seq %d", ev.GetSeq(), ev.GetEvent(), seq)
	}
	if ev.GetTime() == nil {
		t.Error("snapshot without time")
	}
}

func wantEvents(t *testing.T, stream grpc.ServerStreamingClient[hactlv1.WatchResponse], from, to uint64) {
	t.Helper()
	for seq := from; seq <= to; seq++ {
		ev := recv(t, stream)
		if ev.GetSeq() != seq || ev.GetTransition() == nil {
			t.Fatalf("got seq %d %T, want transition seq %d", ev.GetSeq(), ev.GetEvent(), seq)
		}
	}
}

func publish(h *Hub, n int) {
	for range n {
		h.Publish(transition("VI_1"))
	}
}

func unixServer(t *testing.T, ringSize int) (*testServer, string) {
	t.Helper()
	addr := unixAddr(t)
	ts := newTestServer(t, ringSize)
	ts.serve(t, listen(t, addr, nil))
	return ts, addr
}

func TestWatchSnapshotThenEvents(t *testing.T) {
	t.Parallel()
	ts, addr := unixServer(t, 16)
	c := dial(t, addr, nil)

	fresh, _ := watchStream(t, c, 0)
	wantSnapshot(t, recv(t, fresh), 0)
	publish(ts.hub, 3)
	wantEvents(t, fresh, 1, 3)

	// A watcher arriving later starts from a snapshot standing for seq 3.
	late, _ := watchStream(t, c, 0)
	wantSnapshot(t, recv(t, late), 3)
	publish(ts.hub, 2)
	wantEvents(t, late, 4, 5)
	wantEvents(t, fresh, 4, 5)
}

func TestWatchResumeReplaysMissedEvents(t *testing.T) {
	t.Parallel()
	ts, addr := unixServer(t, 16)
	c := dial(t, addr, nil)

	first, cancel := watchStream(t, c, 0)
	wantSnapshot(t, recv(t, first), 0)
	publish(ts.hub, 5)
	wantEvents(t, first, 1, 5)
	cancel() // the client goes away having seen 5

	publish(ts.hub, 3) // 6, 7, 8 happen while it is away
	again, _ := watchStream(t, c, 5)
	wantEvents(t, again, 6, 8)
	publish(ts.hub, 1)
	wantEvents(t, again, 9, 9) // exactly the missed ones, then live: no snapshot, no gap
}

func TestWatchResumeTooOldGetsSnapshot(t *testing.T) {
	t.Parallel()
	ts, addr := unixServer(t, 4)
	c := dial(t, addr, nil)
	publish(ts.hub, 10)

	for _, after := range []uint64{2, 5, 42} { // fell out of the ring; unknown to this agent
		stream, cancel := watchStream(t, c, after)
		wantSnapshot(t, recv(t, stream), 10)
		cancel()
	}
	stream, _ := watchStream(t, c, 6) // 7..10 are all still in the ring
	wantEvents(t, stream, 7, 10)
}

// TestWatchStuckClientDoesNotBlockPublish: a client that opens a Watch and stops
// reading must not slow the agent or grow its memory; when it reads again it gets a
// snapshot and then live events. Not parallel: it measures the heap.
func TestWatchStuckClientDoesNotBlockPublish(t *testing.T) {
	const events = 100_000
	ts, addr := unixServer(t, 1024)
	// Small fixed flow-control windows: the transport can hold only ~64 KiB for the
	// stuck stream, so everything else would have to be queued by the hub.
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	c := clientOn(t, conn, err)
	stream, _ := watchStream(t, c, 0)
	wantSnapshot(t, recv(t, stream), 0)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := range events {
			ev := transition("VI_1")
			ev.GetTransition().Reason = strings.Repeat("x", 1024) + fmt.Sprint(i) // 100 MB if kept
			ts.hub.Publish(ev)
		}
	}()
	select {
	case <-published:
	case <-time.After(30 * time.Second):
		t.Fatal("Publish blocked behind a watcher that does not read")
	}
	elapsed := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if elapsed > 5*time.Second {
		t.Errorf("publishing %d events with a stuck watcher took %v", events, elapsed)
	}
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if grown > 32<<20 {
		t.Errorf("heap grew by %d MiB while a watcher was stuck", grown>>20)
	}
	t.Logf("published %d events in %v; heap grew by %d KiB", events, elapsed, grown>>10)

	// Reading again: what was in flight, then (maybe after a snapshot taken while the
	// stream was still keeping up) a snapshot standing for the last event, then live
	// events. Seqs never go back, and the 100k backlog is not replayed.
	var last uint64
	for n := 0; ; n++ {
		ev := recv(t, stream)
		if n > 2000 {
			t.Fatalf("%d messages and no snapshot of seq %d: the backlog is being replayed", n, events)
		}
		if snap := ev.GetSnapshot() != nil; ev.GetSeq() < last || (!snap && ev.GetSeq() == last) {
			t.Fatalf("message %d: seq %d after %d", n, ev.GetSeq(), last)
		}
		last = ev.GetSeq()
		if ev.GetSnapshot() != nil && ev.GetSeq() == events {
			break
		}
	}
	publish(ts.hub, 1)
	wantEvents(t, stream, events+1, events+1)
}

func TestWatch200Clients(t *testing.T) {
	t.Parallel()
	const clients, events = 200, 50
	ts, addr := unixServer(t, 16)

	var ready, done sync.WaitGroup
	errs := make(chan error, clients)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range clients {
		conn, err := DialAgent(ctx, addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			readyOnce := sync.OnceFunc(ready.Done)
			defer readyOnce()
			err := func() error {
				stream, err := hactlv1.NewAgentServiceClient(conn).Watch(ctx, &hactlv1.WatchRequest{})
				if err != nil {
					return err
				}
				if ev, err := stream.Recv(); err != nil || ev.GetSnapshot() == nil {
					return fmt.Errorf("first message %v, %v; want a snapshot", ev, err)
				}
				readyOnce()
				for seq := uint64(1); seq <= events; seq++ {
					ev, err := stream.Recv()
					if err != nil {
						return err
					}
					if ev.GetSeq() != seq {
						return fmt.Errorf("got seq %d, want %d", ev.GetSeq(), seq)
					}
				}
				return nil
			}()
			if err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
			}
		}()
	}
	ready.Wait()
	if n := ts.hub.subscriberCount(); n != clients {
		t.Fatalf("%d subscribers, want %d", n, clients)
	}
	publish(ts.hub, events)
	done.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	cancel()
	eventually(t, 10*time.Second, "subscribers left after every client went away", func() bool {
		return ts.hub.subscriberCount() == 0
	})
}

// TestWatchEndsWithClientAndServer: a stream ends when its client goes away, and
// Serve's shutdown ends streams at once instead of waiting out the grace period.
func TestWatchEndsWithClientAndServer(t *testing.T) {
	t.Parallel()
	ts, addr := unixServer(t, 16)
	c := dial(t, addr, nil)

	gone, cancel := watchStream(t, c, 0)
	wantSnapshot(t, recv(t, gone), 0)
	cancel()
	eventually(t, 10*time.Second, "stream of a cancelled client still subscribed", func() bool {
		return ts.hub.subscriberCount() == 0
	})

	stays, _ := watchStream(t, c, 0)
	wantSnapshot(t, recv(t, stays), 0)
	start := time.Now()
	if err := ts.stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if d := time.Since(start); d >= stopGrace {
		t.Errorf("shutdown took %v: Watch streams held it for the whole grace period", d)
	}
	if _, err := stays.Recv(); err == nil {
		t.Error("stream still delivering after the server stopped")
	}
	if n := ts.hub.subscriberCount(); n != 0 {
		t.Errorf("%d subscribers after shutdown", n)
	}
}
