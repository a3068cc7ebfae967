package drill

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeVIP is a loopback HTTP server standing in for the VIP. Each request
// answers according to the mode in force when it arrives: a server name, a
// hang until the client gives up, or a status code.
type fakeVIP struct {
	srv   *httptest.Server
	conns atomic.Int64 // new TCP connections accepted

	mu       sync.Mutex
	mode     func(n int) mode // decides per request number
	requests int
	// arrived is signalled (non-blocking) on every request.
	arrived chan struct{}
}

type mode struct {
	server string // answer with this body
	hang   bool   // never answer
	status int    // answer with this status and no server
}

func newFakeVIP(t *testing.T, m func(n int) mode) *fakeVIP {
	t.Helper()
	f := &fakeVIP{mode: m, arrived: make(chan struct{}, 1)}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeVIP) setMode(m mode) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode = func(int) mode { return m }
}

func (f *fakeVIP) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	m := f.mode(f.requests)
	f.requests++
	f.mu.Unlock()
	select {
	case f.arrived <- struct{}{}:
	default:
	}
	switch {
	case m.hang:
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	case m.status != 0:
		w.WriteHeader(m.status)
	default:
		fmt.Fprint(w, m.server) // no trailing newline, like the lab's nginx
	}
}

// awaitRequests waits until at least n requests have arrived in total.
func (f *fakeVIP) awaitRequests(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		got := f.requests
		f.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("only %d of %d requests arrived: %w", got, n, ctx.Err())
		case <-f.arrived:
		}
	}
}

func (f *fakeVIP) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}
