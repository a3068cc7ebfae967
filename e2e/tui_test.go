package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/hagent-dev/hagent/lab"
)

// The console (hactl without a command) is driven as an operator would: the real
// binary in a tmux pane inside the client namespace, connected to both agents over TCP
// with mutual TLS, keys sent with send-keys and the screen read with capture-pane.

// TestTUIConsoleInLab is issue 6's end-to-end acceptance: the screen shows the roles,
// f + y swaps them (and the VIP really moves), c puts them back, t runs the failover
// test and shows its report, a stopped agent shows as UNREACHABLE and comes back, the
// console fits 80×24 when started there and when resized to it, and q leaves the lab up.
func TestTUIConsoleInLab(t *testing.T) {
	t.Parallel()
	l := lab.Start(t, lab.Options{APITCP: true})
	c := tuiStart(t, l, 120, 40)

	c.waitRoles("cenvm71", "cenvm72", 30*time.Second)
	c.waitScreen("the header to count both agents", 5*time.Second, func(s string) bool {
		return strings.Contains(s, "2/2 agents reachable")
	})

	// A fresh console at 80×24: everything fits, nothing wraps.
	small := tuiStart(t, l, 80, 24)
	small.waitRoles("cenvm71", "cenvm72", 20*time.Second)
	tuiCheckFits(t, small.capture(), 80, 24)
	small.quit()

	// Forced failover: the dialog names the move, y confirms.
	c.send("f")
	c.waitScreen("the failover dialog naming cenvm71 → cenvm72", 5*time.Second, func(s string) bool {
		return strings.Contains(s, "Forced failover") && strings.Contains(s, "VI_1: cenvm71 → cenvm72")
	})
	c.send("y")
	c.waitRoles("cenvm72", "cenvm71", 10*time.Second)
	tuiWaitVIPOn(t, l, "cenvm72", "cenvm71")

	// c clears the override: cenvm71 (priority 100) preempts again.
	c.send("c")
	c.waitRoles("cenvm71", "cenvm72", 10*time.Second)
	tuiWaitVIPOn(t, l, "cenvm71", "cenvm72")

	// t: confirm, then the report with the client's gap and failed requests, probed by
	// hactl itself from the client namespace.
	c.send("t")
	c.waitScreen("the failover test confirmation", 5*time.Second, func(s string) bool {
		return strings.Contains(s, "Run the failover test on VI_1?")
	})
	c.send("y")
	report := c.waitScreen("the failover test report", 90*time.Second, func(s string) bool {
		return strings.Contains(s, "Failover test · VI_1") && strings.Contains(s, "enter/esc close")
	})
	t.Logf("failover test report on screen:\n%s", report)
	if strings.Contains(report, "FAILED") {
		t.Errorf("the failover test failed:\n%s", report)
	}
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`failover +cenvm71 → cenvm72: VIP moved after \S+ ms`),
		regexp.MustCompile(`failback +cenvm72 → cenvm71: VIP moved after \S+ ms`),
		regexp.MustCompile(`client gap \d+ ms`),
		regexp.MustCompile(`requests \d+ sent, \d+ failed`),
	} {
		if !re.MatchString(report) {
			t.Errorf("the failover test report lacks %q:\n%s", re, report)
		}
	}
	c.send("Escape")
	c.waitRoles("cenvm71", "cenvm72", 10*time.Second) // the test failed back

	// An agent that goes away is shown as such within seconds, and comes back.
	l.StopAgent("cenvm72")
	c.waitScreen("cenvm72 UNREACHABLE", 5*time.Second, func(s string) bool {
		return tuiNodeState(s, "cenvm72") == "UNREACHABLE" && strings.Contains(s, "1/2 agents reachable")
	})
	l.StartAgent("cenvm72")
	c.waitRoles("cenvm71", "cenvm72", 20*time.Second)
	c.waitScreen("both agents reachable again", 5*time.Second, func(s string) bool {
		return strings.Contains(s, "2/2 agents reachable")
	})

	// Resized to 80×24 while running: redrawn to fit, nothing left over.
	c.tmux("resize-window", "-t", c.target, "-x", "80", "-y", "24")
	screen := c.waitScreen("the console redrawn at 80×24", 5*time.Second, func(s string) bool {
		return tuiMaxWidth(s) <= 80 && tuiNodeState(s, "cenvm71") == "MASTER"
	})
	tuiCheckFits(t, screen, 80, 24)

	c.quit()
	if _, err := os.Stat(filepath.Join("/run/netns", l.NetNS("client"))); err != nil {
		t.Errorf("the lab went away with the console: %v", err)
	}
	for _, h := range l.Hosts {
		if l.AgentPID(h) == 0 {
			t.Errorf("the agent on %s is not running after the console quit", h)
		}
	}
}

