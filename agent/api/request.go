package api

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// Request limits. Whole messages are capped by maxRequestBytes in the gRPC server;
// these keep individual fields sane before they reach the agent and its logs.
const (
	maxRequestBytes     = 64 << 10
	maxInstanceNameLen  = 128 // keepalived instance names are short identifiers
	maxNodeNameLen      = 253 // a DNS name
	maxOverrideDuration = 30 * 24 * time.Hour
)

func validateFailover(req *hactlv1.FailoverRequest) error {
	if err := checkName("instance", req.GetInstance(), maxInstanceNameLen, true); err != nil {
		return err
	}
	if err := checkName("target_node", req.GetTargetNode(), maxNodeNameLen, false); err != nil {
		return err
	}
	switch req.GetMode() {
	case hactlv1.OverrideMode_OVERRIDE_MODE_NONE,
		hactlv1.OverrideMode_OVERRIDE_MODE_TAKEOVER,
		hactlv1.OverrideMode_OVERRIDE_MODE_RELINQUISH,
		hactlv1.OverrideMode_OVERRIDE_MODE_STOP:
	default:
		return status.Errorf(codes.InvalidArgument, "mode %v: want NONE, TAKEOVER, RELINQUISH or STOP", req.GetMode())
	}
	if d := req.GetDuration(); d != nil {
		if err := d.CheckValid(); err != nil {
			return status.Errorf(codes.InvalidArgument, "duration: %v", err)
		}
		if v := d.AsDuration(); v <= 0 || v > maxOverrideDuration {
			return status.Errorf(codes.InvalidArgument, "duration %v: want more than 0 and at most %v", v, maxOverrideDuration)
		}
	}
	return nil
}

func validateSetMaintenance(req *hactlv1.SetMaintenanceRequest) error {
	return checkName("node", req.GetNode(), maxNodeNameLen, false)
}

// checkName rejects names that are too long or that could garble a log line or a
// terminal: invalid UTF-8, control characters.
func checkName(field, v string, maxLen int, required bool) error {
	switch {
	case v == "" && required:
		return status.Errorf(codes.InvalidArgument, "%s is required", field)
	case len(v) > maxLen:
		return status.Errorf(codes.InvalidArgument, "%s is %d bytes long, the limit is %d", field, len(v), maxLen)
	case !utf8.ValidString(v):
		return status.Errorf(codes.InvalidArgument, "%s is not valid UTF-8", field)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return status.Errorf(codes.InvalidArgument, "%s contains control character %U", field, r)
		}
	}
	return nil
}

// backendError passes the Backend's gRPC status errors through untouched and gives
// anything else a proper code instead of grpc's catch-all Unknown.
func backendError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return status.FromContextError(err).Err()
	}
	return status.Error(codes.Internal, fmt.Sprintf("agent: %v", err))
}
