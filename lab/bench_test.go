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

// TestBench measures keepalived 2.2.7 and hagent side by side in the same run,
// with the keepalived baseline's probe and metrics (anchors/keepalived-
// baseline.md), and writes one markdown report. It takes many minutes, so it only
// runs with LAB_BENCH=1; use lab/bench.sh. Knobs:
//
//	LAB_BENCH_SCENARIOS  comma-separated groups (default all): gaps, probes,
//	                     failover, partition, scale, jitter
//	LAB_BENCH_DAEMONS    default "keepalived,hagent"
//	LAB_BENCH_REPS       repetitions per scenario (default 5)
//	LAB_BENCH_WINDOW     resource / jitter window (default 60s)
//	LAB_BENCH_SCALE      instance counts for the scale group (default "1,255,510,1020";
//	                     up to 1020)
//	LAB_BENCH_PPROF      1: the scale group also profiles hagent (LAB_BENCH_PPROF_HAGENT,
//	                     LAB_BENCH_PPROF_SECONDS; see lab/bench.sh)
//	LAB_BENCH_LOAD_MAX   before each group, wait up to 3 min for the 1-min load
//	                     average to drop below this (the machine is shared)
//	LAB_BENCH_OUT        report file (default: test log only); rewritten after
//	                     every group, so a partial run still leaves a report
//	LAB_BENCH_CMD        the command line to print in the report
func TestBench(t *testing.T) {
	if os.Getenv("LAB_BENCH") != "1" {
		t.Skip("benchmark: set LAB_BENCH=1 (see lab/bench.sh)")
	}
	window, err := time.ParseDuration(cmp.Or(os.Getenv("LAB_BENCH_WINDOW"), "60s"))
	if err != nil {
		t.Fatalf("LAB_BENCH_WINDOW: %v", err)
	}
	r := &benchRun{
		t:         t,
		reps:      envInt(t, "LAB_BENCH_REPS", 5),
		window:    window,
		started:   time.Now(),
		loadStart: loadAvg(),
		out:       os.Getenv("LAB_BENCH_OUT"),
		cmd:       cmp.Or(os.Getenv("LAB_BENCH_CMD"), "LAB_BENCH=1 go test ./lab -run '^TestBench$' -v -timeout 0"),
	}
	for _, d := range strings.Split(cmp.Or(os.Getenv("LAB_BENCH_DAEMONS"), "keepalived,hagent"), ",") {
		r.daemons = append(r.daemons, Daemon(strings.TrimSpace(d)))
	}
	groups := []struct {
		name string
		run  func(*testing.T)
	}{
		{"gaps", r.gapsGroup},
		{"probes", r.probesGroup},
		{"failover", r.failoverGroup},
		{"partition", r.partitionGroup},
		{"scale", r.scaleGroup},
		{"jitter", r.jitterGroup},
	}
	want := strings.Split(cmp.Or(os.Getenv("LAB_BENCH_SCENARIOS"), "gaps,probes,failover,partition,scale,jitter"), ",")
	for _, g := range groups {
		if !slices.Contains(want, g.name) {
			continue
		}
		r.waitLoad()
		t.Run(g.name, g.run)
	}
	t.Log("\n" + r.report())
}

// benchRun collects the sections of one report.
type benchRun struct {
	t         *testing.T
	reps      int
	window    time.Duration
	daemons   []Daemon
	started   time.Time
	loadStart string
	out, cmd  string
	sections  []string
	versions  map[Daemon]string
	// gapRes is the gaps group's results, reused by later groups for comparison.
	gapRes gapResults
}

const (
	master = "cenvm71"
	backup = "cenvm72"
	// advertInt is the seed's advert_int; the check script runs every 3 s.
	advertInt     = time.Second
	checkInterval = 3 * time.Second
)

// waitLoad waits (bounded) for a quieter machine when LAB_BENCH_LOAD_MAX is set.
func (r *benchRun) waitLoad() {
	limit, err := strconv.ParseFloat(os.Getenv("LAB_BENCH_LOAD_MAX"), 64)
	if err != nil || limit <= 0 {
		return
	}
	deadline := time.Now().Add(3 * time.Minute)
	for load1() >= limit && time.Now().Before(deadline) {
		time.Sleep(5 * time.Second)
	}
	r.t.Logf("load average %s (limit %.1f)", loadAvg(), limit)
}

