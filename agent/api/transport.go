package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

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
		// gRPC has set a deadline on the connection for the handshake.
		if err := cc.Handshake(); err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("tls handshake with %s: %w", conn.RemoteAddr(), err)
		}
		state := cc.ConnectionState()
		if state.NegotiatedProtocol != "h2" {
			conn.Close()
			return nil, nil, fmt.Errorf("tls peer %s did not negotiate h2 (ALPN)", conn.RemoteAddr())
		}
		return conn, credentials.TLSInfo{
			State:          state,
			CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity},
		}, nil
	default:
		conn.Close()
		return nil, nil, fmt.Errorf("connection from %s on an unauthenticated transport %T refused", conn.RemoteAddr(), conn)
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
