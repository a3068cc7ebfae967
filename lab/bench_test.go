package lab

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBench measures the keepalived baseline's scenarios (anchors/keepalived-
// baseline.md) for one daemon, with the same probe and metrics, and writes a
// markdown report. It takes minutes, so it only runs with LAB_BENCH=1; use
// lab/bench.sh. Knobs: LAB_BENCH_DAEMON (hagent|keepalived, default hagent),
// LAB_BENCH_REPS (default 5), LAB_BENCH_WINDOW (resource window, default 60s),
// LAB_BENCH_OUT (report file; default: test log only).
func TestBench(t *testing.T) {
	if os.Getenv("LAB_BENCH") != "1" {
		t.Skip("benchmark: set LAB_BENCH=1 (see lab/bench.sh)")
	}
	daemon := Daemon(cmp.Or(os.Getenv("LAB_BENCH_DAEMON"), string(Hagent)))
	reps := envInt(t, "LAB_BENCH_REPS", 5)
	window, err := time.ParseDuration(cmp.Or(os.Getenv("LAB_BENCH_WINDOW"), "60s"))
	if err != nil {
		t.Fatalf("LAB_BENCH_WINDOW: %v", err)
	}
	b := &bench{t: t, l: Start(t, Options{Daemon: daemon}), results: map[string][]Gap{}, loadStart: loadAvg()}
	started := time.Now()
	for i := range reps {
		t.Logf("repetition %d/%d", i+1, reps)
		b.repetition()
	}
	res := b.resources(window)
	report := b.report(daemon, reps, started, window, res)
	t.Log("\n" + report)
	if out := os.Getenv("LAB_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
			t.Fatalf("write report: %v", err)
		}
	}
}

const (
	master = "cenvm71"
	backup = "cenvm72"
	// advertInt is the seed's advert_int; the check script runs every 3 s.
	advertInt     = time.Second
	checkInterval = 3 * time.Second
)

// The scenarios, in report order.
var scenarios = []string{
	"graceful stop: SIGTERM the master's daemon",
	"preempt back: start the daemon on cenvm71 again",
	"host loss: `ip link set eth0 down` on the master",
	"link up again, cenvm71 preempts",
	"nginx `kill -9` on the master, nginx cannot restart",
}

type bench struct {
	t       *testing.T
	l       *Lab
	results map[string][]Gap
	// loadStart is /proc/loadavg at the start: the machine is shared, and a busy
	// machine starves the prober (see Gap.MaxSpacing).
	loadStart string
}

func (b *bench) waitStart() {
	b.l.WaitFor(func() bool { return b.l.Serves(master) }, 30*time.Second, "the start state: only %s holds the VIP and serves", master)
	time.Sleep(1500 * time.Millisecond) // steady adverts
}

// measure runs the prober for 1 s, sleeps a random 0..phase (so the event does
// not sit at a fixed phase of the advert timer or check interval), triggers the
// event, and records the client's switch from -> to.
func (b *bench) measure(name, from, to string, phase time.Duration, event func() time.Time) {
	b.t.Helper()
	p := b.l.StartProber()
	time.Sleep(time.Second)
	time.Sleep(rand.N(phase))
	ev := event()
	if _, err := p.WaitServed(to, ev, 20*time.Second); err != nil {
		b.t.Fatalf("%s: %v", name, err)
	}
	time.Sleep(300 * time.Millisecond) // let requests in flight around the switch end
	g, err := Analyze(p.Stop(), ev, from, to)
	if err != nil {
		b.t.Fatalf("%s: %v", name, err)
	}
	b.t.Logf("%s: %v", name, g)
	b.results[name] = append(b.results[name], g)
}