// section appends a finished group to the report and rewrites the report file.
func (r *benchRun) section(t *testing.T, title, body string, started time.Time, loadStart string) {
	s := fmt.Sprintf("## %s\n\n- %s to %s; load average at start %s, at end %s\n\n%s\n",
		title, started.Format("2006-01-02 15:04:05"), time.Now().Format("15:04:05"), loadStart, loadAvg(), body)
	r.sections = append(r.sections, s)
	t.Log("\n" + s)
	if r.out != "" {
		if err := os.WriteFile(r.out, []byte(r.report()), 0o644); err != nil {
			t.Fatalf("write report: %v", err)
		}
	}
}

func (r *benchRun) version(l *Lab, d Daemon) {
	if r.versions == nil {
		r.versions = map[Daemon]string{}
	}
	if _, ok := r.versions[d]; !ok {
		r.versions[d] = daemonVersion(l, d)
	}
}

func (r *benchRun) report() string {
	var w strings.Builder
	fmt.Fprintf(&w, "# VRRP benchmark: %s\n\n", joinDaemons(r.daemons, " vs "))
	fmt.Fprintf(&w, "- command: `%s`\n", r.cmd)
	fmt.Fprintf(&w, "- run: %s to %s, %d repetitions per scenario, resource/jitter window %v\n",
		r.started.Format("2006-01-02 15:04"), time.Now().Format("15:04"), r.reps, r.window)
	for _, d := range r.daemons {
		if v, ok := r.versions[d]; ok {
			fmt.Fprintf(&w, "- %s: %s\n", d, v)
		}
	}
	fmt.Fprintf(&w, "- machine: %s; load average at start %s, at end %s (shared machine: other engineers ran tests at the same time)\n", machine(), r.loadStart, loadAvg())
	fmt.Fprintf(&w, "- probe: from the client every 10 ms, new TCP connection each, 200 ms timeout; a random 0..advert_int (nginx with the check script: 0..3 s) sleep before each event\n")
	fmt.Fprintf(&w, "- gap = end of the first success from the new server - end of the last success from the old; event→serves = first new success - event; failed = requests started between the event and the first new success that failed; max probe spacing = longest time between two request starts from 1 s before the event to the first new success (10 ms when the prober is not starved)\n")
	fmt.Fprintf(&w, "- values are min / median / max over the repetitions; ratio = hagent median / keepalived median\n\n")
	for _, s := range r.sections {
		w.WriteString(s)
		w.WriteString("\n")
	}
	return w.String()
}

// gapResults are the measured switches per scenario and daemon.
type gapResults map[string]map[Daemon][]Gap

func (g gapResults) add(scenario string, d Daemon, x Gap) {
	if g[scenario] == nil {
		g[scenario] = map[Daemon][]Gap{}
	}
	g[scenario][d] = append(g[scenario][d], x)
}

