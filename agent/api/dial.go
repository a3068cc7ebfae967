package api

import (
	"context"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
)

// maxResponseBytes bounds what a client accepts: a snapshot of a large node.
const maxResponseBytes = 16 << 20

// consoleWindow is a console connection's HTTP/2 flow-control window, per stream and per
// connection.
const consoleWindow = 1 << 20

// DialAgent returns a client connection to an agent's API address, as given to
// `hagent --api`: unix:///path (the kernel vouches for both ends) or tcp://host:port
// (mutual TLS: tlsFiles must name the client's cert and key and the cluster CA; the
// agent's certificate must be issued by that CA for host, which the lab's certificates
// carry as an IP SAN). The connection is made in the background; ctx only cancels
// before that starts. Calls on a down agent fail with codes.Unavailable.
func DialAgent(ctx context.Context, addr string, tlsFiles *TLSFiles) (*grpc.ClientConn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	target, creds, err := dialTarget(addr, tlsFiles)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxResponseBytes)),
		// Notice an agent whose host vanished without closing the connection (power loss,
		// a deleted namespace) under a quiet Watch, so that the console does not show it
		// as live; the server permits pings every 5s.
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second}),
		// Fixed flow-control windows: without them grpc-go estimates the bandwidth-delay
		// product with a PING after each DATA frame it receives, and the agent, which may
		// run at realtime priority, would read and answer one for every Watch event it
		// sends (with 200 consoles at advert_int 0.01, 2 000 a second). A Watch stream
		// carries small events; a megabyte never limits it.
		grpc.WithInitialWindowSize(consoleWindow),
		grpc.WithInitialConnWindowSize(consoleWindow),
	)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", addr, err)
	}
	conn.Connect()
	return conn, nil
}

func dialTarget(addr string, tlsFiles *TLSFiles) (string, credentials.TransportCredentials, error) {
	a, err := ParseAddr(addr)
	if err != nil {
		return "", nil, err
	}
	if a.Unix {
		return "unix://" + a.Path, insecure.NewCredentials(), nil
	}
	if !tlsFiles.complete() {
		return "", nil, fmt.Errorf("agent %s: --tls-cert, --tls-key and --tls-ca are required", addr)
	}
	host, _, _ := net.SplitHostPort(a.Path)
	cfg, err := tlsFiles.clientConfig(host)
	if err != nil {
		return "", nil, fmt.Errorf("agent %s: %w", addr, err)
	}
	return "passthrough:///" + a.Path, credentials.NewTLS(cfg), nil
}
