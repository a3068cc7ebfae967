package agent

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/hagent-dev/hagent/agent/config"
	"github.com/hagent-dev/hagent/agent/notifyfifo"
	"github.com/hagent-dev/hagent/agent/script"
	"github.com/hagent-dev/hagent/agent/vrrp"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// syncGroup runs one vrrp_sync_group. Its decisions are the pure vrrp.SyncGroup's;
// members report to it from their own loops (report never blocks), and its orders go
// back to them as messages sent by the group's own goroutine, so that no instance
// loop ever waits for another: each stays the only writer of its state.
type syncGroup struct {
	a    *Agent
	name string
	log  *slog.Logger

	mu     sync.Mutex // guards what follows
	cfg    *config.SyncGroup
	core   *vrrp.SyncGroup
	queue  []vrrp.SyncOrder
	since  time.Time
	reason string

	closed bool // notify is closed: no more scripts

	wake   chan struct{}
	notify *notifier
	cancel context.CancelFunc
	done   chan struct{}
}

// syncMsg carries one order of a sync group to a member's loop.
type syncMsg struct{ ev vrrp.Event }

func newSyncGroup(a *Agent, sg *config.SyncGroup, global config.Global) *syncGroup {
	log := a.log.With("sync_group", sg.Name)
	return &syncGroup{
		a: a, name: sg.Name, log: log, cfg: sg,
		core: vrrp.NewSyncGroup(sg.Name, sg.Members),
		wake: make(chan struct{}, 1),
		// The instances' notify runner, fed by runNotify instead of transition.
		notify: newNotifier(nil, global, &a.notifyWG, log),
		done:   make(chan struct{}),
	}
}

// start runs the group's delivery goroutine. Its notify scripts run while queued; the
// agent's shutdown waits for them (notifyWG), a reload does not.
func (g *syncGroup) start(ctx context.Context) {
	ctx, g.cancel = context.WithCancel(ctx)
	go g.run(ctx)
}

// close stops delivering; the scripts already queued still run.
func (g *syncGroup) close() {
	g.cancel()
	<-g.done
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	g.notify.close()
}

// report takes a member's SyncStatus from its loop.
func (g *syncGroup) report(member string, s vrrp.SyncStatus) {
	g.mu.Lock()
	orders, tr := g.core.Report(member, s)
	g.queue = append(g.queue, orders...)
	if tr != nil {
		g.since, g.reason = time.Now(), tr.Reason
	}
	cfg := g.cfg
	if tr != nil && !g.closed {
		g.runNotify(cfg, tr.To)
		if fifoState(tr.To) {
			g.a.fifoWrite(notifyfifo.GroupLine(g.name, tr.To.String()))
		}
	}
	g.mu.Unlock()
	if len(orders) > 0 {
		select {
		case g.wake <- struct{}{}:
		default:
		}
	}
	if tr != nil {
		g.log.Info("sync group state change", "from", tr.From.String(), "to", tr.To.String(), "reason", tr.Reason)
		g.a.publish(&hactlv1.WatchResponse{Event: &hactlv1.WatchResponse_ControlAction{ControlAction: &hactlv1.ControlActionEvent{
			Action: "sync_group", Detail: g.name + ": " + tr.From.String() + " -> " + tr.To.String() + ": " + tr.Reason,
		}}})
	}
}

// runNotify queues the group's scripts for entering state (g.mu held, so that a
// closed queue is never sent to), as keepalived 2.2.7's
// vrrp_notify.c send_group_notifies: notify_<state> as written, then `notify` with
// GROUP NAME STATE 0 (a group's priority is always given as 0).
func (g *syncGroup) runNotify(cfg *config.SyncGroup, to vrrp.State) {
	var specific, kw string
	switch to {
	case vrrp.StateMaster:
		specific, kw = cfg.NotifyMaster, "notify_master"
	case vrrp.StateBackup:
		specific, kw = cfg.NotifyBackup, "notify_backup"
	case vrrp.StateFault:
		specific, kw = cfg.NotifyFault, "notify_fault"
	case vrrp.StateStopped:
		specific, kw = cfg.NotifyStop, "notify_stop"
	default:
		return
	}
	var jobs []notifyJob
	if specific != "" {
		if argv, err := script.Split(specific); err == nil && len(argv) > 0 {
			jobs = append(jobs, notifyJob{keyword: kw, argv: argv, as: cfg.NotifyLines[kw].As})
		}
	}
	if cfg.Notify != "" {
		if argv, err := script.Split(cfg.Notify); err == nil && len(argv) > 0 {
			argv = append(argv, "GROUP", cfg.Name, to.String(), "0")
			jobs = append(jobs, notifyJob{keyword: "notify", argv: argv, as: cfg.NotifyLines["notify"].As})
		}
	}
	if len(jobs) == 0 {
		return
	}
	if !g.notify.enqueue(jobs) {
		g.log.Warn("sync group notify scripts backlogged; dropping", "state", to.String())
	}
}

