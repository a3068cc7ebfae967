package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/hagent-dev/hagent/agent/sanitize"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// Plan is how a forced failover will be carried out.
type Plan struct {
	Instance string
	// From is the current master; To the intended new master, empty when the backups'
	// VRRP election decides.
	From, To string
	// Call is the node that receives the Failover request, with Mode: TAKEOVER on the
	// target when it runs hagent and answers (make before break), else RELINQUISH on
	// the master.
	Call string
	Mode hactlv1.OverrideMode
}

// String names the move the way the console's dialog does: "VI_1: cenvm71 → cenvm72".
func (p Plan) String() string {
	from, to := p.From, p.To
	if from == "" {
		from = "(no master)"
	}
	if to == "" {
		to = "next backup"
	}
	return fmt.Sprintf("%s: %s → %s", p.Instance, from, to)
}

// Result is a carried-out failover.
type Result struct {
	Plan
	// Message and State are the called agent's answer.
	Message string
	State   hactlv1.State
}

func (r Result) String() string {
	s := r.Plan.String()
	if r.Message != "" {
		s += ": " + r.Message
	}
	return s
}

// PlanFailover decides how to move instance's mastership to target (a node name; empty
// picks the other node of a two-node cluster, or leaves it to the VRRP election). It is
// pure: nodes come from Status or State.Statuses.
func PlanFailover(nodes []NodeStatus, instance, target string) (Plan, error) {
	known := false
	var masters []string
	for _, n := range nodes {
		in := n.Instance(instance)
		if in == nil {
			continue
		}
		known = true
		if n.Reachable && in.GetState() == hactlv1.State_STATE_MASTER {
			masters = append(masters, n.Name)
		}
	}
	if !known {
		return Plan{}, fmt.Errorf("instance %s unknown", instance)
	}
	p := Plan{Instance: instance}
	switch {
	case len(masters) == 1:
		p.From = masters[0]
	case len(masters) > 1 && target == "":
		return Plan{}, fmt.Errorf("split brain: %s are all MASTER of %s; name the target node", strings.Join(masters, ", "), instance)
	case len(masters) > 1:
		for _, m := range masters {
			if m != target {
				p.From = m
				break
			}
		}
	}

	var t *NodeStatus
	if target != "" {
		i := slices.IndexFunc(nodes, func(n NodeStatus) bool { return n.Name == target })
		if i < 0 {
			return Plan{}, fmt.Errorf("node %s unknown", target)
		}
		t = &nodes[i]
		if t.Node != nil && t.Instance(instance) == nil {
			return Plan{}, fmt.Errorf("node %s has no instance %s", target, instance)
		}
		if len(masters) == 1 && masters[0] == target {
			return Plan{}, fmt.Errorf("%s is already MASTER of %s", target, instance)
		}
	} else if len(nodes) == 2 && p.From != "" {
		for i := range nodes {
			if nodes[i].Name != p.From {
				t = &nodes[i]
			}
		}
	}

	if t != nil {
		p.To = t.Name
		if err := checkTarget(*t, instance, len(masters) > 1); err != nil {
			return Plan{}, err
		}
		if t.Reachable {
			p.Call, p.Mode = t.Name, hactlv1.OverrideMode_OVERRIDE_MODE_TAKEOVER
			return p, nil
		}
	}

	// The target cannot be asked (unreachable, not an hagent, or not chosen): the master
	// relinquishes and VRRP elects among the backups.
	if p.From == "" {
		return Plan{}, fmt.Errorf("no reachable MASTER of %s to relinquish, and no reachable target to take over", instance)
	}
	if t == nil && len(nodes) > 1 && !anyLiveBackup(nodes, instance, p.From) {
		return Plan{}, fmt.Errorf("no peer in BACKUP for %s", instance)
	}
	p.Call, p.Mode = p.From, hactlv1.OverrideMode_OVERRIDE_MODE_RELINQUISH
	return p, nil
}

// checkTarget refuses targets that cannot become master. Stale data of an unreachable
// target counts only when it says FAULT.
func checkTarget(t NodeStatus, instance string, splitBrain bool) error {
	in := t.Instance(instance)
	if in == nil {
		return nil
	}
	stale := ""
	if !t.Reachable {
		stale = " (last known; agent unreachable)"
	}
	switch in.GetState() {
	case hactlv1.State_STATE_FAULT:
		return fmt.Errorf("target %s is FAULT%s: %s", t.Name, stale, faultReason(in))
	case hactlv1.State_STATE_BACKUP:
	case hactlv1.State_STATE_MASTER:
		if !splitBrain && t.Reachable {
			return fmt.Errorf("%s is already MASTER of %s", t.Name, instance)
		}
	default:
		if t.Reachable {
			return fmt.Errorf("target %s is %s", t.Name, StateName(in.GetState()))
		}
	}
	if t.Reachable && (t.Node.GetMaintenance() || in.GetMaintenance()) {
		return fmt.Errorf("target %s is in maintenance", t.Name)
	}
	return nil
}

