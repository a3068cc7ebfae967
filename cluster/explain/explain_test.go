package explain

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/hagent-dev/hagent/cluster"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// seed is VI_1 of the seed: cenvm71 MASTER at 100, cenvm72 BACKUP at 90, chk_nginx with
// no weight on both, advert_int 1 s, VRRPv2.
func seed() []cluster.NodeStatus {
	mk := func(node, addr string, st hactlv1.State, prio uint32) cluster.NodeStatus {
		in := &hactlv1.Instance{
			Name: "VI_1", Vrid: 51, Version: 2, State: st, BasePriority: prio, EffectivePriority: prio,
			PrimaryAddress: addr, StateReason: "startup",
			Timing: &hactlv1.AdvertTiming{Configured: durationpb.New(time.Second), MasterAdverInterval: durationpb.New(time.Second)},
			Probes: []*hactlv1.Probe{{Name: "chk_nginx", Kind: "script", Healthy: true}},
			Config: &hactlv1.InstanceConfig{},
		}
		return cluster.NodeStatus{Name: node, Reachable: true, Node: &hactlv1.Node{Name: node, Instances: []*hactlv1.Instance{in}}}
	}
	return []cluster.NodeStatus{
		mk("cenvm71", "192.168.188.71", hactlv1.State_STATE_MASTER, 100),
		mk("cenvm72", "192.168.188.72", hactlv1.State_STATE_BACKUP, 90),
	}
}

func text(t *testing.T, ns []cluster.NodeStatus) string {
	t.Helper()
	r, err := Explain("VI_1", ns)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(r.Lines(), "\n")
}

func wantLines(t *testing.T, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("explanation lacks %q:\n%s", w, got)
		}
	}
}

// TestSeed: Skew_Time of priority 90 at v2 is (256-90)/256 s = 0.648 s; Master_Down_Interval
// 3 × 1 s + 0.648 s (RFC 3768 6.1).
func TestSeed(t *testing.T) {
	got := text(t, seed())
	wantLines(t, got,
		"cenvm71 (192.168.188.71) is master with the highest effective priority, 100 (cenvm72 90).",
		"If chk_nginx fails on cenvm71 (no weight: FAULT), cenvm72 becomes master after about 0.65 s",
		"If chk_nginx fails on cenvm72 (no weight: FAULT), cenvm71 stays master.",
		"If cenvm71 is lost, cenvm72 becomes master after about 3.65 s (Master_Down_Interval: 3 × 1s + Skew_Time 0.65 s).",
		"If cenvm72 is lost, cenvm71 stays master.",
		"cenvm71 MASTER: base priority 100, effective 100; preempt; last change: startup",
	)
}

func TestWeightedCheck(t *testing.T) {
	ns := seed()
	m := ns[0].Node.Instances[0]
	m.Probes[0].Weight = -20
	got := text(t, ns)
	wantLines(t, got, "If chk_nginx fails on cenvm71 (weight -20: priority 100 → 80), cenvm72 becomes master at once")
	ns[1].Node.Instances[0].Config.Nopreempt = true
	wantLines(t, text(t, ns), "cenvm71 stays master: cenvm72 has a higher priority but nopreempt")
	m.Probes[0].Weight = -5
	wantLines(t, text(t, ns), "(weight -5: priority 100 → 95), cenvm71 stays master.")
}

func TestV3UsesMasterInterval(t *testing.T) {
	ns := seed()
	for _, n := range ns {
		in := n.Node.Instances[0]
		in.Version = 3
		in.Timing.MasterAdverInterval = durationpb.New(100 * time.Millisecond)
	}
	// Skew = (256-90) × 0.1 s / 256 = 0.0648 s; Master_Down = 0.3648 s.
	wantLines(t, text(t, ns), "after about 0.06 s", "after about 0.36 s")
}

func TestTieAndMaintenance(t *testing.T) {
	ns := seed()
	ns[1].Node.Instances[0].EffectivePriority = 100
	wantLines(t, text(t, ns), "cenvm72 has the same priority 100: a backup does not preempt an equal priority, so the first master keeps it (if both claim it, the higher address 192.168.188.72 of cenvm72 wins)")
	ns = seed()
	ns[1].Node.Maintenance = true
	wantLines(t, text(t, ns), "If cenvm71 is lost, no node takes over", "in maintenance")
}

func TestUnknownInstance(t *testing.T) {
	if _, err := Explain("VI_9", seed()); err == nil {
		t.Fatal("no error for an unknown instance")
	}
}

func TestOverrideAndSyncGroup(t *testing.T) {
	ns := seed()
	in := ns[0].Node.Instances[0]
	in.Override = &hactlv1.Override{Mode: hactlv1.OverrideMode_OVERRIDE_MODE_TAKEOVER, Who: "tls:CN=ops"}
	in.SyncGroup = "G1"
	wantLines(t, text(t, ns), "cenvm71 is master by an operator's takeover override.",
		"; override takeover by tls:CN=ops", "; sync group G1 (its members move together)")
}
