package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc/credentials"
)

// UnixPeer is the AuthInfo of a caller on a unix socket, from SO_PEERCRED.
type UnixPeer struct {
	credentials.CommonAuthInfo
	UID, GID uint32
	PID      int32
}

// AuthType implements credentials.AuthInfo.
func (UnixPeer) AuthType() string { return "unix" }

// serverCredentials authenticates every connection by the transport it came on, so one
// gRPC server can serve unix and TCP listeners and no connection goes unchecked:
//
//   - unix socket: the peer's uid (SO_PEERCRED) must pass allowUID;
//   - TLS (a listener from Listen("tcp://…")): the handshake, which requires and
//     verifies a client certificate issued by the cluster CA;
//   - anything else: refused. A plain TCP listener handed to Serve by mistake cannot
//     open an unauthenticated door.
type serverCredentials struct {
	allowUID func(uid uint32) bool
	// guard bounds TCP connections and handshakes; refused counts what it turns away.
	guard   *connGuard
	refused *refusals
	log     *slog.Logger
}

func (c *serverCredentials) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	switch cc := conn.(type) {
	case *net.UnixConn:
		cred, err := peerCred(cc)
		if err != nil {
			conn.Close()
			return nil, nil, err
		}
		if !c.allowUID(cred.Uid) {
			conn.Close()
			return nil, nil, fmt.Errorf("unix peer uid %d (pid %d) is not allowed", cred.Uid, cred.Pid)
		}
		return conn, UnixPeer{
			CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity},
			UID:            cred.Uid,
			GID:            cred.Gid,
			PID:            cred.Pid,
		}, nil
	case *tls.Conn:
		return c.tlsHandshake(cc)
	default:
		conn.Close()
		return nil, nil, fmt.Errorf("connection from %s on an unauthenticated transport %T refused", conn.RemoteAddr(), conn)
	}
}

// tlsHandshake admits a TCP connection within the guard's limits and runs its TLS
// handshake, which requires and verifies a client certificate issued by the CA.
func (c *serverCredentials) tlsHandshake(cc *tls.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, ok := c.guard.admit(cc)
	if !ok {
		cc.Close()
		c.refuse(refuseConnLimit, "api connection refused: too many connections", cc.RemoteAddr())
		return nil, nil, fmt.Errorf("connection from %s refused: too many connections", cc.RemoteAddr())
	}
	// gRPC has set a deadline for the handshake and the HTTP/2 preface; ours is
	// shorter, and also bounds the wait for a handshake slot.
	deadline := time.Now().Add(c.guard.limits.HandshakeTimeout)
	_ = cc.SetDeadline(deadline)
	// A slot only for a client that has said hello: silence costs a socket, not a slot.
	if hc, ok := cc.NetConn().(*helloConn); ok {
		if err := hc.waitHello(); err != nil {
			conn.Close()
			c.refuse(refuseHandshake, "api handshake refused: no ClientHello before the deadline", cc.RemoteAddr())
			return nil, nil, fmt.Errorf("tls handshake with %s: %w", cc.RemoteAddr(), err)
		}
	}
	done, ok := c.guard.startHandshake(deadline)
	if !ok {
		conn.Close()
		c.refuse(refuseHandshake, "api handshake refused: no handshake slot before the deadline", cc.RemoteAddr())
		return nil, nil, fmt.Errorf("tls handshake with %s: no slot before the deadline", cc.RemoteAddr())
	}
	// The rest of the handshake is one round trip: a client that stalls in it gives
	// its slot back after postHelloTimeout.
	_ = cc.SetDeadline(earliest(deadline, time.Now().Add(postHelloTimeout)))
	err := cc.Handshake()
	done()
	_ = cc.SetDeadline(deadline) // the HTTP/2 preface is due by then
	if err != nil {
		conn.Close()
		c.refuse(refuseHandshake, "api handshake failed", cc.RemoteAddr(), slog.String("err", err.Error()))
		return nil, nil, fmt.Errorf("tls handshake with %s: %w", cc.RemoteAddr(), err)
	}
	state := cc.ConnectionState()
	if state.NegotiatedProtocol != "h2" {
		conn.Close()
		return nil, nil, fmt.Errorf("tls peer %s did not negotiate h2 (ALPN)", cc.RemoteAddr())
	}
	return conn, credentials.TLSInfo{
		State:          state,
		CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity},
	}, nil
}

// postHelloTimeout bounds a handshake once the ClientHello is in: the client's second
// flight is one round trip away.
const postHelloTimeout = time.Second

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// refuse counts a refused connection and logs it, throttled per reason.
func (c *serverCredentials) refuse(reason, msg string, from net.Addr, attrs ...slog.Attr) {
	if c.refused.add(reason) {
		attrs = append([]slog.Attr{slog.String("from", from.String()),
			slog.Uint64("refused_so_far", c.refused.counts[reason].Load())}, attrs...)
		c.log.LogAttrs(context.Background(), slog.LevelWarn, msg, attrs...)
	}
}

func (c *serverCredentials) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("hagent server credentials cannot dial")
}

func (c *serverCredentials) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "hagent"}
}

func (c *serverCredentials) Clone() credentials.TransportCredentials {
	clone := *c
	return &clone
}

// OverrideServerName is a client-side notion; the server has nothing to override.
func (c *serverCredentials) OverrideServerName(string) error { return nil }