// gapTable renders one row per scenario with every daemon's values side by side.
func gapTable(res gapResults, scenarios []string, daemons []Daemon) string {
	var w strings.Builder
	head := []string{"scenario"}
	for _, col := range []string{"gap ms", "event → serves ms", "failed requests", "max probe spacing ms"} {
		for _, d := range daemons {
			head = append(head, col+" "+string(d))
		}
		if col != "max probe spacing ms" && hasBoth(daemons) {
			head = append(head, "ratio")
		}
	}
	w.WriteString("| " + strings.Join(head, " | ") + " |\n|" + strings.Repeat("---|", len(head)) + "\n")
	metrics := []func(Gap) float64{
		func(g Gap) float64 { return ms(g.Gap) },
		func(g Gap) float64 { return ms(g.EventToServe) },
		func(g Gap) float64 { return float64(g.Failed) },
		func(g Gap) float64 { return ms(g.MaxSpacing) },
	}
	for _, s := range scenarios {
		row := []string{s}
		for i, m := range metrics {
			for _, d := range daemons {
				row = append(row, stats(res[s][d], m))
			}
			if i < 3 && hasBoth(daemons) {
				row = append(row, ratio(res[s][Hagent], res[s][Keepalived], m))
			}
		}
		w.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	w.WriteString("\n<details><summary>every repetition (gap / event→serves / failed, ms)</summary>\n\n")
	for _, s := range scenarios {
		for _, d := range daemons {
			if len(res[s][d]) == 0 {
				continue
			}
			fmt.Fprintf(&w, "- %s, %s:", s, d)
			for _, g := range res[s][d] {
				if missed(g) {
					w.WriteString(" missed")
					continue
				}
				fmt.Fprintf(&w, " %.0f/%.0f/%d", ms(g.Gap), ms(g.EventToServe), g.Failed)
			}
			w.WriteString("\n")
		}
	}
	w.WriteString("\n</details>\n")
	return w.String()
}

func hasBoth(ds []Daemon) bool { return slices.Contains(ds, Hagent) && slices.Contains(ds, Keepalived) }

func joinDaemons(ds []Daemon, sep string) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = string(d)
	}
	return strings.Join(s, sep)
}

// waitServes waits for the start state: only host holds the VIP and serves.
func waitServes(l *Lab, host string) {
	l.WaitFor(func() bool { return l.Serves(host) }, 60*time.Second, "the start state: only %s holds the VIP and serves", host)
}

// measureGap runs the prober for 1 s, sleeps a random 0..phase (so the event does
// not sit at a fixed phase of the advert timer or check interval), triggers the
// event, and returns the client's switch from -> to. When the switch does not
// happen within 20 s (a starved machine), it logs that and returns a Gap marked
// missed, so one slow repetition does not end the benchmark.
func measureGap(t *testing.T, l *Lab, name, from, to string, phase time.Duration, event func() time.Time) Gap {
	t.Helper()
	p := l.StartProber()
	time.Sleep(time.Second)
	time.Sleep(rand.N(phase))
	ev := event()
	if _, err := p.WaitServed(to, ev, missAfter); err != nil {
		p.Stop()
		t.Logf("%s: MISSED: %v (load %s)", name, err, loadAvg())
		return Gap{From: from, To: to, EventToServe: -1}
	}
	time.Sleep(300 * time.Millisecond) // let requests in flight around the switch end
	g, err := Analyze(p.Stop(), ev, from, to)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Logf("%s: %v", name, g)
	return g
}

// missAfter is how long measureGap waits for the switch.
const missAfter = 20 * time.Second

func missed(g Gap) bool { return g.EventToServe < 0 }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 0 {
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return v[len(v)/2]
}

// values are f of the repetitions that did not miss.
func values(gs []Gap, f func(Gap) float64) []float64 {
	var v []float64
	for _, g := range gs {
		if !missed(g) {
			v = append(v, f(g))
		}
	}
	return v
}

func stats(gs []Gap, f func(Gap) float64) string {
	s := statsOf(values(gs, f))
	if n := len(gs) - len(values(gs, f)); n > 0 {
		s += fmt.Sprintf(" (+%d missed: no switch within %v)", n, missAfter)
	}
	return s
}

func statsOf(v []float64) string {
	if len(v) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f / %.0f / %.0f", slices.Min(v), median(v), slices.Max(v))
}

func ratio(h, k []Gap, f func(Gap) float64) string {
	hv, kv := values(h, f), values(k, f)
	if len(hv) == 0 || len(kv) == 0 {
		return "-"
	}
	return ratioOf(median(hv), median(kv))
}

func ratioOf(h, k float64) string {
	if k == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", h/k)
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

func load1() float64 {
	f, _ := strconv.ParseFloat(strings.Fields(loadAvg() + " 0")[0], 64)
	return f
}

func machine() string {
	kernel, _ := exec.Command("uname", "-r").Output()
	return fmt.Sprintf("Linux %s, %d CPUs", strings.TrimSpace(string(kernel)), runtime.NumCPU())
}
