package api

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// peerCred asks the kernel who is at the other end of a unix socket (SO_PEERCRED: the
// credentials the peer had when it connected, which it cannot forge).
func peerCred(c *net.UnixConn) (*unix.Ucred, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return nil, fmt.Errorf("peer credentials: %w", err)
	}
	if credErr != nil {
		return nil, fmt.Errorf("peer credentials: getsockopt SO_PEERCRED: %w", credErr)
	}
	return cred, nil
}
