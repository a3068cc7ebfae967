package api

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

func TestServerRequests(t *testing.T) {
	t.Parallel()
	addr := unixAddr(t)
	ts := newTestServer(t, 16)
	ts.serve(t, listen(t, addr, nil))
	c := dial(t, addr, nil)
	relinquish := hactlv1.OverrideMode_OVERRIDE_MODE_RELINQUISH

	t.Run("status", func(t *testing.T) {
		resp, err := c.GetStatus(callCtx(t), &hactlv1.GetStatusRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetNode().GetName() != "cenvm71" || len(resp.GetNode().GetInstances()) != 1 {
			t.Errorf("status %v, want the backend's node", resp)
		}
	})
	t.Run("unknown instance passes NotFound through", func(t *testing.T) {
		_, err := c.Failover(callCtx(t), &hactlv1.FailoverRequest{Instance: "VI_9", Mode: relinquish})
		wantCode(t, err, codes.NotFound)
	})
	t.Run("precondition message reaches the client", func(t *testing.T) {
		_, err := c.Failover(callCtx(t), &hactlv1.FailoverRequest{Instance: "VI_BUSY", Mode: relinquish})
		wantCode(t, err, codes.FailedPrecondition)
		if msg := status.Convert(err).Message(); msg != "instance VI_BUSY is in FAULT: nginx down" {
			t.Errorf("message %q, want the backend's", msg)
		}
	})
	t.Run("oversize request rejected", func(t *testing.T) {
		before := len(ts.backend.Calls())
		_, err := c.Failover(callCtx(t), &hactlv1.FailoverRequest{Instance: strings.Repeat("x", 100<<10), Mode: relinquish})
		wantCode(t, err, codes.ResourceExhausted)
		if len(ts.backend.Calls()) != before {
			t.Error("oversize request reached the backend")
		}
	})

	invalid := map[string]*hactlv1.FailoverRequest{
		"no instance":        {Mode: relinquish},
		"long instance":      {Instance: strings.Repeat("x", 129), Mode: relinquish},
		"control character":  {Instance: "VI_1\x1b[2J", Mode: relinquish},
		"no mode":            {Instance: "VI_1"},
		"undefined mode":     {Instance: "VI_1", Mode: 42},
		"long target node":   {Instance: "VI_1", Mode: relinquish, TargetNode: strings.Repeat("n", 254)},
		"negative duration":  {Instance: "VI_1", Mode: relinquish, Duration: durationpb.New(-time.Second)},
		"year-long duration": {Instance: "VI_1", Mode: relinquish, Duration: durationpb.New(365 * 24 * time.Hour)},
	}
	for name, req := range invalid {
		t.Run("invalid: "+name, func(t *testing.T) {
			before := len(ts.backend.Calls())
			_, err := c.Failover(callCtx(t), req)
			wantCode(t, err, codes.InvalidArgument)
			if len(ts.backend.Calls()) != before {
				t.Error("invalid request reached the backend")
			}
		})
	}
	t.Run("invalid: maintenance node", func(t *testing.T) {
		_, err := c.SetMaintenance(callCtx(t), &hactlv1.SetMaintenanceRequest{Node: "a\nb"})
		wantCode(t, err, codes.InvalidArgument)
	})
	t.Run("valid with duration and target", func(t *testing.T) {
		_, err := c.Failover(callCtx(t), &hactlv1.FailoverRequest{
			Instance: "VI_1", Mode: hactlv1.OverrideMode_OVERRIDE_MODE_TAKEOVER,
			TargetNode: "cenvm71", Duration: durationpb.New(10 * time.Minute),
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// Invalid UTF-8 cannot cross the wire from a Go client (proto3 refuses to marshal it),
// so the check is exercised directly.
func TestValidateRejectsInvalidUTF8(t *testing.T) {
	t.Parallel()
	err := validateFailover(&hactlv1.FailoverRequest{Instance: "VI_\xff", Mode: hactlv1.OverrideMode_OVERRIDE_MODE_STOP})
	wantCode(t, err, codes.InvalidArgument)
}

func TestBackendErrorGivesPlainErrorsACode(t *testing.T) {
	t.Parallel()
	if got := status.Code(backendError(errString("boom"))); got != codes.Internal {
		t.Errorf("plain error: code %v, want Internal", got)
	}
	if backendError(nil) != nil {
		t.Error("nil error became non-nil")
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// TestServerInvalidUTF8NeverBlinds: a status and an event carrying bytes that are
// not UTF-8 (a Latin-1 é from a script) still reach the client, with U+FFFD in their
// place; without sanitising, protobuf fails GetStatus and Watch with Internal.
func TestServerInvalidUTF8NeverBlinds(t *testing.T) {
	t.Parallel()
	addr := unixAddr(t)
	ts := newTestServer(t, 16)
	ts.backend.setReason("fault: chk: caf\xe9")
	ts.serve(t, listen(t, addr, nil))
	c := dial(t, addr, nil)

	resp, err := c.GetStatus(callCtx(t), &hactlv1.GetStatusRequest{})
	if err != nil {
		t.Fatalf("GetStatus: %v", err)
	}
	if got := resp.GetNode().GetInstances()[0].GetStateReason(); got != "fault: chk: caf\uFFFD" {
		t.Errorf("state reason %q, want the text with U+FFFD", got)
	}

	ts.hub.Publish(&hactlv1.WatchResponse{Event: &hactlv1.WatchResponse_ProbeResult{ProbeResult: &hactlv1.ProbeResultEvent{
		Instance: "VI_1", Probe: "chk", Result: &hactlv1.ProbeResult{Output: "first"},
	}}})
	ts.hub.Publish(&hactlv1.WatchResponse{Event: &hactlv1.WatchResponse_ProbeResult{ProbeResult: &hactlv1.ProbeResultEvent{
		Instance: "VI_1", Probe: "chk", Result: &hactlv1.ProbeResult{Output: "\xb4\xed\xce\xf3"},
	}}})
	stream, err := c.Watch(callCtx(t), &hactlv1.WatchRequest{ResumeAfter: 0})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := stream.Recv()
	if err != nil {
		t.Fatalf("Watch snapshot: %v", err)
	}
	if got := snap.GetSnapshot().GetInstances()[0].GetStateReason(); got != "fault: chk: caf\uFFFD" {
		t.Errorf("snapshot state reason %q", got)
	}
	stream2, err := c.Watch(callCtx(t), &hactlv1.WatchRequest{ResumeAfter: 1})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := stream2.Recv()
	if err != nil {
		t.Fatalf("Watch replay of the event: %v", err)
	}
	if got := ev.GetProbeResult().GetResult().GetOutput(); got != "\uFFFD" {
		t.Errorf("replayed output %q, want U+FFFD", got)
	}
}
