package api

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// fakeBackend knows one instance, VI_1, and refuses failover of "VI_BUSY" as the agent
// would when it cannot act now.
type fakeBackend struct {
	mu     sync.Mutex
	calls  []string // "failover VI_1 by tls:CN=ops"
	reason string   // VI_1's state reason, as an agent's probe could word it
}

func (b *fakeBackend) Status() *hactlv1.Node {
	b.mu.Lock()
	defer b.mu.Unlock()
	return &hactlv1.Node{
		Name:      "cenvm71",
		Instances: []*hactlv1.Instance{{Name: "VI_1", Vrid: 51, State: hactlv1.State_STATE_MASTER, StateReason: b.reason}},
	}
}

func (b *fakeBackend) setReason(r string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reason = r
}

func (b *fakeBackend) Failover(_ context.Context, req *hactlv1.FailoverRequest, who string) (*hactlv1.FailoverResponse, error) {
	b.record("failover " + req.GetInstance() + " by " + who)
	switch req.GetInstance() {
	case "VI_1":
		return &hactlv1.FailoverResponse{Message: "relinquishing", State: hactlv1.State_STATE_BACKUP}, nil
	case "VI_BUSY":
		return nil, status.Error(codes.FailedPrecondition, "instance VI_BUSY is in FAULT: nginx down")
	default:
		return nil, status.Errorf(codes.NotFound, "no instance %q", req.GetInstance())
	}
}

func (b *fakeBackend) SetMaintenance(_ context.Context, req *hactlv1.SetMaintenanceRequest, who string) (*hactlv1.SetMaintenanceResponse, error) {
	b.record("maintenance by " + who)
	return &hactlv1.SetMaintenanceResponse{Maintenance: req.GetOn()}, nil
}

func (b *fakeBackend) record(call string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, call)
}

func (b *fakeBackend) Calls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.calls...)
}

// testServer is a Server running on real listeners for the length of a test.
type testServer struct {
	*Server
	backend *fakeBackend
	hub     *Hub
	logs    *syncBuffer
	stop    func() error // stops Serve and returns its result
}

func newTestServer(t *testing.T, ringSize int, opts ...Option) *testServer {
	t.Helper()
	backend := &fakeBackend{}
	hub := NewHub(ringSize)
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	return &testServer{Server: NewServer(backend, hub, log, opts...), backend: backend, hub: hub, logs: logs}
}

// serve runs Serve on lns until the test ends.
func (ts *testServer) serve(t *testing.T, lns ...net.Listener) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.Serve(ctx, lns...) }()
	var once sync.Once
	var result error
	ts.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case result = <-done:
			case <-time.After(10 * time.Second):
				result = errors.New("Serve did not return within 10s of cancel")
			}
		})
		return result
	}
	t.Cleanup(func() {
		if err := ts.stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}

// unixAddr is a socket address in the test's temp dir, in a subdirectory Listen must
// create.
func unixAddr(t *testing.T) string {
	return "unix://" + filepath.Join(t.TempDir(), "run", "api.sock")
}

func listen(t *testing.T, addr string, files *TLSFiles) net.Listener {
	t.Helper()
	ln, err := Listen(addr, files)
	if err != nil {
		t.Fatalf("Listen(%s): %v", addr, err)
	}
	return ln
}

func dial(t *testing.T, addr string, files *TLSFiles) hactlv1.AgentServiceClient {
	t.Helper()
	conn, err := DialAgent(context.Background(), addr, files)
	if err != nil {
		t.Fatalf("DialAgent(%s): %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return hactlv1.NewAgentServiceClient(conn)
}

func clientOn(t *testing.T, conn *grpc.ClientConn, err error) hactlv1.AgentServiceClient {
	t.Helper()
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return hactlv1.NewAgentServiceClient(conn)
}

func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("error %v: code %v, want %v", err, got, want)
	}
}

// eventually polls cond until it holds, for things that have no event to wait on.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncBuffer collects the server's log lines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func transition(instance string) *hactlv1.WatchResponse {
	return &hactlv1.WatchResponse{Event: &hactlv1.WatchResponse_Transition{Transition: &hactlv1.TransitionEvent{
		Instance: instance, From: hactlv1.State_STATE_BACKUP, To: hactlv1.State_STATE_MASTER, Reason: "master down",
	}}}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(b))
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}
