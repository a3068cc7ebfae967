package e2e

// Issue 11, "vrrp_sync_group acted on": two instances (VRIDs 51 and 52, one VIP each)
// in one group on both hosts. A tracked check of the first fails on the master: both
// VIPs move to the backup (keepalived 2.2.7 vrrp_sync.c vrrp_sync_fault takes the
// second instance to FAULT with the first), and both come back when it recovers. The
// same steps run through keepalived 2.2.7 as the reference.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/lab"
)

// syncConf is host's config: VI_1 tracks a check that fails while @HOSTDIR@/fail_vi1
// exists (weight 0: FAULT); VI_2 tracks nothing; both are in vrrp_sync_group G.
func syncConf(host string) string {
	state, prio := "MASTER", 100
	if host == "cenvm72" {
		state, prio = "BACKUP", 90
	}
	inst := func(name string, vrid int, vip, track string) string {
		return fmt.Sprintf(`vrrp_instance %s {
    state %s
    interface eth0
    virtual_router_id %d
    priority %d
    advert_int 1
    virtual_ipaddress {
        %s
    }
%s}
`, name, state, vrid, prio, vip, track)
	}
	return `vrrp_script chk_vi1 {
    script "/usr/bin/test ! -e @HOSTDIR@/fail_vi1"
    interval 1
    fall 1
    rise 1
}
` + inst("VI_1", 51, lab.VIP, "    track_script {\n        chk_vi1\n    }\n") +
		inst("VI_2", 52, inplaceVIP2, "") + `vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
}
`
}

func syncStart(t *testing.T, d lab.Daemon) (*lab.Lab, *faultsNet) {
	t.Helper()
	dir := t.TempDir()
	confs := map[string]string{}
	for _, h := range []string{"cenvm71", "cenvm72"} {
		p := filepath.Join(dir, h+".conf")
		if err := os.WriteFile(p, []byte(syncConf(h)), 0o644); err != nil {
			t.Fatal(err)
		}
		confs[h] = p
	}
	l := lab.Start(t, lab.Options{Daemon: d, Configs: confs})
	return l, faultsOpenNet(t, l)
}

// syncBothOn waits until both VIPs are on host only.
func syncBothOn(t *testing.T, n *faultsNet, host string, timeout time.Duration, what string) {
	t.Helper()
	faultsPoll(t, timeout, what+": both VIPs on "+host+" only", func() bool {
		return slices.Equal(n.holders(lab.VIP), []string{host}) && slices.Equal(n.holders(inplaceVIP2), []string{host})
	})
}

// syncStaysOn checks over an observation window that both VIPs stay on host only.
func syncStaysOn(t *testing.T, n *faultsNet, host string, window time.Duration, what string) {
	t.Helper()
	end := time.Now().Add(window)
	for time.Now().Before(end) {
		a, b := n.holders(lab.VIP), n.holders(inplaceVIP2)
		if !slices.Equal(a, []string{host}) || !slices.Equal(b, []string{host}) {
			t.Fatalf("%s: .109 on %v and .110 on %v, want both on %s", what, a, b, host)
		}
		time.Sleep(100 * time.Millisecond) // observation period
	}
}