func (b *bench) repetition() {
	l := b.l
	b.waitStart()
	b.measure(scenarios[0], master, backup, advertInt, func() time.Time { return l.StopAgent(master) })
	time.Sleep(1500 * time.Millisecond)
	b.measure(scenarios[1], backup, master, advertInt, func() time.Time { return l.StartAgent(master) })

	b.waitStart()
	b.measure(scenarios[2], master, backup, advertInt, func() time.Time { return l.LinkDown(master) })
	time.Sleep(1500 * time.Millisecond)
	b.measure(scenarios[3], backup, master, advertInt, func() time.Time { return l.LinkUp(master) })

	b.waitStart()
	l.BreakNginx(master)
	b.measure(scenarios[4], master, backup, checkInterval, func() time.Time { return l.KillNginx(master) })
	// The seed's check script stops the daemon; give it time to exit, then put
	// the master back together.
	_ = Poll(func() bool { return l.AgentPID(master) == 0 }, 10*time.Second)
	l.FixNginx(master)
	l.StartNginx(master)
	if l.AgentPID(master) == 0 {
		l.StartAgent(master)
	}
}

// usage is one node's daemon processes over the resource window.
type usage struct {
	node      string
	procs     []string
	rssKB     int
	cpu, kids time.Duration // own CPU, and reaped children's (the check script)
	window    time.Duration
}

func (b *bench) resources(window time.Duration) []usage {
	b.waitStart()
	tick := clockTick(b.t)
	type snap struct{ own, kids uint64 }
	sample := func(pids []int) (s snap) {
		for _, p := range pids {
			if st, err := readProcStat(p); err == nil {
				s.own += st.UTime + st.STime
				s.kids += st.CUTime + st.CSTime
			}
		}
		return s
	}
	nodes := []string{master, backup}
	pids := map[string][]int{}
	before := map[string]snap{}
	for _, n := range nodes {
		pids[n] = b.daemonPIDs(n)
		before[n] = sample(pids[n])
	}
	b.t.Logf("resource window %v", window)
	time.Sleep(window)
	var out []usage
	for _, n := range nodes {
		after := sample(pids[n])
		u := usage{node: n, window: window,
			cpu:  time.Duration(after.own-before[n].own) * tick,
			kids: time.Duration(after.kids-before[n].kids) * tick}
		for _, p := range pids[n] {
			rss, err := vmRSS(p)
			if err != nil {
				b.t.Fatalf("%s pid %d ended during the window: %v", n, p, err)
			}
			u.rssKB += rss
			u.procs = append(u.procs, fmt.Sprintf("%d:%dkB", p, rss))
		}
		out = append(out, u)
	}
	return out
}

// daemonPIDs is the daemon's main process and its children running the same
// program (keepalived's VRRP child), not a check script that happens to run.
func (b *bench) daemonPIDs(node string) []int {
	pid := b.l.AgentPID(node)
	if pid == 0 {
		b.t.Fatalf("no daemon on %s", node)
	}
	main, err := readProcStat(pid)
	if err != nil {
		b.t.Fatal(err)
	}
	out := []int{pid}
	for _, c := range children(pid) {
		if st, err := readProcStat(c); err == nil && st.Comm == main.Comm {
			out = append(out, c)
		}
	}
	return out
}

