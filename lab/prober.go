package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netns"
)

// Sample is one probe request.
type Sample struct {
	Start, End time.Time
	OK         bool   // HTTP 200 and the whole body read
	Body       string // page body on success: the serving host's name
	Err        string // on failure: timeout, refused, unreachable, or the error
}

// Prober plays the user of the VIP: from inside the client namespace it starts
// one request every Interval, each on a new TCP connection in its own goroutine
// (so a hanging request never delays the next one), with a Timeout for the
// whole request, as the keepalived baseline's probe client did.
type Prober struct {
	Interval time.Duration
	Timeout  time.Duration

	addr string
	ns   netns.NsHandle

	mu      sync.Mutex
	samples []Sample

	stop     chan struct{}
	done     chan struct{}
	inflight sync.WaitGroup
	once     sync.Once
}

// StartProber starts probing http://VIP/ from the lab's client every 10 ms with a
// 200 ms timeout. It is stopped at cleanup, or earlier with Stop.
func (l *Lab) StartProber() *Prober {
	l.t.Helper()
	p, err := NewProber(l.NetNS("client"), net.JoinHostPort(VIP, "80"), 10*time.Millisecond, 200*time.Millisecond)
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { p.Stop() })
	return p
}

// NewProber starts probing http://addr/ from network namespace nsName.
func NewProber(nsName, addr string, interval, timeout time.Duration) (*Prober, error) {
	h, err := netns.GetFromName(nsName)
	if err != nil {
		return nil, fmt.Errorf("open network namespace %s: %w", nsName, err)
	}
	p := &Prober{
		Interval: interval, Timeout: timeout,
		addr: addr, ns: h,
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go p.loop()
	return p, nil
}

func (p *Prober) loop() {
	defer close(p.done)
	tick := time.NewTicker(p.Interval)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
			p.inflight.Add(1)
			go func() {
				defer p.inflight.Done()
				s := p.probe()
				p.mu.Lock()
				p.samples = append(p.samples, s)
				p.mu.Unlock()
			}()
		}
	}
}

// probe runs one request.
func (p *Prober) probe() Sample {
	s := Sample{Start: time.Now()}
	deadline := s.Start.Add(p.Timeout)
	body, err := p.get(deadline)
	s.End = time.Now()
	if err != nil {
		s.Err = errKind(err)
		return s
	}
	s.OK, s.Body = true, body
	return s
}

// dial connects to addr from inside the client's network namespace. A socket
// belongs to the namespace it was created in, and socket(2) runs on the calling
// goroutine, so the goroutine locks its OS thread, moves the thread into the
// namespace for the dial only, and moves it back. The thread must come back: it
// may be the process's main thread, whose namespace is what /proc/PID/ns/net
// (and so `ip netns pids`) shows for the whole process. If it cannot come back,
// the thread stays locked and Go discards it with the goroutine.
func (p *Prober) dial(ctx context.Context) (net.Conn, error) {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("get current network namespace: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(p.ns); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("enter client network namespace: %w", err)
	}
	var d net.Dialer
	conn, dialErr := d.DialContext(ctx, "tcp4", p.addr)
	if err := netns.Set(orig); err != nil {
		if conn != nil {
			conn.Close()
		}
		return nil, fmt.Errorf("leave client network namespace: %w", err)
	}
	runtime.UnlockOSThread()
	return conn, dialErr
}

func (p *Prober) get(deadline time.Time) (string, error) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	conn, err := p.dial(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return "", err
	}
	if _, err := io.WriteString(conn, "GET / HTTP/1.0\r\nHost: "+p.addr+"\r\n\r\n"); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return string(b), nil
}

func errKind(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "unreachable"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	}
	return err.Error()
}

// Stop stops starting requests, waits for those in flight, and returns all samples.
func (p *Prober) Stop() []Sample {
	p.once.Do(func() {
		close(p.stop)
		<-p.done
		p.inflight.Wait()
		p.ns.Close()
	})
	return p.Samples()
}

// Samples returns a copy of the samples finished so far, in order of start.
func (p *Prober) Samples() []Sample {
	p.mu.Lock()
	out := append([]Sample(nil), p.samples...)
	p.mu.Unlock()
	sortByStart(out)
	return out
}

// WaitServed waits until a request that ended after since got body, and returns
// that sample.
func (p *Prober) WaitServed(body string, since time.Time, timeout time.Duration) (Sample, error) {
	var got Sample
	err := Poll(func() bool {
		for _, s := range p.Samples() {
			if s.OK && s.Body == body && s.End.After(since) {
				got = s
				return true
			}
		}
		return false
	}, timeout)
	if err != nil {
		return Sample{}, fmt.Errorf("%w waiting for the client to be served by %s", err, body)
	}
	return got, nil
}

// GapAround measures, on the samples so far, the switch of the client from being
// served by host from to being served by host to after event; see Gap.
func (p *Prober) GapAround(event time.Time, from, to string) (Gap, error) {
	return Analyze(p.Samples(), event, from, to)
}
