package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
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

// keepaliveParams detect an agent whose host vanished without closing the connection
// (power loss, a deleted namespace), which would otherwise leave a Watch stream hanging
// and the node shown as live. The agent's server must permit pings this often
// (keepalive.EnforcementPolicy MinTime <= Time).
var keepaliveParams = keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second}

// Dial opens a client connection to one agent: plain for unix sockets (the socket's
// permissions are the access control), mutual TLS for tcp. The connection is lazy; the
// first RPC connects.
func Dial(a Agent, files TLSFiles) (*grpc.ClientConn, error) {
	ep, err := parseAddr(a.Addr)
	if err != nil {
		return nil, fmt.Errorf("agent %s: %w", a.Name, err)
	}
	opts := []grpc.DialOption{grpc.WithKeepaliveParams(keepaliveParams)}
	target := "unix://" + ep.path
	if ep.unix {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	} else {
		cfg, err := clientTLS(files, ep.path)
		if err != nil {
			return nil, fmt.Errorf("agent %s: %w", a.Name, err)
		}
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
		target = "passthrough:///" + ep.path
	}
	cc, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, fmt.Errorf("agent %s: dial %s: %w", a.Name, a.Addr, err)
	}
	return cc, nil
}

// clientTLS builds the mTLS configuration for a tcp agent: our certificate, and the
// cluster CA as the only trusted root.
func clientTLS(files TLSFiles, hostport string) (*tls.Config, error) {
	if files.Cert == "" || files.Key == "" || files.CA == "" {
		return nil, fmt.Errorf("tcp:// agents need a client certificate, key and the cluster CA (--tls-cert, --tls-key, --tls-ca)")
	}
	cert, err := tls.LoadX509KeyPair(files.Cert, files.Key)
	if err != nil {
		return nil, fmt.Errorf("load client certificate: %w", err)
	}
	caPEM, err := os.ReadFile(files.CA)
	if err != nil {
		return nil, fmt.Errorf("read cluster CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("cluster CA %s: no PEM certificates", files.CA)
	}
	host, _, _ := net.SplitHostPort(hostport)
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ServerName:   host,
		MinVersion:   tls.VersionTLS13,
	}, nil
}

// withDefaultTimeout bounds a control call when the caller gave no deadline, so one dead
// agent cannot hang a subcommand.
func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
