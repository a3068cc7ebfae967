// Package lab drives lab/lab.sh from Go tests: the seed's two-host hot-standby
// topology (cenvm71, cenvm72, a client, a bridge) in network namespaces with real
// nginx and hagent or real keepalived on each host, plus a client-side prober that
// measures what a user of the VIP sees during a failover.
//
// Every Lab gets its own namespace prefix and state dir, so tests can run labs in
// parallel. The lab is torn down with t.Cleanup, and on failure the daemons' logs
// are written to the test log. Methods that act on the lab call t.Fatal on error,
// so call them from the test goroutine.
package lab

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// VIP is the seed's virtual address.
const VIP = "192.168.188.109"

// Daemon is what runs on a lab host as the VRRP daemon.
type Daemon string

// The daemons lab.sh can run on a host.
const (
	Hagent     Daemon = "hagent"
	Keepalived Daemon = "keepalived" // real keepalived 2.2.7, --vrrp only
	NoDaemon   Daemon = "none"
)

// Options choose what the lab runs. The zero value is the seed: cenvm71 and cenvm72
// running hagent with the seed's configs.
type Options struct {
	// Hosts are the lab hosts: cenvm71, cenvm72 and optionally cenvm73.
	Hosts []string
	// Daemon runs on every host not listed in Daemons; empty means Hagent.
	Daemon  Daemon
	Daemons map[string]Daemon
	// Configs maps a host to a keepalived.conf used instead of the seed's. lab.sh
	// replaces @HOSTDIR@ in it with the host's state dir (where check_ng.sh is).
	Configs map[string]string
	// Deferred hosts get everything at Up but their daemon, which StartAgent starts.
	Deferred []string
	// APITCP adds hagent's mTLS TCP listener (tcp://192.168.188.7x:9771).
	APITCP bool
	// Eth1 gives every host and the client a second interface, eth1 on a second
	// bridge (192.168.190.0/24), e.g. for more VRIDs than one interface allows.
	Eth1 bool
	// Hagent is the agent binary; default $HAGENT, else bin/hagent in the repo.
	Hagent string
	// Env is extra environment for lab.sh (e.g. LAB_FAIL_AT=nginx).
	Env []string
}

// Lab is one running lab.
type Lab struct {
	Prefix string   // namespace prefix, e.g. "lq3x-"
	State  string   // state dir: <State>/<host>/agent.log, agent.pid, ...
	Hosts  []string // host names

	t      testing.TB
	script string
	env    []string
}

// Start builds a lab and fails the test if it cannot. Teardown is registered with
// t.Cleanup.
func Start(t testing.TB, opts Options) *Lab {
	t.Helper()
	l := New(t, opts)
	if err := l.Up(); err != nil {
		t.Fatalf("lab up: %v", err)
	}
	return l
}

