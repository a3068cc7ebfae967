package e2e

// Issue 7, "Scale": three hosts, 255 instances on one interface, VRRPv3 at 10 ms under
// CPU load. The stress* helpers at the end (API status, event recording, advert timing,
// CPU and RSS of an agent) are shared with hostile_test.go.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
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

	"golang.org/x/sys/unix"

	"github.com/hagent-dev/hagent/agent/api"
	"github.com/hagent-dev/hagent/agent/vrrp"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
	"github.com/hagent-dev/hagent/lab"
)

// TestScaleThreeHostsFailoverFollowsPriority: with cenvm71/72/73 at priorities
// 100/90/80 (the lab renders cenvm73 as cenvm72's config at 80), mastership always goes
// to the highest running priority, every agent agrees on who the master is, and hactl
// shows all three nodes.
func TestScaleThreeHostsFailoverFollowsPriority(t *testing.T) {
	t.Parallel()
	hosts := []string{"cenvm71", "cenvm72", "cenvm73"}
	l := lab.Start(t, lab.Options{Hosts: hosts})

	stressWaitRoles(t, l, hosts, "VI_1", "cenvm71")
	for host, want := range map[string]uint32{"cenvm71": 100, "cenvm72": 90, "cenvm73": 80} {
		if got := stressInstance(t, l, host, "VI_1").GetBasePriority(); got != want {
			t.Fatalf("%s: base priority %d, want %d", host, got, want)
		}
	}

	steps := []struct {
		do      func()
		what    string
		running []string
		master  string
	}{
		{func() { l.StopAgent("cenvm71") }, "stop cenvm71", []string{"cenvm72", "cenvm73"}, "cenvm72"},
		{func() { l.StopAgent("cenvm72") }, "stop cenvm72", []string{"cenvm73"}, "cenvm73"},
		{func() { l.StartAgent("cenvm72") }, "start cenvm72", []string{"cenvm72", "cenvm73"}, "cenvm72"},
		{func() { l.StartAgent("cenvm71") }, "start cenvm71", hosts, "cenvm71"},
	}
	for _, s := range steps {
		s.do()
		stressWaitRoles(t, l, s.running, "VI_1", s.master)
		l.WaitFor(func() bool { return l.Serves(s.master) }, 10*time.Second,
			"after %s: the VIP on %s alone and the client served by it", s.what, s.master)
		t.Logf("%s: %s is master, %v agree", s.what, s.master, s.running)
	}

	// The console (its scriptable form) shows the three nodes and one master.
	var args []string
	for _, h := range hosts {
		args = append(args, "--agent", h+"=unix://"+l.APISocket(h))
	}
	out, err := exec.Command(hactlBin, append(args, "status", "--json")...).Output()
	if err != nil {
		t.Fatalf("hactl status --json: %v\n%s", err, out)
	}
	var doc struct {
		Nodes []struct {
			Name      string `json:"name"`
			Reachable bool   `json:"reachable"`
			Instances []struct {
				Name   string `json:"name"`
				State  string `json:"state"`
				Master string `json:"master"`
			} `json:"instances"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("hactl status --json: %v\n%s", err, out)
	}
	states := map[string]string{}
	for _, n := range doc.Nodes {
		if !n.Reachable || len(n.Instances) != 1 {
			t.Fatalf("hactl status: node %s reachable=%v with %d instances, want reachable with 1\n%s", n.Name, n.Reachable, len(n.Instances), out)
		}
		in := n.Instances[0]
		if in.Master != "192.168.188.71" {
			t.Errorf("hactl status: %s believes in master %q, want 192.168.188.71", n.Name, in.Master)
		}
		states[n.Name] = in.State
	}
	want := map[string]string{"cenvm71": "MASTER", "cenvm72": "BACKUP", "cenvm73": "BACKUP"}
	if fmt.Sprint(states) != fmt.Sprint(want) {
		t.Fatalf("hactl status shows %v, want %v\n%s", states, want, out)
	}
}

const (
	scaleInstances = 255
	scaleNet       = "192.168.189."
	// scaleMasterDown is the backup's (priority 90) Master_Down_Interval at advert_int 1:
	// 3*1 s + (256-90)/256 s.
	scaleMasterDown = 3*time.Second + 166*time.Second/256
)

// TestScale255InstancesConvergeAndFailOver runs the anchors' scale255 profile (255
// VRRPv2 instances, VRIDs 1..255, one /32 VIP each on eth0, auth PASS, advert_int 1;
// cenvm71 MASTER 100, cenvm72 BACKUP 90): all converge, the CPU and RSS of each agent
// are measured, and when cenvm71's link goes down every instance fails over to cenvm72
// within its Master_Down_Interval (plus 1 s for a loaded VM).
func TestScale255InstancesConvergeAndFailOver(t *testing.T) {
	dir := t.TempDir()
	began := time.Now()
	l := lab.Start(t, lab.Options{Configs: map[string]string{
		"cenvm71": scale255Config(t, dir, "cenvm71", "MASTER", 100),
		"cenvm72": scale255Config(t, dir, "cenvm72", "BACKUP", 90),
	}})
	l.WaitFor(func() bool {
		return scaleVIPCount(t, l, "cenvm71") == scaleInstances && scaleVIPCount(t, l, "cenvm72") == 0
	},
		60*time.Second, "cenvm71 to hold all %d VIPs and cenvm72 none", scaleInstances)
	t.Logf("converged: cenvm71 holds %d VIPs %v after lab start (lab up took part of it)", scaleInstances, time.Since(began).Round(time.Millisecond))

	// Every instance on the backup is BACKUP, believes in cenvm71 and has heard it.
	l.WaitFor(func() bool {
		for _, in := range stressNode(t, l, "cenvm72").GetInstances() {
			if in.GetState() != hactlv1.State_STATE_BACKUP || in.GetMaster().GetAddress() != "192.168.188.71" || in.GetAdvertsReceived() < 2 {
				return false
			}
		}
		return true
	}, 15*time.Second, "all %d instances of cenvm72 BACKUP of 192.168.188.71", scaleInstances)
	before := scaleTransitions(t, l, "cenvm72")

	// Steady state: CPU over 10 s.
	const window = 10 * time.Second
	cpu71 := stressCPUStart(t, l.AgentPID("cenvm71"))
	cpu72 := stressCPUStart(t, l.AgentPID("cenvm72"))
	time.Sleep(window) // a measurement window, not a synchronisation
	p71, p72 := cpu71.percent(t), cpu72.percent(t)
	t.Logf("255 instances, %v steady state: cenvm71 (master) CPU %.2f%% of a core, RSS %d KiB; cenvm72 (backup) CPU %.2f%%, RSS %d KiB",
		window, p71, stressRSS(t, l.AgentPID("cenvm71")), p72, stressRSS(t, l.AgentPID("cenvm72")))
	if p71 > 50 || p72 > 50 {
		t.Errorf("255 idle instances use %.1f%% / %.1f%% of a core (master / backup); want well below one core", p71, p72)
	}
	if after := scaleTransitions(t, l, "cenvm72"); after != before {
		t.Fatalf("cenvm72 made %d transitions in steady state", after-before)
	}

	down := l.LinkDown("cenvm71")
	l.WaitFor(func() bool { return scaleVIPCount(t, l, "cenvm72") == scaleInstances }, 15*time.Second,
		"cenvm72 to hold all %d VIPs after cenvm71's link went down", scaleInstances)
	all := time.Since(down)

	// Each instance's takeover, by the backup's own clock (state_since), against its
	// Master_Down_Interval counted from the link going down (its last advert left cenvm71
	// before that, so the bound is generous by up to one advert interval).
	var after []time.Duration
	for _, in := range stressNode(t, l, "cenvm72").GetInstances() {
		if in.GetState() != hactlv1.State_STATE_MASTER {
			t.Errorf("%s on cenvm72: %v, want MASTER", in.GetName(), in.GetState())
			continue
		}
		d := in.GetStateSince().AsTime().Sub(down)
		after = append(after, d)
		if d > scaleMasterDown+time.Second {
			t.Errorf("%s on cenvm72 became MASTER %v after the link went down; Master_Down_Interval is %v (+1 s margin)", in.GetName(), d.Round(time.Millisecond), scaleMasterDown)
		}
	}
	if len(after) != scaleInstances {
		t.Fatalf("%d instances on cenvm72 are MASTER, want %d", len(after), scaleInstances)
	}
	slices.Sort(after)
	t.Logf("failover of %d instances after cenvm71 link down: first %v, median %v, last %v (Master_Down_Interval %v); all %d VIPs on cenvm72 after %v",
		len(after), after[0].Round(time.Millisecond), after[len(after)/2].Round(time.Millisecond), after[len(after)-1].Round(time.Millisecond),
		scaleMasterDown, scaleInstances, all.Round(time.Millisecond))
	if n := scaleVIPCount(t, l, "cenvm71"); n != 0 {
		t.Errorf("cenvm71 (link down) still holds %d VIPs", n)
	}
}

// scale255Config writes the scale255 profile for host into dir and returns its path.
func scale255Config(t *testing.T, dir, host, state string, prio int) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "# scale255 profile (issue 7): %d VRRPv2 instances for %s\n", scaleInstances, host)
	b.WriteString("global_defs {\n    router_id LVS_DEVEL\n}\n")
	for k := 1; k <= scaleInstances; k++ {
		fmt.Fprintf(&b, `vrrp_instance VI_%d {
    state %s
    interface eth0
    virtual_router_id %d
    priority %d
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass hell>com
    }
    virtual_ipaddress {
        %s%d/32
    }
}
`, k, state, k, prio, scaleNet, k)
	}
	path := filepath.Join(dir, host+"-scale255.conf")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// scaleVIPCount counts the scale profile's VIPs on host's eth0.
func scaleVIPCount(t *testing.T, l *lab.Lab, host string) int {
	t.Helper()
	out, err := exec.Command("ip", "-n", l.NetNS(host), "-4", "-o", "addr", "show", "dev", "eth0").CombinedOutput()
	if err != nil {
		t.Fatalf("ip addr on %s: %v\n%s", host, err, out)
	}
	return strings.Count(string(out), " "+scaleNet)
}

// scaleTransitions sums the transitions of every instance of host.
func scaleTransitions(t *testing.T, l *lab.Lab, host string) uint64 {
	t.Helper()
	var n uint64
	for _, in := range stressNode(t, l, host).GetInstances() {
		n += in.GetTransitions()
	}
	return n
}

// scaleRTPriority is the max_auto_priority of the timing tests: at advert_int 0.01 a 36 ms
// stall is a failover, and on a loaded 2-core host a process at normal priority stalls
// that long many times a minute, keepalived and hagent alike (see cmd/hagent/realtime.go).
const scaleRTPriority = 10

// checkRealtimeThreads checks that every thread of the agent runs at SCHED_RR prio
// without SCHED_RESET_ON_FORK: a thread the Go runtime starts later (it may run an
// instance loop or hold a P a stop-the-world waits for) inherits it only then.
func checkRealtimeThreads(t *testing.T, host string, pid, prio int) {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatalf("%s: threads of the agent: %v", host, err)
	}
	for _, task := range tasks {
		tid, err := strconv.Atoi(task.Name())
		if err != nil {
			continue
		}
		attr, err := unix.SchedGetAttr(tid, 0)
		if errors.Is(err, unix.ESRCH) {
			continue // exited meanwhile
		}
		if err != nil || attr.Policy != unix.SCHED_RR || attr.Priority != uint32(prio) || attr.Flags&unix.SCHED_FLAG_RESET_ON_FORK != 0 {
			t.Fatalf("%s: agent thread %d scheduling %+v (%v), want SCHED_RR priority %d from max_auto_priority, without SCHED_RESET_ON_FORK", host, tid, attr, err, prio)
		}
	}
}

// TestScaleV3TenMillisecondsUnderCPULoad: VRRPv3 at advert_int 0.01 for 30 s while two
// processes spin on this 2-core machine. keepalived 2.2.7 makes one spurious backup ->
// MASTER transition per 2 minutes in that condition on an idle host (anchors, jitter
// section); hagent, with max_auto_priority as keepalived would need too, must make none.
//
// A master whose CPU the machine itself took away for longer than Master_Down_Interval
// (36.5 ms here) is as silent as a dead one, and the backup rightly takes over: CI's
// VMs do that now and then. A host-stall meter above the agents' priority tells such a
// window from the agent's own stall; the window is then void and runs again (at most
// scaleV3Windows in all). A transition the machine does not explain fails the test.
func TestScaleV3TenMillisecondsUnderCPULoad(t *testing.T) {
	dir := t.TempDir()
	l := lab.Start(t, lab.Options{Configs: map[string]string{
		"cenvm71": stressV3Config(t, dir, "cenvm71", 100, "0.01", scaleRTPriority),
		"cenvm72": stressV3Config(t, dir, "cenvm72", 90, "0.01", scaleRTPriority),
	}})
	hosts := []string{"cenvm71", "cenvm72"}
	stressWaitRoles(t, l, hosts, "VI_1", "cenvm71")
	for _, h := range hosts {
		checkRealtimeThreads(t, h, l.AgentPID(h), scaleRTPriority)
	}
	meter := startHostStallMeter(t, scaleRTPriority+1)
	stressHogs(t, 2)
	for window := 1; ; window++ {
		stall, ok := scaleV3Window(t, l, meter)
		if ok {
			return
		}
		if window == scaleV3Windows {
			t.Skipf("the machine stopped a CPU for longer than the backup waits in each of %d windows (last: %v): it cannot be judged here", window, stall)
		}
		t.Logf("window %d void: the machine stopped a CPU for %v as the backup took over; the master preempts back, and a new window starts", window, stall)
		stressWaitRoles(t, l, hosts, "VI_1", "cenvm71")
	}
}

// scaleV3Windows is how many windows TestScaleV3TenMillisecondsUnderCPULoad runs at most.
const scaleV3Windows = 3

// scaleV3Window runs one 30 s window of TestScaleV3TenMillisecondsUnderCPULoad. It
// returns ok once the window ran to its end and was checked; otherwise a transition
// came that a host stall explains, which it returns.
func scaleV3Window(t *testing.T, l *lab.Lab, meter *hostStallMeter) (stall []hostStall, ok bool) {
	t.Helper()
	const advertInt = 10 * time.Millisecond
	mdi := vrrp.MasterDownInterval(3, 90, advertInt)
	w71 := stressWatch(t, l, "cenvm71", "")
	w72 := stressWatch(t, l, "cenvm72", "VI_1")
	before71 := stressInstance(t, l, "cenvm71", "VI_1")
	before72 := stressInstance(t, l, "cenvm72", "VI_1")

	const window = 30 * time.Second
	start := time.Now()
	cpu71 := stressCPUStart(t, l.AgentPID("cenvm71"))
	cpu72 := stressCPUStart(t, l.AgentPID("cenvm72"))
	deadline := start.Add(window)
	for time.Now().Before(deadline) {
		// Watch for a second master as it happens, not only at the end.
		tr := append(w71.transitions(), w72.transitions()...)
		if len(tr) == 0 {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		// The first transition is the backup's takeover (or the master's own); the
		// rest follow from it. The master stopped sending at least Master_Down_Interval
		// before it, one advert interval earlier at most: a stall of the machine that
		// alone makes the master that late (MDI less the interval it had in hand)
		// explains it.
		first := slices.MinFunc(tr, func(a, b stressTransition) int { return a.At.Compare(b.At) })
		// The meter reports a stall when the stalled thread runs again, which may be
		// after the takeover: give it time.
		var s []hostStall
		explained := lab.Poll(func() bool {
			s = meter.within(first.At.Add(-mdi-advertInt), first.At, mdi-advertInt)
			return len(s) > 0
		}, 2*time.Second) == nil
		if explained {
			t.Logf("transitions under CPU load after %v, with the machine's stalls %v: %+v", time.Since(start).Round(time.Millisecond), s, tr)
			return s, false
		}
		t.Fatalf("spurious transition under CPU load after %v, no stall of the machine of %v or more around it (meter: %v): %+v",
			time.Since(start).Round(time.Millisecond), mdi-advertInt, meter.within(first.At.Add(-time.Second), first.At, hostStallReport), tr)
	}
	end := time.Now()
	p71, p72 := cpu71.percent(t), cpu72.percent(t)

	after71 := stressInstance(t, l, "cenvm71", "VI_1")
	after72 := stressInstance(t, l, "cenvm72", "VI_1")
	st := stressSummarize(w72.intervals(start, end))
	t.Logf("v3 advert_int 10 ms, 2 CPU hogs, %v: master adverts seen by the backup: %s", window, st)
	t.Logf("CPU: cenvm71 %.1f%% of a core (RSS %d KiB), cenvm72 %.1f%% (RSS %d KiB); adverts sent by cenvm71 %d, received by cenvm72 %d",
		p71, stressRSS(t, l.AgentPID("cenvm71")), p72, stressRSS(t, l.AgentPID("cenvm72")),
		after71.GetAdvertsSent()-before71.GetAdvertsSent(), after72.GetAdvertsReceived()-before72.GetAdvertsReceived())
	t.Logf("the machine's stalls of the meter, 10 ms or more, in the window: %v", meter.within(start, end, 10*time.Millisecond))

	for _, w := range []*stressWatcher{w71, w72} {
		if err := w.error(); err != nil {
			t.Errorf("watch on %s ended: %v", w.host, err)
		}
		if tr := w.transitions(); len(tr) > 0 {
			t.Errorf("%s made transitions under CPU load: %+v", w.host, tr)
		}
	}
	if after71.GetState() != hactlv1.State_STATE_MASTER || after71.GetTransitions() != before71.GetTransitions() {
		t.Errorf("cenvm71: %v with %d transitions (was %d), want MASTER throughout", after71.GetState(), after71.GetTransitions(), before71.GetTransitions())
	}
	if after72.GetState() != hactlv1.State_STATE_BACKUP || after72.GetTransitions() != before72.GetTransitions() {
		t.Errorf("cenvm72: %v with %d transitions (was %d), want BACKUP throughout", after72.GetState(), after72.GetTransitions(), before72.GetTransitions())
	}
	if errs := after72.GetReceiveErrors(); len(errs) > 0 {
		t.Logf("cenvm72 receive errors: %v", errs)
	}
	return nil, true
}

// stressHogs starts n processes that spin forever and kills them (by PID) at cleanup.
func stressHogs(t *testing.T, n int) {
	t.Helper()
	for range n {
		cmd := exec.Command("sh", "-c", "while :; do :; done")
		if err := cmd.Start(); err != nil {
			t.Fatalf("start CPU hog: %v", err)
		}
		pid := cmd.Process.Pid
		t.Cleanup(func() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			_ = cmd.Wait()
		})
	}
}

// ---- shared helpers (also used by hostile_test.go) ----

// stressIP is a lab host's address.
func stressIP(host string) string { return "192.168.188." + strings.TrimPrefix(host, "cenvm") }

// stressNode returns host's status snapshot. It dials afresh each time: an agent that
// was restarted has a new socket, and a fresh dial has no reconnect backoff.
func stressNode(t *testing.T, l *lab.Lab, host string) *hactlv1.Node {
	t.Helper()
	n, err := stressTryNode(l, host)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func stressTryNode(l *lab.Lab, host string) (*hactlv1.Node, error) {
	return l.Status(host)
}

// stressInstance returns one instance of host's status.
func stressInstance(t *testing.T, l *lab.Lab, host, name string) *hactlv1.Instance {
	t.Helper()
	for _, in := range stressNode(t, l, host).GetInstances() {
		if in.GetName() == name {
			return in
		}
	}
	t.Fatalf("%s has no instance %s", host, name)
	return nil
}

// stressWaitRoles waits until master is MASTER of instance and every other host in
// hosts is BACKUP believing in master's address, all by their own API.
func stressWaitRoles(t *testing.T, l *lab.Lab, hosts []string, instance, master string) {
	t.Helper()
	var last []string
	err := lab.Poll(func() bool {
		last = last[:0]
		ok := true
		for _, h := range hosts {
			n, err := stressTryNode(l, h)
			if err != nil {
				last = append(last, err.Error())
				ok = false
				continue
			}
			var in *hactlv1.Instance
			for _, x := range n.GetInstances() {
				if x.GetName() == instance {
					in = x
				}
			}
			want := hactlv1.State_STATE_BACKUP
			if h == master {
				want = hactlv1.State_STATE_MASTER
			}
			last = append(last, fmt.Sprintf("%s: %v master %q", h, in.GetState(), in.GetMaster().GetAddress()))
			if in.GetState() != want || in.GetMaster().GetAddress() != stressIP(master) {
				ok = false
			}
		}
		return ok
	}, 20*time.Second)
	if err != nil {
		t.Fatalf("%v waiting for %s to be MASTER of %s and %v to agree; last: %s", err, master, instance, hosts, strings.Join(last, "; "))
	}
}

// stressTransition is one TransitionEvent from an agent's Watch stream.
type stressTransition struct {
	At       time.Time
	Instance string
	From, To hactlv1.State
	Reason   string
}

// stressWatcher records an agent's Watch stream: every transition, and (for one
// instance) the arrival times of the master's adverts that the agent reports in its
// advert timing (last advert time and the recent inter-arrival intervals).
type stressWatcher struct {
	host, instance string

	mu       sync.Mutex
	trans    []stressTransition
	arrivals []time.Time // unsorted, with repeats: every report overlaps the previous
	err      error
}

// stressWatch starts watching host; it returns once the first snapshot arrived.
// instance names the instance whose advert timing is recorded ("" for none).
func stressWatch(t *testing.T, l *lab.Lab, host, instance string) *stressWatcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := api.DialAgent(ctx, "unix://"+l.APISocket(host), nil)
	if err != nil {
		cancel()
		t.Fatalf("dial %s: %v", host, err)
	}
	stream, err := hactlv1.NewAgentServiceClient(conn).Watch(ctx, &hactlv1.WatchRequest{})
	if err != nil {
		cancel()
		conn.Close()
		t.Fatalf("watch %s: %v", host, err)
	}
	w := &stressWatcher{host: host, instance: instance}
	ready, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		first := true
		for {
			ev, err := stream.Recv()
			if err != nil {
				if ctx.Err() == nil {
					w.mu.Lock()
					w.err = err
					w.mu.Unlock()
				}
				if first {
					close(ready)
				}
				return
			}
			w.record(ev)
			if first {
				first = false
				close(ready)
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		conn.Close()
	})
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatalf("watch %s: no snapshot within 10 s", host)
	}
	if err := w.error(); err != nil {
		t.Fatalf("watch %s: %v", host, err)
	}
	return w
}

func (w *stressWatcher) record(ev *hactlv1.WatchResponse) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch e := ev.GetEvent().(type) {
	case *hactlv1.WatchResponse_Transition:
		tr := e.Transition
		w.trans = append(w.trans, stressTransition{At: ev.GetTime().AsTime(), Instance: tr.GetInstance(), From: tr.GetFrom(), To: tr.GetTo(), Reason: tr.GetReason()})
	case *hactlv1.WatchResponse_AdvertTiming:
		if e.AdvertTiming.GetInstance() == w.instance {
			w.addTiming(e.AdvertTiming.GetTiming())
		}
	case *hactlv1.WatchResponse_AdvertTimingBatch:
		for _, a := range e.AdvertTimingBatch.GetTimings() {
			if a.GetInstance() == w.instance {
				w.addTiming(a.GetTiming())
			}
		}
	case *hactlv1.WatchResponse_Snapshot:
		for _, in := range e.Snapshot.GetInstances() {
			if in.GetName() == w.instance {
				w.addTiming(in.GetTiming())
			}
		}
	}
}

// addTiming turns one timing report into advert arrival times: the last advert, and
// going back from it by each recent interval (they are oldest first).
func (w *stressWatcher) addTiming(tm *hactlv1.AdvertTiming) {
	if tm.GetLastAdvertAt() == nil {
		return
	}
	at := tm.GetLastAdvertAt().AsTime()
	w.arrivals = append(w.arrivals, at)
	recent := tm.GetRecent()
	for i := len(recent) - 1; i >= 0; i-- {
		at = at.Add(-recent[i].AsDuration())
		w.arrivals = append(w.arrivals, at)
	}
}

func (w *stressWatcher) transitions() []stressTransition {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.trans)
}

func (w *stressWatcher) error() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// intervals returns the inter-arrival times of the master's adverts with both ends in
// [from, to]. Reports overlap; the same advert reconstructed from two reports differs
// by rounding only, so arrivals closer than a millisecond are one advert.
func (w *stressWatcher) intervals(from, to time.Time) []time.Duration {
	w.mu.Lock()
	arr := slices.Clone(w.arrivals)
	w.mu.Unlock()
	slices.SortFunc(arr, func(a, b time.Time) int { return a.Compare(b) })
	var kept []time.Time
	for _, a := range arr {
		if a.Before(from) || a.After(to) {
			continue
		}
		if len(kept) > 0 && a.Sub(kept[len(kept)-1]) < time.Millisecond {
			continue
		}
		kept = append(kept, a)
	}
	var out []time.Duration
	for i := 1; i < len(kept); i++ {
		out = append(out, kept[i].Sub(kept[i-1]))
	}
	return out
}

// stressStats summarises inter-arrival times.
type stressStats struct {
	N                                int
	Min, P50, P99, Max, Mean, StdDev time.Duration
}

func stressSummarize(ds []time.Duration) stressStats {
	s := stressStats{N: len(ds)}
	if len(ds) == 0 {
		return s
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	rank := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(sorted)))) - 1
		return sorted[max(i, 0)]
	}
	s.Min, s.Max, s.P50, s.P99 = sorted[0], sorted[len(sorted)-1], rank(0.50), rank(0.99)
	var sum float64
	for _, d := range ds {
		sum += float64(d)
	}
	mean := sum / float64(len(ds))
	var sq float64
	for _, d := range ds {
		sq += (float64(d) - mean) * (float64(d) - mean)
	}
	s.Mean = time.Duration(mean)
	s.StdDev = time.Duration(math.Sqrt(sq / float64(len(ds))))
	return s
}

func (s stressStats) String() string {
	r := func(d time.Duration) string {
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
	}
	return fmt.Sprintf("%d intervals, ms: min %s p50 %s mean %s p99 %s max %s stddev %s",
		s.N, r(s.Min), r(s.P50), r(s.Mean), r(s.P99), r(s.Max), r(s.StdDev))
}

// stressUserHZ is USER_HZ, the unit of the CPU times in /proc/PID/stat on Linux.
const stressUserHZ = 100

// stressCPU is a starting point for measuring a process's CPU use.
type stressCPU struct {
	pid   int
	ticks uint64
	at    time.Time
}

func stressCPUStart(t *testing.T, pid int) stressCPU {
	t.Helper()
	if pid == 0 {
		t.Fatal("measure CPU: the agent is not running")
	}
	return stressCPU{pid: pid, ticks: stressTicks(t, pid), at: time.Now()}
}

// percent is the CPU the process used since the start, in percent of one core.
func (c stressCPU) percent(t *testing.T) float64 {
	t.Helper()
	used := float64(stressTicks(t, c.pid)-c.ticks) / stressUserHZ
	return 100 * used / time.Since(c.at).Seconds()
}

// stressTicks is utime+stime of every thread of pid, from /proc/PID/stat.
func stressTicks(t *testing.T, pid int) uint64 {
	t.Helper()
	n, err := lab.CPUTicks(pid)
	if err != nil {
		t.Fatalf("CPU of pid %d: %v", pid, err)
	}
	return n
}

// stressRSS is VmRSS of pid in KiB.
func stressRSS(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("RSS of pid %d: %v", pid, err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				n, err := strconv.Atoi(f[0])
				if err == nil {
					return n
				}
			}
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// stressV3Config writes a keepalived.conf for host with the seed's instance as VRRPv3
// (VRID 51, the lab's VIP, no authentication: v3 has none) at advertInt, and returns its
// path. rtPriority > 0 sets global_defs max_auto_priority, which makes hagent run its
// threads at that SCHED_RR priority. The instance tracks no script: these tests are
// about advert timing, and a check script forked on a loaded host can time out and fail
// over for a real (if unwanted) reason.
func stressV3Config(t *testing.T, dir, host string, prio int, advertInt string, rtPriority int) string {
	t.Helper()
	state := "BACKUP"
	if prio == 100 {
		state = "MASTER"
	}
	global := ""
	if rtPriority > 0 {
		global = fmt.Sprintf("global_defs {\n    max_auto_priority %d\n}\n", rtPriority)
	}
	conf := fmt.Sprintf(`# VRRPv3 at advert_int %[3]s for %[1]s (issue 7)
%[6]svrrp_instance VI_1 {
    state %[2]s
    interface eth0
    virtual_router_id 51
    priority %[4]d
    advert_int %[3]s
    version 3
    virtual_ipaddress {
        %[5]s
    }
}
`, host, state, advertInt, prio, lab.VIP, global)
	path := filepath.Join(dir, host+"-v3.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
