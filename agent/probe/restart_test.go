package probe

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRestartBringsProcessBack: the seed's "systemctl start nginx" as an
// option: the probe fails, the restart starts the process, the probe
// recovers.
func TestRestartBringsProcessBack(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	sleep, comm := sleepCopy(t)
	pidFile := filepath.Join(t.TempDir(), "started.pid")
	restart := writeScript(t, "start-nginx.sh", "#!/bin/sh\n"+sleep+" 1000 >/dev/null 2>&1 &\necho $! > "+pidFile+"\n")
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	p, err := NewProcess(NewProcHub(nil), ProcessSpec{
		Name:    "nginx",
		Process: comm,
		Restart: Restart{Command: restart, Attempts: 3, Backoff: 100 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, p)
	r.change(false, 2*time.Second)
	// The restarted process may be seen before the attempt's own result.
	var restarted, recovered bool
	for !restarted || !recovered {
		ev := r.next(3*time.Second, "restart result and recovery", func(ev Event) bool {
			return ev.Result.Kind == KindRestart || (ev.Change != nil && ev.Change.Healthy)
		})
		if ev.Result.Kind == KindRestart {
			if restarted || !ev.Result.OK || ev.Result.Attempt != 1 {
				t.Fatalf("restart result %+v", ev.Result)
			}
			restarted = true
		} else {
			recovered = true
		}
	}
	if p.restart.tried != 0 {
		// Read after the change was sent; the Run goroutine reset it first.
		t.Errorf("attempts not reset after recovery: %d", p.restart.tried)
	}
}

func TestRestartGivesUpAfterAttempts(t *testing.T) {
	t.Parallel()
	p, err := NewScript(ScriptSpec{
		Name:     "down",
		Script:   "/bin/false",
		Interval: 50 * time.Millisecond,
		Restart:  Restart{Command: `/bin/sh -c "echo cannot start; exit 1"`, Attempts: 2, Backoff: 100 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, p)
	isRestart := func(ev Event) bool { return ev.Result.Kind == KindRestart }
	for attempt := 1; attempt <= 2; attempt++ {
		ev := r.next(3*time.Second, "restart attempt", isRestart)
		if ev.Result.OK || ev.Result.Attempt != attempt || ev.Result.Output != "cannot start" {
			t.Fatalf("attempt %d: %+v", attempt, ev.Result)
		}
		if attempt == 2 && !strings.Contains(ev.Result.Err, "giving up") {
			t.Errorf("last attempt err = %q, want giving up", ev.Result.Err)
		}
	}
	r.quiet(500*time.Millisecond, "restart attempt or recovery", func(ev Event) bool {
		return isRestart(ev) || (ev.Change != nil && ev.Change.Healthy)
	})
	if p.Healthy() {
		t.Fatal("probe healthy after failed restarts")
	}
}
