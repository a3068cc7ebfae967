package api

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

const (
	unixScheme = "unix://"
	tcpScheme  = "tcp://"
)

// Listen opens an API listener for Server.Serve.
//
//   - unix:///path: a unix socket, mode 0600, in a directory created 0700 if missing. A
//     stale socket left by a crash is removed; a live one (another agent) is an error.
//     Callers are further checked by SO_PEERCRED (root or the agent's own user).
//   - tcp://host:port: TLS (1.2 minimum, 1.3 preferred) with a client certificate from
//     the CA required on every connection. tlsFiles must name cert, key and CA.
//
// Use ListenWith to keep the TLS files reloadable.
func Listen(addr string, tlsFiles *TLSFiles) (net.Listener, error) {
	a, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	if a.Unix {
		return listenUnix(a.Path)
	}
	if !tlsFiles.complete() {
		return nil, fmt.Errorf("tcp listener %s: --tls-cert, --tls-key and --tls-ca are required", addr)
	}
	certs, err := LoadTLS(*tlsFiles)
	if err != nil {
		return nil, fmt.Errorf("tcp listener %s: %w", addr, err)
	}
	return listenTLS(addr, a.Path, certs)
}

// ListenWith is Listen with the TLS certificate, key and CA of certs, which
// TLSStore.Reload may replace while the listener runs. certs may be nil for a unix
// socket.
func ListenWith(addr string, certs *TLSStore) (net.Listener, error) {
	a, err := ParseAddr(addr)
	if err != nil {
		return nil, err
	}
	if a.Unix {
		return listenUnix(a.Path)
	}
	if certs == nil {
		return nil, fmt.Errorf("tcp listener %s: --tls-cert, --tls-key and --tls-ca are required", addr)
	}
	return listenTLS(addr, a.Path, certs)
}

func listenTLS(addr, hostport string, certs *TLSStore) (net.Listener, error) {
	ln, err := net.Listen("tcp", hostport)
	if err != nil {
		return nil, fmt.Errorf("tcp listener %s: %w", addr, err)
	}
	return tls.NewListener(helloListener{ln}, certs.serverConfig()), nil
}

func listenUnix(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("unix listener %s: %w", path, err)
	}
	if err := removeStaleSocket(path); err != nil {
		return nil, fmt.Errorf("unix listener %s: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("unix listener %s: %w", path, err)
	}
	// The socket is created with the process umask; narrow it at once. Until then the
	// SO_PEERCRED check still turns away anyone but root and ourselves.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("unix listener %s: %w", path, err)
	}
	return ln, nil
}

// removeStaleSocket removes a socket file nobody listens on. It refuses to remove
// anything that is not a socket, or a socket that still answers.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket", path)
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		conn.Close()
		return fmt.Errorf("%s is in use by another process", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("probe existing socket: %w", err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	return nil
}
