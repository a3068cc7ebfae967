package cluster

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// fakeAgent is a minimal AgentService: Watch sends a snapshot when the client starts
// fresh (resume_after 0), then whatever the test pushes on events; it records requests.
type fakeAgent struct {
	hactlv1.UnimplementedAgentServiceServer
	name   string
	state  hactlv1.State
	events chan *hactlv1.WatchResponse

	// requests, when set, receives every Watch request.
	requests chan *hactlv1.WatchRequest

	mu        sync.Mutex
	resumes   []uint64
	failovers []*hactlv1.FailoverRequest
}

func (f *fakeAgent) Watch(req *hactlv1.WatchRequest, st grpc.ServerStreamingServer[hactlv1.WatchResponse]) error {
	f.mu.Lock()
	f.resumes = append(f.resumes, req.GetResumeAfter())
	f.mu.Unlock()
	if f.requests != nil {
		f.requests <- req
	}
	if req.GetResumeAfter() == 0 {
		snap := &hactlv1.WatchResponse{Seq: 1, Time: timestamppb.Now(), Event: &hactlv1.WatchResponse_Snapshot{
			Snapshot: &hactlv1.Node{Name: f.name, Instances: []*hactlv1.Instance{vi1(f.state, f.state == hactlv1.State_STATE_MASTER)}}}}
		if err := st.Send(snap); err != nil {
			return err
		}
	}
	for {
		select {
		case <-st.Context().Done():
			return nil
		case ev := <-f.events:
			if err := st.Send(ev); err != nil {
				return err
			}
		}
	}
}

func (f *fakeAgent) GetStatus(context.Context, *hactlv1.GetStatusRequest) (*hactlv1.GetStatusResponse, error) {
	return &hactlv1.GetStatusResponse{Node: &hactlv1.Node{Name: f.name, Instances: []*hactlv1.Instance{vi1(f.state, f.state == hactlv1.State_STATE_MASTER)}}}, nil
}

func (f *fakeAgent) Failover(_ context.Context, req *hactlv1.FailoverRequest) (*hactlv1.FailoverResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failovers = append(f.failovers, req)
	return &hactlv1.FailoverResponse{Message: "taking over", State: hactlv1.State_STATE_MASTER}, nil
}

// serve starts a gRPC server for f on a unix socket and returns its stop function.
func serve(t *testing.T, f *fakeAgent, sock string) func() {
	t.Helper()
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatalf("listen %s: %v", sock, err)
	}
	srv := grpc.NewServer(grpc.WaitForHandlers(true)) // Stop returns once old streams are gone
	hactlv1.RegisterAgentServiceServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	var once sync.Once
	stop := func() { once.Do(srv.Stop) }
	t.Cleanup(stop)
	return stop
}

// next waits for the next message of agent, failing after a bounded wait.
func next(t *testing.T, ch <-chan Msg, what string) Msg {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		return nil
	}
}

