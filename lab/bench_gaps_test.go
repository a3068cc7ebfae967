package lab

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The baseline's scenarios, in report order.
var gapScenarios = []string{
	"graceful stop: SIGTERM the master's daemon",
	"preempt back: start the daemon on cenvm71 again",
	"host loss: `ip link set eth0 down` on the master",
	"link up again, cenvm71 preempts",
	"nginx `kill -9` on the master, nginx cannot restart (seed check script)",
}

// gapsGroup: the baseline's failover scenarios with the seed configs, then the
// daemons' CPU and memory over the window, for every daemon.
func (r *benchRun) gapsGroup(t *testing.T) {
	started, load := time.Now(), loadAvg()
	res := gapResults{}
	var use []usage
	for _, d := range r.daemons {
		t.Run(string(d), func(t *testing.T) {
			l := Start(t, Options{Daemon: d})
			r.version(l, d)
			for i := range r.reps {
				t.Logf("%s repetition %d/%d", d, i+1, r.reps)
				gapRepetition(t, l, d, res)
			}
			waitServes(l, master)
			time.Sleep(3 * time.Second)
			use = append(use, measureUsage(t, l, d, []string{master, backup}, r.window)...)
		})
	}
	var w strings.Builder
	fmt.Fprintf(&w, "Seed configs (VRRPv2, advert_int 1, PASS, the seed's check script every 3 s) on both hosts; %d repetitions.\n\n", r.reps)
	w.WriteString(gapTable(res, gapScenarios, r.daemons))
	w.WriteString("\n" + usageTable(use, r.window))
	r.gapRes = res
	r.section(t, "Failover gaps and resources (seed configs)", w.String(), started, load)
}

func gapRepetition(t *testing.T, l *Lab, d Daemon, res gapResults) {
	waitServes(l, master)
	time.Sleep(1500 * time.Millisecond) // steady adverts
	res.add(gapScenarios[0], d, measureGap(t, l, gapScenarios[0], master, backup, advertInt, func() time.Time { return l.StopAgent(master) }))
	time.Sleep(1500 * time.Millisecond)
	res.add(gapScenarios[1], d, measureGap(t, l, gapScenarios[1], backup, master, advertInt, func() time.Time { return l.StartAgent(master) }))

	waitServes(l, master)
	time.Sleep(1500 * time.Millisecond)
	res.add(gapScenarios[2], d, measureGap(t, l, gapScenarios[2], master, backup, advertInt, func() time.Time { return l.LinkDown(master) }))
	time.Sleep(1500 * time.Millisecond)
	res.add(gapScenarios[3], d, measureGap(t, l, gapScenarios[3], backup, master, advertInt, func() time.Time { return l.LinkUp(master) }))

	waitServes(l, master)
	time.Sleep(1500 * time.Millisecond)
	l.BreakNginx(master)
	res.add(gapScenarios[4], d, measureGap(t, l, gapScenarios[4], master, backup, checkInterval, func() time.Time { return l.KillNginx(master) }))
	// The seed's check script stops the daemon; give it time to exit, then put
	// the master back together.
	_ = Poll(func() bool { return l.AgentPID(master) == 0 }, 10*time.Second)
	l.FixNginx(master)
	l.StartNginx(master)
	if l.AgentPID(master) == 0 {
		l.StartAgent(master)
	}
}

// usage is one node's daemon processes over a resource window.
type usage struct {
	daemon      Daemon
	node, label string
	procs       []string
	mem         procMem       // summed over the daemon's processes
	cpu, kids   time.Duration // own CPU, and reaped children's (the check script), in clock ticks
	onCPU       time.Duration // own CPU from schedstat (exact); -1 if it could not be read
	window      time.Duration
}

// perMinute is the daemon's CPU time per minute of the window.
func (u usage) perMinute() float64 { return u.cpu.Seconds() * 60 / u.window.Seconds() }

