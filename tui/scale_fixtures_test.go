package tui

import (
	"fmt"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"google.golang.org/protobuf/types/known/timestamppb"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"

	"github.com/hagent-dev/hagent/cluster"
)

// The 255-instance fixtures of issue 18: the e2e scale profile (VI_k, VRID k, VIP
// 192.168.189.k, cenvm71 priority 100 MASTER, cenvm72 90 BACKUP) as the agents report it.

const scaleN = 255

// scaleInstance is VI_k on node in state, believing in master ("" for none).
func scaleInstance(node string, k int, state hactlv1.State, master string) *hactlv1.Instance {
	in := seedInstance(node, state, master)
	in.Name, in.Vrid = fmt.Sprintf("VI_%d", k), uint32(k)
	in.Vips = []*hactlv1.Vip{{Address: fmt.Sprintf("192.168.189.%d", k), Dev: "eth0", Bound: state == hactlv1.State_STATE_MASTER}}
	in.Probes = nil
	if node == "cenvm72" {
		in.BasePriority, in.EffectivePriority = 90, 90
	}
	// Transitions spread over the last minutes, so the age column varies.
	in.StateSince = timestamppb.New(t0.Add(-time.Duration(k) * time.Second))
	return in
}

// scaleSnap is node's snapshot of every instance; edit changes instance k (or returns
// nil to leave it at the default).
func scaleSnap(node string, edit func(k int) *hactlv1.Instance) AgentEventMsg {
	state, master := backup, "cenvm71"
	if node == "cenvm71" {
		state = master71State
	}
	var ins []*hactlv1.Instance
	for k := 1; k <= scaleN; k++ {
		var in *hactlv1.Instance
		if edit != nil {
			in = edit(k)
		}
		if in == nil {
			in = scaleInstance(node, k, state, master)
		}
		ins = append(ins, in)
	}
	at := t0.Add(3 * time.Minute)
	return AgentEventMsg{Msg: cluster.Snapshot{Agent: node, Received: at, Resp: &hactlv1.WatchResponse{
		Seq: 1, Time: timestamppb.New(at),
		Event: &hactlv1.WatchResponse_Snapshot{Snapshot: &hactlv1.Node{Name: node, Instances: ins}},
	}}}
}

var master71State = hactlv1.State_STATE_MASTER

func scaleHealthyMsgs() []tea.Msg {
	return []tea.Msg{scaleSnap("cenvm71", nil), scaleSnap("cenvm72", nil)}
}

// scaleFaultMsgs: VI_137's nginx check failed on cenvm71, which went FAULT; cenvm72 took over.
func scaleFaultMsgs() []tea.Msg {
	const k = 137
	name := fmt.Sprintf("VI_%d", k)
	return []tea.Msg{
		scaleSnap("cenvm71", func(i int) *hactlv1.Instance {
			if i != k {
				return nil
			}
			in := scaleInstance("cenvm71", k, fault, "")
			in.Probes = []*hactlv1.Probe{{Name: "chk_nginx", Kind: "script", Healthy: false, Reason: "nginx down"}}
			in.Faults = []*hactlv1.FaultSource{{Source: "chk_nginx", Reason: "nginx down"}}
			in.StateReason = "chk_nginx: nginx down"
			in.StateSince = timestamppb.New(t0.Add(3*time.Minute + 5*time.Second))
			return in
		}),
		scaleSnap("cenvm72", func(i int) *hactlv1.Instance {
			if i != k {
				return nil
			}
			in := scaleInstance("cenvm72", k, master, "cenvm72")
			in.StateSince = timestamppb.New(t0.Add(3*time.Minute + 6*time.Second))
			return in
		}),
		ev("cenvm71", 2, t0.Add(3*time.Minute+5*time.Second), transition(name, master, fault, "chk_nginx: nginx down")),
		ev("cenvm72", 2, t0.Add(3*time.Minute+6*time.Second), transition(name, backup, master, "master down interval expired")),
	}
}

// scaleSplitBrainMsgs: VI_42's adverts do not reach cenvm72, which is MASTER too.
func scaleSplitBrainMsgs() []tea.Msg {
	const k = 42
	return []tea.Msg{
		scaleSnap("cenvm71", nil),
		scaleSnap("cenvm72", func(i int) *hactlv1.Instance {
			if i != k {
				return nil
			}
			in := scaleInstance("cenvm72", k, master, "cenvm72")
			in.StateSince = timestamppb.New(t0.Add(3*time.Minute + 8*time.Second))
			return in
		}),
		ev("cenvm72", 2, t0.Add(3*time.Minute+8*time.Second), transition(fmt.Sprintf("VI_%d", k), backup, master, "master down interval expired")),
	}
}

// typeKeys presses every rune of s.
func typeKeys(s string) []tea.Msg {
	var out []tea.Msg
	for _, r := range s {
		out = append(out, press(string(r)))
	}
	return out
}

// scaleFilteredMsgs: the operator looks for VI_200 and keeps the filter.
func scaleFilteredMsgs() []tea.Msg {
	msgs := append(scaleHealthyMsgs(), press("/"))
	msgs = append(msgs, typeKeys("VI_200")...)
	return append(msgs, press("enter"))
}