// New prepares a lab without building it, and registers its teardown (and the
// dump of the daemons' logs if the test fails) with t.Cleanup.
func New(t testing.TB, opts Options) *Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the lab needs root (network namespaces)")
	}
	_, self, _, _ := runtime.Caller(0)
	dir := filepath.Dir(self)
	if len(opts.Hosts) == 0 {
		opts.Hosts = []string{"cenvm71", "cenvm72"}
	}
	prefix := fmt.Sprintf("l%s-", randomName(4))
	l := &Lab{
		Prefix: prefix,
		State:  "/run/hagent-lab/" + prefix,
		Hosts:  opts.Hosts,
		t:      t,
		script: filepath.Join(dir, "lab.sh"),
	}
	hagent := opts.Hagent
	if hagent == "" {
		hagent = os.Getenv("HAGENT")
	}
	if hagent == "" {
		hagent = filepath.Join(filepath.Dir(dir), "bin", "hagent")
	}
	var nums []string
	env := []string{"LAB_PREFIX=" + prefix, "LAB_STATE=" + l.State, "HAGENT=" + hagent}
	for _, h := range opts.Hosts {
		n := hostNum(h)
		nums = append(nums, n)
		d := opts.Daemon
		if hd, ok := opts.Daemons[h]; ok {
			d = hd
		}
		if d == "" {
			d = Hagent
		}
		env = append(env, "LAB_DAEMON_"+n+"="+string(d))
		if c, ok := opts.Configs[h]; ok {
			abs, err := filepath.Abs(c)
			if err != nil {
				t.Fatalf("config for %s: %v", h, err)
			}
			env = append(env, "LAB_CONF_"+n+"="+abs)
		}
	}
	for _, h := range opts.Deferred {
		env = append(env, "LAB_DEFER_"+hostNum(h)+"=1")
	}
	env = append(env, "LAB_HOSTS="+strings.Join(nums, " "))
	if opts.APITCP {
		env = append(env, "LAB_API_TCP=1")
	}
	if opts.Eth1 {
		env = append(env, "LAB_ETH1=1")
	}
	l.env = append(env, opts.Env...)

	t.Cleanup(func() {
		if err := l.Down(); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	// Registered after Down, so it runs before it while the logs still exist.
	t.Cleanup(func() {
		if t.Failed() {
			for _, h := range l.Hosts {
				t.Logf("---- %s agent.log (tail) ----\n%s", h, tail(l.AgentLog(h), 150))
			}
		}
	})
	// Runs first: a data race an agent reported fails the test.
	t.Cleanup(func() { l.checkRaces() })
	return l
}

// raceReport is how the race detector of a binary built with -race starts a report,
// on the agent's stderr (agent.log).
const raceReport = "WARNING: DATA RACE"

// checkRaces fails the test for every data race the agents reported. With
// HAGENT_RACE=1 (the agents were built with -race) it first stops them as `systemctl
// stop` does, so that races of the shutdown path are reported too; otherwise a
// report is rare enough that reading the logs costs nothing.
func (l *Lab) checkRaces() {
	if os.Getenv("HAGENT_RACE") == "1" {
		for _, h := range l.Hosts {
			if pid := l.AgentPID(h); pid != 0 {
				_ = syscall.Kill(pid, syscall.SIGTERM)
			}
		}
		for _, h := range l.Hosts {
			pid := readPIDFile(filepath.Join(l.HostDir(h), "agent.pid"))
			// Bounded: a stuck shutdown is killed by lab.sh down.
			_ = Poll(func() bool { return !alive(pid) }, 5*time.Second)
		}
	}
	for _, h := range l.Hosts {
		if reports := RaceReports(l.AgentLog(h)); len(reports) > 0 {
			l.t.Errorf("the agent on %s reported %d data race(s); the first:\n%s", h, len(reports), reports[0])
		}
	}
}

// RaceReports returns the race detector's reports in a log, each up to the
// detector's closing line of '=' signs.
func RaceReports(log string) []string {
	var out []string
	for {
		i := strings.Index(log, raceReport)
		if i < 0 {
			return out
		}
		log = log[i:]
		end := strings.Index(log, "\n==================")
		if end < 0 {
			end = len(log)
		}
		out = append(out, log[:end])
		log = log[end:]
		if len(log) > 0 {
			log = log[1:]
		}
	}
}

// Up runs `lab.sh up`.
func (l *Lab) Up() error {
	_, err := l.run(60*time.Second, "up")
	return err
}

// Down runs `lab.sh down`; it is safe to call more than once.
func (l *Lab) Down() error {
	_, err := l.run(60*time.Second, "down")
	return err
}

// Run runs a lab.sh subcommand and returns its stdout+stderr.
func (l *Lab) Run(args ...string) (string, error) {
	return l.run(30*time.Second, args...)
}

func (l *Lab) run(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{l.script}, args...)...)
	cmd.Env = append(os.Environ(), l.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("lab.sh %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (l *Lab) must(args ...string) string {
	l.t.Helper()
	out, err := l.Run(args...)
	if err != nil {
		l.t.Fatal(err)
	}
	return out
}

// Exec runs a command inside host ("cenvm71", or "client") and returns its output.
func (l *Lab) Exec(host string, args ...string) (string, error) {
	return l.Run(append([]string{"exec", host}, args...)...)
}

// NetNS is the name of host's network namespace ("client" and "sw" work too).
func (l *Lab) NetNS(host string) string { return l.Prefix + host }

// HostDir is host's state dir.
func (l *Lab) HostDir(host string) string { return filepath.Join(l.State, host) }

// APISocket is the path of host's agent unix socket (use as unix://PATH).
func (l *Lab) APISocket(host string) string { return filepath.Join(l.HostDir(host), "api.sock") }

// PKIDir holds ca.crt, <host>.crt/.key and client.crt/.key for the mTLS API.
func (l *Lab) PKIDir() string { return filepath.Join(l.State, "pki") }

// AgentPID is the pid of host's daemon, or 0 if it is not running.
func (l *Lab) AgentPID(host string) int {
	pid := readPIDFile(filepath.Join(l.HostDir(host), "agent.pid"))
	if !alive(pid) {
		return 0
	}
	return pid
}

// NginxPIDs are the pids of host's nginx master and workers.
func (l *Lab) NginxPIDs(host string) []int {
	master := readPIDFile(filepath.Join(l.HostDir(host), "nginx.pid"))
	if !alive(master) {
		return nil
	}
	return append([]int{master}, children(master)...)
}

// AgentLog returns host's daemon log ("" if there is none).
func (l *Lab) AgentLog(host string) string {
	b, _ := os.ReadFile(filepath.Join(l.HostDir(host), "agent.log"))
	return string(b)
}

// VIPHolders returns the hosts that have the VIP on eth0, sorted.
func (l *Lab) VIPHolders() []string {
	l.t.Helper()
	return strings.Fields(l.must("vip-holder"))
}

// Curl fetches http://VIP/ from the client with a 1 s timeout and returns the body.
func (l *Lab) Curl() (string, error) {
	return l.Run("curl")
}

// StartAgent starts host's daemon and returns the time just before it was started.
func (l *Lab) StartAgent(host string) time.Time {
	l.t.Helper()
	ev := time.Now()
	l.must("start", host)
	return ev
}

// StopAgent sends SIGTERM to host's daemon (what `systemctl stop` does), waits for
// it to exit, and returns the time just before the signal.
func (l *Lab) StopAgent(host string) time.Time {
	l.t.Helper()
	pid := l.AgentPID(host)
	if pid == 0 {
		l.t.Fatalf("stop %s: no daemon running", host)
	}
	ev := time.Now()
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		l.t.Fatalf("stop %s: SIGTERM %d: %v", host, pid, err)
	}
	l.WaitFor(func() bool { return !alive(pid) }, 15*time.Second, "daemon on %s (pid %d) to exit after SIGTERM", host, pid)
	return ev
}

