package lint

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/hagent-dev/hagent/cluster"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// seed is VI_1 of the seed's configs as the two agents report it.
func seed() []cluster.NodeStatus {
	mk := func(node, addr, state string, prio uint32) cluster.NodeStatus {
		in := &hactlv1.Instance{
			Name: "VI_1", Vrid: 51, Version: 2, BasePriority: prio, EffectivePriority: prio,
			PrimaryAddress: addr,
			Vips:           []*hactlv1.Vip{{Address: "192.168.188.109/32"}},
			Timing:         &hactlv1.AdvertTiming{Configured: durationpb.New(time.Second)},
			Probes:         []*hactlv1.Probe{{Name: "chk_nginx", Kind: "script", Healthy: true}},
			Config: &hactlv1.InstanceConfig{State: state, AuthType: "PASS", AuthFingerprint: "0011223344556677",
				PreemptDelay: durationpb.New(0), Tracked: []string{"chk_nginx"}},
		}
		return cluster.NodeStatus{Name: node, Reachable: true, Node: &hactlv1.Node{Name: node, Instances: []*hactlv1.Instance{in}}}
	}
	return []cluster.NodeStatus{mk("cenvm71", "192.168.188.71", "MASTER", 100), mk("cenvm72", "192.168.188.72", "BACKUP", 90)}
}

func inst(ns []cluster.NodeStatus, i int) *hactlv1.Instance { return ns[i].Node.Instances[0] }

func TestSeedIsClean(t *testing.T) {
	if fs := Check(seed()); len(fs) != 0 {
		t.Fatalf("seed lints with findings: %v", fs)
	}
}