// faultReason says why an instance is in FAULT: its fault sources, else its state reason.
func faultReason(in *hactlv1.Instance) string {
	var rs []string
	for _, f := range in.GetFaults() {
		rs = append(rs, f.GetSource()+": "+f.GetReason())
	}
	if len(rs) == 0 {
		return in.GetStateReason()
	}
	return strings.Join(rs, "; ")
}

// FaultReason is exported for views: why the instance is in FAULT.
func FaultReason(in *hactlv1.Instance) string { return faultReason(in) }

func anyLiveBackup(nodes []NodeStatus, instance, except string) bool {
	for _, n := range nodes {
		if n.Name != except && n.Reachable && n.Instance(instance).GetState() == hactlv1.State_STATE_BACKUP {
			return true
		}
	}
	return false
}

// Failover forces a failover of instance to target (see PlanFailover). nodes is the
// cluster's current state; nil asks every agent with Status first. The override lasts
// until cleared.
func Failover(ctx context.Context, cfg Config, nodes []NodeStatus, instance, target string) (Result, error) {
	return FailoverFor(ctx, cfg, nodes, instance, target, 0)
}

// FailoverFor is Failover with an override that ends by itself after d (0: until
// cleared).
func FailoverFor(ctx context.Context, cfg Config, nodes []NodeStatus, instance, target string, d time.Duration) (Result, error) {
	if nodes == nil {
		nodes = Status(ctx, cfg)
	}
	p, err := PlanFailover(nodes, instance, target)
	if err != nil {
		return Result{}, err
	}
	a, ok := cfg.Agent(p.Call)
	if !ok {
		return Result{}, fmt.Errorf("node %s unknown", p.Call)
	}
	req := &hactlv1.FailoverRequest{Instance: instance, Mode: p.Mode}
	if d > 0 {
		req.Duration = durationpb.New(d)
	}
	if p.Mode == hactlv1.OverrideMode_OVERRIDE_MODE_TAKEOVER {
		req.TargetNode = p.Call
	}
	var resp *hactlv1.FailoverResponse
	err = call(ctx, a, cfg.TLS, func(ctx context.Context, c hactlv1.AgentServiceClient) error {
		resp, err = c.Failover(ctx, req)
		return err
	})
	if r, ok := refusalOf(err); ok {
		return Result{Plan: p}, r // one line: node, identity, missing right
	}
	if err != nil {
		return Result{Plan: p}, fmt.Errorf("failover %s on %s: %w", p, p.Call, err)
	}
	return Result{Plan: p, Message: sanitize.Printable(resp.GetMessage()), State: resp.GetState()}, nil
}

// Clear removes any failover override of instance on every node (Failover mode NONE).
// Nodes that do not have the instance are skipped; it is an error only if none has it.
func Clear(ctx context.Context, cfg Config, instance string) (string, error) {
	type answer struct {
		node string
		msg  string
		err  error
	}
	answers := make([]answer, len(cfg.Agents))
	var wg sync.WaitGroup
	for i, a := range cfg.Agents {
		wg.Go(func() {
			answers[i].node = a.Name
			answers[i].err = call(ctx, a, cfg.TLS, func(ctx context.Context, c hactlv1.AgentServiceClient) error {
				resp, err := c.Failover(ctx, &hactlv1.FailoverRequest{Instance: instance, Mode: hactlv1.OverrideMode_OVERRIDE_MODE_NONE})
				answers[i].msg = resp.GetMessage()
				return err
			})
		})
	}
	wg.Wait()
	var errs []error
	var done []string
	notFound := 0
	for _, a := range answers {
		switch {
		case status.Code(a.err) == codes.NotFound:
			notFound++
		case isRefusal(a.err):
			errs = append(errs, a.err)
		case a.err != nil:
			errs = append(errs, fmt.Errorf("clear %s on %s: %w", instance, a.node, a.err))
		default:
			done = append(done, a.node)
		}
	}
	if notFound == len(answers) {
		return "", fmt.Errorf("instance %s unknown", instance)
	}
	msg := ""
	if len(done) > 0 {
		msg = fmt.Sprintf("%s: overrides cleared on %s", instance, strings.Join(done, ", "))
	}
	return msg, errors.Join(errs...)
}

// SetMaintenance puts node into maintenance (held out of mastership) or takes it out.
func SetMaintenance(ctx context.Context, cfg Config, node string, on bool) (string, error) {
	a, ok := cfg.Agent(node)
	if !ok {
		return "", fmt.Errorf("node %s unknown", node)
	}
	var msg string
	err := call(ctx, a, cfg.TLS, func(ctx context.Context, c hactlv1.AgentServiceClient) error {
		resp, err := c.SetMaintenance(ctx, &hactlv1.SetMaintenanceRequest{On: on, Node: node})
		msg = resp.GetMessage()
		return err
	})
	if r, ok := refusalOf(err); ok {
		return "", r
	}
	if err != nil {
		return "", fmt.Errorf("maintenance %s on %s: %w", onOff(on), node, err)
	}
	if msg == "" {
		msg = fmt.Sprintf("%s: maintenance %s", node, onOff(on))
	}
	return msg, nil
}

func isRefusal(err error) bool {
	_, ok := refusalOf(err)
	return ok
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}
