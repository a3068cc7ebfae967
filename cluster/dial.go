package cluster

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/hagent-dev/hagent/agent/api"
	"google.golang.org/grpc"
)

// endpoint is a parsed agent address.
type endpoint struct {
	unix bool
	// path is the socket path (unix) or host:port (tcp).
	path string
}

func parseAddr(addr string) (endpoint, error) {
	switch {
	case strings.HasPrefix(addr, "unix://"):
		p := strings.TrimPrefix(addr, "unix://")
		if p == "" {
			return endpoint{}, fmt.Errorf("address %q: empty socket path", addr)
		}
		return endpoint{unix: true, path: p}, nil
	case strings.HasPrefix(addr, "tcp://"):
		hp := strings.TrimPrefix(addr, "tcp://")
		if _, _, err := net.SplitHostPort(hp); err != nil {
			return endpoint{}, fmt.Errorf("address %q: %w", addr, err)
		}
		return endpoint{path: hp}, nil
	default:
		return endpoint{}, fmt.Errorf("address %q: want unix:///path or tcp://host:port", addr)
	}
}

// Dial opens a client connection to one agent: plain for unix sockets (the socket's
// permissions are the access control), mutual TLS for tcp. The connection is lazy; the
// first RPC connects.
func Dial(a Agent, files TLSFiles) (*grpc.ClientConn, error) {
	if _, err := parseAddr(a.Addr); err != nil {
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
