package script

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// allThreads sets attr on every thread of the test process and returns a function
// that puts them back at normal scheduling.
func allThreads(t *testing.T, attr unix.SchedAttr) {
	t.Helper()
	set := func(a unix.SchedAttr) {
		entries, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			tid, _ := strconv.Atoi(e.Name())
			if err := unix.SchedSetAttr(tid, &a, 0); err != nil && err != unix.ESRCH {
				t.Fatalf("sched_setattr thread %d: %v", tid, err)
			}
		}
	}
	set(attr)
	t.Cleanup(func() { set(unix.SchedAttr{Policy: unix.SCHED_NORMAL}) })
}

// A check script started by an agent whose threads run at SCHED_RR (without
// SCHED_RESET_ON_FORK, issue 16) runs at normal priority, and the agent's threads
// stay at SCHED_RR without the flag, so the threads the runtime clones from them
// inherit real-time priority.
func TestScriptRunsAtNormalPriorityUnderRealtimeAgent(t *testing.T) {
	requireRoot(t)
	allThreads(t, unix.SchedAttr{Policy: unix.SCHED_RR, Priority: 7})
	// Field 41 of /proc/PID/stat is the policy (0 SCHED_OTHER, 2 SCHED_RR), field 40
	// the real-time priority; awk reads its own.
	cmd, err := ParseArgv([]string{"/usr/bin/awk", "{print $40, $41}", "/proc/self/stat"}, Own())
	if err != nil {
		t.Fatal(err)
	}
	withChrt := chrtPath
	t.Cleanup(func() { chrtPath = withChrt })
	if withChrt() == "" {
		t.Log("no chrt on this host: only the SCHED_RESET_ON_FORK fallback is tested")
	}
	for _, way := range []string{"chrt", "reset on fork"} {
		chrtPath = withChrt
		if way != "chrt" {
			chrtPath = func() string { return "" }
		}
		for range 20 { // on whichever threads the runner lands
			out, failure := cmd.Run(context.Background(), 5*time.Second)
			if failure != "" || out != "0 0" {
				t.Fatalf("%s: script's rt_priority and policy = %q (failure %q), want \"0 0\" (SCHED_OTHER)", way, out, failure)
			}
		}
	}
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		tid, _ := strconv.Atoi(e.Name())
		a, err := unix.SchedGetAttr(tid, 0)
		if err != nil {
			continue
		}
		if a.Policy != unix.SCHED_RR || a.Priority != 7 || a.Flags&unix.SCHED_FLAG_RESET_ON_FORK != 0 {
			t.Errorf("thread %d after running scripts: policy %d priority %d flags %#x, want SCHED_RR 7 without RESET_ON_FORK", tid, a.Policy, a.Priority, a.Flags)
		}
	}
}
