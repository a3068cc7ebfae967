package lab

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/agent/api"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// watchLoad is hactl users watching an agent while its host is busy: clients Watch
// calls, each on its own connection, reading everything; the odd ones re-subscribe
// every 500 ms, so the agent builds a snapshot for each.
type watchLoad struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	msgs   atomic.Int64
	subs   atomic.Int64
	errs   atomic.Int64
	last   atomic.Value // error
}

type watchCounts struct{ msgs, subs, errs int64 }

func (w *watchLoad) counts() watchCounts {
	return watchCounts{w.msgs.Load(), w.subs.Load(), w.errs.Load()}
}

func (c watchCounts) since(b watchCounts) string {
	return fmt.Sprintf("%d messages, %d subscriptions, %d errors", c.msgs-b.msgs, c.subs-b.subs, c.errs-b.errs)
}

// startWatchLoad connects clients Watch clients to the agent's API socket and returns
// once every one has its first message (the snapshot).
func startWatchLoad(t *testing.T, sock string, clients int) *watchLoad {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watchLoad{cancel: cancel}
	t.Cleanup(w.stop)
	var ready sync.WaitGroup
	for i := range clients {
		conn, err := api.DialAgent(ctx, "unix://"+sock, nil)
		if err != nil {
			t.Fatalf("Watch load: dial %s: %v", sock, err)
		}
		t.Cleanup(func() { conn.Close() })
		c := hactlv1.NewAgentServiceClient(conn)
		ready.Add(1)
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			first := true
			for ctx.Err() == nil {
				sctx, scancel := context.WithCancel(ctx)
				if i%2 == 1 {
					sctx, scancel = context.WithTimeout(ctx, 500*time.Millisecond)
				}
				err := w.watch(sctx, c, func() {
					if first {
						first = false
						ready.Done()
					}
				})
				scancel()
				if err != nil && ctx.Err() == nil && sctx.Err() == nil {
					w.errs.Add(1)
					w.last.Store(err)
					time.Sleep(100 * time.Millisecond)
				}
			}
			if first {
				ready.Done()
			}
		}()
	}
	done := make(chan struct{})
	go func() { ready.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("Watch load: not every one of %d clients got its snapshot in 60 s (%d errors, last %v)", clients, w.errs.Load(), w.last.Load())
	}
	if n := w.errs.Load(); n > 0 {
		t.Fatalf("Watch load: %d errors while connecting, last %v", n, w.last.Load())
	}
	return w
}

// watch reads one Watch call until it ends; first runs after its first message.
func (w *watchLoad) watch(ctx context.Context, c hactlv1.AgentServiceClient, first func()) error {
	stream, err := c.Watch(ctx, &hactlv1.WatchRequest{})
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	w.subs.Add(1)
	for {
		if _, err := stream.Recv(); err != nil {
			return fmt.Errorf("watch: %w", err)
		}
		w.msgs.Add(1)
		first()
	}
}

// stop ends the load and waits for its goroutines.
func (w *watchLoad) stop() {
	w.cancel()
	w.wg.Wait()
}