func syncFail(t *testing.T, l *lab.Lab, fail bool) {
	t.Helper()
	p := filepath.Join(l.HostDir("cenvm71"), "fail_vi1")
	if fail {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

// syncMoveTimeout bounds a move: the check's interval (1 s) and fall 1, Skew_Time on
// the backup, and a loaded VM.
const syncMoveTimeout = 6 * time.Second

func TestSyncGroupMovesTogether(t *testing.T) {
	t.Parallel()
	l, n := syncStart(t, lab.Hagent)
	syncBothOn(t, n, "cenvm71", 15*time.Second, "start")

	// hactl status shows the group, in the table and the JSON.
	args := []string{"status"}
	for _, h := range l.Hosts {
		args = append(args, "--agent", h+"=unix://"+l.APISocket(h))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	faultsPoll(t, 5*time.Second, "hactl status to show both members of G MASTER on cenvm71", func() bool {
		out, _ := exec.CommandContext(ctx, hactlBin, args...).Output()
		return strings.Count(string(out), "[G MASTER]") == 2 && strings.Count(string(out), "[G BACKUP]") == 2
	})
	doc, err := faultsStatus(l)
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range doc.Nodes {
		for _, in := range nd.Instances {
			if in.SyncGroup != "G" {
				t.Errorf("%s %s: sync_group %q in hactl status --json, want G", nd.Name, in.Name, in.SyncGroup)
			}
		}
	}

	syncFail(t, l, true)
	syncBothOn(t, n, "cenvm72", syncMoveTimeout, "VI_1's check failed on cenvm71")
	vi2, err := l.Instance("cenvm71", "VI_2")
	if err != nil {
		t.Fatal(err)
	}
	if vi2.GetState().String() != "STATE_FAULT" || len(vi2.GetFaults()) != 1 || vi2.GetFaults()[0].GetSource() != "vrrp_sync_group G" {
		t.Errorf("cenvm71's VI_2 is %s with faults %v, want FAULT from its group", vi2.GetState(), vi2.GetFaults())
	}
	if vi2.GetSyncGroupState().String() != "STATE_FAULT" {
		t.Errorf("group state on cenvm71 %s, want FAULT", vi2.GetSyncGroupState())
	}
	syncStaysOn(t, n, "cenvm72", 2*time.Second, "while VI_1's check fails")

	syncFail(t, l, false)
	syncBothOn(t, n, "cenvm71", syncMoveTimeout, "VI_1's check recovered")
	syncStaysOn(t, n, "cenvm71", 2*time.Second, "after the recovery")
	for _, h := range l.Hosts {
		for _, name := range []string{"VI_1", "VI_2"} {
			in, err := l.Instance(h, name)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"cenvm71": "STATE_MASTER", "cenvm72": "STATE_BACKUP"}[h]
			if in.GetState().String() != want || in.GetSyncGroupState().String() != want {
				t.Errorf("%s %s: %s, group %s; want %s", h, name, in.GetState(), in.GetSyncGroupState(), want)
			}
		}
	}
	if t.Failed() {
		return
	}

	// A forced failover of one member moves the group, and clearing it brings the
	// group back.
	hactl := func(args ...string) {
		t.Helper()
		for _, h := range l.Hosts {
			args = append(args, "--agent", h+"=unix://"+l.APISocket(h))
		}
		out, err := exec.CommandContext(ctx, hactlBin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("hactl %v: %v: %s", args, err, out)
		}
	}
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hactl("failover", "VI_1", "--node", "cenvm72")
	syncBothOn(t, n, "cenvm72", syncMoveTimeout, "hactl failover VI_1 --node cenvm72")
	syncStaysOn(t, n, "cenvm72", 2*time.Second, "after the forced failover")
	hactl("failover", "VI_1", "--clear")
	syncBothOn(t, n, "cenvm71", syncMoveTimeout, "hactl failover VI_1 --clear")
}

// keepalived 2.2.7 through the same steps: the reference TestSyncGroupMovesTogether
// holds hagent to.
func TestSyncGroupMovesTogetherKeepalivedReference(t *testing.T) {
	t.Parallel()
	l, n := syncStart(t, lab.Keepalived)
	syncBothOn(t, n, "cenvm71", 15*time.Second, "keepalived start")
	syncFail(t, l, true)
	syncBothOn(t, n, "cenvm72", syncMoveTimeout, "keepalived: VI_1's check failed on cenvm71")
	syncStaysOn(t, n, "cenvm72", 2*time.Second, "keepalived: while VI_1's check fails")
	syncFail(t, l, false)
	syncBothOn(t, n, "cenvm71", syncMoveTimeout, "keepalived: VI_1's check recovered")
	syncStaysOn(t, n, "cenvm71", 2*time.Second, "keepalived: after the recovery")
}
