package cluster

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

func TestApplyFoldsEvents(t *testing.T) {
	t.Parallel()
	at := t0.Add(5 * time.Second)
	tests := []struct {
		name  string
		ev    isEvent
		check func(t *testing.T, in *hactlv1.Instance)
		log   string // substring of the last log entry; "" = no new entry
	}{
		{
			name: "transition sets state, since and reason",
			ev: &hactlv1.WatchResponse_Transition{Transition: &hactlv1.TransitionEvent{
				Instance: "VI_1", From: hactlv1.State_STATE_BACKUP, To: hactlv1.State_STATE_MASTER, Reason: "master down interval expired"}},
			check: func(t *testing.T, in *hactlv1.Instance) {
				if in.GetState() != hactlv1.State_STATE_MASTER || !in.GetStateSince().AsTime().Equal(at) || in.GetStateReason() != "master down interval expired" || in.GetTransitions() != 1 {
					t.Errorf("instance = %v", in)
				}
			},
			log: "BACKUP → MASTER: master down interval expired",
		},
		{
			name: "priority change sets effective priority and contributions",
			ev: &hactlv1.WatchResponse_PriorityChange{PriorityChange: &hactlv1.PriorityChangeEvent{
				Instance: "VI_1", From: 100, To: 80, Contributions: []*hactlv1.PriorityContribution{{Source: "chk_nginx", Delta: -20}}}},
			check: func(t *testing.T, in *hactlv1.Instance) {
				if in.GetEffectivePriority() != 80 || len(in.GetContributions()) != 1 || in.GetBasePriority() != 100 {
					t.Errorf("instance = %v", in)
				}
			},
			log: "priority 100 → 80 (chk_nginx −20)",
		},
		{
			name: "vip event sets bound",
			ev:   &hactlv1.WatchResponse_Vip{Vip: &hactlv1.VipEvent{Instance: "VI_1", Address: "192.168.188.109", Bound: true, Reason: "became MASTER"}},
			check: func(t *testing.T, in *hactlv1.Instance) {
				if len(in.GetVips()) != 1 || !in.GetVips()[0].GetBound() {
					t.Errorf("vips = %v", in.GetVips())
				}
			},
			log: "VIP 192.168.188.109 bound: became MASTER",
		},
		{
			name: "failed probe sets health, reason and result ring",
			ev: &hactlv1.WatchResponse_ProbeResult{ProbeResult: &hactlv1.ProbeResultEvent{
				Instance: "VI_1", Probe: "chk_nginx", Healthy: false, Changed: true,
				Result: &hactlv1.ProbeResult{At: timestamppb.New(at), Ok: false, Output: "nginx down\n"}}},
			check: func(t *testing.T, in *hactlv1.Instance) {
				p := in.GetProbes()[0]
				if p.GetHealthy() || p.GetReason() != "nginx down" || len(p.GetResults()) != 1 {
					t.Errorf("probe = %v", p)
				}
			},
			log: "probe chk_nginx failed: nginx down",
		},
		{
			name: "unchanged probe result is not logged",
			ev: &hactlv1.WatchResponse_ProbeResult{ProbeResult: &hactlv1.ProbeResultEvent{
				Instance: "VI_1", Probe: "chk_nginx", Healthy: true, Result: &hactlv1.ProbeResult{Ok: true}}},
			check: func(t *testing.T, in *hactlv1.Instance) {
				if !in.GetProbes()[0].GetHealthy() || len(in.GetProbes()[0].GetResults()) != 1 {
					t.Errorf("probe = %v", in.GetProbes()[0])
				}
			},
		},
		{
			name: "advert timing replaces timing, counters and master",
			ev: &hactlv1.WatchResponse_AdvertTiming{AdvertTiming: &hactlv1.AdvertTimingEvent{
				Instance: "VI_1", AdvertsReceived: 42,
				Timing: &hactlv1.AdvertTiming{Jitter: durationpb.New(3 * time.Millisecond)},
				Master: &hactlv1.Master{Address: "192.168.188.72", Priority: 100},
			}},
			check: func(t *testing.T, in *hactlv1.Instance) {
				if in.GetAdvertsReceived() != 42 || in.GetTiming().GetJitter().AsDuration() != 3*time.Millisecond || in.GetMaster().GetAddress() != "192.168.188.72" {
					t.Errorf("instance = %v", in)
				}
			},
		},
		{
			name: "advert timing batch folds each instance it carries, skipping unknown ones",
			ev: &hactlv1.WatchResponse_AdvertTimingBatch{AdvertTimingBatch: &hactlv1.AdvertTimingBatchEvent{Timings: []*hactlv1.AdvertTimingEvent{
				{Instance: "VI_0", AdvertsReceived: 7},
				{
					Instance: "VI_1", AdvertsReceived: 43, AdvertsSent: 5,
					Timing: &hactlv1.AdvertTiming{Jitter: durationpb.New(4 * time.Millisecond)},
					Master: &hactlv1.Master{Address: "192.168.188.72", Priority: 100},
				},
			}}},
			check: func(t *testing.T, in *hactlv1.Instance) {
				if in.GetAdvertsReceived() != 43 || in.GetAdvertsSent() != 5 || in.GetTiming().GetJitter().AsDuration() != 4*time.Millisecond || in.GetMaster().GetAddress() != "192.168.188.72" {
					t.Errorf("instance = %v", in)
				}
			},
		},
		{
			name: "control action is logged with who and detail",
			ev: &hactlv1.WatchResponse_ControlAction{ControlAction: &hactlv1.ControlActionEvent{
				Action: "failover", Instance: "VI_1", Who: "root@hactl", Detail: "relinquish"}},
			check: func(t *testing.T, in *hactlv1.Instance) {},
			log:   "failover by root@hactl: relinquish",
		},
		{
			name:  "config reload is logged",
			ev:    &hactlv1.WatchResponse_ConfigReload{ConfigReload: &hactlv1.ConfigReloadEvent{Ok: false, Error: "keepalived.conf:12: unknown keyword"}},
			check: func(t *testing.T, in *hactlv1.Instance) {},
			log:   "config reload failed: keepalived.conf:12: unknown keyword",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := healthy()
			before := len(s.Log())
			s.Apply(event("cenvm72", 2, at, tc.ev))
			n := s.Node("cenvm72")
			tc.check(t, n.Instance("VI_1"))
			if n.LastSeq != 2 || !n.LastEvent.Equal(at) {
				t.Errorf("LastSeq, LastEvent = %d, %v", n.LastSeq, n.LastEvent)
			}
			log := s.Log()
			if tc.log == "" {
				if len(log) != before {
					t.Errorf("unexpected log entry %+v", log[len(log)-1])
				}
				return
			}
			last := log[len(log)-1]
			if !strings.Contains(last.Text, tc.log) || last.Node != "cenvm72" || !last.Time.Equal(at) {
				t.Errorf("last log entry = %+v, want text containing %q", last, tc.log)
			}
		})
	}
}

