package e2e

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/agent/api"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
	"github.com/hagent-dev/hagent/lab"
)

// TestTUIBench measures the console for BENCHMARKS.md (issue 6): how long a transition
// in an agent takes to show on hactl's screen, and hactl's CPU and memory while it
// watches two agents, at the seed's advert_int 1 and with VRRPv3 advert_int 0.01. It
// logs the numbers and asserts none of them. It takes about a minute and a half and
// loads the CPU (the screen is polled every 10 ms), so it only runs with LAB_BENCH=1.
// Knobs: LAB_TUI_ROUNDS (failover+clear rounds, default 5), LAB_TUI_WINDOW (resource
// window, default 20s), LAB_TUI_SCENARIOS (comma-separated keys of the scenarios to
// run: 1, 0.01, 255; default all).
//
// Scenario 255 (issue 18) is the scale profile of scale_test.go: 255 VRRPv2 instances
// at advert_int 1, so each agent reports about 255 advert timings a second (in 20
// AdvertTimingBatchEvents); the console is compact and VI_1's block (selected) shows
// the roles being timed.
func TestTUIBench(t *testing.T) {
	if os.Getenv("LAB_BENCH") != "1" {
		t.Skip("benchmark: set LAB_BENCH=1")
	}
	rounds, err := strconv.Atoi(cmp.Or(os.Getenv("LAB_TUI_ROUNDS"), "5"))
	if err != nil || rounds < 1 {
		t.Fatalf("LAB_TUI_ROUNDS=%q: want a positive number", os.Getenv("LAB_TUI_ROUNDS"))
	}
	window, err := time.ParseDuration(cmp.Or(os.Getenv("LAB_TUI_WINDOW"), "20s"))
	if err != nil {
		t.Fatalf("LAB_TUI_WINDOW: %v", err)
	}
	want := strings.Split(cmp.Or(os.Getenv("LAB_TUI_SCENARIOS"), "1,0.01,255"), ",")
	var summary []string
	for _, sc := range []struct {
		key, name string
		configs   func(t *testing.T) map[string]string
	}{
		{"1", "advert_int 1 (seed, VRRPv2)", func(*testing.T) map[string]string { return nil }},
		{"0.01", "advert_int 0.01 (VRRPv3)", func(*testing.T) map[string]string {
			return map[string]string{
				"cenvm71": "testdata/tui/cenvm71-v3-10ms.conf",
				"cenvm72": "testdata/tui/cenvm72-v3-10ms.conf",
			}
		}},
		{"255", "255 instances, advert_int 1 (VRRPv2)", func(t *testing.T) map[string]string {
			dir := t.TempDir()
			return map[string]string{
				"cenvm71": scale255Config(t, dir, "cenvm71", "MASTER", 100),
				"cenvm72": scale255Config(t, dir, "cenvm72", "BACKUP", 90),
			}
		}},
	} {
		if !slices.Contains(want, sc.key) {
			continue
		}
		t.Run(sc.key, func(t *testing.T) {
			summary = append(summary, tuiBenchScenario(t, sc.name, sc.configs(t), rounds, window))
		})
	}
	t.Logf("\n| agents | transition → screen (median / max, %d each way) | second node's transition → screen | hactl CPU | hactl RSS (max / peak) | agent CPU | transitions in window |\n|---|---|---|---|---|---|---|\n%s",
		rounds, strings.Join(summary, "\n"))
}

