package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/hagent-dev/hagent/agent/sanitize"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// Watch follows every agent of cfg until ctx ends, one goroutine per agent, and delivers
// what they report on out. A broken stream becomes a Down and a reconnect with backoff
// (100 ms .. 5 s, jittered) that resumes after the last sequence number seen, so the agent
// sends what was missed or a fresh snapshot. Watch returns when ctx is done and every
// goroutine has stopped; it never blocks on out after that, so the caller may then close out.
func Watch(ctx context.Context, cfg Config, out chan<- Msg) { WatchFocused(ctx, cfg, out, nil) }

// WatchFocused is Watch for a console that shows the advert timing of one instance at a
// time: focus (nil: none, every event as the agents publish it) says which; see
// TimingFocus.
func WatchFocused(ctx context.Context, cfg Config, out chan<- Msg, focus *TimingFocus) {
	var wg sync.WaitGroup
	for _, a := range cfg.Agents {
		w := watcher{agent: a, tls: cfg.TLS, out: out, focus: focus, backoff: NewBackoff(), now: time.Now}
		wg.Go(func() { w.run(ctx) })
	}
	wg.Wait()
}

// watcher follows one agent.
type watcher struct {
	agent   Agent
	tls     TLSFiles
	out     chan<- Msg
	focus   *TimingFocus
	backoff *Backoff
	now     func() time.Time

	lastSeq   uint64
	downSince time.Time
}

// errRefocus ends a stream whose focus changed; it is re-opened at once.
var errRefocus = errors.New("timing focus changed")

func (w *watcher) run(ctx context.Context) {
	for {
		err := w.connect(ctx)
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

// connect dials the agent and follows it, re-opening the stream on the same connection
// when the focus changes; it returns the error that broke the stream.
func (w *watcher) connect(ctx context.Context) error {
	cc, err := Dial(w.agent, w.tls)
	if err != nil {
		return err
	}
	defer cc.Close()
	for {
		if err := w.stream(ctx, cc); !errors.Is(err, errRefocus) {
			return err
		}
	}
}

// stream opens one Watch stream and forwards it until it breaks or the focus changes;
// it always returns an error.
func (w *watcher) stream(ctx context.Context, cc grpc.ClientConnInterface) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req := &hactlv1.WatchRequest{ResumeAfter: w.lastSeq}
	var refocused atomic.Bool
	if w.focus != nil {
		instance, changed := w.focus.get()
		req.Timing = &hactlv1.WatchTiming{BriefEvery: durationpb.New(briefTimingEvery), BriefOnChange: true}
		if instance != "" {
			req.Timing.Detail = []string{instance}
		}
		// Before the stream's first message: what is held of instance is old until
		// its timing comes.
		if !w.send(ctx, Focused{Agent: w.agent.Name, Instance: instance}) {
			return ctx.Err()
		}
		go func() {
			// The stream is re-opened once the focus has rested refocusAfter.
			var rest <-chan time.Time
			for {
				select {
				case <-ctx.Done():
					return
				case <-changed:
					_, changed = w.focus.get()
					rest = time.After(refocusAfter)
				case <-rest:
					refocused.Store(true)
					cancel()
					return
				}
			}
		}()
	}
	st, err := hactlv1.NewAgentServiceClient(cc).Watch(ctx, req)
	if err != nil {
		if refocused.Load() {
			return errRefocus
		}
		return fmt.Errorf("watch %s: %w", w.agent.Addr, err)
	}
	for {
		resp, err := st.Recv()
		if refocused.Load() && err != nil {
			return errRefocus
		}
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
		var m Msg = Event{Agent: w.agent.Name, Resp: resp, Received: w.now()}
		if resp.GetSnapshot() != nil {
			m = Snapshot{Agent: w.agent.Name, Resp: resp, Received: w.now()}
		}
		if !w.send(ctx, m) {
			// Not delivered: the re-opened stream resumes before it.
			if refocused.Load() {
				return errRefocus
			}
			return ctx.Err()
		}
		w.lastSeq = resp.GetSeq()
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
