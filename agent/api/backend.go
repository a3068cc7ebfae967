package api

import (
	"context"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// Backend is the agent as the API sees it.
//
// Errors are gRPC status errors and reach the client unchanged: codes.NotFound for an
// unknown instance, codes.FailedPrecondition (with a message an operator can act on)
// when the request cannot be honoured now, codes.InvalidArgument for a request that is
// wrong for this node (for example a target_node naming another node).
//
// who is the authenticated caller ("unix:uid=0", "tls:CN=ops"); record it in the
// override and in the ControlActionEvent the agent publishes.
type Backend interface {
	// Status returns a fresh copy of the node's state; the caller may keep it.
	Status() *hactlv1.Node
	Failover(ctx context.Context, req *hactlv1.FailoverRequest, who string) (*hactlv1.FailoverResponse, error)
	SetMaintenance(ctx context.Context, req *hactlv1.SetMaintenanceRequest, who string) (*hactlv1.SetMaintenanceResponse, error)
}
