// Package drill runs a measured failover test: it probes a VIP over HTTP from the
// client's side while mastership of a VRRP instance moves, and reports how long
// the VIP took to move by the agents' clocks and what a client actually saw.
package drill

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Handover is a mastership move as the agents reported it.
type Handover struct {
	// From and To are the old and new master's node names.
	From string
	To   string
	// Start is when the old master let go (its transition out of MASTER, or the
	// control action), by the agents' clock. Zero means unknown: the local time
	// of the trigger is used instead.
	Start time.Time
	// MasterAt is when the new master entered MASTER, by its clock.
	MasterAt time.Time
}

// Options configure a drill. Trigger and WaitNewMaster are required.
type Options struct {
	Instance string
	// URL is what the prober GETs, normally http://VIP/.
	URL string
	// Interval between request starts (default 10 ms).
	Interval time.Duration
	// Timeout of each request, connection included (default 200 ms).
	Timeout time.Duration
	// Settle is how long the prober runs before each trigger, for a baseline
	// (default 500 ms).
	Settle time.Duration
	// WaitTimeout bounds each WaitNewMaster (default 15 s).
	WaitTimeout time.Duration
	// Recover bounds the wait for the first answer from a different server after
	// the new master is in place (default 5 s). When the servers answer alike it
	// is always waited out.
	Recover time.Duration
	// Tail is how long the prober goes on after recovery, to catch flapping
	// (default 500 ms).
	Tail time.Duration

	// Trigger starts the failover: a graceful handover or stopping the master.
	Trigger func(ctx context.Context) error
	// WaitNewMaster returns once another node is master of the instance. since is
	// the local time just before Trigger was called.
	WaitNewMaster func(ctx context.Context, since time.Time) (Handover, error)
	// Failback, when set, moves mastership back after the failover, and
	// WaitFailback (required with it) reports that move.
	Failback     func(ctx context.Context) error
	WaitFailback func(ctx context.Context, since time.Time) (Handover, error)

	// Client makes the requests; nil means a client without keep-alives or
	// proxies. A client given here should disable keep-alives too.
	Client *http.Client
	// MaxSamples bounds the samples kept (default 100000, about 16 minutes).
	MaxSamples int
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Interval, 10*time.Millisecond)
	def(&o.Timeout, 200*time.Millisecond)
	def(&o.Settle, 500*time.Millisecond)
	def(&o.WaitTimeout, 15*time.Second)
	def(&o.Recover, 5*time.Second)
	def(&o.Tail, 500*time.Millisecond)
	if o.MaxSamples <= 0 {
		o.MaxSamples = 100000
	}
	if o.Client == nil {
		o.Client = newClient()
	}
	return o
}

func (o Options) validate() error {
	switch {
	case o.URL == "":
		return errors.New("drill: no URL to probe")
	case o.Trigger == nil || o.WaitNewMaster == nil:
		return errors.New("drill: Trigger and WaitNewMaster are required")
	case o.Failback != nil && o.WaitFailback == nil:
		return errors.New("drill: Failback needs WaitFailback")
	}
	return nil
}

// Run performs the drill. On error the report holds what was measured so far.
func Run(ctx context.Context, o Options) (Report, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return Report{}, err
	}
	p := newProber(o.Client, o.URL, o.Interval, o.Timeout, o.MaxSamples)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.run(ctx, stop)
	}()
	stopProber := sync.OnceFunc(func() {
		close(stop)
		<-done
	})
	defer stopProber()

	rep := Report{Instance: o.Instance, URL: o.URL, Started: time.Now()}
	var windows []window
	finish := func() Report {
		stopProber()
		samples, dropped := p.snapshot()
		rep.Dropped = dropped
		rep.Failover = windows[0].phase(samples)
		if len(windows) > 1 {
			fb := windows[1].phase(samples)
			rep.Failback = &fb
		}
		return rep
	}

	w, err := runPhase(ctx, p, o, "failover", o.Trigger, o.WaitNewMaster)
	windows = append(windows, w)
	if err != nil {
		return finish(), err
	}
	if o.Failback != nil {
		w, err := runPhase(ctx, p, o, "failback", o.Failback, o.WaitFailback)
		windows = append(windows, w)
		if err != nil {
			return finish(), err
		}
	}
	return finish(), nil
}

// window is one phase's time span and what the agents said about it.
type window struct {
	name     string
	begin    time.Time
	trigger  time.Time
	end      time.Time
	handover Handover
}

// runPhase probes for a baseline, triggers, waits for the new master and for the
// client to be served again, then probes a little longer.
func runPhase(ctx context.Context, p *prober, o Options, name string,
	trigger func(context.Context) error,
	wait func(context.Context, time.Time) (Handover, error),
) (w window, err error) {
	w = window{name: name, begin: time.Now()}
	defer func() { w.end = time.Now() }()

	if err := sleep(ctx, o.Settle); err != nil {
		return w, err
	}
	base, ok := waitSuccess(ctx, p, w.begin, o.Recover, func(Sample) bool { return true })
	if !ok {
		return w, fmt.Errorf("%s: no successful answer from %s before the trigger (%s)", name, o.URL, p.lastFailure())
	}

	w.trigger = time.Now()
	if err := trigger(ctx); err != nil {
		return w, fmt.Errorf("%s: trigger: %w", name, err)
	}
	wctx, cancel := context.WithTimeout(ctx, o.WaitTimeout)
	w.handover, err = wait(wctx, w.trigger)
	cancel()
	if err != nil {
		return w, fmt.Errorf("%s: waiting for the new master: %w", name, err)
	}

	// The client is back once a different server answers; if the servers answer
	// alike this waits out Recover and the gap becomes the longest outage.
	waitSuccess(ctx, p, w.trigger, o.Recover, func(s Sample) bool {
		return s.Server != base.Server
	})
	if err := ctx.Err(); err != nil {
		return w, err
	}
	return w, sleep(ctx, o.Tail)
}

// phase computes the phase's report from all samples of the drill.
func (w window) phase(samples []Sample) Phase {
	var in []Sample
	for _, s := range samples {
		if !s.Start.Before(w.begin) && s.Start.Before(w.end) {
			in = append(in, s)
		}
	}
	ph := Phase{
		Name:        w.name,
		From:        w.handover.From,
		To:          w.handover.To,
		TriggeredAt: w.trigger,
		Client:      Analyze(in, w.trigger),
	}
	start := w.handover.Start
	if start.IsZero() {
		start = w.trigger
	}
	if !w.handover.MasterAt.IsZero() && !start.IsZero() {
		ph.VIPMoved = w.handover.MasterAt.Sub(start)
		ph.VIPMovedKnown = true
	}
	return ph
}

// waitSuccess waits up to limit for a successful sample started at or after
// since that satisfies ok.
func waitSuccess(ctx context.Context, p *prober, since time.Time, limit time.Duration, ok func(Sample) bool) (Sample, bool) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	return p.waitFor(ctx, since, func(s Sample) bool { return s.OK && ok(s) })
}

// sleep waits d: the drill's baseline and tail are measurement periods.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
