package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

// HTTPSpec is our vrrp_http_check: an in-process GET, so intervals down to
// 100ms cost no fork/exec.
type HTTPSpec struct {
	Name         string
	URL          string
	Status       int           // expected status; default 200
	BodyContains string        // if set, the first MaxHTTPBody bytes must contain it
	Interval     time.Duration // default 1s, at least MinHTTPInterval
	Timeout      time.Duration // whole request; default Interval
	Fall         int
	Rise         int
	InitFail     bool
	Restart      Restart
}

const (
	// MaxHTTPBody is how much of a response body is read.
	MaxHTTPBody = 64 << 10
	// MinHTTPInterval is the shortest interval accepted.
	MinHTTPInterval = 100 * time.Millisecond

	defaultHTTPInterval = time.Second
)

// HTTPProbe checks an HTTP endpoint in-process.
type HTTPProbe struct {
	spec   HTTPSpec
	client *http.Client
	*driver
}

// NewHTTP validates spec.
func NewHTTP(spec HTTPSpec) (*HTTPProbe, error) {
	if spec.Name == "" {
		return nil, errors.New("http probe: empty name")
	}
	u, err := url.Parse(spec.URL)
	if err != nil {
		return nil, fmt.Errorf("http probe %s: %w", spec.Name, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("http probe %s: URL %q: scheme must be http or https", spec.Name, spec.URL)
	}
	if spec.Status == 0 {
		spec.Status = http.StatusOK
	}
	if spec.Interval <= 0 {
		spec.Interval = defaultHTTPInterval
	}
	if spec.Interval < MinHTTPInterval {
		return nil, fmt.Errorf("http probe %s: interval %v is below the minimum %v", spec.Name, spec.Interval, MinHTTPInterval)
	}
	if spec.Timeout <= 0 {
		spec.Timeout = spec.Interval
	}
	d, err := newDriver(spec.Name, KindHTTP, spec.Fall, spec.Rise, spec.InitFail, spec.Restart)
	if err != nil {
		return nil, err
	}
	// A new connection per check, on purpose. A kept-alive connection to a
	// dead nginx does fail fast (the kernel resets it), but net/http then
	// silently retries an idempotent GET on a fresh connection, and a
	// connection kept to a worker that is being replaced can keep answering
	// after the listener is gone. A fresh connection exercises exactly what
	// a client of the VIP needs: the listener accepts, and a worker answers.
	// On loopback a handshake costs microseconds, against an interval of at
	// least 100ms. It also means no idle file descriptor outlives a check.
	transport := &http.Transport{
		Proxy:               nil, // never go through the environment's proxy
		DialContext:         (&net.Dialer{}).DialContext,
		DisableKeepAlives:   true,
		DisableCompression:  true,
		TLSHandshakeTimeout: spec.Timeout,
	}
	client := &http.Client{
		Transport: transport,
		// Judge the response the server gave, not where it points.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &HTTPProbe{spec: spec, client: client, driver: d}, nil
}

// Name is the check's name.
func (p *HTTPProbe) Name() string { return p.spec.Name }

// Healthy reports the current state.
func (p *HTTPProbe) Healthy() bool { return p.tracker.Healthy() }

// History returns the last results, oldest first.
func (p *HTTPProbe) History() []Result { return p.tracker.History() }

// Run checks every interval until ctx ends.
func (p *HTTPProbe) Run(ctx context.Context, out chan<- Event) {
	defer p.client.CloseIdleConnections()
	p.runPolled(ctx, out, p.spec.Interval, p.check)
}

func (p *HTTPProbe) check(ctx context.Context) Result {
	started := time.Now()
	output, failure := p.get(ctx)
	return Result{OK: failure == "", Output: output, Err: failure, Started: started, Duration: time.Since(started)}
}

// get performs one request and returns the status line and the reason it
// failed ("" when healthy).
func (p *HTTPProbe) get(ctx context.Context) (output, failure string) {
	ctx, cancel := context.WithTimeout(ctx, p.spec.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.spec.URL, nil)
	if err != nil {
		return "", err.Error()
	}
	req.Header.Set("User-Agent", "hagent-probe")
	resp, err := p.client.Do(req)
	if err != nil {
		return "", p.describe(ctx, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxHTTPBody))
	output = resp.Status
	if err != nil {
		return output, p.describe(ctx, err)
	}
	if resp.StatusCode != p.spec.Status {
		return output, fmt.Sprintf("status %d, want %d", resp.StatusCode, p.spec.Status)
	}
	if p.spec.BodyContains != "" && !bytes.Contains(body, []byte(p.spec.BodyContains)) {
		return output, fmt.Sprintf("body does not contain %q", p.spec.BodyContains)
	}
	return output, ""
}

// describe turns a transport error into a short reason an operator reads.
func (p *HTTPProbe) describe(ctx context.Context, err error) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Sprintf("timeout after %v", p.spec.Timeout)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		var errno syscall.Errno
		if errors.As(opErr.Err, &errno) {
			op := opErr.Op
			if op == "dial" {
				op = "connect"
			}
			return fmt.Sprintf("%s: %s", op, errno.Error())
		}
		return strings.TrimPrefix(opErr.Error(), "net/http: ")
	}
	return err.Error()
}
