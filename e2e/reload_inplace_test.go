package e2e

// Issue 11, "Reload keeps mastership": SIGHUP with a changed priority, a changed track
// weight and a new instance reconfigures the running instances in place. keepalived
// 2.2.7 is the reference (vrrp.c vrrp_complete_init copies the old state,
// restore_vrrp_state sets reload_master, vrrp_scheduler.c vrrp_init_state keeps a
// reload_master MASTER): the same steps are run through it in the same lab.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
	"github.com/hagent-dev/hagent/lab"
)

// inplaceVIP2 is the second instance's VIP (VRID 52), added by the third reload.
const inplaceVIP2 = "192.168.188.110"

// inplaceConf is host's config: VI_1 (VRID 51, the seed's VIP) tracking a script that
// always succeeds with the given weight, and VI_2 (VRID 52) when second is set.
// cenvm71 is MASTER at prio, cenvm72 BACKUP at 90.
func inplaceConf(host string, prio, weight int, second bool) string {
	state := "MASTER"
	if host == "cenvm72" {
		state, prio = "BACKUP", 90
	}
	c := fmt.Sprintf(`vrrp_script chk_ok {
    script "/bin/true"
    interval 1
}
vrrp_instance VI_1 {
    state %s
    interface eth0
    virtual_router_id 51
    priority %d
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass hell>com
    }
    virtual_ipaddress {
        %s
    }
    track_script {
        chk_ok weight %d
    }
}
`, state, prio, lab.VIP, weight)
	if second {
		c += fmt.Sprintf(`vrrp_instance VI_2 {
    state %s
    interface eth0
    virtual_router_id 52
    priority %d
    advert_int 1
    virtual_ipaddress {
        %s
    }
}
`, state, prio, inplaceVIP2)
	}
	return c
}

// inplaceStart runs a lab with inplaceConf(prio 100, weight 10) on both hosts.
func inplaceStart(t *testing.T, d lab.Daemon) *lab.Lab {
	t.Helper()
	dir := t.TempDir()
	confs := map[string]string{}
	for _, h := range []string{"cenvm71", "cenvm72"} {
		p := filepath.Join(dir, h+".conf")
		if err := os.WriteFile(p, []byte(inplaceConf(h, 100, 10, false)), 0o644); err != nil {
			t.Fatal(err)
		}
		confs[h] = p
	}
	return lab.Start(t, lab.Options{Daemon: d, Configs: confs})
}

// inplaceWrite writes host's config and sends its daemon SIGHUP.
func inplaceWrite(t *testing.T, l *lab.Lab, host, conf string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(l.HostDir(host), "keepalived.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(l.AgentPID(host), syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP %s: %v", host, err)
	}
}

// inplaceFailures returns the failed samples of the prober.
func inplaceFailures(samples []lab.Sample) []lab.Sample {
	var out []lab.Sample
	for _, s := range samples {
		if !s.OK || s.Body != "cenvm71" {
			out = append(out, s)
		}
	}
	return out
}

func inplaceCheckServed(t *testing.T, p *lab.Prober) {
	t.Helper()
	samples := p.Stop()
	bad := inplaceFailures(samples)
	t.Logf("%d requests through the reloads, %d not answered by cenvm71", len(samples), len(bad))
	for i, s := range bad {
		if i == 5 {
			break
		}
		t.Errorf("request at %s: ok=%v body=%q err=%q", s.Start.Format("15:04:05.000"), s.OK, s.Body, s.Err)
	}
	if len(samples) < 100 {
		t.Errorf("only %d requests were made", len(samples))
	}
}

