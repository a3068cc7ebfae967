package drill

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// maxServerLen bounds the server name kept from a response body.
const maxServerLen = 64

// maxBodyRead bounds how much of a response body is read to find its first line.
const maxBodyRead = 4096

// prober starts one GET every interval, each in its own goroutine on a new TCP
// connection, so that a request hanging until its timeout does not hide the
// ones after it. Samples are kept in completion order, up to max.
type prober struct {
	client   *http.Client
	url      string
	interval time.Duration
	timeout  time.Duration
	max      int

	mu      sync.Mutex
	samples []Sample
	dropped int
	// changed is closed and replaced whenever a sample is added.
	changed chan struct{}
}

func newProber(client *http.Client, url string, interval, timeout time.Duration, max int) *prober {
	return &prober{
		client:   client,
		url:      url,
		interval: interval,
		timeout:  timeout,
		max:      max,
		changed:  make(chan struct{}),
	}
}

// newClient returns a client that opens a new connection for every request and
// ignores proxies: the drill measures the path from this host to the VIP.
func newClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// run issues requests until stop is closed or ctx ends, then waits for the
// requests in flight. Requests cut short by ctx are not recorded; requests in
// flight when stop closes run to their own timeout.
func (p *prober) run(ctx context.Context, stop <-chan struct{}) {
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(p.interval)
	defer tick.Stop()
	for {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := p.probe(ctx)
			if ctx.Err() == nil {
				p.add(s)
			}
		}()
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

// probe makes one request and classifies its outcome.
func (p *prober) probe(ctx context.Context) Sample {
	s := Sample{Start: time.Now()}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		s.Kind = KindOther
		s.End = time.Now()
		return s
	}
	resp, err := p.client.Do(req)
	if err != nil {
		s.Kind = errorKind(err)
		s.End = time.Now()
		return s
	}
	defer resp.Body.Close()
	s.Status = resp.StatusCode
	line, err := firstLine(resp.Body)
	s.End = time.Now()
	switch {
	case err != nil:
		s.Kind = errorKind(err)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		s.Kind = statusKind(resp.StatusCode)
	default:
		s.OK = true
		s.Server = line
	}
	return s
}

// firstLine reads the body (bounded) and returns its first non-empty line,
// trimmed and cut to maxServerLen.
func firstLine(r io.Reader) (string, error) {
	sc := bufio.NewScanner(io.LimitReader(r, maxBodyRead))
	sc.Buffer(make([]byte, 0, maxBodyRead), maxBodyRead)
	line := ""
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			line = t
			break
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if len(line) > maxServerLen {
		line = line[:maxServerLen]
	}
	return line, nil
}

func (p *prober) add(s Sample) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.samples) >= p.max {
		p.dropped++
	} else {
		p.samples = append(p.samples, s)
	}
	close(p.changed)
	p.changed = make(chan struct{})
}

// snapshot returns a copy of the samples so far and how many were dropped.
func (p *prober) snapshot() ([]Sample, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Sample(nil), p.samples...), p.dropped
}

// waitFor blocks until a sample that started at or after since satisfies ok,
// and returns it; it returns false when ctx ends first.
func (p *prober) waitFor(ctx context.Context, since time.Time, ok func(Sample) bool) (Sample, bool) {
	seen := 0
	for {
		p.mu.Lock()
		changed := p.changed
		for ; seen < len(p.samples); seen++ {
			if s := p.samples[seen]; !s.Start.Before(since) && ok(s) {
				p.mu.Unlock()
				return s, true
			}
		}
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return Sample{}, false
		case <-changed:
		}
	}
}

// lastFailure describes the most recent failed sample, for error messages.
func (p *prober) lastFailure() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.samples) - 1; i >= 0; i-- {
		if s := p.samples[i]; !s.OK {
			return "last failure: " + s.Kind
		}
	}
	if len(p.samples) == 0 {
		return "no request completed"
	}
	return "no failure recorded"
}
