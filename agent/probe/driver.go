package probe

import (
	"context"
	"log/slog"
	"time"
)

// driver is the part every probe shares: it feeds results to the tracker,
// emits events, and drives the restart option.
type driver struct {
	name    string
	kind    Kind
	tracker *Tracker
	restart *restarter
	log     *slog.Logger
	// initialReason, if set, replaces "initial state" as the reason of a probe
	// that starts FAILED (a script that does not exist yet).
	initialReason string
}

func newDriver(name string, kind Kind, fall, rise int, initFail bool, restart Restart) (*driver, error) {
	rs, err := newRestarter(name, restart)
	if err != nil {
		return nil, err
	}
	return &driver{
		name:    name,
		kind:    kind,
		tracker: NewTracker(name, fall, rise, initFail),
		restart: rs,
		log:     slog.Default().With("probe", name, "kind", kind.String()),
	}, nil
}

// start announces the initial state. The Result of that first event is not
// an observation and is not kept in the history.
func (d *driver) start(ctx context.Context, out chan<- Event) bool {
	now := time.Now()
	change := d.tracker.Initial(now)
	if !change.Healthy && !change.Pending {
		if d.initialReason != "" {
			change.Reason = d.initialReason
		}
		d.restart.failed(ctx)
	}
	return send(ctx, out, Event{
		Result: Result{Probe: d.name, Kind: d.kind, OK: change.Healthy, Output: change.Reason, Started: now},
		Change: change,
	})
}

// observe records r, emits it, and reacts to a state change.
func (d *driver) observe(ctx context.Context, out chan<- Event, r Result) bool {
	r.Probe, r.Kind = d.name, d.kind
	r = r.safe()
	change := d.tracker.Observe(r)
	if change != nil {
		d.log.Info("probe state changed", "healthy", change.Healthy, "reason", change.Reason)
		if change.Healthy {
			d.restart.recovered()
		} else {
			d.restart.failed(ctx)
		}
	}
	return send(ctx, out, Event{Result: r, Change: change})
}

// restarted records a finished restart attempt; the caller re-checks next
// and then calls afterRecheck.
func (d *driver) restarted(ctx context.Context, out chan<- Event, r Result) bool {
	d.restart.finished()
	r = r.safe()
	d.tracker.Observe(r)
	d.log.Info("restart attempt finished", "attempt", r.Attempt, "ok", r.OK, "reason", r.Reason())
	return send(ctx, out, Event{Result: r})
}

// afterRecheck arms the next restart attempt if the probe is still FAILED.
func (d *driver) afterRecheck() {
	if !d.tracker.Healthy() {
		d.restart.stillFailed()
	}
}

func (d *driver) stop() { d.restart.stop() }

// restartDue starts the next restart attempt unless the probe recovered
// while it waited.
func (d *driver) restartDue(ctx context.Context) {
	if d.tracker.Healthy() {
		d.restart.stopTimer()
		return
	}
	d.restart.due(ctx)
}

// runPolled is the loop of the periodic probes (script, HTTP): check every
// interval, measured from the start of one check to the start of the next
// (a check that overruns is followed at once by the next), and re-check
// right after each restart attempt.
func (d *driver) runPolled(ctx context.Context, out chan<- Event, interval time.Duration, check func(context.Context) Result) {
	defer d.stop()
	if !d.start(ctx, out) {
		return
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			started := time.Now()
			r := check(ctx)
			if ctx.Err() != nil || !d.observe(ctx, out, r) {
				return
			}
			d.afterRecheck()
			timer.Reset(max(0, interval-time.Since(started)))
		case r := <-d.restart.Done():
			if !d.restarted(ctx, out, r) {
				return
			}
			timer.Reset(0)
		case <-d.restart.Due():
			d.restartDue(ctx)
		}
	}
}