func TestApplyDownKeepsStaleDataAndLogsOnce(t *testing.T) {
	t.Parallel()
	s := healthy()
	since := t0.Add(10 * time.Second)
	s.Apply(Down{Agent: "cenvm71", Err: errors.New("connection refused"), Since: since})
	s.Apply(Down{Agent: "cenvm71", Err: errors.New("connection reset"), Since: since})
	n := s.Node("cenvm71")
	if n.Reachable || !n.DownSince.Equal(since) || n.LastErr != "connection reset" {
		t.Fatalf("node = reachable %v since %v err %q", n.Reachable, n.DownSince, n.LastErr)
	}
	if n.Instance("VI_1").GetState() != hactlv1.State_STATE_MASTER {
		t.Fatalf("last data dropped; want it kept (stale)")
	}
	var downs int
	for _, e := range s.Log() {
		if strings.HasPrefix(e.Text, "unreachable") {
			downs++
		}
	}
	if downs != 1 {
		t.Fatalf("unreachable logged %d times, want 1", downs)
	}
	s.Apply(snapshot("cenvm71", 7, since.Add(3*time.Second), vi1(hactlv1.State_STATE_BACKUP, false)))
	if !n.Reachable || !n.DownSince.IsZero() || n.LastErr != "" || n.LastSeq != 7 {
		t.Fatalf("after snapshot: %+v", n)
	}
	if last := s.Log()[len(s.Log())-1]; last.Text != "reachable again after 3s" {
		t.Fatalf("last log = %q", last.Text)
	}
}

func TestApplyRatesFromCounterDeltas(t *testing.T) {
	t.Parallel()
	s := healthy()
	timing := func(sec int, sent uint64, errs uint64) Event {
		return event("cenvm71", uint64(sec), t0.Add(time.Duration(sec)*time.Second), &hactlv1.WatchResponse_AdvertTiming{AdvertTiming: &hactlv1.AdvertTimingEvent{
			Instance: "VI_1", AdvertsSent: sent, ReceiveErrors: []*hactlv1.ReceiveErrorCount{{Cause: "auth", Count: errs}}}})
	}
	s.Apply(timing(2, 10, 0))
	s.Apply(timing(4, 14, 6))
	r := s.Node("cenvm71").Rates["VI_1"]
	if r.AdvertsSentPerSec != 2 || r.ErrorsPerSec != 3 {
		t.Fatalf("rates = %+v, want 2 adverts/s and 3 errors/s", r)
	}
	s.Apply(timing(6, 1, 0)) // agent restarted: counters went back
	if r := s.Node("cenvm71").Rates["VI_1"]; r.AdvertsSentPerSec != 0 {
		t.Fatalf("rates after counter reset = %+v, want a fresh baseline", r)
	}
}

func TestLogIsBoundedAndFoldsRepeats(t *testing.T) {
	t.Parallel()
	l := eventLog{max: 3}
	for i := range 5 {
		l.add(LogEntry{Node: "n", Text: string(rune('a' + i))})
	}
	l.add(LogEntry{Node: "n", Text: "e"})
	got := l.entries()
	if len(got) != 3 || got[0].Text != "c" || got[2].Text != "e" || got[2].Repeat != 2 {
		t.Fatalf("log = %+v", got)
	}
}

