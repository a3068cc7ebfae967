package cluster

import (
	"strings"
	"testing"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

func TestPlanFailover(t *testing.T) {
	t.Parallel()
	master, backup, fault := hactlv1.State_STATE_MASTER, hactlv1.State_STATE_BACKUP, hactlv1.State_STATE_FAULT
	node := func(name string, reachable bool, st hactlv1.State) NodeStatus {
		in := vi1(st, st == master)
		if st == fault {
			in.Faults = []*hactlv1.FaultSource{{Source: "chk_nginx", Reason: "nginx down"}}
		}
		return NodeStatus{Name: name, Reachable: reachable, Node: &hactlv1.Node{Name: name, Instances: []*hactlv1.Instance{in}}}
	}
	takeover, relinquish := hactlv1.OverrideMode_OVERRIDE_MODE_TAKEOVER, hactlv1.OverrideMode_OVERRIDE_MODE_RELINQUISH
	tests := []struct {
		name     string
		nodes    []NodeStatus
		instance string
		target   string
		want     string // Plan.String()
		call     string
		mode     hactlv1.OverrideMode
		err      string
	}{
		{name: "two nodes: the other one takes over", nodes: []NodeStatus{node("cenvm71", true, master), node("cenvm72", true, backup)},
			instance: "VI_1", want: "VI_1: cenvm71 → cenvm72", call: "cenvm72", mode: takeover},
		{name: "target unreachable: master relinquishes", nodes: []NodeStatus{node("cenvm71", true, master), node("cenvm72", false, backup)},
			instance: "VI_1", want: "VI_1: cenvm71 → cenvm72", call: "cenvm71", mode: relinquish},
		{name: "target FAULT", nodes: []NodeStatus{node("cenvm71", true, master), node("cenvm72", true, fault)},
			instance: "VI_1", err: "target cenvm72 is FAULT: chk_nginx: nginx down"},
		{name: "unknown instance", nodes: []NodeStatus{node("cenvm71", true, master)}, instance: "VI_9", err: "instance VI_9 unknown"},
		{name: "target is master", nodes: []NodeStatus{node("cenvm71", true, master), node("cenvm72", true, backup)},
			instance: "VI_1", target: "cenvm71", err: "cenvm71 is already MASTER"},
		{name: "three nodes, no target, a live backup: election", nodes: []NodeStatus{node("a", true, master), node("b", true, backup), node("c", true, fault)},
			instance: "VI_1", want: "VI_1: a → next backup", call: "a", mode: relinquish},
		{name: "three nodes, no backup", nodes: []NodeStatus{node("a", true, master), node("b", true, fault), node("c", false, backup)},
			instance: "VI_1", err: "no peer in BACKUP for VI_1"},
		{name: "three nodes, named target", nodes: []NodeStatus{node("a", true, master), node("b", true, backup), node("c", true, backup)},
			instance: "VI_1", target: "c", want: "VI_1: a → c", call: "c", mode: takeover},
		{name: "split brain needs a target", nodes: []NodeStatus{node("cenvm71", true, master), node("cenvm72", true, master)},
			instance: "VI_1", err: "split brain"},
		{name: "single agent in view (keepalived peer): relinquish", nodes: []NodeStatus{node("cenvm71", true, master)},
			instance: "VI_1", want: "VI_1: cenvm71 → next backup", call: "cenvm71", mode: relinquish},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := PlanFailover(tc.nodes, tc.instance, tc.target)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.String() != tc.want || p.Call != tc.call || p.Mode != tc.mode {
				t.Fatalf("plan = %q call %s mode %v; want %q call %s mode %v", p, p.Call, p.Mode, tc.want, tc.call, tc.mode)
			}
		})
	}
}