func TestWatchSnapshotEventsDownReconnectResume(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "a.sock")
	agent := &fakeAgent{name: "cenvm71", state: hactlv1.State_STATE_MASTER, events: make(chan *hactlv1.WatchResponse, 8)}
	stop := serve(t, agent, sock)
	cfg := Config{Agents: []Agent{{Name: "cenvm71", Addr: "unix://" + sock}}}

	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan Msg)
	done := make(chan struct{})
	go func() { Watch(ctx, cfg, out); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Watch did not return after cancel")
		}
	})

	st := NewState(cfg)
	n := st.Node("cenvm71")
	m := next(t, out, "snapshot")
	if _, ok := m.(Snapshot); !ok {
		t.Fatalf("first message %T, want Snapshot", m)
	}
	st.Apply(m)
	if !n.Reachable || n.Instance("VI_1").GetState() != hactlv1.State_STATE_MASTER {
		t.Fatalf("after snapshot: %+v", n)
	}

	agent.events <- &hactlv1.WatchResponse{Seq: 2, Time: timestamppb.Now(), Event: &hactlv1.WatchResponse_Transition{
		Transition: &hactlv1.TransitionEvent{Instance: "VI_1", From: hactlv1.State_STATE_MASTER, To: hactlv1.State_STATE_BACKUP, Reason: "higher priority advert"}}}
	st.Apply(next(t, out, "transition event"))
	if n.Instance("VI_1").GetState() != hactlv1.State_STATE_BACKUP || n.LastSeq != 2 {
		t.Fatalf("after event: state %v seq %d", n.Instance("VI_1").GetState(), n.LastSeq)
	}

	before := time.Now()
	stop()
	m = next(t, out, "down")
	down, ok := m.(Down)
	if !ok {
		t.Fatalf("after stop: %T, want Down", m)
	}
	if down.Err == nil || down.Since.Before(before) || time.Since(down.Since) > 10*time.Second {
		t.Fatalf("down = %+v", down)
	}
	st.Apply(down)
	if n.Reachable || !n.DownSince.Equal(down.Since) {
		t.Fatalf("after down: reachable %v since %v", n.Reachable, n.DownSince)
	}

	// While the agent is away it queues an event; the restarted agent delivers it to
	// the client that resumes after seq 2.
	agent.events <- &hactlv1.WatchResponse{Seq: 3, Time: timestamppb.Now(), Event: &hactlv1.WatchResponse_Vip{
		Vip: &hactlv1.VipEvent{Instance: "VI_1", Address: "192.168.188.109", Bound: false, Reason: "became BACKUP"}}}
	serve(t, agent, sock)
	for {
		m = next(t, out, "resumed event")
		st.Apply(m)
		if d, ok := m.(Down); ok {
			if !d.Since.Equal(down.Since) {
				t.Fatalf("Since moved during one outage: %v then %v", down.Since, d.Since)
			}
			continue
		}
		break
	}
	if ev, ok := m.(Event); !ok || ev.Resp.GetSeq() != 3 {
		t.Fatalf("after restart: %#v, want the missed event seq 3", m)
	}
	if !n.Reachable || n.LastSeq != 3 || n.Instance("VI_1").GetVips()[0].GetBound() {
		t.Fatalf("after resume: reachable %v seq %d vip %v", n.Reachable, n.LastSeq, n.Instance("VI_1").GetVips())
	}
	agent.mu.Lock()
	defer agent.mu.Unlock()
	if last := agent.resumes[len(agent.resumes)-1]; last != 2 {
		t.Fatalf("reconnect resumed after %d, want 2 (resumes %v)", last, agent.resumes)
	}
}

