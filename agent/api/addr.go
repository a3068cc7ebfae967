package api

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
)

// Addr is an API address as `hagent --api` and `hactl --agent` take it.
type Addr struct {
	// Unix is set for unix:///path; Path is then the socket's absolute path, else the
	// host:port of tcp://host:port.
	Unix bool
	Path string
}

// ParseAddr parses unix:///absolute/path or tcp://host:port, the one syntax of the
// agent's listeners and of the clients that dial them.
func ParseAddr(addr string) (Addr, error) {
	switch {
	case strings.HasPrefix(addr, unixScheme):
		path := strings.TrimPrefix(addr, unixScheme)
		if !filepath.IsAbs(path) {
			return Addr{}, fmt.Errorf("api address %q: want an absolute socket path (unix:///run/hagent/hagent.sock)", addr)
		}
		return Addr{Unix: true, Path: path}, nil
	case strings.HasPrefix(addr, tcpScheme):
		hostport := strings.TrimPrefix(addr, tcpScheme)
		if _, _, err := net.SplitHostPort(hostport); err != nil {
			return Addr{}, fmt.Errorf("api address %q: %w", addr, err)
		}
		return Addr{Path: hostport}, nil
	default:
		return Addr{}, fmt.Errorf("api address %q: want unix:///path or tcp://host:port", addr)
	}
}
