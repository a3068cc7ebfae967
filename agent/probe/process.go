package probe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ProcessSpec is a keepalived vrrp_track_process, plus filters of ours.
type ProcessSpec struct {
	Name string
	// Process is compared with /proc/PID/comm (its first 15 bytes, the
	// kernel's limit), or with argv[0] of /proc/PID/cmdline when
	// FullCommand is set or Params are given.
	Process     string
	FullCommand bool
	Params      []string
	// ParamMatch: "" (parameters equal; no check without Params), "exact"
	// (keepalived's bare `param_match`), "initial" or "partial"; see
	// procMatcher.paramsMatch for their exact (keepalived 2.2.7) meaning.
	ParamMatch string
	Quorum     int // healthy while at least Quorum processes match; default 1
	QuorumMax  int // and, if set, at most QuorumMax
	// Delay applies to both directions unless the specific one is set:
	// TerminateDelay is how long quorum must stay lost before the probe
	// fails, ForkDelay how long it must stay regained before it recovers.
	// keepalived's default is 0: change at once.
	Delay          time.Duration
	TerminateDelay time.Duration
	ForkDelay      time.Duration
	InitFail       bool

	// NetNSInode (ours) counts only processes whose /proc/PID/ns/net has
	// this inode; 0 means any. In a lab where several "hosts" are network
	// namespaces sharing one PID namespace, it tells this host's nginx
	// from the others'. NetNSInode(0) gives the agent's own.
	NetNSInode uint64
	// PIDFile (ours) counts only the process whose PID the file holds and
	// its direct children (an nginx master and its workers). The file is
	// re-read at every check, and the probe rescans every PIDFileRescan
	// because a daemon writes its PID file after the exec we are told of.
	PIDFile string
	// Match (ours, for embedding) is a last filter; nil accepts all.
	Match func(pid int) bool

	Restart Restart
}

// PIDFileRescan is how often a probe with a PIDFile filter rescans /proc.
const PIDFileRescan = time.Second

// ProcessProbe counts matching processes, told of every fork, exec, comm
// change and exit by the kernel through a ProcHub.
type ProcessProbe struct {
	spec    ProcessSpec
	hub     *ProcHub
	matcher procMatcher
	*driver

	// Owned by the Run goroutine.
	pids      map[int]struct{}
	lastCount int
	pending   *time.Timer
	pendingC  <-chan time.Time
}

// NewProcess validates spec. hub is shared by all process probes.
func NewProcess(hub *ProcHub, spec ProcessSpec) (*ProcessProbe, error) {
	if spec.Name == "" {
		return nil, errors.New("process probe: empty name")
	}
	if hub == nil {
		return nil, fmt.Errorf("process probe %s: nil ProcHub", spec.Name)
	}
	if spec.Process == "" {
		return nil, fmt.Errorf("process probe %s: %w", spec.Name, errNoProcessName)
	}
	switch spec.ParamMatch {
	case "", "exact", "initial", "partial":
	default:
		return nil, fmt.Errorf("process probe %s: unknown param_match %q", spec.Name, spec.ParamMatch)
	}
	if spec.Quorum <= 0 {
		spec.Quorum = 1
	}
	if spec.QuorumMax != 0 && spec.QuorumMax < spec.Quorum {
		return nil, fmt.Errorf("process probe %s: quorum_max %d below quorum %d", spec.Name, spec.QuorumMax, spec.Quorum)
	}
	if spec.TerminateDelay == 0 {
		spec.TerminateDelay = spec.Delay
	}
	if spec.ForkDelay == 0 {
		spec.ForkDelay = spec.Delay
	}
	d, err := newDriver(spec.Name, KindProcess, 1, 1, spec.InitFail, spec.Restart)
	if err != nil {
		return nil, err
	}
	return &ProcessProbe{
		spec: spec,
		hub:  hub,
		matcher: procMatcher{
			name:       spec.Process,
			full:       spec.FullCommand || len(spec.Params) > 0 || spec.ParamMatch != "",
			params:     spec.Params,
			paramMatch: spec.ParamMatch,
			netnsIno:   spec.NetNSInode,
			pidFile:    spec.PIDFile,
			match:      spec.Match,
		},
		driver: d,
	}, nil
}

// Name is the vrrp_track_process name.
func (p *ProcessProbe) Name() string { return p.spec.Name }

// Healthy reports the current state.
func (p *ProcessProbe) Healthy() bool { return p.tracker.Healthy() }

// History returns the last results, oldest first.
func (p *ProcessProbe) History() []Result { return p.tracker.History() }

