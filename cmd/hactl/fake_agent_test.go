package main

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// fakeAgent is an AgentService on a unix socket in the test's temp dir, standing in
// for hagent: it serves a node, streams the events the test publishes, and answers
// control calls with what the test decides.
type fakeAgent struct {
	hactlv1.UnimplementedAgentServiceServer
	name string
	addr string

	mu          sync.Mutex
	node        *hactlv1.Node
	seq         uint64
	subs        map[chan *hactlv1.WatchResponse]bool
	failover    func(*hactlv1.FailoverRequest) (*hactlv1.FailoverResponse, error)
	failovers   []*hactlv1.FailoverRequest
	maintenance []bool
}

func startFakeAgent(t *testing.T, node *hactlv1.Node) *fakeAgent {
	t.Helper()
	sock := filepath.Join(t.TempDir(), node.GetName()+".sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatalf("listen %s: %v", sock, err)
	}
	f := &fakeAgent{
		name: node.GetName(),
		addr: "unix://" + sock,
		node: node,
		subs: map[chan *hactlv1.WatchResponse]bool{},
	}
	srv := grpc.NewServer()
	hactlv1.RegisterAgentServiceServer(srv, f)
	go srv.Serve(lis) //nolint:errcheck // ends with Stop
	t.Cleanup(srv.Stop)
	return f
}

// flag is this agent's --agent flag.
func (f *fakeAgent) flag() string { return "--agent=" + f.name + "=" + f.addr }

func (f *fakeAgent) GetStatus(context.Context, *hactlv1.GetStatusRequest) (*hactlv1.GetStatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &hactlv1.GetStatusResponse{Node: proto.Clone(f.node).(*hactlv1.Node)}, nil
}

func (f *fakeAgent) Watch(_ *hactlv1.WatchRequest, st grpc.ServerStreamingServer[hactlv1.WatchResponse]) error {
	ch := make(chan *hactlv1.WatchResponse, 64)
	f.mu.Lock()
	f.seq++
	snap := &hactlv1.WatchResponse{Seq: f.seq, Time: timestamppb.Now(),
		Event: &hactlv1.WatchResponse_Snapshot{Snapshot: proto.Clone(f.node).(*hactlv1.Node)}}
	f.subs[ch] = true
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.subs, ch)
		f.mu.Unlock()
	}()
	if err := st.Send(snap); err != nil {
		return err
	}
	for {
		select {
		case <-st.Context().Done():
			return nil
		case ev := <-ch:
			if err := st.Send(ev); err != nil {
				return err
			}
		}
	}
}

func (f *fakeAgent) Failover(_ context.Context, req *hactlv1.FailoverRequest) (*hactlv1.FailoverResponse, error) {
	f.mu.Lock()
	f.failovers = append(f.failovers, req)
	fn := f.failover
	f.mu.Unlock()
	if fn == nil {
		return &hactlv1.FailoverResponse{Message: "ok"}, nil
	}
	return fn(req)
}

func (f *fakeAgent) SetMaintenance(_ context.Context, req *hactlv1.SetMaintenanceRequest) (*hactlv1.SetMaintenanceResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.maintenance = append(f.maintenance, req.GetOn())
	f.node.Maintenance = req.GetOn()
	return &hactlv1.SetMaintenanceResponse{Message: "maintenance set", Maintenance: req.GetOn()}, nil
}

func (f *fakeAgent) setFailover(fn func(*hactlv1.FailoverRequest) (*hactlv1.FailoverResponse, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failover = fn
}

func (f *fakeAgent) requests() []*hactlv1.FailoverRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*hactlv1.FailoverRequest(nil), f.failovers...)
}

// publishLocked sends an event to every watcher, stamped with the next sequence
// number; f.mu is held.
func (f *fakeAgent) publishLocked(ev *hactlv1.WatchResponse) {
	f.seq++
	ev.Seq = f.seq
	if ev.Time == nil {
		ev.Time = timestamppb.Now()
	}
	for ch := range f.subs {
		ch <- proto.Clone(ev).(*hactlv1.WatchResponse)
	}
}

// transition moves the instance to state at the given time and publishes it.
func (f *fakeAgent) transition(instance string, to hactlv1.State, reason string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var from hactlv1.State
	for _, in := range f.node.GetInstances() {
		if in.GetName() == instance {
			from, in.State, in.StateReason = in.GetState(), to, reason
			in.StateSince = timestamppb.New(at)
		}
	}
	f.publishLocked(&hactlv1.WatchResponse{Time: timestamppb.New(at), Event: &hactlv1.WatchResponse_Transition{
		Transition: &hactlv1.TransitionEvent{Instance: instance, From: from, To: to, Reason: reason},
	}})
}

// testNode is a node with VI_1 (VRID 51, VIP 192.0.2.109) in state.
func testNode(name string, state hactlv1.State, prio uint32, master string) *hactlv1.Node {
	return &hactlv1.Node{
		Name:    name,
		Version: "test",
		Instances: []*hactlv1.Instance{{
			Name:              "VI_1",
			Vrid:              51,
			Interface:         "eth0",
			Version:           2,
			State:             state,
			StateSince:        timestamppb.Now(),
			BasePriority:      prio,
			EffectivePriority: prio,
			Master:            &hactlv1.Master{Address: master, Priority: 100, IsSelf: state == hactlv1.State_STATE_MASTER},
			Vips:              []*hactlv1.Vip{{Address: "192.0.2.109", Dev: "eth0", Bound: state == hactlv1.State_STATE_MASTER}},
		}},
	}
}
