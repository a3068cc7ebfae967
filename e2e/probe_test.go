package e2e

// Issue 4 in the lab: nginx dies on the master and the VIP moves to cenvm72, for
// every kind of probe hagent runs (the seed's check script, a vrrp_script with
// FAULT semantics, vrrp_track_process, vrrp_http_check, a negative weight), and
// comes back when nginx does; a flapping nginx does not move the VIP when fall
// says it should not. The configs are in testdata/probe/.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/agent/api"
	"github.com/hagent-dev/hagent/cluster"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
	"github.com/hagent-dev/hagent/lab"
)

const (
	probeMaster   = "cenvm71"
	probeBackup   = "cenvm72"
	probeInstance = "VI_1"
	// probeSettle bounds the lab's start: both agents begin in BACKUP and cenvm71
	// takes over after its Master_Down_Interval (3.6 s at advert_int 1).
	probeSettle = 20 * time.Second
	// probePreempt bounds a preemption: the returning cenvm71 waits a full
	// Master_Down_Interval in BACKUP, plus a probe's rise, plus margin.
	probePreempt = 20 * time.Second
)

// probeFaultCase is a probe with weight 0: nginx's death is a FAULT of cenvm71.
type probeFaultCase struct {
	configs map[string]string // host -> config name in testdata/probe (without .conf)
	source  string            // the fault source as the agent names it: "KIND NAME"
	probe   string            // the probe's name
	reason  string            // a part of the fault's reason
	output  string            // a part of the failing probe's last result
	// failWithin bounds kill -> FAULT of cenvm71. It is a protocol bound (the
	// probe's interval times fall) plus a generous margin, never a speed target.
	failWithin time.Duration
}

func TestProbeScriptFault(t *testing.T) {
	t.Parallel()
	probeFaultFailover(t, probeFaultCase{
		configs: map[string]string{probeMaster: "script-cenvm71", probeBackup: "script-cenvm72"},
		source:  "script chk_nginx_alive", probe: "chk_nginx_alive",
		reason: "exit status 1", output: "no nginx running",
		failWithin: 5 * time.Second, // interval 1, fall 1
	})
}

func TestProbeTrackProcessFault(t *testing.T) {
	t.Parallel()
	probeFaultFailover(t, probeFaultCase{
		configs: map[string]string{probeMaster: "process-cenvm71", probeBackup: "process-cenvm72"},
		source:  "process track_nginx", probe: "track_nginx",
		reason: "no nginx process running", output: "no nginx process running",
		// Event-driven (proc connector): milliseconds. 1 s still tells it from
		// any polling at the seed's intervals.
		failWithin: time.Second,
	})
}

func TestProbeHTTPFault(t *testing.T) {
	t.Parallel()
	probeFaultFailover(t, probeFaultCase{
		configs: map[string]string{probeMaster: "http-cenvm71", probeBackup: "http-cenvm72"},
		source:  "http chk_nginx_http", probe: "chk_nginx_http",
		reason: "connection refused", output: "connection refused",
		failWithin: 3 * time.Second, // interval 0.1, fall 2
	})
}