// TestFindings: each misconfiguration of the acceptance is an error or warning of its
// check, naming both nodes' values.
func TestFindings(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(ns []cluster.NodeStatus)
		sev    Severity
		check  string
		want   []string // substrings of the line
	}{
		{"advert_int", func(ns []cluster.NodeStatus) {
			inst(ns, 1).Timing.Configured = durationpb.New(2 * time.Second)
		}, Error, "advert_int", []string{"cenvm71 1s", "cenvm72 2s"}},
		{"auth_pass", func(ns []cluster.NodeStatus) {
			inst(ns, 1).Config.AuthFingerprint = "8899aabbccddeeff"
		}, Error, "auth_pass", []string{"cenvm71 0011223344556677", "cenvm72 8899aabbccddeeff"}},
		{"auth_type", func(ns []cluster.NodeStatus) {
			inst(ns, 1).Config.AuthType, inst(ns, 1).Config.AuthFingerprint = "", ""
		}, Error, "auth_type", []string{"cenvm71 PASS", "cenvm72 none"}},
		{"vip_on_one", func(ns []cluster.NodeStatus) {
			inst(ns, 1).Vips = append(inst(ns, 1).Vips, &hactlv1.Vip{Address: "192.168.188.110/32"})
		}, Error, "vips", []string{"192.168.188.110 only on cenvm72", "cenvm71 192.168.188.109;", "cenvm72 192.168.188.109,192.168.188.110"}},
		{"equal_priority", func(ns []cluster.NodeStatus) {
			inst(ns, 1).BasePriority = 100
		}, Error, "priority", []string{"equal priority 100 (", "a tie goes to the higher address 192.168.188.72 (cenvm72) when both claim master, not the node with state MASTER"}},
		{"equal_priority_no_state_master", func(ns []cluster.NodeStatus) {
			inst(ns, 1).BasePriority, inst(ns, 0).Config.State = 100, "BACKUP"
		}, Warning, "priority", []string{"equal priority 100 (", "a tie goes to the higher address 192.168.188.72 (cenvm72) when both claim master"}},
		{"two_masters", func(ns []cluster.NodeStatus) {
			inst(ns, 1).BasePriority, inst(ns, 1).Config.State = 100, "MASTER"
		}, Warning, "priority", []string{"2 nodes with state MASTER and equal priority 100"}},
		{"version", func(ns []cluster.NodeStatus) { inst(ns, 1).Version = 3 }, Error, "version", []string{"cenvm71 v2", "cenvm72 v3"}},
		{"nopreempt", func(ns []cluster.NodeStatus) { inst(ns, 1).Config.Nopreempt = true }, Warning, "preempt", []string{"cenvm72 nopreempt"}},
		{"track", func(ns []cluster.NodeStatus) { inst(ns, 1).Config.Tracked = nil }, Warning, "track", []string{"chk_nginx only on cenvm71"}},
		{"sync_group", func(ns []cluster.NodeStatus) { inst(ns, 0).SyncGroup = "G1" }, Warning, "sync_group", []string{"cenvm71 G1; cenvm72 none"}},
		{"unicast_mixed", func(ns []cluster.NodeStatus) { inst(ns, 1).Config.Unicast = true }, Error, "unicast", []string{"cenvm72 unicast"}},
		{"unicast_peers", func(ns []cluster.NodeStatus) {
			inst(ns, 0).Config.Unicast, inst(ns, 1).Config.Unicast = true, true
			inst(ns, 0).UnicastPeers = []string{"192.168.188.72"}
			inst(ns, 1).UnicastPeers = []string{"192.168.188.73"}
		}, Error, "unicast_peers", []string{"cenvm72 does not list cenvm71 (192.168.188.71)"}},
		{"foreign_router", func(ns []cluster.NodeStatus) {
			for i := range ns {
				inst(ns, i).ForeignSenders = []*hactlv1.ForeignSender{{Address: "192.168.188.10", Cause: "addr_list",
					Reason: "advert carries [192.168.188.200]", Count: 3, Addresses: []string{"192.168.188.200"}}}
			}
		}, Error, "foreign_router", []string{"router 192.168.188.10 outside the cluster advertises VRID 51 with 192.168.188.200 (ours 192.168.188.109)", "cenvm71 addr_list", "cenvm72 addr_list"}},
		{"foreign_interval", func(ns []cluster.NodeStatus) {
			inst(ns, 0).ForeignSenders = []*hactlv1.ForeignSender{{Address: "192.168.188.10", Cause: "interval", AdvertInt: durationpb.New(2 * time.Second)}}
		}, Error, "foreign_router", []string{"every 2s (ours 1s)"}},
		{"foreign_master", func(ns []cluster.NodeStatus) {
			inst(ns, 1).Master = &hactlv1.Master{Address: "192.168.188.10", Priority: 200}
		}, Error, "foreign_master", []string{"cenvm72 master 192.168.188.10 priority 200"}},
		{"only_one_node", func(ns []cluster.NodeStatus) { ns[1].Node.Instances[0].Vrid = 52 }, Warning, "instance", []string{"VRID 51 configured on cenvm71 only, not on cenvm72"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ns := seed()
			c.mutate(ns)
			fs := Check(ns)
			var hit *Finding
			for i := range fs {
				if fs[i].Check == c.check && hit == nil {
					hit = &fs[i]
				}
			}
			if hit == nil {
				t.Fatalf("no %s finding in %v", c.check, fs)
			}
			if hit.Severity != c.sev {
				t.Errorf("severity %s, want %s: %s", hit.Severity, c.sev, hit)
			}
			line := hit.String()
			for _, w := range c.want {
				if !strings.Contains(line, w) {
					t.Errorf("%q lacks %q", line, w)
				}
			}
			if HasError(fs) != (c.sev == Error) && len(fs) == 1 {
				t.Errorf("HasError = %v with %v", HasError(fs), fs)
			}
		})
	}
}

// TestCrossNodeSenderIsNotForeign: drops from a cluster node are config findings, not a
// foreign router.
func TestCrossNodeSenderIsNotForeign(t *testing.T) {
	ns := seed()
	inst(ns, 1).ForeignSenders = []*hactlv1.ForeignSender{{Address: "192.168.188.71", Cause: "auth"}}
	for _, f := range Check(ns) {
		if f.Check == "foreign_router" {
			t.Fatalf("cluster node reported as foreign: %s", f)
		}
	}
}

func TestUnreachableNodesAreLeftOut(t *testing.T) {
	ns := seed()
	ns[1].Reachable = false
	if fs := Check(ns); len(fs) != 0 {
		t.Fatalf("findings with one node unreachable: %v", fs)
	}
}

// TestUnreachableNodeIsNotForeign: the adverts of a node whose agent does not answer
// (its last data is stale) are not a foreign router's.
func TestUnreachableNodeIsNotForeign(t *testing.T) {
	ns := seed()
	ns[1].Reachable = false
	inst(ns, 0).ForeignSenders = []*hactlv1.ForeignSender{{Address: "192.168.188.72", Cause: "auth"}}
	if fs := Check(ns); len(fs) != 0 {
		t.Fatalf("findings: %v", fs)
	}
}