func (b *bench) report(daemon Daemon, reps int, started time.Time, window time.Duration, res []usage) string {
	var w strings.Builder
	fmt.Fprintf(&w, "# Failover benchmark: %s\n\n", daemon)
	fmt.Fprintf(&w, "- run: %s to %s, %d repetitions per scenario, `lab/bench.sh %s`\n",
		started.Format("2006-01-02 15:04"), time.Now().Format("15:04"), reps, daemon)
	fmt.Fprintf(&w, "- daemon: %s\n", daemonVersion(b.l, daemon))
	fmt.Fprintf(&w, "- machine: %s; load average at start %s, at end %s\n", machine(), b.loadStart, loadAvg())
	fmt.Fprintf(&w, "- lab: seed configs (v2, advert_int 1, check script every 3 s), probe from the client every 10 ms, new TCP connection each, 200 ms timeout; random 0..1 s (nginx: 0..3 s) before each event\n")
	fmt.Fprintf(&w, "- max probe spacing = longest time between two request starts from 1 s before the event to the first new success: the real resolution (10 ms when the prober is not starved)\n")
	fmt.Fprintf(&w, "- gap = end of first success from the new server - end of last success from the old; event→serves = first new success - event; failed = requests started between the event and the first new success that failed\n\n")
	fmt.Fprintf(&w, "| scenario | reps | client-visible gap ms (min / median / max) | event → new server serves ms | failed requests | max probe spacing ms |\n|---|---|---|---|---|---|\n")
	for _, s := range scenarios {
		gs := b.results[s]
		fmt.Fprintf(&w, "| %s | %d | %s | %s | %s | %s |\n", s, len(gs),
			stats(gs, func(g Gap) float64 { return ms(g.Gap) }),
			stats(gs, func(g Gap) float64 { return ms(g.EventToServe) }),
			stats(gs, func(g Gap) float64 { return float64(g.Failed) }),
			stats(gs, func(g Gap) float64 { return ms(g.MaxSpacing) }))
	}
	fmt.Fprintf(&w, "\n| node | window | daemon processes (pid:VmRSS) | VmRSS sum kB | daemon CPU s | CPU %% | reaped children CPU s (check script) |\n|---|---|---|---|---|---|---|\n")
	for _, u := range res {
		fmt.Fprintf(&w, "| %s | %v | %s | %d | %.3f | %.2f | %.2f |\n", u.node, u.window,
			strings.Join(u.procs, " "), u.rssKB, u.cpu.Seconds(),
			100*u.cpu.Seconds()/u.window.Seconds(), u.kids.Seconds())
	}
	fmt.Fprintf(&w, "\nCPU is the utime+stime delta of the daemon's processes from /proc/PID/stat over the window, in a steady state (%s master, %s backup); VmRSS is sampled at the end of the window.\n\n", master, backup)
	fmt.Fprintf(&w, "<details><summary>every repetition (gap / event→serves / failed)</summary>\n\n")
	for _, s := range scenarios {
		fmt.Fprintf(&w, "- %s:", s)
		for _, g := range b.results[s] {
			fmt.Fprintf(&w, " %.0f/%.0f/%d", ms(g.Gap), ms(g.EventToServe), g.Failed)
		}
		fmt.Fprintln(&w)
	}
	fmt.Fprintf(&w, "\n</details>\n")
	return w.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func stats(gs []Gap, f func(Gap) float64) string {
	if len(gs) == 0 {
		return "-"
	}
	v := make([]float64, len(gs))
	for i, g := range gs {
		v[i] = f(g)
	}
	slices.Sort(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return fmt.Sprintf("%.0f / %.0f / %.0f", v[0], med, v[len(v)-1])
}

func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// clockTick is the length of one /proc/PID/stat clock tick (1/CLK_TCK).
func clockTick(t *testing.T) time.Duration {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		t.Fatalf("getconf CLK_TCK: %v", err)
	}
	hz, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || hz <= 0 {
		t.Fatalf("getconf CLK_TCK = %q", out)
	}
	return time.Second / time.Duration(hz)
}

func daemonVersion(l *Lab, d Daemon) string {
	var out []byte
	switch d {
	case Keepalived:
		out, _ = exec.Command("keepalived", "--version").CombinedOutput()
	case Hagent:
		b, _ := os.ReadFile(l.State + "/hagent-path")
		out, _ = exec.Command(strings.TrimSpace(string(b)), "--version").CombinedOutput()
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return cmp.Or(first, string(d))
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func machine() string {
	kernel, _ := exec.Command("uname", "-r").Output()
	return fmt.Sprintf("Linux %s, %d CPUs", strings.TrimSpace(string(kernel)), runtime.NumCPU())
}
