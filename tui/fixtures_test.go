package tui

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"

	"github.com/hagent-dev/hagent/cluster"
)

var (
	t0  = time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)
	now = t0.Add(3*time.Minute + 15*time.Second)
	cfg = cluster.Config{Agents: []cluster.Agent{
		{Name: "cenvm71", Addr: "tcp://192.168.188.71:7443"},
		{Name: "cenvm72", Addr: "tcp://192.168.188.72:7443"},
	}}
	addrOf = map[string]string{"cenvm71": "192.168.188.71", "cenvm72": "192.168.188.72"}
)

// seedInstance is VI_1 of the seed as node reports it, with master the node it believes in.
func seedInstance(node string, state hactlv1.State, master string) *hactlv1.Instance {
	self := master == node
	recent := []*durationpb.Duration{}
	for _, ms := range []int{1000, 1002, 998, 1001, 1004, 997, 1000, 1003, 999, 1001} {
		recent = append(recent, durationpb.New(time.Duration(ms)*time.Millisecond))
	}
	in := &hactlv1.Instance{
		Name: "VI_1", Vrid: 51, Interface: "eth0", Version: 2, State: state,
		StateSince: timestamppb.New(t0), StateReason: "startup",
		BasePriority: 100, EffectivePriority: 100,
		Vips:           []*hactlv1.Vip{{Address: "192.168.188.109", Dev: "eth0", Bound: state == hactlv1.State_STATE_MASTER}},
		Probes:         []*hactlv1.Probe{{Name: "chk_nginx", Kind: "script", Healthy: true}},
		PrimaryAddress: addrOf[node],
		AdvertsSent:    180, AdvertsReceived: 180,
		Timing: &hactlv1.AdvertTiming{
			Configured: durationpb.New(time.Second), MasterAdverInterval: durationpb.New(time.Second),
			Recent: recent, Mean: durationpb.New(1001 * time.Millisecond), Jitter: durationpb.New(2 * time.Millisecond),
			LastAdvertAt:       timestamppb.New(now.Add(-400 * time.Millisecond)),
			MasterDownInterval: durationpb.New(3609 * time.Millisecond),
		},
	}
	if node == "cenvm72" {
		in.BasePriority, in.EffectivePriority = 90, 90 // the seed's BACKUP
	}
	if master != "" {
		in.Master = &hactlv1.Master{Address: addrOf[master], Priority: 100, IsSelf: self}
	}
	return in
}

func snap(node string, in *hactlv1.Instance) AgentEventMsg {
	at := t0.Add(3 * time.Minute)
	return AgentEventMsg{Msg: cluster.Snapshot{Agent: node, Received: at, Resp: &hactlv1.WatchResponse{
		Seq: 1, Time: timestamppb.New(at),
		Event: &hactlv1.WatchResponse_Snapshot{Snapshot: &hactlv1.Node{Name: node, Instances: []*hactlv1.Instance{in}}},
	}}}
}

func ev(node string, seq uint64, at time.Time, e any) AgentEventMsg {
	r := &hactlv1.WatchResponse{Seq: seq, Time: timestamppb.New(at)}
	switch e := e.(type) {
	case *hactlv1.WatchResponse_Transition:
		r.Event = e
	case *hactlv1.WatchResponse_Vip:
		r.Event = e
	case *hactlv1.WatchResponse_ProbeResult:
		r.Event = e
	case *hactlv1.WatchResponse_AdvertTiming:
		r.Event = e
	case *hactlv1.WatchResponse_AdvertTimingBatch:
		r.Event = e
	}
	return AgentEventMsg{Msg: cluster.Event{Agent: node, Resp: r, Received: at}}
}

func transition(inst string, from, to hactlv1.State, reason string) *hactlv1.WatchResponse_Transition {
	return &hactlv1.WatchResponse_Transition{Transition: &hactlv1.TransitionEvent{Instance: inst, From: from, To: to, Reason: reason}}
}

// recorder records the injected actions' calls.
type recorder struct {
	mu       sync.Mutex
	failover [][2]string
	clear    []string
	maint    []string
	drill    []string
}

func (r *recorder) options() Options {
	return Options{
		Cluster: cfg,
		Failover: func(_ context.Context, instance, target string) (string, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.failover = append(r.failover, [2]string{instance, target})
			return instance + ": cenvm71 → cenvm72: taking over", nil
		},
		Clear: func(_ context.Context, instance string) (string, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.clear = append(r.clear, instance)
			return "", errors.New("cenvm72: connection refused")
		},
		Maintenance: func(_ context.Context, node string, on bool) (string, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.maint = append(r.maint, node+" "+map[bool]string{true: "on", false: "off"}[on])
			return node + ": maintenance on", nil
		},
		RunDrill: func(_ context.Context, instance string) (string, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.drill = append(r.drill, instance)
			return "VIP moved in 1.2s; 0 requests failed", nil
		},
		Now:      func() time.Time { return now },
		Location: time.UTC,
		Renderer: asciiRenderer(),
	}
}

func asciiRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return r
}

// model builds a console of size w×h with msgs applied through Update.
func model(t *testing.T, opts Options, w, h int, msgs ...tea.Msg) Model {
	t.Helper()
	m := New(opts)
	m = update(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	for _, msg := range msgs {
		m = update(t, m, msg)
	}
	return m
}

func update(t *testing.T, m Model, msg tea.Msg) Model {
	t.Helper()
	next, _ := m.Update(msg)
	return next.(Model)
}

// updateRun applies msg and runs the returned command once, feeding its message back;
// it is how a confirmed dialog reaches the injected action.
func updateRun(t *testing.T, m Model, msg tea.Msg) Model {
	t.Helper()
	next, cmd := m.Update(msg)
	m = next.(Model)
	for cmd != nil {
		out := cmd()
		if batch, ok := out.(tea.BatchMsg); ok {
			for _, c := range batch {
				if c != nil {
					if mm, ok := c().(actionDoneMsg); ok {
						m = update(t, m, mm)
					}
				}
			}
			return m
		}
		if out == nil {
			return m
		}
		next, cmd = m.Update(out)
		m = next.(Model)
	}
	return m
}

func press(s string) tea.KeyMsg {
	switch s {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "pgup":
		return tea.KeyMsg{Type: tea.KeyPgUp}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

// Scenarios.

var (
	master = hactlv1.State_STATE_MASTER
	backup = hactlv1.State_STATE_BACKUP
	fault  = hactlv1.State_STATE_FAULT
)

func healthyMsgs() []tea.Msg {
	return []tea.Msg{
		snap("cenvm71", seedInstance("cenvm71", master, "cenvm71")),
		snap("cenvm72", seedInstance("cenvm72", backup, "cenvm71")),
		ev("cenvm71", 2, t0.Add(3*time.Minute+time.Second), transition("VI_1", backup, master, "preempted lower priority master")),
		ev("cenvm71", 3, t0.Add(3*time.Minute+time.Second), &hactlv1.WatchResponse_Vip{Vip: &hactlv1.VipEvent{Instance: "VI_1", Address: "192.168.188.109", Bound: true, Reason: "became MASTER"}}),
		// Ten seconds of adverts: 1.0/s sent by the master, received by the backup.
		ev("cenvm71", 4, t0.Add(3*time.Minute+10*time.Second), &hactlv1.WatchResponse_AdvertTiming{AdvertTiming: &hactlv1.AdvertTimingEvent{Instance: "VI_1", AdvertsSent: 190, AdvertsReceived: 180}}),
		ev("cenvm72", 2, t0.Add(3*time.Minute+10*time.Second), &hactlv1.WatchResponse_AdvertTiming{AdvertTiming: &hactlv1.AdvertTimingEvent{Instance: "VI_1", AdvertsSent: 180, AdvertsReceived: 190}}),
	}
}

func faultMsgs() []tea.Msg {
	in := seedInstance("cenvm72", fault, "")
	in.Faults = []*hactlv1.FaultSource{{Source: "chk_nginx", Reason: "nginx down"}}
	in.Probes[0].Healthy, in.Probes[0].Reason = false, "nginx down"
	in.StateReason = "chk_nginx: nginx down"
	return []tea.Msg{
		snap("cenvm71", seedInstance("cenvm71", master, "cenvm71")),
		snap("cenvm72", in),
		ev("cenvm72", 2, t0.Add(3*time.Minute+5*time.Second), &hactlv1.WatchResponse_ProbeResult{ProbeResult: &hactlv1.ProbeResultEvent{
			Instance: "VI_1", Probe: "chk_nginx", Healthy: false, Changed: true, Result: &hactlv1.ProbeResult{Ok: false, Output: "nginx down"}}}),
		ev("cenvm72", 3, t0.Add(3*time.Minute+5*time.Second), transition("VI_1", backup, fault, "chk_nginx: nginx down")),
	}
}

func unreachableMsgs() []tea.Msg {
	return append(healthyMsgs(), AgentEventMsg{Msg: cluster.Down{Agent: "cenvm72", Err: errors.New("dial tcp 192.168.188.72:7443: connection refused"), Since: now.Add(-12 * time.Second)}})
}

func splitBrainMsgs() []tea.Msg {
	return []tea.Msg{
		snap("cenvm71", seedInstance("cenvm71", master, "cenvm71")),
		snap("cenvm72", seedInstance("cenvm72", master, "cenvm72")),
		ev("cenvm72", 2, t0.Add(3*time.Minute+8*time.Second), transition("VI_1", backup, master, "master down interval expired")),
	}
}
