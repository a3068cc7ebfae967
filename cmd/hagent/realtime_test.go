package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// threadPolicies returns each thread's scheduling attributes.
func threadPolicies(t *testing.T) map[int]*unix.SchedAttr {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]*unix.SchedAttr{}
	for _, e := range entries {
		tid, _ := strconv.Atoi(e.Name())
		if a, err := unix.SchedGetAttr(tid, 0); err == nil {
			out[tid] = a
		}
	}
	return out
}

// Threads the Go runtime starts after setRealtime are at SCHED_RR at once, not after a
// rescan (issue 16: with SCHED_RESET_ON_FORK on every thread a new runtime thread
// started at normal priority, and one starved by CPU hogs stalled the adverts).
func TestRealtimeNewThreadsInheritIt(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SYS_NICE)")
	}
	t.Cleanup(func() {
		for tid := range threadPolicies(t) {
			_ = unix.SchedSetAttr(tid, &unix.SchedAttr{Policy: unix.SCHED_NORMAL}, 0)
		}
	})
	if _, err := setRealtime(9); err != nil {
		t.Fatal(err)
	}
	before := threadPolicies(t)
	// Goroutines locked to their threads and blocked make the runtime start new
	// threads for the others.
	const n = 8
	var started, release sync.WaitGroup
	release.Add(1)
	for range n {
		started.Add(1)
		go func() {
			runtime.LockOSThread()
			started.Done()
			release.Wait()
		}()
	}
	started.Wait()
	after := threadPolicies(t)
	release.Done()
	fresh := 0
	for tid, a := range after {
		if _, ok := before[tid]; !ok {
			fresh++
		}
		if a.Policy != unix.SCHED_RR || a.Priority != 9 || a.Flags&unix.SCHED_FLAG_RESET_ON_FORK != 0 {
			t.Errorf("thread %d: policy %d priority %d flags %#x, want SCHED_RR 9 without RESET_ON_FORK", tid, a.Policy, a.Priority, a.Flags)
		}
	}
	if fresh == 0 {
		t.Fatalf("no thread was started during the test (%d before, %d after): it proves nothing", len(before), len(after))
	}
	t.Logf("%d threads before, %d started since, all SCHED_RR", len(before), fresh)
}

// At real-time priority the agent runs Go code on one CPU at a time, as keepalived's one
// thread (issue 16: with a P per CPU, API clients kept every CPU busy at real-time
// priority); GOMAXPROCS in the environment wins.
func TestRealtimeRunsGoOnOneCPU(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SYS_NICE)")
	}
	prev := runtime.GOMAXPROCS(0)
	if prev < 2 {
		t.Skip("one CPU: GOMAXPROCS is 1 anyway, the test proves nothing")
	}
	t.Cleanup(func() {
		runtime.GOMAXPROCS(prev)
		for tid := range threadPolicies(t) {
			_ = unix.SchedSetAttr(tid, &unix.SchedAttr{Policy: unix.SCHED_NORMAL}, 0)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Setenv("GOMAXPROCS", "")
	runRealtime(ctx, 9, log)
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Errorf("at real-time priority: GOMAXPROCS %d, want 1", n)
	}
	runtime.GOMAXPROCS(prev)
	t.Setenv("GOMAXPROCS", strconv.Itoa(prev))
	runRealtime(ctx, 9, log)
	if n := runtime.GOMAXPROCS(0); n != prev {
		t.Errorf("GOMAXPROCS=%d in the environment: %d, want it kept", prev, n)
	}
}
