package api

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/hagent-dev/hagent/agent/sanitize"
)

// caller is the authenticated party behind a call.
type caller struct {
	// id is what the agent records as "who": "unix:uid=0" or "tls:CN=ops".
	id string
	// sans are the client certificate's subject alternative names, for the logs.
	sans []string
}

type callerKey struct{}

// identify turns the AuthInfo the transport credentials produced into a caller.
func identify(ai credentials.AuthInfo) (caller, error) {
	switch a := ai.(type) {
	case UnixPeer:
		return caller{id: fmt.Sprintf("unix:uid=%d", a.UID)}, nil
	case credentials.TLSInfo:
		if len(a.State.VerifiedChains) == 0 || len(a.State.VerifiedChains[0]) == 0 {
			return caller{}, errors.New("tls peer without a verified client certificate")
		}
		cert := a.State.VerifiedChains[0][0]
		sans := append([]string(nil), cert.DNSNames...)
		for _, ip := range cert.IPAddresses {
			sans = append(sans, ip.String())
		}
		for _, u := range cert.URIs {
			sans = append(sans, u.String())
		}
		sans = append(sans, cert.EmailAddresses...)
		switch {
		case cert.Subject.CommonName != "":
			// The id is shown in status, events and logs: certificate names are
			// outside text. Matching against --operator uses the raw names.
			return caller{id: "tls:CN=" + sanitize.UTF8(cert.Subject.CommonName), sans: sans}, nil
		case len(sans) > 0:
			return caller{id: "tls:SAN=" + sanitize.UTF8(sans[0]), sans: sans}, nil
		default:
			return caller{}, errors.New("client certificate names nobody (no CN, no SAN)")
		}
	default:
		return caller{}, fmt.Errorf("unauthenticated transport (%T)", ai)
	}
}

// authenticate attaches the caller to ctx, or refuses the call.
func authenticate(ctx context.Context) (context.Context, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "no peer information")
	}
	c, err := identify(p.AuthInfo)
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, err.Error())
	}
	return context.WithValue(ctx, callerKey{}, c), nil
}

// callerFrom returns the caller authenticate attached to ctx.
func callerFrom(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

func unaryAuth(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := authenticate(ctx)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func streamAuth(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := authenticate(ss.Context())
	if err != nil {
		return err
	}
	return handler(srv, &authedStream{ServerStream: ss, ctx: ctx})
}

// authedStream carries the authenticated context into a stream handler.
type authedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *authedStream) Context() context.Context { return s.ctx }
