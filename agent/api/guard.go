package api

import (
	"encoding/binary"
	"fmt"
	"io"
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

// helloListener hands out helloConns, so that a TLS handshake can wait for the client's
// first flight before it takes a handshake slot: a connection that says nothing then
// costs a socket until its deadline, never a slot.
type helloListener struct{ net.Listener }

func (l helloListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &helloConn{Conn: c}, nil
}

// helloConn reads a whole first TLS record (the ClientHello) ahead when asked, and
// hands it to the TLS stack before the rest of the stream.
type helloConn struct {
	net.Conn
	buf []byte
}

// maxHelloRecord is a TLS record's header and largest plaintext body.
const maxHelloRecord = 5 + 16384

// waitHello reads the first TLS record completely, or fails at the connection's
// deadline. It does not check the content: the TLS stack does.
func (c *helloConn) waitHello() error {
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(c.Conn, hdr); err != nil {
		return fmt.Errorf("no ClientHello: %w", err)
	}
	n := int(binary.BigEndian.Uint16(hdr[3:5]))
	if 5+n > maxHelloRecord {
		c.buf = hdr // let the TLS stack refuse it
		return nil
	}
	c.buf = make([]byte, 5+n)
	copy(c.buf, hdr)
	if _, err := io.ReadFull(c.Conn, c.buf[5:]); err != nil {
		return fmt.Errorf("incomplete ClientHello: %w", err)
	}
	return nil
}

func (c *helloConn) Read(p []byte) (int, error) {
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
