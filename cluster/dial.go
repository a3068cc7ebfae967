package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/hagent-dev/hagent/agent/api"
	"google.golang.org/grpc"
)

// Dial opens a client connection to one agent: plain for unix sockets (the socket's
// permissions are the access control), mutual TLS for tcp. The connection is lazy; the
// first RPC connects.
func Dial(a Agent, files TLSFiles) (*grpc.ClientConn, error) {
	if _, err := api.ParseAddr(a.Addr); err != nil {
		return nil, fmt.Errorf("agent %s: %w", a.Name, err)
	}
	cc, err := api.DialAgent(context.Background(), a.Addr, &files)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", a.Name, err)
	}
	return cc, nil
}

// withDefaultTimeout bounds a control call when the caller gave no deadline, so one dead
// agent cannot hang a subcommand.
func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