// onCPUPerMinute is perMinute from schedstat; false if it was not read.
func (u usage) onCPUPerMinute() (float64, bool) {
	if u.onCPU < 0 {
		return 0, false
	}
	return u.onCPU.Seconds() * 60 / u.window.Seconds(), true
}

// measureUsage samples the CPU time of the daemons on nodes over window, then
// their VmRSS and PSS.
func measureUsage(t *testing.T, l *Lab, d Daemon, nodes []string, window time.Duration) []usage {
	tick := clockTick(t)
	type snap struct {
		own, kids uint64
		onCPU     time.Duration // -1: not read
	}
	sample := func(pids []int) (s snap) {
		for _, p := range pids {
			if st, err := readProcStat(p); err == nil {
				s.own += st.UTime + st.STime
				s.kids += st.CUTime + st.CSTime
			}
			if s.onCPU >= 0 {
				if d, err := readOnCPU(p); err == nil {
					s.onCPU += d
				} else {
					s.onCPU = -1
				}
			}
		}
		return s
	}
	pids := map[string][]int{}
	before := map[string]snap{}
	for _, n := range nodes {
		pids[n] = daemonPIDs(t, l, n)
		before[n] = sample(pids[n])
	}
	t.Logf("%s: resource window %v, load %s", d, window, loadAvg())
	time.Sleep(window)
	var out []usage
	for _, n := range nodes {
		after := sample(pids[n])
		u := usage{daemon: d, node: n, window: window,
			cpu:   time.Duration(after.own-before[n].own) * tick,
			kids:  time.Duration(after.kids-before[n].kids) * tick,
			onCPU: -1}
		if after.onCPU >= 0 && before[n].onCPU >= 0 {
			u.onCPU = after.onCPU - before[n].onCPU
		}
		for _, p := range pids[n] {
			m, err := readProcMem(p)
			if err != nil {
				t.Fatalf("%s pid %d ended during the window: %v", n, p, err)
			}
			u.mem = u.mem.add(m)
			u.procs = append(u.procs, fmt.Sprintf("%d:%dkB", p, m.RSS))
		}
		out = append(out, u)
	}
	return out
}

func usageTable(use []usage, window time.Duration) string {
	var w strings.Builder
	w.WriteString("| daemon | node | setup | daemon processes (pid:VmRSS) | VmRSS sum kB | RssAnon kB | RssFile kB | PSS sum kB | daemon CPU s | CPU % of one core | reaped children CPU s (check script) |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, u := range use {
		role := "master"
		if u.node == backup {
			role = "backup"
		}
		fmt.Fprintf(&w, "| %s | %s (%s) | %s | %s | %d | %d | %d | %d | %.2f | %.2f | %.2f |\n", u.daemon, u.node, role, u.label,
			strings.Join(u.procs, " "), u.mem.RSS, u.mem.Anon, u.mem.File, u.mem.PSS, u.cpu.Seconds(),
			100*u.cpu.Seconds()/u.window.Seconds(), u.kids.Seconds())
	}
	fmt.Fprintf(&w, "\nCPU is the utime+stime delta of the daemon's processes (all threads) from /proc/PID/stat over %v (10 ms ticks), in a steady state; VmRSS, RssAnon, RssFile (/proc/PID/status) and PSS (/proc/PID/smaps_rollup) are sampled at the end of the window and summed over the daemon's processes. keepalived = parent + VRRP child; hagent = one process.\n", window)
	return w.String()
}

// daemonPIDs is the daemon's main process and its children running the same
// program (keepalived's VRRP child), not a check script that happens to run.
func daemonPIDs(t *testing.T, l *Lab, node string) []int {
	pid := l.AgentPID(node)
	if pid == 0 {
		t.Fatalf("no daemon on %s", node)
	}
	main, err := readProcStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	out := []int{pid}
	for _, c := range children(pid) {
		if st, err := readProcStat(c); err == nil && st.Comm == main.Comm {
			out = append(out, c)
		}
	}
	return out
}
