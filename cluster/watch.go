package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hagent-dev/hagent/agent/sanitize"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// Watch follows every agent of cfg until ctx ends, one goroutine per agent, and delivers
// what they report on out. A broken stream becomes a Down and a reconnect with backoff
// (100 ms .. 5 s, jittered) that resumes after the last sequence number seen, so the agent
// sends what was missed or a fresh snapshot. Watch returns when ctx is done and every
// goroutine has stopped; it never blocks on out after that, so the caller may then close out.
func Watch(ctx context.Context, cfg Config, out chan<- Msg) {
	var wg sync.WaitGroup
	for _, a := range cfg.Agents {
		w := watcher{agent: a, tls: cfg.TLS, out: out, backoff: NewBackoff(), now: time.Now}
		wg.Go(func() { w.run(ctx) })
	}
	wg.Wait()
}

// watcher follows one agent.
type watcher struct {
	agent   Agent
	tls     TLSFiles
	out     chan<- Msg
	backoff *Backoff
	now     func() time.Time

	lastSeq   uint64
	downSince time.Time
}

func (w *watcher) run(ctx context.Context) {
	for {
		err := w.stream(ctx)
		if ctx.Err() != nil {
			return
		}
		if w.downSince.IsZero() {
			w.downSince = w.now()
		}
		if !w.send(ctx, Down{Agent: w.agent.Name, Err: err, Since: w.downSince}) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.backoff.Next()):
		}
	}
}

// stream opens one Watch stream and forwards it until it breaks; it always returns an error.
func (w *watcher) stream(ctx context.Context) error {
	cc, err := Dial(w.agent, w.tls)
	if err != nil {
		return err
	}
	defer cc.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := hactlv1.NewAgentServiceClient(cc).Watch(ctx, &hactlv1.WatchRequest{ResumeAfter: w.lastSeq})
	if err != nil {
		return fmt.Errorf("watch %s: %w", w.agent.Addr, err)
	}
	for {
		resp, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("watch %s: stream closed by agent", w.agent.Addr)
		}
		if err != nil {
			return fmt.Errorf("watch %s: %w", w.agent.Addr, err)
		}
		sanitize.PrintableMessage(resp) // shown on a terminal; see sanitize.Printable
		// The agent answered: the outage (if any) is over.
		w.backoff.Reset()
		w.downSince = time.Time{}
		w.lastSeq = resp.GetSeq()
		var m Msg = Event{Agent: w.agent.Name, Resp: resp, Received: w.now()}
		if resp.GetSnapshot() != nil {
			m = Snapshot{Agent: w.agent.Name, Resp: resp, Received: w.now()}
		}
		if !w.send(ctx, m) {
			return ctx.Err()
		}
	}
}

func (w *watcher) send(ctx context.Context, m Msg) bool {
	select {
	case w.out <- m:
		return true
	case <-ctx.Done():
		return false
	}
}