// Run follows the matching processes until ctx ends.
func (p *ProcessProbe) Run(ctx context.Context, out chan<- Event) {
	defer p.stop()
	sub := p.hub.subscribe()
	defer sub.close()
	defer p.stopPending()
	if !p.start(ctx, out) {
		return
	}
	p.lastCount = -1
	if !p.rescan(ctx, out, true) {
		return
	}
	var tick <-chan time.Time
	if p.spec.PIDFile != "" {
		t := time.NewTicker(PIDFileRescan)
		defer t.Stop()
		tick = t.C
	}
	for {
		ok := true
		select {
		case <-ctx.Done():
			return
		case ev := <-sub.events:
			if p.apply(ev) {
				ok = p.evaluate(ctx, out, false)
			}
		case <-sub.rescan:
			ok = p.rescan(ctx, out, false)
		case <-tick:
			ok = p.rescan(ctx, out, false)
		case <-p.pendingC:
			p.pending, p.pendingC = nil, nil
			ok = p.settle(ctx, out)
		case r := <-p.restart.Done():
			ok = p.restarted(ctx, out, r) && p.rescan(ctx, out, false)
			p.afterRecheck()
		case <-p.restart.Due():
			p.restartDue(ctx)
		}
		if !ok {
			return
		}
	}
}

// apply updates the PID set from one event and reports whether it changed.
func (p *ProcessProbe) apply(ev procEvent) bool {
	_, had := p.pids[ev.pid]
	var has bool
	switch ev.kind {
	case procExit:
		has = false
	default: // fork, exec, comm: look at the process as it is now
		has = p.matcher.matches(ev.pid)
	}
	switch {
	case has && !had:
		p.pids[ev.pid] = struct{}{}
	case !has && had:
		delete(p.pids, ev.pid)
	default:
		return false
	}
	return true
}

func (p *ProcessProbe) rescan(ctx context.Context, out chan<- Event, initial bool) bool {
	pids, err := p.matcher.scan()
	if err != nil {
		p.log.Error("scan /proc", "err", err)
		return true
	}
	p.pids = pids
	return p.evaluate(ctx, out, initial)
}

func (p *ProcessProbe) quorate() bool {
	n := len(p.pids)
	return n >= p.spec.Quorum && (p.spec.QuorumMax == 0 || n <= p.spec.QuorumMax)
}

// evaluate reports the current count. A change of state waits for its
// delay, except at start-up, where the first scan is the truth.
func (p *ProcessProbe) evaluate(ctx context.Context, out chan<- Event, initial bool) bool {
	ok := p.quorate()
	if ok == p.tracker.Healthy() || initial {
		p.stopPending()
		if len(p.pids) == p.lastCount && !initial {
			return true
		}
		return p.report(ctx, out)
	}
	delay := p.spec.TerminateDelay
	if ok {
		delay = p.spec.ForkDelay
	}
	if delay <= 0 {
		return p.report(ctx, out)
	}
	if p.pending == nil {
		p.pending = time.NewTimer(delay)
		p.pendingC = p.pending.C
	}
	return true
}

// settle reports once a delay is over, if the change still holds.
func (p *ProcessProbe) settle(ctx context.Context, out chan<- Event) bool {
	if p.quorate() == p.tracker.Healthy() {
		return true
	}
	return p.report(ctx, out)
}

func (p *ProcessProbe) report(ctx context.Context, out chan<- Event) bool {
	now := time.Now()
	p.lastCount = len(p.pids)
	r := Result{OK: p.quorate(), Output: p.describe(), Started: now}
	if !r.OK {
		r.Err = p.failure()
	}
	if !p.observe(ctx, out, r) {
		return false
	}
	p.afterRecheck()
	return true
}

func (p *ProcessProbe) describe() string {
	pids := make([]int, 0, len(p.pids))
	for pid := range p.pids {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	var b strings.Builder
	fmt.Fprintf(&b, "%d matching %s", len(pids), plural(len(pids), "process", "processes"))
	for i, pid := range pids {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteByte(' ')
		}
		if i == 16 {
			b.WriteString("...")
			break
		}
		b.WriteString(strconv.Itoa(pid))
	}
	return b.String()
}

func (p *ProcessProbe) failure() string {
	n := len(p.pids)
	if n < p.spec.Quorum {
		if n == 0 {
			return fmt.Sprintf("no %s process running", p.spec.Process)
		}
		return fmt.Sprintf("%d %s %s running, quorum %d", n, p.spec.Process, plural(n, "process", "processes"), p.spec.Quorum)
	}
	return fmt.Sprintf("%d %s processes running, quorum_max %d", n, p.spec.Process, p.spec.QuorumMax)
}

func (p *ProcessProbe) stopPending() {
	if p.pending != nil {
		p.pending.Stop()
	}
	p.pending, p.pendingC = nil, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
