package api

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

const (
	// handshakeTimeout bounds a connection's TLS or peer-credential check, so a client
	// that connects and says nothing does not hold a connection forever.
	handshakeTimeout = 10 * time.Second
	// stopGrace is how long shutdown waits for calls in flight before cutting them off.
	stopGrace = 5 * time.Second
	// maxStreamsPerConn bounds what one connection can open at once.
	maxStreamsPerConn = 128
	// maxConnectionIdle closes a connection without calls; the console keeps its
	// Watch open, so only idle ones go.
	maxConnectionIdle = 2 * time.Minute
)

// Serve answers on every listener (from Listen) until ctx ends or one listener fails.
// On the way out it ends the Watch streams, lets unary calls in flight finish for a
// few seconds, and closes the listeners (which removes unix socket files). It returns
// nil after ctx ended, or the listener's error. Call it once per Server.
func (s *Server) Serve(ctx context.Context, listeners ...net.Listener) error {
	gs := s.grpcServer()
	type result struct {
		ln  net.Listener
		err error
	}
	results := make(chan result, len(listeners))
	for _, ln := range listeners {
		go func() { results <- result{ln, gs.Serve(ln)} }()
	}

	var err error
	pending := len(listeners)
	select {
	case <-ctx.Done():
	case r := <-results:
		pending--
		err = fmt.Errorf("api listener %s: %w", r.ln.Addr(), r.err)
	}
	s.end()
	stopped := make(chan struct{})
	go func() { gs.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(stopGrace):
		gs.Stop()
		<-stopped
	}
	for ; pending > 0; pending-- {
		<-results
	}
	return err
}

func (s *Server) grpcServer() *grpc.Server {
	gs := grpc.NewServer(
		grpc.Creds(&serverCredentials{allowUID: s.allowUID, guard: s.guard, refused: s.refused, log: s.log}),
		grpc.ConnectionTimeout(handshakeTimeout),
		grpc.MaxRecvMsgSize(maxRequestBytes),
		grpc.MaxConcurrentStreams(maxStreamsPerConn),
		// Ping idle connections so that a Watch whose client vanished ends.
		// Close connections that carry no call for a while: an idle connection holds one
		// of the connection slots (Limits.MaxConns) that strangers and operators share.
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second,
			MaxConnectionIdle: maxConnectionIdle}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.ChainUnaryInterceptor(s.unaryInterceptor),
		grpc.ChainStreamInterceptor(s.streamInterceptor),
		grpc.ForceServerCodecV2(newUTF8SafeCodec()),
	)
	hactlv1.RegisterAgentServiceServer(gs, s)
	return gs
}

// allowRootOrSelf admits root and the user the agent runs as: the socket is theirs.
func allowRootOrSelf(uid uint32) bool {
	return uid == 0 || uid == uint32(os.Geteuid())
}