// probeFaultFailover: nginx on cenvm71 is killed and cannot restart -> cenvm71 goes
// FAULT, says why, keeps running, and cenvm72 serves the VIP; nginx fixed and
// started -> the probe rises, cenvm71 preempts back.
func probeFaultFailover(t *testing.T, c probeFaultCase) {
	l := lab.Start(t, lab.Options{Configs: probeConfigs(t, c.configs)})
	probeWaitSteady(t, l)
	p := l.StartProber()
	if _, err := p.WaitServed(probeMaster, time.Now(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	agentPID := l.AgentPID(probeMaster)

	l.BreakNginx(probeMaster)
	ev := l.KillNginx(probeMaster)
	fault := probeWaitState(t, l, probeMaster, hactlv1.State_STATE_FAULT, c.failWithin+5*time.Second)
	toFault := fault.GetStateSince().AsTime().Sub(ev)
	if toFault > c.failWithin {
		t.Errorf("cenvm71 went FAULT %v after nginx was killed, want within %v", toFault, c.failWithin)
	}
	if _, err := p.WaitServed(probeBackup, ev, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	g, err := p.GapAround(ev, probeMaster, probeBackup)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: nginx killed -> cenvm71 FAULT %v, -> cenvm72 serving %v (%s)", c.source,
		toFault.Round(time.Millisecond), g.EventToServe.Round(time.Millisecond), g)

	probeCheckFaultReported(t, l, c)
	if pid := l.AgentPID(probeMaster); pid != agentPID {
		t.Errorf("the agent on cenvm71 is pid %d, want it still running as pid %d (FAULT, not stop)", pid, agentPID)
	}
	l.WaitFor(func() bool { return l.Serves(probeBackup) }, 5*time.Second, "cenvm72 alone to hold the VIP and serve")

	l.FixNginx(probeMaster)
	back := time.Now()
	l.StartNginx(probeMaster)
	probeWaitBack(t, l, p, back)
	probeLogBack(t, p, "nginx started", back)
	in := probeWaitState(t, l, probeMaster, hactlv1.State_STATE_MASTER, 5*time.Second)
	if len(in.GetFaults()) != 0 {
		t.Errorf("cenvm71 is MASTER with faults %v", in.GetFaults())
	}
}

// probeCheckFaultReported asserts that cenvm71 reports its FAULT, the probe and the
// probe's last error or output, in the API status and in `hactl status --json`.
func probeCheckFaultReported(t *testing.T, l *lab.Lab, c probeFaultCase) {
	t.Helper()
	in, err := probeStatus(l, probeMaster)
	if err != nil {
		t.Fatal(err)
	}
	if in.GetState() != hactlv1.State_STATE_FAULT {
		t.Errorf("API status of cenvm71: state %v, want FAULT", in.GetState())
	}
	i := slices.IndexFunc(in.GetFaults(), func(f *hactlv1.FaultSource) bool { return f.GetSource() == c.source })
	if i < 0 || !strings.Contains(in.GetFaults()[i].GetReason(), c.reason) {
		t.Errorf("API status of cenvm71: faults %v, want source %q with a reason containing %q", in.GetFaults(), c.source, c.reason)
	}
	j := slices.IndexFunc(in.GetProbes(), func(p *hactlv1.Probe) bool { return p.GetName() == c.probe })
	if j < 0 {
		t.Fatalf("API status of cenvm71: no probe %q in %v", c.probe, in.GetProbes())
	}
	pr := in.GetProbes()[j]
	rs := pr.GetResults()
	if pr.GetHealthy() || !strings.Contains(pr.GetReason(), c.reason) || len(rs) == 0 {
		t.Errorf("API status of cenvm71: probe %v, want unhealthy with reason containing %q and results", pr, c.reason)
	} else if last := rs[len(rs)-1]; last.GetOk() || !strings.Contains(last.GetOutput(), c.output) {
		t.Errorf("API status of cenvm71: last result of %s is %v, want a failure whose output contains %q", c.probe, last, c.output)
	}

	doc := probeHactlStatus(t, l)
	st := probeDocInstance(t, doc, probeMaster)
	if st.State != "FAULT" || !strings.Contains(st.StateReason, c.source) || !strings.Contains(st.StateReason, c.reason) {
		t.Errorf("hactl status --json, cenvm71: state %q, state_reason %q; want FAULT with a reason naming %q and %q",
			st.State, st.StateReason, c.source, c.reason)
	}
	if len(st.BoundVIPs) != 0 {
		t.Errorf("hactl status --json, cenvm71 is FAULT but has bound %v", st.BoundVIPs)
	}
	if bk := probeDocInstance(t, doc, probeBackup); bk.State != "MASTER" || !slices.Equal(bk.BoundVIPs, []string{lab.VIP + "/32"}) {
		t.Errorf("hactl status --json, cenvm72: state %q with %v bound; want MASTER with %s", bk.State, bk.BoundVIPs, lab.VIP)
	}
}

// TestProbeSeedScriptStopsAgent is the seed's setup (the lab's default configs):
// check_ng.sh every 3 s finds no nginx, fails to restart it and SIGTERMs the agent,
// which hands the VIP over; with nginx fixed and the agent started again, cenvm71
// preempts.
func TestProbeSeedScriptStopsAgent(t *testing.T) {
	t.Parallel()
	l := lab.Start(t, lab.Options{Configs: probeConfigs(t, map[string]string{
		probeMaster: "seed-cenvm71", probeBackup: "seed-cenvm72",
	})})
	probeWaitSteady(t, l)
	p := l.StartProber()
	if _, err := p.WaitServed(probeMaster, time.Now(), 5*time.Second); err != nil {
		t.Fatal(err)
	}

	l.BreakNginx(probeMaster)
	ev := l.KillNginx(probeMaster)
	// check_ng.sh runs every 3 s and the agent then leaves gracefully.
	l.WaitFor(func() bool { return l.AgentPID(probeMaster) == 0 }, 15*time.Second,
		"check_ng.sh to stop the agent on cenvm71 (the seed's \"stop keepalived\")")
	if _, err := p.WaitServed(probeBackup, ev, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	g, err := p.GapAround(ev, probeMaster, probeBackup)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed check_ng.sh (interval 3, stops the agent): nginx killed -> cenvm72 serving %v (%s)",
		g.EventToServe.Round(time.Millisecond), g)
	if log, _ := os.ReadFile(filepath.Join(l.HostDir(probeMaster), "check_ng.log")); !strings.Contains(string(log), "keepalived will stop") {
		t.Errorf("check_ng.log of cenvm71 = %q, want the seed's \"nginx down,keepalived will stop\"", log)
	}
	l.WaitFor(func() bool { return l.Serves(probeBackup) }, 5*time.Second, "cenvm72 alone to hold the VIP and serve")

	l.FixNginx(probeMaster)
	l.StartNginx(probeMaster)
	back := l.StartAgent(probeMaster)
	probeWaitBack(t, l, p, back)
	probeLogBack(t, p, "agent started", back)
}

// TestProbeHTTPRestart: the HTTP probe with restart_command and a healthy nginx
// config. Killing nginx makes cenvm71 FAULT (the VIP moves), the probe's restart
// brings nginx back, the probe rises and cenvm71 preempts: no manual step.
func TestProbeHTTPRestart(t *testing.T) {
	t.Parallel()
	l := lab.Start(t, lab.Options{Configs: probeConfigs(t, map[string]string{
		probeMaster: "http-restart-cenvm71", probeBackup: "http-cenvm72",
	})})
	probeWaitSteady(t, l)
	p := l.StartProber()
	if _, err := p.WaitServed(probeMaster, time.Now(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	w71 := probeWatch(t, l, probeMaster)
	w72 := probeWatch(t, l, probeBackup)
	killed := l.NginxPIDs(probeMaster)
	ev := l.KillNginx(probeMaster)

	// The restart is quick: cenvm71 is usually healthy again (BACKUP) before
	// cenvm72's Skew_Time is over, and then preempts at cenvm72's first advert, so
	// cenvm72 may hold the VIP for a millisecond only. cenvm72's own events, not
	// the client, show that the VIP moved.
	var moved time.Time
	l.WaitFor(func() bool {
		for _, e := range w72.events() {
			if v := e.GetVip(); v != nil && v.GetBound() {
				moved = e.GetTime().AsTime()
				return true
			}
		}
		return false
	}, 10*time.Second, "cenvm72 to bind the VIP after cenvm71's FAULT")
	probeWaitBack(t, l, p, moved)
	g, err := p.GapAround(ev, probeMaster, probeBackup)
	served := "never: it held the VIP too briefly"
	if err == nil {
		served = g.EventToServe.Round(time.Millisecond).String()
	}
	back, err := p.WaitServed(probeMaster, moved, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("http chk_nginx_http with restart_command: nginx killed -> cenvm72 binds the VIP %v, serves %s; -> cenvm71 serves again %v (%d requests failed)",
		moved.Sub(ev).Round(time.Millisecond), served, back.End.Sub(ev).Round(time.Millisecond),
		len(lab.Failures(p.Samples(), ev, back.End)))

	pids := l.NginxPIDs(probeMaster)
	if len(pids) == 0 || slices.Contains(killed, pids[0]) {
		t.Errorf("nginx on cenvm71: pids %v after the restart, killed %v; want a new nginx", pids, killed)
	}
	if got, want := probeStatePath(w71.events()), []string{"FAULT", "BACKUP", "MASTER"}; !slices.Equal(got, want) {
		t.Errorf("cenvm71 went through %v, want %v", got, want)
	}
	if got, want := probeStatePath(w72.events()), []string{"MASTER", "BACKUP"}; !slices.Equal(got, want) {
		t.Errorf("cenvm72 went through %v, want %v", got, want)
	}
}

// TestProbeNegativeWeight: track_process at weight -20 on cenvm71 (priority 100).
// nginx dies -> effective priority 80 with the probe's contribution, below
// cenvm72's 90, which preempts; nginx back -> 100, cenvm71 preempts back.
func TestProbeNegativeWeight(t *testing.T) {
	t.Parallel()
	l := lab.Start(t, lab.Options{Configs: probeConfigs(t, map[string]string{
		probeMaster: "weight-cenvm71", probeBackup: "process-cenvm72",
	})})
	probeWaitSteady(t, l)
	p := l.StartProber()
	if _, err := p.WaitServed(probeMaster, time.Now(), 5*time.Second); err != nil {
		t.Fatal(err)
	}

	ev := l.KillNginx(probeMaster)
	var in *hactlv1.Instance
	l.WaitFor(func() bool {
		var err error
		in, err = probeStatus(l, probeMaster)
		return err == nil && in.GetEffectivePriority() == 80
	}, 5*time.Second, "cenvm71's effective priority to drop to 80")
	want := []*hactlv1.PriorityContribution{{Source: "process track_nginx", Delta: -20}}
	if in.GetBasePriority() != 100 || !probeSameContributions(in.GetContributions(), want) {
		t.Errorf("cenvm71: base priority %d, contributions %v; want 100 and %v", in.GetBasePriority(), in.GetContributions(), want)
	}
	if in.GetState() == hactlv1.State_STATE_FAULT {
		t.Errorf("cenvm71 went FAULT; a weighted probe changes the priority only")
	}
	if _, err := p.WaitServed(probeBackup, ev, probePreempt); err != nil {
		t.Fatal(err)
	}
	g, err := p.GapAround(ev, probeMaster, probeBackup)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("process track_nginx weight -20: nginx killed -> cenvm72 serving %v (%s)", g.EventToServe.Round(time.Millisecond), g)
	probeWaitState(t, l, probeMaster, hactlv1.State_STATE_BACKUP, 5*time.Second)
	st := probeDocInstance(t, probeHactlStatus(t, l), probeMaster)
	if st.State != "BACKUP" || st.Priority != 100 || st.EffectivePriority != 80 {
		t.Errorf("hactl status --json, cenvm71: state %s, priority %d, effective %d; want BACKUP, 100, 80",
			st.State, st.Priority, st.EffectivePriority)
	}

	back := time.Now()
	l.StartNginx(probeMaster)
	l.WaitFor(func() bool {
		in, err := probeStatus(l, probeMaster)
		return err == nil && in.GetEffectivePriority() == 100 && len(in.GetContributions()) == 0
	}, 5*time.Second, "cenvm71's effective priority to return to 100")
	probeWaitBack(t, l, p, back)
	probeLogBack(t, p, "nginx started", back)
}

// TestProbeFlappingNginx: nginx on cenvm71 is killed and restarted every 300 ms for
// about 5 s. The HTTP probe checks every 100 ms and needs fall 20 failures in a row
// (two seconds of downtime) for FAULT, while each flap keeps nginx down for about
// 300 ms, three or four failed checks: "should not flap" is well defined, with a
// wide margin for a loaded machine. Neither agent may change state, the VIP must
// never leave cenvm71 and the client must never be served by cenvm72. The probe's
// own results (from the Watch stream) prove it saw the flaps and check the premise
// (never fall failures in a row). A sustained outage afterwards must still move
// the VIP, so the probe was not simply blind.
//
// Not parallel: the flaps' downtime must stay well below fall x interval.
func TestProbeFlappingNginx(t *testing.T) {
	l := lab.Start(t, lab.Options{Configs: probeConfigs(t, map[string]string{
		probeMaster: "flap-cenvm71", probeBackup: "http-cenvm72",
	})})
	const (
		fall     = 20 // as in testdata/probe/flap-cenvm71.conf
		flapDown = 300 * time.Millisecond
		flapUp   = 300 * time.Millisecond
		flapFor  = 5 * time.Second
	)
	probeWaitSteady(t, l)
	p := l.StartProber()
	if _, err := p.WaitServed(probeMaster, time.Now(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	w71 := probeWatch(t, l, probeMaster)
	w72 := probeWatch(t, l, probeBackup)

	start := time.Now()
	done := make(chan probeFlapResult, 1)
	go func() { done <- probeFlap(l, probeMaster, flapFor, flapDown, flapUp) }()
	var flaps probeFlapResult
	var elsewhere []string
	for running := true; running; {
		select {
		case flaps = <-done:
			running = false
		case <-time.After(50 * time.Millisecond):
		}
		if h := l.VIPHolders(); !slices.Equal(h, []string{probeMaster}) {
			elsewhere = append(elsewhere, fmt.Sprintf("%v: %v", time.Since(start).Round(time.Millisecond), h))
		}
	}
	if flaps.err != nil {
		t.Fatalf("flapping nginx: %v", flaps.err)
	}
	end := time.Now()
	// Let the probe see nginx up again before reading the streams.
	if _, err := p.WaitServed(probeMaster, end, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	ev71, ev72 := w71.events(), w72.events()
	failed, streak := probeFailureStreak(ev71, "chk_nginx_http")
	t.Logf("%d flaps, nginx down %v at most; cenvm71's probe saw %d failed checks, at most %d in a row (fall %d)",
		flaps.count, flaps.maxDown.Round(time.Millisecond), failed, streak, fall)
	if flaps.count < 5 {
		t.Errorf("only %d flaps in %v", flaps.count, flapFor)
	}
	if failed == 0 {
		t.Errorf("the HTTP probe of cenvm71 saw no failure during %d flaps: the flapping was not observed", flaps.count)
	}
	if streak >= fall {
		t.Fatalf("premise broken: the probe saw %d failures in a row (a flap kept nginx down %v), fall is %d: "+
			"the machine was too slow for this flapping, a FAULT would be right", streak, flaps.maxDown, fall)
	}

	for _, tr := range append(probeTransitionEvents(ev71), probeTransitionEvents(ev72)...) {
		t.Errorf("transition during the flapping: %v", tr)
	}
	for _, e := range elsewhere {
		t.Errorf("during the flapping the VIP was not on cenvm71 alone at %s", e)
	}
	for _, s := range p.Samples() {
		if s.OK && s.Body == probeBackup {
			t.Errorf("the client was served by cenvm72 at %v: the VIP moved", s.End.Sub(start).Round(time.Millisecond))
			break
		}
	}

	// Control: an outage longer than fall x interval moves the VIP.
	ev := l.KillNginx(probeMaster)
	if _, err := p.WaitServed(probeBackup, ev, 10*time.Second); err != nil {
		t.Fatalf("after the flapping, a sustained outage: %v", err)
	}
	in, err := probeStatus(l, probeMaster)
	if err != nil {
		t.Fatal(err)
	}
	if in.GetState() != hactlv1.State_STATE_FAULT {
		t.Errorf("cenvm71 is %v after a sustained outage, want FAULT", in.GetState())
	}
}

// ---- helpers ----------------------------------------------------------------

// probeConfigs renders testdata/probe/NAME.conf for each host into a temp dir,
// replacing @PROBEDIR@ with the absolute path of testdata/probe (lab.sh replaces
// @HOSTDIR@ itself), and returns host -> rendered path for lab.Options.Configs.
func probeConfigs(t *testing.T, names map[string]string) map[string]string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "probe"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	tmp := t.TempDir()
	for host, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, name+".conf"))
		if err != nil {
			t.Fatalf("config for %s: %v", host, err)
		}
		path := filepath.Join(tmp, host+".conf")
		if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(b), "@PROBEDIR@", dir)), 0o644); err != nil {
			t.Fatal(err)
		}
		out[host] = path
	}
	return out
}

func probeStatus(l *lab.Lab, host string) (*hactlv1.Instance, error) {
	return l.Instance(host, probeInstance)
}

// probeWaitState waits until host's VI_1 is in state and returns its status.
func probeWaitState(t *testing.T, l *lab.Lab, host string, state hactlv1.State, timeout time.Duration) *hactlv1.Instance {
	t.Helper()
	var in *hactlv1.Instance
	var last error
	err := lab.Poll(func() bool {
		in, last = probeStatus(l, host)
		return last == nil && in.GetState() == state
	}, timeout)
	if err != nil {
		t.Fatalf("%v waiting for %s to be %v (last: %v, error %v)", err, host, state, in.GetState(), last)
	}
	return in
}

// probeWaitSteady waits for the lab's start to settle: cenvm71 MASTER and serving,
// cenvm72 BACKUP.
func probeWaitSteady(t *testing.T, l *lab.Lab) {
	t.Helper()
	l.WaitFor(func() bool {
		a, err1 := probeStatus(l, probeMaster)
		b, err2 := probeStatus(l, probeBackup)
		return err1 == nil && err2 == nil && a.GetState() == hactlv1.State_STATE_MASTER &&
			b.GetState() == hactlv1.State_STATE_BACKUP && l.Serves(probeMaster)
	}, probeSettle, "cenvm71 MASTER and serving, cenvm72 BACKUP")
}

// probeWaitBack waits for cenvm71 to take the VIP back (preempt) after since, and
// checks that it alone holds it and cenvm72 is BACKUP.
func probeWaitBack(t *testing.T, l *lab.Lab, p *lab.Prober, since time.Time) {
	t.Helper()
	if _, err := p.WaitServed(probeMaster, since, probePreempt); err != nil {
		t.Fatalf("cenvm71 did not take the VIP back: %v", err)
	}
	l.WaitFor(func() bool { return l.Serves(probeMaster) }, 5*time.Second, "cenvm71 alone to hold the VIP and serve")
	probeWaitState(t, l, probeBackup, hactlv1.State_STATE_BACKUP, 5*time.Second)
}

// probeLogBack logs when the client was first served by cenvm71 after event.
func probeLogBack(t *testing.T, p *lab.Prober, event string, at time.Time) {
	t.Helper()
	if s, err := p.WaitServed(probeMaster, at, time.Second); err == nil {
		t.Logf("%s -> cenvm71 serves again %v", event, s.End.Sub(at).Round(time.Millisecond))
	}
}

// probeHactlStatus runs `hactl status --json` against both agents.
func probeHactlStatus(t *testing.T, l *lab.Lab) cluster.StatusDoc {
	t.Helper()
	var args []string
	for _, h := range []string{probeMaster, probeBackup} {
		args = append(args, "--agent", h+"=unix://"+l.APISocket(h))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, hactlBin, append([]string{"status", "--json"}, args...)...).Output()
	if err != nil {
		t.Fatalf("hactl status --json: %v\n%s", err, out)
	}
	var doc cluster.StatusDoc
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("hactl status --json: %v\n%s", err, out)
	}
	return doc
}