func TestFailoverCallsTakeoverOnTarget(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a71 := &fakeAgent{name: "cenvm71", state: hactlv1.State_STATE_MASTER}
	a72 := &fakeAgent{name: "cenvm72", state: hactlv1.State_STATE_BACKUP}
	serve(t, a71, filepath.Join(dir, "71.sock"))
	serve(t, a72, filepath.Join(dir, "72.sock"))
	cfg := Config{Agents: []Agent{
		{Name: "cenvm71", Addr: "unix://" + filepath.Join(dir, "71.sock")},
		{Name: "cenvm72", Addr: "unix://" + filepath.Join(dir, "72.sock")},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := Failover(ctx, cfg, nil, "VI_1", "")
	if err != nil {
		t.Fatal(err)
	}
	if res.String() != "VI_1: cenvm71 → cenvm72: taking over" {
		t.Fatalf("result = %q", res)
	}
	a72.mu.Lock()
	defer a72.mu.Unlock()
	if len(a72.failovers) != 1 || a72.failovers[0].GetMode() != hactlv1.OverrideMode_OVERRIDE_MODE_TAKEOVER || a72.failovers[0].GetTargetNode() != "cenvm72" {
		t.Fatalf("cenvm72 got %v, want one TAKEOVER naming itself", a72.failovers)
	}
	if len(a71.failovers) != 0 {
		t.Fatalf("cenvm71 got %v, want nothing (make before break)", a71.failovers)
	}
}

// A focused console asks for the selected instance's timing in detail and the rest
// brief; a new selection re-opens the stream, resuming after the last event, without
// reporting the agent down. Plain Watch (hactl watch, the drill) asks for nothing.
func TestWatchFocusedAsksForTheSelectedInstance(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "a.sock")
	agent := &fakeAgent{name: "cenvm71", state: hactlv1.State_STATE_MASTER,
		events: make(chan *hactlv1.WatchResponse, 8), requests: make(chan *hactlv1.WatchRequest, 8)}
	serve(t, agent, sock)
	cfg := Config{Agents: []Agent{{Name: "cenvm71", Addr: "unix://" + sock}}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	nextReq := func(what string) *hactlv1.WatchRequest {
		t.Helper()
		select {
		case r := <-agent.requests:
			return r
		case <-time.After(10 * time.Second):
			t.Fatalf("timed out waiting for %s", what)
			return nil
		}
	}

	// Its own agent: the fake's streams share one event queue.
	plainSock := filepath.Join(t.TempDir(), "plain.sock")
	plainAgent := &fakeAgent{name: "cenvm72", state: hactlv1.State_STATE_BACKUP, requests: make(chan *hactlv1.WatchRequest, 1)}
	serve(t, plainAgent, plainSock)
	go Watch(ctx, Config{Agents: []Agent{{Name: "cenvm72", Addr: "unix://" + plainSock}}}, make(chan Msg, 8))
	select {
	case r := <-plainAgent.requests:
		if r.GetTiming() != nil {
			t.Fatalf("plain Watch asked for %v, want no timing option", r.GetTiming())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for the plain Watch request")
	}

	focus := NewTimingFocus()
	focus.Set("VI_1")
	out := make(chan Msg, 8)
	go WatchFocused(ctx, cfg, out, focus)
	r := nextReq("focused Watch request")
	if got := r.GetTiming(); got.GetDetail()[0] != "VI_1" || len(got.GetDetail()) != 1 || got.GetBriefEvery().AsDuration() != briefTimingEvery || !got.GetBriefOnChange() {
		t.Fatalf("focused Watch asked for %v, want detail [VI_1] brief every %v on change", got, briefTimingEvery)
	}
	if f, ok := next(t, out, "focus").(Focused); !ok || f.Instance != "VI_1" || f.Agent != "cenvm71" {
		t.Fatalf("first message %#v, want Focused on VI_1", f)
	}
	if _, ok := next(t, out, "snapshot").(Snapshot); !ok {
		t.Fatal("second message is not the snapshot")
	}
	agent.events <- &hactlv1.WatchResponse{Seq: 7, Time: timestamppb.Now(), Event: &hactlv1.WatchResponse_Transition{
		Transition: &hactlv1.TransitionEvent{Instance: "VI_1", To: hactlv1.State_STATE_BACKUP}}}
	if ev, ok := next(t, out, "transition").(Event); !ok || ev.Resp.GetSeq() != 7 {
		t.Fatalf("got %#v, want the transition seq 7", ev)
	}

	focus.Set("VI_2")
	r = nextReq("re-opened Watch request")
	if r.GetResumeAfter() != 7 || len(r.GetTiming().GetDetail()) != 1 || r.GetTiming().GetDetail()[0] != "VI_2" {
		t.Fatalf("after the focus moved: resume after %d, timing %v; want 7 and detail [VI_2]", r.GetResumeAfter(), r.GetTiming())
	}
	if f, ok := next(t, out, "new focus").(Focused); !ok || f.Instance != "VI_2" {
		t.Fatalf("got %#v, want Focused on VI_2 before the re-opened stream's events", f)
	}
	agent.events <- &hactlv1.WatchResponse{Seq: 8, Time: timestamppb.Now(), Event: &hactlv1.WatchResponse_Transition{
		Transition: &hactlv1.TransitionEvent{Instance: "VI_2", To: hactlv1.State_STATE_MASTER}}}
	if ev, ok := next(t, out, "event on the re-opened stream").(Event); !ok || ev.Resp.GetSeq() != 8 {
		t.Fatalf("got %#v, want seq 8 (no Down for a re-focus)", ev)
	}
}