// KillAgent crashes host's daemon: every process of it is stopped, then SIGKILLed,
// so nothing gets to clean up. It returns the time just before.
func (l *Lab) KillAgent(host string) time.Time {
	l.t.Helper()
	ev := time.Now()
	l.must("kill", host)
	return ev
}

// Pause stops the daemons of hosts with SIGSTOP (each one's main process and its
// children: keepalived's VRRP child, a running script), one right after the other, as a
// hypervisor stops a virtual machine's vCPUs: nothing of them runs until Resume (or the
// test's end, if it fails before: the lab could not stop a stopped daemon).
func (l *Lab) Pause(hosts ...string) {
	l.t.Helper()
	l.signalDaemons(syscall.SIGSTOP, hosts)
}

// Resume continues the daemons Pause stopped, in the order of hosts.
func (l *Lab) Resume(hosts ...string) {
	l.t.Helper()
	l.signalDaemons(syscall.SIGCONT, hosts)
}

func (l *Lab) signalDaemons(sig syscall.Signal, hosts []string) {
	l.t.Helper()
	var pids []int
	for _, h := range hosts {
		pid := l.AgentPID(h)
		if pid == 0 {
			l.t.Fatalf("%v: no daemon running on %s", sig, h)
		}
		pids = append(append(pids, pid), children(pid)...)
	}
	if sig == syscall.SIGSTOP {
		l.t.Cleanup(func() {
			for _, pid := range pids {
				syscall.Kill(pid, syscall.SIGCONT) //nolint:errcheck // gone is fine
			}
		})
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil && err != syscall.ESRCH {
			l.t.Fatalf("%v to pid %d: %v", sig, pid, err)
		}
	}
}

// KillNginx SIGKILLs host's nginx master and workers and returns the time just
// before the signal.
func (l *Lab) KillNginx(host string) time.Time {
	l.t.Helper()
	pids := l.NginxPIDs(host)
	if len(pids) == 0 {
		l.t.Fatalf("kill nginx on %s: not running", host)
	}
	ev := time.Now()
	for _, p := range pids {
		if err := syscall.Kill(p, syscall.SIGKILL); err != nil {
			l.t.Fatalf("kill nginx on %s: pid %d: %v", host, p, err)
		}
	}
	return ev
}

// StartNginx starts host's nginx.
func (l *Lab) StartNginx(host string) { l.t.Helper(); l.must("nginx-start", host) }

// BreakNginx makes every later start of host's nginx fail (its config is moved
// away), so the check script cannot restart it. FixNginx undoes it.
func (l *Lab) BreakNginx(host string) { l.t.Helper(); l.must("nginx-break", host) }

// FixNginx undoes BreakNginx.
func (l *Lab) FixNginx(host string) { l.t.Helper(); l.must("nginx-fix", host) }

// LinkDown sets host's eth0 down and returns the time the command returned.
func (l *Lab) LinkDown(host string) time.Time {
	l.t.Helper()
	l.must("link", host, "down")
	return time.Now()
}

// LinkUp sets host's eth0 up and returns the time the command returned.
func (l *Lab) LinkUp(host string) time.Time {
	l.t.Helper()
	l.must("link", host, "up")
	return time.Now()
}

// WaitFor polls cond every 20 ms until it holds, and fails the test with "timed out
// after D waiting for <msg>" if it does not within timeout.
func (l *Lab) WaitFor(cond func() bool, timeout time.Duration, format string, args ...any) {
	l.t.Helper()
	if err := Poll(cond, timeout); err != nil {
		l.t.Fatalf("%v waiting for %s", err, fmt.Sprintf(format, args...))
	}
}

// Poll calls cond every 20 ms until it returns true or timeout passes.
func Poll(cond func() bool, timeout time.Duration) error {
	return PollEvery(cond, 20*time.Millisecond, timeout)
}

// PollEvery calls cond every interval until it returns true or timeout passes.
func PollEvery(cond func() bool, interval, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v", timeout)
		}
		time.Sleep(interval)
	}
	return nil
}

// Serves reports whether exactly host holds the VIP and the client gets its page.
func (l *Lab) Serves(host string) bool {
	l.t.Helper()
	if !slices.Equal(l.VIPHolders(), []string{host}) {
		return false
	}
	body, err := l.Curl()
	return err == nil && body == host
}

func hostNum(host string) string { return strings.TrimPrefix(host, "cenvm") }

func randomName(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[rand.IntN(len(letters))]
	}
	return string(b)
}

func tail(s string, lines int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}