func probeDocInstance(t *testing.T, doc cluster.StatusDoc, host string) cluster.InstanceDoc {
	t.Helper()
	for _, n := range doc.Nodes {
		if n.Name != host {
			continue
		}
		for _, in := range n.Instances {
			if in.Name == probeInstance {
				return in
			}
		}
	}
	t.Fatalf("hactl status --json: no %s on %s in %+v", probeInstance, host, doc)
	return cluster.InstanceDoc{}
}

func probeSameContributions(got, want []*hactlv1.PriorityContribution) bool {
	return slices.EqualFunc(got, want, func(a, b *hactlv1.PriorityContribution) bool {
		return a.GetSource() == b.GetSource() && a.GetDelta() == b.GetDelta()
	})
}

// probeWatcher collects an agent's Watch stream in the background.
type probeWatcher struct {
	mu  sync.Mutex
	evs []*hactlv1.WatchResponse
}

// probeWatch subscribes to host's events and returns once the snapshot arrived,
// so every later event is collected. The stream ends at cleanup.
func probeWatch(t *testing.T, l *lab.Lab, host string) *probeWatcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := api.DialAgent(ctx, "unix://"+l.APISocket(host), nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	stream, err := hactlv1.NewAgentServiceClient(conn).Watch(ctx, &hactlv1.WatchRequest{})
	if err == nil {
		var first *hactlv1.WatchResponse
		if first, err = stream.Recv(); err == nil && first.GetSnapshot() == nil {
			err = fmt.Errorf("first event is %T, want a snapshot", first.GetEvent())
		}
	}
	if err != nil {
		cancel()
		conn.Close()
		t.Fatalf("watch %s: %v", host, err)
	}
	w := &probeWatcher{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			ev, err := stream.Recv()
			if err != nil {
				return
			}
			w.mu.Lock()
			w.evs = append(w.evs, ev)
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		conn.Close()
	})
	return w
}