// tuiBenchScenario runs one lab and returns its summary table row.
func tuiBenchScenario(t *testing.T, name string, configs map[string]string, rounds int, window time.Duration) string {
	l := lab.Start(t, lab.Options{APITCP: true, Configs: configs})
	c := tuiStart(t, l, 120, 40)
	c.waitRoles("cenvm71", "cenvm72", 30*time.Second)
	if strings.HasPrefix(name, "255 ") {
		c.waitScreen("all 255 instances converged", 60*time.Second, func(s string) bool {
			return strings.Contains(s, "cenvm71 255 MASTER · cenvm72 255 BACKUP")
		})
	}

	transitions := make(chan tuiTransition, 1024)
	var count atomic.Int64
	for _, h := range l.Hosts {
		tuiWatchTransitions(t, l, h, transitions, &count)
	}

	// Latency: move mastership with the CLI over the unix sockets, so that the console
	// only watches, and time the agent's transition against the first screen showing it.
	var lat, latLast, deliv []time.Duration
	for i := range rounds {
		for _, step := range []struct {
			args           []string
			master, backup string
		}{
			{[]string{"failover", "VI_1"}, "cenvm72", "cenvm71"},
			{[]string{"failover", "VI_1", "--clear"}, "cenvm71", "cenvm72"},
		} {
			tuiDrain(transitions)
			tuiHactlCLI(t, l, step.args...)
			seen := tuiWaitScreenFast(t, c, step.master, step.backup, 10*time.Second)
			trs := tuiAwaitTransitions(t, transitions, map[string]hactlv1.State{
				step.master: hactlv1.State_STATE_MASTER, step.backup: hactlv1.State_STATE_BACKUP}, 10*time.Second)
			at := map[string]time.Time{step.master: trs[step.master].at, step.backup: trs[step.backup].at}
			// How long the agents took to hand the transitions to a Watch client (this
			// test's, over the unix socket): the part of the latency that is not hactl's.
			delivered := max(trs[step.master].recv.Sub(trs[step.master].at), trs[step.backup].recv.Sub(trs[step.backup].at))
			deliv = append(deliv, delivered)
			// The screen shows the move once both nodes made their transition; the old
			// master's comes after the new one's advert, so the agents' part is apart.
			last := at[step.master]
			if at[step.backup].After(last) {
				last = at[step.backup]
			}
			lat = append(lat, seen.Sub(at[step.master]))
			latLast = append(latLast, seen.Sub(last))
			t.Logf("round %d: %s MASTER at %s (agent), %s BACKUP %v after; on screen %v after the first, %v after the second; delivered to a Watch client within %v",
				i+1, step.master, at[step.master].Format("15:04:05.000000"), step.backup, at[step.backup].Sub(at[step.master]), seen.Sub(at[step.master]), seen.Sub(last), delivered)
		}
	}
	slices.Sort(lat)
	slices.Sort(latLast)
	slices.Sort(deliv)

	// Resources: hactl idle-watching two agents for the window.
	pid := c.hactlPID()
	agents := map[string]int{}
	for _, h := range l.Hosts {
		agents[h] = l.AgentPID(h)
	}
	before := count.Load()
	cpu0 := tuiCPUTicks(t, pid)
	agentCPU0 := map[string]uint64{}
	for h, p := range agents {
		agentCPU0[h] = tuiCPUTicks(t, p)
	}
	start := time.Now()
	var maxRSS int64
	for time.Since(start) < window {
		maxRSS = max(maxRSS, tuiStatusKB(t, pid, "VmRSS"))
		time.Sleep(time.Second)
	}
	elapsed := time.Since(start)
	hz := tuiClockTicks(t)
	pct := func(ticks uint64) float64 { return 100 * float64(ticks) / hz / elapsed.Seconds() }
	hactlCPU := pct(tuiCPUTicks(t, pid) - cpu0)
	peak := tuiStatusKB(t, pid, "VmHWM")
	var agentCPU []string
	for _, h := range l.Hosts {
		agentCPU = append(agentCPU, fmt.Sprintf("%s %.1f%%", h, pct(tuiCPUTicks(t, agents[h])-agentCPU0[h])))
	}
	flaps := count.Load() - before
	t.Logf("%s: transition→screen median %v, min %v, max %v (from the second node's transition: median %v, max %v; to a Watch client: median %v, max %v; screen polled every 10 ms); hactl over %v: CPU %.2f%%, RSS max %d KiB, peak %d KiB; agents CPU %s; %d transitions during the window",
		name, lat[len(lat)/2], lat[0], lat[len(lat)-1], latLast[len(latLast)/2], latLast[len(latLast)-1], deliv[len(deliv)/2], deliv[len(deliv)-1], elapsed.Round(time.Millisecond), hactlCPU, maxRSS, peak, strings.Join(agentCPU, ", "), flaps)
	t.Logf("screen at the end of the window:\n%s", c.capture())
	return fmt.Sprintf("| %s | %v / %v | %v / %v | %.2f%% | %.1f / %.1f MiB | %s | %d |",
		name, lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond),
		latLast[len(latLast)/2].Round(time.Millisecond), latLast[len(latLast)-1].Round(time.Millisecond),
		hactlCPU, float64(maxRSS)/1024, float64(peak)/1024, strings.Join(agentCPU, ", "), flaps)
}

