package cluster

import (
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

var t0 = time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)

func twoNodeConfig() Config {
	return Config{Agents: []Agent{
		{Name: "cenvm71", Addr: "unix:///run/hagent71.sock"},
		{Name: "cenvm72", Addr: "unix:///run/hagent72.sock"},
	}}
}

// vi1 is the seed's instance as one node reports it.
func vi1(state hactlv1.State, self bool) *hactlv1.Instance {
	return &hactlv1.Instance{
		Name: "VI_1", Vrid: 51, Interface: "eth0", Version: 2, State: state,
		StateSince: timestamppb.New(t0), BasePriority: 100, EffectivePriority: 100,
		Master: &hactlv1.Master{Address: "192.168.188.71", Priority: 100, IsSelf: self},
		Vips:   []*hactlv1.Vip{{Address: "192.168.188.109", Dev: "eth0", Bound: self}},
		Probes: []*hactlv1.Probe{{Name: "chk_nginx", Kind: "script", Healthy: true}},
		Timing: &hactlv1.AdvertTiming{Configured: durationpb.New(time.Second), MasterAdverInterval: durationpb.New(time.Second)},
	}
}

func snapshot(agent string, seq uint64, at time.Time, insts ...*hactlv1.Instance) Snapshot {
	return Snapshot{Agent: agent, Received: at, Resp: &hactlv1.WatchResponse{
		Seq: seq, Time: timestamppb.New(at),
		Event: &hactlv1.WatchResponse_Snapshot{Snapshot: &hactlv1.Node{Name: agent, Instances: insts, Now: timestamppb.New(at)}},
	}}
}

func event(agent string, seq uint64, at time.Time, ev isEvent) Event {
	r := &hactlv1.WatchResponse{Seq: seq, Time: timestamppb.New(at)}
	switch e := ev.(type) {
	case *hactlv1.WatchResponse_Transition:
		r.Event = e
	case *hactlv1.WatchResponse_PriorityChange:
		r.Event = e
	case *hactlv1.WatchResponse_ProbeResult:
		r.Event = e
	case *hactlv1.WatchResponse_Vip:
		r.Event = e
	case *hactlv1.WatchResponse_AdvertTiming:
		r.Event = e
	case *hactlv1.WatchResponse_AdvertTimingBatch:
		r.Event = e
	case *hactlv1.WatchResponse_ConfigReload:
		r.Event = e
	case *hactlv1.WatchResponse_ControlAction:
		r.Event = e
	case *hactlv1.WatchResponse_ReceiveError:
		r.Event = e
	}
	return Event{Agent: agent, Resp: r, Received: at}
}

// isEvent is any WatchResponse oneof wrapper.
type isEvent any

// healthy returns the state of the seed's healthy cluster: cenvm71 MASTER, cenvm72 BACKUP.
func healthy() *State {
	s := NewState(twoNodeConfig())
	s.Apply(snapshot("cenvm71", 1, t0, vi1(hactlv1.State_STATE_MASTER, true)))
	s.Apply(snapshot("cenvm72", 1, t0, vi1(hactlv1.State_STATE_BACKUP, false)))
	return s
}
