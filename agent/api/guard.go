package api

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// connGuard bounds what TCP strangers cost before they prove anything: how many
// connections they hold (per source address and in total) and how many TLS handshakes
// (a key exchange and a signature each) run at once. A connection past a limit is
// closed at once, before its handshake; a handshake waits for a slot at most until
// its deadline. The agent's VRRP loops therefore never compete with more than
// MaxHandshakes handshakes for the CPU, however many ClientHellos arrive.
type connGuard struct {
	limits     Limits
	handshakes chan struct{} // a token per running handshake

	mu       sync.Mutex
	total    int
	bySource map[netip.Addr]int
}

func newConnGuard(l Limits) *connGuard {
	return &connGuard{
		limits:     l,
		handshakes: make(chan struct{}, l.MaxHandshakes),
		bySource:   map[netip.Addr]int{},
	}
}

// admit counts conn against the limits, or reports false when it is one too many.
// An admitted connection is released by closing what admit returns.
func (g *connGuard) admit(conn net.Conn) (net.Conn, bool) {
	src := sourceAddr(conn.RemoteAddr())
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.total >= g.limits.MaxConns || g.bySource[src] >= g.limits.MaxConnsPerSource {
		return nil, false
	}
	g.total++
	g.bySource[src]++
	return &guardedConn{Conn: conn, release: func() { g.release(src) }}, true
}

func (g *connGuard) release(src netip.Addr) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.total--
	if g.bySource[src]--; g.bySource[src] <= 0 {
		delete(g.bySource, src)
	}
}

// startHandshake waits for a handshake slot until deadline; done frees it.
func (g *connGuard) startHandshake(deadline time.Time) (done func(), ok bool) {
	select {
	case g.handshakes <- struct{}{}:
		return func() { <-g.handshakes }, true
	default:
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case g.handshakes <- struct{}{}:
		return func() { <-g.handshakes }, true
	case <-t.C:
		return nil, false
	}
}

// open reports the connections held, for tests.
func (g *connGuard) open() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total
}

func sourceAddr(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		if ap := ta.AddrPort(); ap.Addr().IsValid() {
			return ap.Addr().Unmap()
		}
	}
	return netip.Addr{}
}

// guardedConn gives its slot back when it is closed, once.
type guardedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *guardedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
