package drill

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/hagent-dev/hagent/cluster"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// Ways to trigger a cluster drill.
const (
	// ModeHandover is the operator's graceful failover (cluster.Failover); the
	// failback clears the override and lets VRRP preemption move mastership back.
	ModeHandover = "handover"
	// ModeStop stops the instance on the master, like `systemctl stop keepalived`
	// in the seed's test; the failback starts it again.
	ModeStop = "stop"
)

// ClusterOptions configure a drill on a live cluster.
type ClusterOptions struct {
	Instance string
	// URL defaults to http://VIP/ with the instance's first VIP.
	URL string
	// Mode is ModeHandover (default) or ModeStop.
	Mode string
	// Target is the node to move mastership to; empty lets cluster.Failover choose.
	Target string
	// Failback moves mastership back after the failover and measures that too.
	Failback bool
	// Probe sets the prober's timing (Interval, Timeout, Settle, WaitTimeout,
	// Recover, Tail, Client, MaxSamples); its callbacks are ignored.
	Probe Options
}

// RunCluster runs a drill of one instance of cfg's cluster: it finds the master and
// the VIP, follows every agent's event stream for the agents' timestamps, triggers
// the failover (and the failback) and probes the VIP throughout.
func RunCluster(ctx context.Context, cfg cluster.Config, co ClusterOptions) (Report, error) {
	nodes := cluster.Status(ctx, cfg)
	plan, err := cluster.PlanFailover(nodes, co.Instance, co.Target)
	if err != nil {
		return Report{}, fmt.Errorf("drill %s: %w", co.Instance, err)
	}
	if plan.From == "" {
		return Report{}, fmt.Errorf("drill %s: no node is MASTER", co.Instance)
	}
	url := co.URL
	if url == "" {
		if url, err = vipURL(nodes, plan.From, co.Instance); err != nil {
			return Report{}, fmt.Errorf("drill %s: %w", co.Instance, err)
		}
	}

	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	w := &moveWatch{instance: co.Instance, msgs: make(chan cluster.Msg, 256)}
	go cluster.Watch(wctx, cfg, w.msgs)
	if err := w.awaitSnapshots(ctx, nodes); err != nil {
		return Report{}, fmt.Errorf("drill %s: %w", co.Instance, err)
	}

	o := co.Probe
	o.Instance, o.URL = co.Instance, url
	o.WaitNewMaster = w.waitMove
	o.Failback, o.WaitFailback = nil, nil
	switch co.Mode {
	case "", ModeHandover:
		o.Trigger = w.trigger(func(ctx context.Context) error {
			_, err := cluster.Failover(ctx, cfg, nil, co.Instance, co.Target)
			return err
		})
	case ModeStop:
		o.Trigger = w.trigger(func(ctx context.Context) error {
			return stopInstance(ctx, cfg, w.master, co.Instance)
		})
	default:
		return Report{}, fmt.Errorf("drill mode %q: want %s or %s", co.Mode, ModeHandover, ModeStop)
	}
	w.master = plan.From
	if co.Failback {
		o.Failback = w.trigger(func(ctx context.Context) error {
			_, err := cluster.Clear(ctx, cfg, co.Instance)
			return err
		})
		o.WaitFailback = w.waitMove
	}
	rep, err := Run(ctx, o)
	if err == nil && !co.Failback {
		rep.Notes = append(rep.Notes, fmt.Sprintf("the override stays in force: `hactl failover %s --clear` releases it", co.Instance))
	}
	return rep, err
}

// vipURL is http://VIP/ for the instance's first VIP as the master reports it.
func vipURL(nodes []cluster.NodeStatus, master, instance string) (string, error) {
	for _, n := range nodes {
		if n.Name != master {
			continue
		}
		for _, v := range n.Instance(instance).GetVips() {
			// Tolerate a prefix length: "192.168.188.109/32".
			a, err := netip.ParseAddr(strings.SplitN(v.GetAddress(), "/", 2)[0])
			if err != nil {
				continue
			}
			if a.Is6() {
				return "http://[" + a.String() + "]/", nil
			}
			return "http://" + a.String() + "/", nil
		}
	}
	return "", fmt.Errorf("no VIP of %s on %s to probe; give --url", instance, master)
}