func TestAgentNowUsesClockOffset(t *testing.T) {
	t.Parallel()
	s := NewState(twoNodeConfig())
	snap := snapshot("cenvm71", 1, t0, vi1(hactlv1.State_STATE_MASTER, true))
	snap.Received = t0.Add(2 * time.Second) // our clock is 2 s ahead of the agent's
	s.Apply(snap)
	if got := s.Node("cenvm71").AgentNow(t0.Add(5 * time.Second)); !got.Equal(t0.Add(3 * time.Second)) {
		t.Fatalf("AgentNow = %v, want agent time t0+3s", got)
	}
}

// TestFoldOverride: the agent's override announcements keep the instance's override
// mode current between snapshots (the console counts overrides as problems).
func TestFoldOverride(t *testing.T) {
	in := &hactlv1.Instance{Name: "VI_1"}
	for _, c := range []struct {
		detail string
		want   hactlv1.OverrideMode
	}{
		{"promote: promote by tls:CN=hactl", hactlv1.OverrideMode_OVERRIDE_MODE_TAKEOVER},
		{"bogus: x", hactlv1.OverrideMode_OVERRIDE_MODE_TAKEOVER},
		{"relinquish: relinquish by ops", hactlv1.OverrideMode_OVERRIDE_MODE_RELINQUISH},
		{"none: promote cleared by ops", hactlv1.OverrideMode_OVERRIDE_MODE_NONE},
	} {
		foldOverride(in, c.detail)
		if got := in.GetOverride().GetMode(); got != c.want {
			t.Fatalf("after %q: mode %v, want %v", c.detail, got, c.want)
		}
	}
}

// Past a few instances Instance answers from an index, which a new snapshot (a new
// instance list) replaces.
func TestInstanceIndexFollowsSnapshots(t *testing.T) {
	node := func(gen uint32) *hactlv1.Node {
		n := &hactlv1.Node{Name: "cenvm71"}
		for i := 1; i <= 40; i++ {
			n.Instances = append(n.Instances, &hactlv1.Instance{Name: fmt.Sprintf("VI_%d", i), Vrid: uint32(i), EffectivePriority: gen})
		}
		return n
	}
	n := &NodeState{Name: "cenvm71", Node: node(1)}
	if in := n.Instance("VI_40"); in.GetVrid() != 40 || in.GetEffectivePriority() != 1 {
		t.Fatalf("VI_40 = %v", in)
	}
	if n.Instance("VI_41") != nil {
		t.Fatal("found an instance the node does not have")
	}
	n.Node = node(2)
	if in := n.Instance("VI_40"); in.GetEffectivePriority() != 2 {
		t.Fatalf("after a new snapshot VI_40 = %v, want the new snapshot's", in)
	}
	n.Node = nil
	if n.Instance("VI_40") != nil {
		t.Fatal("found an instance without a snapshot")
	}
}

// After Focused the timing held of the instance in focus is old until its timing
// arrives (or a snapshot); without a focus every timing is live.
func TestTimingLiveFollowsTheFocus(t *testing.T) {
	cfg := Config{Agents: []Agent{{Name: "cenvm71", Addr: "unix:///x"}}}
	s := NewState(cfg)
	n := s.Node("cenvm71")
	s.Apply(Snapshot{Agent: "cenvm71", Resp: &hactlv1.WatchResponse{Seq: 1, Time: timestamppb.Now(), Event: &hactlv1.WatchResponse_Snapshot{
		Snapshot: &hactlv1.Node{Name: "cenvm71", Instances: []*hactlv1.Instance{{Name: "VI_1"}, {Name: "VI_2"}}}}}})
	if !n.TimingLive("VI_2") {
		t.Fatal("an unfocused stream's timing is not live")
	}
	s.Apply(Focused{Agent: "cenvm71", Instance: "VI_2"})
	if n.TimingLive("VI_2") || n.TimingLive("VI_1") {
		t.Fatal("timing live right after the focus moved")
	}
	s.Apply(Event{Agent: "cenvm71", Resp: &hactlv1.WatchResponse{Seq: 2, Time: timestamppb.Now(), Event: &hactlv1.WatchResponse_AdvertTiming{
		AdvertTiming: &hactlv1.AdvertTimingEvent{Instance: "VI_1", Timing: &hactlv1.AdvertTiming{}}}}})
	if n.TimingLive("VI_2") {
		t.Fatal("another instance's timing made the focused one live")
	}
	s.Apply(Event{Agent: "cenvm71", Resp: &hactlv1.WatchResponse{Seq: 3, Time: timestamppb.Now(), Event: &hactlv1.WatchResponse_AdvertTimingBatch{
		AdvertTimingBatch: &hactlv1.AdvertTimingBatchEvent{Timings: []*hactlv1.AdvertTimingEvent{{Instance: "VI_2", Timing: &hactlv1.AdvertTiming{}}}}}}})
	if !n.TimingLive("VI_2") || n.TimingLive("VI_1") {
		t.Fatal("want VI_2 (in focus, its timing arrived) live and VI_1 not")
	}
}