func (w *probeWatcher) events() []*hactlv1.WatchResponse {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.evs)
}

// probeStatePath lists the states an instance entered, in order.
func probeStatePath(evs []*hactlv1.WatchResponse) []string {
	var out []string
	for _, tr := range probeTransitionEvents(evs) {
		out = append(out, cluster.StateName(tr.GetTo()))
	}
	return out
}

func probeTransitionEvents(evs []*hactlv1.WatchResponse) []*hactlv1.TransitionEvent {
	var out []*hactlv1.TransitionEvent
	for _, e := range evs {
		if tr := e.GetTransition(); tr != nil {
			out = append(out, tr)
		}
	}
	return out
}

// probeFailureStreak counts the failed results of probe in evs, and the longest run
// of failures in a row.
func probeFailureStreak(evs []*hactlv1.WatchResponse, probe string) (failed, longest int) {
	run := 0
	for _, e := range evs {
		r := e.GetProbeResult()
		if r == nil || r.GetProbe() != probe {
			continue
		}
		if r.GetResult().GetOk() {
			run = 0
			continue
		}
		failed++
		run++
		longest = max(longest, run)
	}
	return failed, longest
}

// probeFlapResult is what probeFlap did.
type probeFlapResult struct {
	count   int
	maxDown time.Duration // longest kill -> listening again
	err     error
}