// tuiTransition is one transition an agent reported on its Watch stream.
type tuiTransition struct {
	node string
	to   hactlv1.State
	at   time.Time // the agent's timestamp
	recv time.Time // when this test's own Watch client received it
}

// tuiWatchTransitions streams host's events over its unix socket and sends every
// transition to out until the test ends.
func tuiWatchTransitions(t *testing.T, l *lab.Lab, host string, out chan<- tuiTransition, count *atomic.Int64) {
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
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done; conn.Close() })
	go func() {
		defer close(done)
		for {
			ev, err := stream.Recv()
			if err != nil {
				return
			}
			if tr := ev.GetTransition(); tr != nil {
				count.Add(1)
				select {
				case out <- tuiTransition{node: host, to: tr.GetTo(), at: ev.GetTime().AsTime(), recv: time.Now()}:
				default: // the buffer is full (nobody reads during the resource window): only counted
				}
			}
		}
	}()
}

func tuiDrain(ch <-chan tuiTransition) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// tuiAwaitTransitions returns each node's next transition to its state in want.
func tuiAwaitTransitions(t *testing.T, ch <-chan tuiTransition, want map[string]hactlv1.State, timeout time.Duration) map[string]tuiTransition {
	t.Helper()
	got := map[string]tuiTransition{}
	deadline := time.After(timeout)
	for len(got) < len(want) {
		select {
		case tr := <-ch:
			if _, seen := got[tr.node]; !seen && want[tr.node] == tr.to {
				got[tr.node] = tr
			}
		case <-deadline:
			t.Fatalf("timed out after %v waiting for the Watch streams to report %v (got %v)", timeout, want, got)
		}
	}
	return got
}

// tuiWaitScreenFast polls the screen every 10 ms until it shows master MASTER and backup
// BACKUP, and returns when the capture that first showed it returned.
func tuiWaitScreenFast(t *testing.T, c *tuiConsole, master, backup string, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := c.capture()
		now := time.Now()
		if tuiNodeState(s, master) == "MASTER" && tuiNodeState(s, backup) == "BACKUP" {
			return now
		}
		if now.After(deadline) {
			t.Fatalf("timed out after %v waiting for the screen to show %s MASTER and %s BACKUP:\n%s", timeout, master, backup, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tuiHactlCLI runs an hactl subcommand against the lab's agents over their unix sockets.
func tuiHactlCLI(t *testing.T, l *lab.Lab, args ...string) {
	t.Helper()
	var flags []string
	for _, h := range l.Hosts {
		flags = append(flags, "--agent", h+"=unix://"+l.APISocket(h))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, hactlBin, append(flags, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("hactl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func tuiCPUTicks(t *testing.T, pid int) uint64 {
	t.Helper()
	n, err := lab.CPUTicks(pid)
	if err != nil {
		t.Fatalf("CPU of pid %d: %v", pid, err)
	}
	return n
}

// tuiStatusKB reads a "Name: N kB" line of /proc/PID/status.
func tuiStatusKB(t *testing.T, pid int, name string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read status of pid %d: %v", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("/proc/%d/status %s: %v", pid, name, err)
			}
			return n
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, name)
	return 0
}

// tuiClockTicks is USER_HZ, the unit of /proc/PID/stat times.
func tuiClockTicks(t *testing.T) float64 {
	t.Helper()
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return 100 // what Linux uses on every architecture we build for
	}
	hz, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil || hz <= 0 {
		t.Fatalf("getconf CLK_TCK: %q", out)
	}
	return hz
}