// tuiConsole is hactl running in a pane of a private tmux server.
type tuiConsole struct {
	t      *testing.T
	socket string // tmux -L name: a server of our own, nobody else's sessions
	target string
	// exitFile receives hactl's exit status: tmux 3.3's pane_dead_status is not
	// reliably set when a pane dies.
	exitFile string
}

// tuiStart runs hactl at width×height in the lab's client namespace, connected to
// every agent over TCP with the lab's client certificate. The tmux server is killed at
// cleanup; a failing test logs the last screen.
func tuiStart(t *testing.T, l *lab.Lab, width, height int) *tuiConsole {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	c := &tuiConsole{t: t, socket: fmt.Sprintf("hagent-e2e-tui-%d-%s", os.Getpid(), hex.EncodeToString(b[:])), target: "hactl",
		exitFile: filepath.Join(t.TempDir(), "exit")}
	// Our own config: the pane stays after hactl exits so its last screen can be read.
	conf := filepath.Join(t.TempDir(), "tmux.conf")
	if err := os.WriteFile(conf, []byte("set -g remain-on-exit on\nset -g history-limit 100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pki := l.PKIDir()
	args := []string{"ip", "netns", "exec", l.NetNS("client"), hactlBin}
	for _, h := range l.Hosts {
		args = append(args, "--agent", fmt.Sprintf("%s=tcp://192.168.188.%s:9771", h, strings.TrimPrefix(h, "cenvm")))
	}
	args = append(args, "--tls-cert", filepath.Join(pki, "client.crt"), "--tls-key", filepath.Join(pki, "client.key"),
		"--tls-ca", filepath.Join(pki, "ca.crt"))
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = "'" + a + "'" // paths and flags here never contain a quote
	}
	t.Cleanup(func() {
		if t.Failed() {
			if out, err := c.run("capture-pane", "-p", "-t", c.target); err == nil {
				t.Logf("---- last screen of tmux %s ----\n%s", c.socket, out)
			}
		}
		pid := c.hactlPIDOrZero()
		_, _ = c.run("kill-server")
		tuiKillHactl(pid)
	})
	c.tmux("-f", conf, "new-session", "-d", "-s", c.target, "-x", strconv.Itoa(width), "-y", strconv.Itoa(height),
		strings.Join(quoted, " ")+"; echo $? > '"+c.exitFile+"'")
	return c
}

func (c *tuiConsole) run(args ...string) (string, error) {
	cmd := exec.Command("tmux", append([]string{"-L", c.socket}, args...)...)
	// Never the tmux server of whoever runs the tests, even from inside tmux.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "TMUX=") })
	if os.Getenv("TERM") == "" {
		cmd.Env = append(cmd.Env, "TERM=xterm-256color")
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("tmux %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// tmux runs a tmux command on our server and fails the test if it fails.
func (c *tuiConsole) tmux(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

func (c *tuiConsole) send(key string) {
	c.t.Helper()
	c.tmux("send-keys", "-t", c.target, key)
}

func (c *tuiConsole) capture() string {
	c.t.Helper()
	return c.tmux("capture-pane", "-p", "-t", c.target)
}

// waitScreen polls the screen every 20 ms until cond holds and returns that screen; it
// fails the test with the last screen after timeout.
func (c *tuiConsole) waitScreen(what string, timeout time.Duration, cond func(string) bool) string {
	c.t.Helper()
	var screen string
	err := lab.Poll(func() bool {
		screen = c.capture()
		return cond(screen)
	}, timeout)
	if err != nil {
		c.t.Fatalf("%v waiting for the screen to show %s; it shows:\n%s", err, what, screen)
	}
	return screen
}

// waitRoles waits for the dashboard to show master as MASTER and backup as BACKUP.
func (c *tuiConsole) waitRoles(master, backup string, timeout time.Duration) string {
	c.t.Helper()
	return c.waitScreen(fmt.Sprintf("%s MASTER and %s BACKUP", master, backup), timeout, func(s string) bool {
		return tuiNodeState(s, master) == "MASTER" && tuiNodeState(s, backup) == "BACKUP"
	})
}

// paneStatus is "alive", or "exit N" once the pane's process has ended.
func (c *tuiConsole) paneStatus() string {
	c.t.Helper()
	b, err := os.ReadFile(c.exitFile)
	if err != nil || !strings.HasSuffix(string(b), "\n") {
		return "alive"
	}
	return "exit " + strings.TrimSpace(string(b))
}

// quit sends q and waits for hactl to exit with status 0.
func (c *tuiConsole) quit() {
	c.t.Helper()
	c.send("q")
	var st string
	if err := lab.Poll(func() bool { st = c.paneStatus(); return st != "alive" }, 5*time.Second); err != nil {
		c.t.Fatalf("%v waiting for hactl to exit after q", err)
	}
	if st != "exit 0" {
		c.t.Fatalf("hactl ended with %s after q; screen:\n%s", st, c.capture())
	}
}

// panePIDOrZero is the pid of the pane's process, 0 if tmux cannot tell.
func (c *tuiConsole) panePIDOrZero() int {
	out, err := c.run("list-panes", "-t", c.target, "-F", "#{pane_pid}")
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(out))
	return pid
}

// hactlPIDOrZero is the pid of hactl in the pane: the pane's process itself when the
// shell and ip exec'd it, else its child of that name; 0 if there is none.
func (c *tuiConsole) hactlPIDOrZero() int {
	pane := c.panePIDOrZero()
	if pane == 0 {
		return 0
	}
	for _, pid := range append([]int{pane}, tuiChildren(pane)...) {
		if tuiIsHactl(pid) {
			return pid
		}
	}
	return 0
}

// hactlPID is hactlPIDOrZero that fails the test when hactl is not running.
func (c *tuiConsole) hactlPID() int {
	c.t.Helper()
	pid := c.hactlPIDOrZero()
	if pid == 0 {
		c.t.Fatalf("no hactl process in tmux pane %s", c.target)
	}
	return pid
}

func tuiIsHactl(pid int) bool {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return err == nil && strings.TrimSpace(string(comm)) == "hactl"
}

func tuiChildren(pid int) []int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// tuiKillHactl SIGKILLs our hactl if it outlived its tmux server (which normally
// takes it along with a SIGHUP).
func tuiKillHactl(pid int) {
	if pid <= 0 || !tuiIsHactl(pid) {
		return
	}
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

var tuiStates = []string{"MASTER", "BACKUP", "FAULT", "INIT", "STOP", "UNREACHABLE"}

// tuiNodeState is the state badge of node's first row on the screen (the dashboard is
// drawn before the timing pane), "" if there is none.
func tuiNodeState(screen, node string) string {
	for _, line := range strings.Split(screen, "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "▸"))
		if len(f) >= 2 && f[0] == node && slices.Contains(tuiStates, f[1]) {
			return f[1]
		}
	}
	return ""
}

// tuiMaxWidth is the widest line of screen in terminal cells.
func tuiMaxWidth(screen string) int {
	w := 0
	for _, line := range strings.Split(screen, "\n") {
		w = max(w, lipgloss.Width(line))
	}
	return w
}

// tuiCheckFits fails the test unless the screen is exactly height lines of at most
// width cells, with the header, one dashboard row per node, the event log and the
// footer each drawn once (a redraw that went wrong repeats or wraps them).
func tuiCheckFits(t *testing.T, screen string, width, height int) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(screen, "\n"), "\n")
	if len(lines) != height {
		t.Errorf("screen has %d lines, want %d:\n%s", len(lines), height, screen)
	}
	if w := tuiMaxWidth(screen); w > width {
		t.Errorf("screen has a line of %d cells, want at most %d:\n%s", w, width, screen)
	}
	if !strings.HasPrefix(lines[0], "hactl ") {
		t.Errorf("first line is not the header:\n%s", screen)
	}
	if !strings.Contains(lines[len(lines)-1], "f failover") {
		t.Errorf("last line is not the key footer:\n%s", screen)
	}
	count := func(re string) int { return len(regexp.MustCompile(re).FindAllString(screen, -1)) }
	for re, want := range map[string]int{
		`(?m)^hactl `:               1,
		`(?m)^[▸ ] cenvm71 +[A-Z]+`: 1,
		`(?m)^[▸ ] cenvm72 +[A-Z]+`: 1,
		`(?m)^Events`:               1,
		`(?m)^VI_1 +VRID 51`:        1,
	} {
		if n := count(re); n != want {
			t.Errorf("%q appears %d times on the screen, want %d:\n%s", re, n, want, screen)
		}
	}
}

// tuiWaitVIPOn waits until `ip -n` shows the VIP on holder's eth0 and not on other's.
func tuiWaitVIPOn(t *testing.T, l *lab.Lab, holder, other string) {
	t.Helper()
	has := func(host string) bool {
		out, err := exec.Command("ip", "-n", l.NetNS(host), "-4", "-o", "addr", "show", "dev", "eth0").CombinedOutput()
		if err != nil {
			t.Fatalf("ip -n %s addr: %v: %s", l.NetNS(host), err, out)
		}
		return strings.Contains(string(out), " "+lab.VIP+"/")
	}
	l.WaitFor(func() bool { return has(holder) && !has(other) }, 5*time.Second,
		"the VIP %s on %s only (ip -n ... addr)", lab.VIP, holder)
}