// probeFlap kills host's nginx, keeps it down for down, starts it, keeps it up for
// up, and again, for about total. It leaves nginx running. It runs on its own
// goroutine, so it reports errors instead of failing the test.
func probeFlap(l *lab.Lab, host string, total, down, up time.Duration) probeFlapResult {
	var r probeFlapResult
	conf := filepath.Join(l.HostDir(host), "nginx.conf")
	for end := time.Now().Add(total); time.Now().Before(end); {
		pids := l.NginxPIDs(host)
		if len(pids) == 0 {
			r.err = fmt.Errorf("flap %d: nginx on %s is not running", r.count+1, host)
			return r
		}
		killed := time.Now()
		for _, pid := range pids {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				r.err = fmt.Errorf("flap %d: kill nginx pid %d: %w", r.count+1, pid, err)
				return r
			}
		}
		// Port 80 is free only once the processes are gone.
		if err := lab.Poll(func() bool { return !slices.ContainsFunc(pids, probeAlive) }, 5*time.Second); err != nil {
			r.err = fmt.Errorf("flap %d: nginx pids %v did not die: %w", r.count+1, pids, err)
			return r
		}
		time.Sleep(down - time.Since(killed)) // the flap's downtime is the scenario
		// nginx listens before it daemonizes, so it is up when this returns.
		out, err := exec.Command("ip", "netns", "exec", l.NetNS(host), "nginx", "-c", conf).CombinedOutput()
		if err != nil {
			r.err = fmt.Errorf("flap %d: start nginx: %w: %s", r.count+1, err, out)
			return r
		}
		r.maxDown = max(r.maxDown, time.Since(killed))
		r.count++
		time.Sleep(up)
	}
	return r
}

// probeAlive reports whether pid exists and is not a zombie (PID 1 of the lab VM
// does not reap orphans, so a killed nginx may stay a zombie).
func probeAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}