// stopInstance asks master's agent to stop the instance (Failover mode STOP).
func stopInstance(ctx context.Context, cfg cluster.Config, master, instance string) error {
	a, ok := cfg.Agent(master)
	if !ok {
		return fmt.Errorf("node %s unknown", master)
	}
	cc, err := cluster.Dial(a, cfg.TLS)
	if err != nil {
		return err
	}
	defer cc.Close()
	_, err = hactlv1.NewAgentServiceClient(cc).Failover(ctx, &hactlv1.FailoverRequest{
		Instance: instance,
		Mode:     hactlv1.OverrideMode_OVERRIDE_MODE_STOP,
	})
	if err != nil {
		return fmt.Errorf("stop %s on %s: %w", instance, master, err)
	}
	return nil
}

// moveWatch reads the agents' event streams to learn, by the agents' clocks, when
// a mastership move began and when the new master took over. One phase reads it at
// a time.
type moveWatch struct {
	instance string
	msgs     chan cluster.Msg
	// master is the current master, updated by each move.
	master string
}

// awaitSnapshots waits for the first snapshot of every agent that answered Status,
// so that no event of the drill is missed.
func (w *moveWatch) awaitSnapshots(ctx context.Context, nodes []cluster.NodeStatus) error {
	want := map[string]bool{}
	for _, n := range nodes {
		if n.Reachable {
			want[n.Name] = true
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for len(want) > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("event streams of %v did not start: %w", keys(want), ctx.Err())
		case m := <-w.msgs:
			if s, ok := m.(cluster.Snapshot); ok {
				delete(want, s.Agent)
			}
		}
	}
	return nil
}

// trigger wraps a trigger: events still queued from before belong to an earlier
// move, so they are dropped first.
func (w *moveWatch) trigger(fn func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		w.drain()
		return fn(ctx)
	}
}

func (w *moveWatch) drain() {
	for {
		select {
		case <-w.msgs:
		default:
			return
		}
	}
}

// lateEvents bounds the wait for the events of other agents once the new master
// is known, in case one of them started the move earlier.
const lateEvents = 300 * time.Millisecond

// waitMove waits until a node other than the current master enters MASTER. The
// move's start is the earliest event about the instance on any agent: the old
// master leaving MASTER, the new one entering it, or the control action.
func (w *moveWatch) waitMove(ctx context.Context, _ time.Time) (Handover, error) {
	h := Handover{From: w.master}
	var grace <-chan time.Time
	seen := func(at time.Time) {
		if h.Start.IsZero() || at.Before(h.Start) {
			h.Start = at
		}
	}
	for {
		select {
		case <-ctx.Done():
			if h.To != "" {
				return w.done(h), nil
			}
			return h, fmt.Errorf("no node took over %s from %s: %w", w.instance, orUnknown(w.master), ctx.Err())
		case <-grace:
			return w.done(h), nil
		case m := <-w.msgs:
			ev, ok := m.(cluster.Event)
			if !ok {
				continue
			}
			at := ev.Resp.GetTime().AsTime()
			switch e := ev.Resp.GetEvent().(type) {
			case *hactlv1.WatchResponse_ControlAction:
				if e.ControlAction.GetInstance() == w.instance {
					seen(at)
				}
			case *hactlv1.WatchResponse_Transition:
				t := e.Transition
				if t.GetInstance() != w.instance {
					continue
				}
				seen(at)
				if h.To == "" && ev.Agent != w.master && t.GetTo() == hactlv1.State_STATE_MASTER {
					h.To, h.MasterAt = ev.Agent, at
					grace = time.After(lateEvents)
				}
			}
		}
	}
}

func (w *moveWatch) done(h Handover) Handover {
	w.master = h.To
	return h
}

func keys(m map[string]bool) []string {
	return slices.Sorted(maps.Keys(m))
}
