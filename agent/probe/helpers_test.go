package probe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// running is a probe started by a test, with its events.
type running struct {
	t      *testing.T
	events chan Event
	cancel context.CancelFunc
	done   chan struct{}
	last   Event // the last event next returned
}

// start runs p until the test ends; Run must return within 2s of cancel.
func start(t *testing.T, p Probe) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, events: make(chan Event, 256), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		p.Run(ctx, r.events)
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *running) stop() {
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(2 * time.Second):
		r.t.Errorf("Run did not return within 2s of cancel")
	}
}

// next returns the next event matching keep, failing after within.
func (r *running) next(within time.Duration, what string, keep func(Event) bool) Event {
	r.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case ev := <-r.events:
			r.t.Logf("event: ok=%v kind=%v out=%q err=%q change=%+v", ev.Result.OK, ev.Result.Kind, ev.Result.Output, ev.Result.Err, ev.Change)
			if keep(ev) {
				r.last = ev
				return ev
			}
		case <-deadline:
			r.t.Fatalf("no %s within %v", what, within)
		}
	}
}

// change waits for a state change to healthy.
func (r *running) change(healthy bool, within time.Duration) *StateChange {
	r.t.Helper()
	ev := r.next(within, stateName(healthy)+" state change", func(ev Event) bool {
		return ev.Change != nil && ev.Change.Healthy == healthy
	})
	return ev.Change
}

// result waits for a check result (not a restart, not the initial event).
func (r *running) result(within time.Duration) Result {
	r.t.Helper()
	return r.next(within, "check result", func(ev Event) bool {
		return ev.Result.Kind != KindRestart && (ev.Change == nil || ev.Change.Reason != "initial state")
	}).Result
}

// quiet asserts that no event matching keep arrives for d.
func (r *running) quiet(d time.Duration, what string, keep func(Event) bool) {
	r.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev := <-r.events:
			if keep(ev) {
				r.t.Fatalf("unexpected %s: %+v", what, ev)
			}
		case <-deadline:
			return
		}
	}
}

func stateName(healthy bool) string {
	if healthy {
		return "healthy"
	}
	return "FAILED"
}

func randSuffix(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)[:n]
}

// writeScript writes an executable file into a temp dir.
func writeScript(t *testing.T, name, body string) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), name+".src")
	if err := os.WriteFile(src, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return installExecutable(t, src, name)
}

// installExecutable copies src to an executable file in a temp dir. The copy
// is written by another process: a file this process had open for writing
// could be inherited by a concurrent fork and make exec fail with ETXTBSY.
func installExecutable(t *testing.T, src, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	run(t, "install", "-m", "0755", src, dst)
	return dst
}

// sleepCopy copies /bin/sleep to a unique name (15 bytes, the comm limit)
// so probes never match a real process.
func sleepCopy(t *testing.T) (path, comm string) {
	t.Helper()
	comm = "nginxtest-" + randSuffix(t, 5)
	return installExecutable(t, "/bin/sleep", comm), comm
}

// startProc starts a command and kills it (by PID) when the test ends.
func startProc(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// processGone reports whether pid no longer runs (gone or a zombie).
func processGone(pid int) bool {
	st, err := readProcStat(pid)
	return err != nil || st.state == 'Z' || st.state == 'X'
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// netnsAdd creates a named network namespace, removed when the test ends.
func netnsAdd(t *testing.T) string {
	t.Helper()
	requireRoot(t)
	name := "probe-" + strings.ToLower(randSuffix(t, 8))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	return name
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// lastOutput is the output of the newest recorded result of the probe.
func (r *running) lastOutput() string { return r.last.Result.Output }
