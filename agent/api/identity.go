package api

import (
	"context"
	"errors"
	"fmt"
	"slices"

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
	// unix is a caller on the unix socket: root or the agent's own user, full control.
	unix bool
	// names are what --operator may match: the certificate's CN and DNS and URI SANs.
	names []string
	// readOnly marks a certificate issued as read-only (`hactl certs --reader`): it
	// never gets the operator role, whatever its name.
	readOnly bool
}

type callerKey struct{}

// identify turns the AuthInfo the transport credentials produced into a caller.
func identify(ai credentials.AuthInfo) (caller, error) {
	switch a := ai.(type) {
	case UnixPeer:
		return caller{id: fmt.Sprintf("unix:uid=%d", a.UID), unix: true}, nil
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
		var names []string
		if cert.Subject.CommonName != "" {
			names = append(names, cert.Subject.CommonName)
		}
		names = append(names, cert.DNSNames...)
		for _, u := range cert.URIs {
			names = append(names, u.String())
		}
		c := caller{sans: sans, names: names, readOnly: slices.Contains(cert.Subject.OrganizationalUnit, ReadOnlyOU)}
		switch {
		case cert.Subject.CommonName != "":
			// The id is shown in status, events and logs: certificate names are
			// outside text. Matching against --operator uses the raw names.
			c.id = "tls:CN=" + sanitize.UTF8(cert.Subject.CommonName)
		case len(sans) > 0:
			c.id = "tls:SAN=" + sanitize.UTF8(sans[0])
		default:
			return caller{}, errors.New("client certificate names nobody (no CN, no SAN)")
		}
		return c, nil
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

// authedStream carries the authenticated context into a stream handler.
type authedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *authedStream) Context() context.Context { return s.ctx }
