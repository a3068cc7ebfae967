package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/hagent-dev/hagent/agent/vrrp"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Failover carries out an operator's failover request on one instance, inside the
// instance's loop (the API is one more message source, like the network).
func (a *Agent) Failover(ctx context.Context, req *hactlv1.FailoverRequest, who string) (*hactlv1.FailoverResponse, error) {
	in := a.instance(req.GetInstance())
	if in == nil {
		return nil, status.Errorf(codes.NotFound, "instance %q is not configured on %s", req.GetInstance(), a.name)
	}
	if t := req.GetTargetNode(); t != "" && t != a.name && req.GetMode() == hactlv1.OverrideMode_OVERRIDE_MODE_TAKEOVER {
		return nil, status.Errorf(codes.InvalidArgument, "takeover for %s sent to %s", t, a.name)
	}
	var until time.Time
	if d := req.GetDuration(); d != nil {
		until = time.Now().Add(d.AsDuration())
	}
	var resp *hactlv1.FailoverResponse
	var refusal error
	err := in.call(ctx, func(now time.Time) {
		resp, refusal = in.failover(now, req.GetMode(), until, who)
	})
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "%v", err)
	}
	if refusal != nil {
		return nil, refusal
	}
	a.publish(&hactlv1.WatchResponse{Event: &hactlv1.WatchResponse_ControlAction{ControlAction: &hactlv1.ControlActionEvent{
		Action: "failover", Instance: in.name, Who: who, Detail: resp.GetMessage(),
	}}})
	a.log.Info("failover", "instance", in.name, "mode", req.GetMode().String(), "who", who, "result", resp.GetMessage())
	return resp, nil
}

// failover runs in the instance's loop.
func (in *instance) failover(now time.Time, mode hactlv1.OverrideMode, until time.Time, who string) (*hactlv1.FailoverResponse, error) {
	refuse := func(err error) (*hactlv1.FailoverResponse, error) {
		return nil, status.Errorf(codes.FailedPrecondition, "%s on %s: %v", in.name, in.a.name, err)
	}
	var msg string
	switch mode {
	case hactlv1.OverrideMode_OVERRIDE_MODE_TAKEOVER:
		if in.opStopped {
			return refuse(fmt.Errorf("instance is stopped by the operator; clear it first"))
		}
		if err := in.fsm.CanPromote(); err != nil {
			return refuse(err)
		}
		in.step(now, vrrp.Promote{Until: until, Who: who})
		msg = "taking over"
	case hactlv1.OverrideMode_OVERRIDE_MODE_RELINQUISH:
		if err := in.fsm.CanRelinquish(); err != nil {
			return refuse(err)
		}
		in.step(now, vrrp.Relinquish{Until: until, Who: who})
		msg = "relinquished"
	case hactlv1.OverrideMode_OVERRIDE_MODE_STOP:
		if in.fsm.State() == vrrp.StateStopped {
			return refuse(fmt.Errorf("already stopped"))
		}
		in.stopFSM(now, "stopped by the operator")
		in.opStopped = true
		msg = "stopped"
	case hactlv1.OverrideMode_OVERRIDE_MODE_NONE:
		in.step(now, vrrp.ClearOverride{Who: who})
		if in.opStopped {
			in.opStopped = false
			in.step(now, vrrp.Start{})
		}
		msg = "override cleared"
		who = ""
	default:
		return nil, status.Errorf(codes.InvalidArgument, "failover mode %v", mode)
	}
	in.overrideWho = who
	return &hactlv1.FailoverResponse{Message: msg, State: stateProto(in.fsm.State())}, nil
}

// SetMaintenance holds every instance of this node out of mastership, or releases them.
func (a *Agent) SetMaintenance(ctx context.Context, req *hactlv1.SetMaintenanceRequest, who string) (*hactlv1.SetMaintenanceResponse, error) {
	if n := req.GetNode(); n != "" && n != a.name {
		return nil, status.Errorf(codes.InvalidArgument, "maintenance for %s sent to %s", n, a.name)
	}
	on := req.GetOn()
	a.mu.Lock()
	a.maintenance = on
	a.mu.Unlock()
	for _, in := range a.instanceList() {
		if err := in.call(ctx, func(now time.Time) { in.step(now, vrrp.Maintenance{On: on, Who: who}) }); err != nil {
			return nil, status.Errorf(codes.Unavailable, "%v", err)
		}
	}
	msg := "maintenance off"
	if on {
		msg = "maintenance on: holding every instance out of mastership"
	}
	a.publish(&hactlv1.WatchResponse{Event: &hactlv1.WatchResponse_ControlAction{ControlAction: &hactlv1.ControlActionEvent{
		Action: "maintenance", Who: who, Detail: msg, Maintenance: on,
	}}})
	a.log.Info("maintenance", "on", on, "who", who)
	return &hactlv1.SetMaintenanceResponse{Message: msg, Maintenance: on}, nil
}