// hagent: priority 100 -> 110, then the track weight 10 -> 20, then a second
// instance, each by SIGHUP on cenvm71 (both hosts for the new instance). A client
// probing every 10 ms sees no failed request, VI_1 makes no transition on either
// host, cenvm71's effective priority follows each step, and VI_2 comes up MASTER on
// cenvm71. A broken config after that is refused with FILE:LINE and changes nothing.
func TestReloadKeepsMastership(t *testing.T) {
	t.Parallel()
	l := inplaceStart(t, lab.Hagent)
	n := faultsOpenNet(t, l)
	faultsWaitRoles(t, l, "cenvm71", 15*time.Second)
	faultsPoll(t, 5*time.Second, "cenvm71 at effective priority 110 (100 + healthy chk_ok weight 10)", func() bool {
		in, err := l.Instance("cenvm71", "VI_1")
		return err == nil && in.GetEffectivePriority() == 110
	})
	before := map[string]uint64{}
	for _, h := range l.Hosts {
		in, err := l.Instance(h, "VI_1")
		if err != nil {
			t.Fatal(err)
		}
		before[h] = in.GetTransitions()
	}
	watch := faultsWatch(t, l, "cenvm71")
	p := l.StartProber()
	if _, err := p.WaitServed("cenvm71", time.Now(), 5*time.Second); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		what     string
		conf     func(host string) string
		hosts    []string
		wantPrio uint32
	}{
		{"priority 100 -> 110", func(h string) string { return inplaceConf(h, 110, 10, false) }, []string{"cenvm71"}, 120},
		{"track weight 10 -> 20", func(h string) string { return inplaceConf(h, 110, 20, false) }, []string{"cenvm71"}, 130},
		{"second instance VI_2", func(h string) string { return inplaceConf(h, 110, 20, true) }, []string{"cenvm71", "cenvm72"}, 130},
	}
	for _, s := range steps {
		for _, h := range s.hosts {
			inplaceWrite(t, l, h, s.conf(h))
		}
		ev := watch.waitFor(t, 5*time.Second, "config_reload after "+s.what, func(r *hactlv1.WatchResponse) bool {
			return r.GetConfigReload() != nil
		}).GetConfigReload()
		t.Logf("%s: config_reload ok=%v changes=%q", s.what, ev.GetOk(), ev.GetChanges())
		if !ev.GetOk() {
			t.Fatalf("%s: reload failed: %s", s.what, ev.GetError())
		}
		for _, c := range ev.GetChanges() {
			if strings.HasPrefix(c, "restarted VI_1") || strings.HasPrefix(c, "removed VI_1") {
				t.Errorf("%s: VI_1 was restarted: %q", s.what, ev.GetChanges())
			}
		}
		faultsPoll(t, 3*time.Second, fmt.Sprintf("cenvm71's VI_1 at effective priority %d after %s", s.wantPrio, s.what), func() bool {
			in, err := l.Instance("cenvm71", "VI_1")
			return err == nil && in.GetEffectivePriority() == s.wantPrio
		})
	}
	faultsPoll(t, 10*time.Second, "VI_2 MASTER on cenvm71 and BACKUP on cenvm72 with .110 on cenvm71", func() bool {
		a, err1 := l.Instance("cenvm71", "VI_2")
		b, err2 := l.Instance("cenvm72", "VI_2")
		return err1 == nil && err2 == nil && a.GetState() == hactlv1.State_STATE_MASTER &&
			b.GetState() == hactlv1.State_STATE_BACKUP && slices.Equal(n.holders(inplaceVIP2), []string{"cenvm71"})
	})

	// A broken config is refused with FILE:LINE; the running one stays.
	path := filepath.Join(l.HostDir("cenvm71"), "keepalived.conf")
	broken, line := faultsBreak(t, inplaceConf("cenvm71", 120, 20, true))
	inplaceWrite(t, l, "cenvm71", broken)
	ev := watch.waitFor(t, 5*time.Second, "config_reload after the broken config", func(r *hactlv1.WatchResponse) bool {
		return r.GetConfigReload() != nil
	}).GetConfigReload()
	if where := fmt.Sprintf("%s:%d:", path, line); ev.GetOk() || !strings.Contains(ev.GetError(), where) {
		t.Errorf("broken config: config_reload ok=%v error=%q, want refused at %s", ev.GetOk(), ev.GetError(), where)
	}
	time.Sleep(2 * faultsAdvertInt) // observation window: nothing may move

	inplaceCheckServed(t, p)
	for _, h := range l.Hosts {
		in, err := l.Instance(h, "VI_1")
		if err != nil {
			t.Fatal(err)
		}
		if in.GetTransitions() != before[h] {
			t.Errorf("%s: VI_1 made %d transitions during the reloads (now %s: %s)", h, in.GetTransitions()-before[h], in.GetState(), in.GetStateReason())
		}
	}
	if in, err := l.Instance("cenvm71", "VI_1"); err != nil || in.GetBasePriority() != 110 || in.GetEffectivePriority() != 130 {
		t.Errorf("after the refused reload cenvm71's VI_1 is %v (%v), want the running priority 110/130", in, err)
	}
	if got := n.holders(lab.VIP); !slices.Equal(got, []string{"cenvm71"}) {
		t.Errorf("the VIP is on %v, want cenvm71", got)
	}
}

// keepalived 2.2.7 through the same reloads: it keeps cenvm71 MASTER (reload_master)
// and the client is served throughout; the second instance comes up on cenvm71. This
// is the reference TestReloadKeepsMastership holds hagent to.
func TestReloadKeepsMastershipKeepalivedReference(t *testing.T) {
	t.Parallel()
	l := inplaceStart(t, lab.Keepalived)
	n := faultsOpenNet(t, l)
	faultsPoll(t, 15*time.Second, "keepalived: the VIP on cenvm71 only", func() bool {
		return slices.Equal(n.holders(lab.VIP), []string{"cenvm71"}) && l.Serves("cenvm71")
	})
	p := l.StartProber()
	if _, err := p.WaitServed("cenvm71", time.Now(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	entering := func(h string) int { return strings.Count(l.AgentLog(h), "(VI_1) Entering") }
	before := map[string]int{"cenvm71": entering("cenvm71"), "cenvm72": entering("cenvm72")}
	reloads := func(h string) int { return strings.Count(l.AgentLog(h), "Reloading") }
	for _, s := range []struct {
		what  string
		conf  func(host string) string
		hosts []string
	}{
		{"priority 100 -> 110", func(h string) string { return inplaceConf(h, 110, 10, false) }, []string{"cenvm71"}},
		{"track weight 10 -> 20", func(h string) string { return inplaceConf(h, 110, 20, false) }, []string{"cenvm71"}},
		{"second instance VI_2", func(h string) string { return inplaceConf(h, 110, 20, true) }, []string{"cenvm71", "cenvm72"}},
	} {
		for _, h := range s.hosts {
			was := reloads(h)
			inplaceWrite(t, l, h, s.conf(h))
			faultsPoll(t, 5*time.Second, h+" keepalived logs Reloading after "+s.what, func() bool { return reloads(h) > was })
		}
		time.Sleep(faultsAdvertInt) // observation window: the VIP must stay
		if got := n.holders(lab.VIP); !slices.Equal(got, []string{"cenvm71"}) {
			t.Errorf("keepalived after %s: the VIP is on %v, want cenvm71", s.what, got)
		}
	}
	faultsPoll(t, 10*time.Second, "keepalived: VI_2's VIP on cenvm71 only", func() bool {
		return slices.Equal(n.holders(inplaceVIP2), []string{"cenvm71"})
	})
	inplaceCheckServed(t, p)
	for h, was := range before {
		if got := entering(h); got != was {
			t.Errorf("keepalived %s: VI_1 changed state %d times during the reloads", h, got-was)
		}
	}
}