// run delivers the queued orders, in order, to the members' loops.
func (g *syncGroup) run(ctx context.Context) {
	defer close(g.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.wake:
		}
		g.mu.Lock()
		orders := g.queue
		g.queue = nil
		g.mu.Unlock()
		for _, o := range orders {
			if in := g.a.instance(o.Member); in != nil {
				in.send(syncMsg{ev: o.Event})
			}
		}
	}
}

// status is the group's name and state, for the members' status.
func (g *syncGroup) status() (string, hactlv1.State) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.name, stateProto(g.core.State())
}

// reportSync tells the instance's sync group about a change of its SyncStatus. It
// runs in the instance's loop after every step.
func (in *instance) reportSync() {
	if in.group == nil {
		return
	}
	s := in.fsm.SyncStatus()
	if in.syncReported && s == in.lastSync {
		return
	}
	in.lastSync, in.syncReported = s, true
	in.group.report(in.name, s)
}

// startSyncGroupsLocked builds and starts the config's sync groups; a.mu is held.
func (a *Agent) startSyncGroupsLocked(ctx context.Context, cfg *config.Config) {
	a.groups = map[string]*syncGroup{}
	for _, sg := range cfg.SyncGroups {
		if len(sg.Members) == 0 {
			continue
		}
		g := newSyncGroup(a, sg, cfg.Global)
		g.start(ctx)
		a.groups[sg.Name] = g
	}
}

// stopSyncGroups ends every sync group (after the instances stopped).
func (a *Agent) stopSyncGroups() {
	a.mu.Lock()
	groups := a.groups
	a.groups = nil
	a.mu.Unlock()
	for _, g := range groups {
		g.close()
	}
}

// regroup applies a reload's sync groups: a group whose members are unchanged keeps
// its state (its notify lines follow the new config); others are rebuilt, and each
// running member is told its group, clears what an old group put on it, and reports
// again.
func (a *Agent) regroup(ctx context.Context, runCtx context.Context, cfg *config.Config) {
	a.mu.Lock()
	old := a.groups
	next := map[string]*syncGroup{}
	var gone []*syncGroup
	for _, sg := range cfg.SyncGroups {
		if len(sg.Members) == 0 {
			continue
		}
		if g := old[sg.Name]; g != nil && slices.Equal(g.core.Members(), sg.Members) {
			g.mu.Lock()
			g.cfg = sg
			g.mu.Unlock()
			next[sg.Name] = g
			continue
		}
		g := newSyncGroup(a, sg, cfg.Global)
		g.start(runCtx)
		next[sg.Name] = g
	}
	for name, g := range old {
		if next[name] != g {
			gone = append(gone, g)
		}
	}
	a.groups = next
	insts := make([]*instance, 0, len(a.order))
	for _, n := range a.order {
		insts = append(insts, a.instances[n])
	}
	a.mu.Unlock()
	for _, g := range gone {
		g.close()
	}
	for _, in := range insts {
		var g *syncGroup
		if in.cfg.SyncGroup != "" {
			g = next[in.cfg.SyncGroup]
		}
		_ = in.call(ctx, func(now time.Time) {
			if in.group == g {
				return
			}
			if in.group != nil {
				// What the old group put on us goes with it.
				in.step(now, vrrp.FaultCleared{Source: vrrp.SyncFaultSource(in.group.name)})
				in.step(now, vrrp.SyncHold{Group: in.group.name, On: false})
			}
			in.group, in.syncReported = g, false
			in.reportSync()
		})
	}
}
