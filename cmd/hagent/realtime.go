package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// defaultRTPriority is the SCHED_RR priority hagent runs at unless --rt-priority or
// global_defs max_auto_priority asks for one: none. Real-time threads make the Go
// runtime's hand-offs between threads far dearer (a 10 000 packets/s flood of junk VRRP
// cost an agent 87% of a core at SCHED_RR against 21% at normal priority), so it is for
// the hosts that need it: sub-second advert_int on a host with busy neighbours.
const defaultRTPriority = 0

// rtCheck is how often the threads are checked for one that is not at the priority. A
// thread the runtime starts inherits SCHED_RR from the thread that cloned it, so the
// check should find none; it is the safety net for a thread cloned while the first
// pass ran, and it logs what it finds.
const rtCheck = time.Second

// runRealtime puts every thread of hagent under SCHED_RR at prio until ctx ends. prio
// 0 does nothing.
//
// Why: at a short advert_int a few tens of milliseconds without CPU are a failover. With
// two processes spinning on a loaded 2-core host, hagent at normal priority missed its
// Master_Down_Interval (36 ms at advert_int 0.01) about twice a second, keepalived 2.2.7
// four times a second. keepalived has vrrp_rt_priority / max_auto_priority for the same
// reason.
//
// Linux schedules threads, so each one is set, and without SCHED_RESET_ON_FORK: a
// thread the Go runtime starts later (a new M, which may run an instance's loop or
// hold a P the garbage collector's stop-the-world waits for) is cloned from one of
// these and inherits SCHED_RR. With the flag set on every thread (as before issue 16)
// each new M started at normal priority until a rescan found it, and one such thread
// starved by the CPU hogs stalled the master's adverts for 56 ms. Check and notify
// scripts are kept at normal priority where they are started instead
// (agent/script: the spawning thread sets the flag for the fork only).
//
// At real-time priority hagent also runs Go code on one CPU at a time (GOMAXPROCS 1,
// unless the environment sets GOMAXPROCS), as keepalived's one thread does: with a P per
// CPU, API clients (200 hactl watchers) kept every CPU busy at real-time priority for
// 25-45 ms at a time, which nothing at normal priority (nginx, sshd) and no other
// real-time task of equal priority can interrupt (issue 16: keepalived's master in the
// lab next door went silent with ours). The deadlines do not need a second P: the
// wake-ups run them between goroutines, a lead early, while the one P is busy.
func runRealtime(ctx context.Context, prio int, log *slog.Logger) {
	if prio == 0 {
		return
	}
	if _, err := setRealtime(prio); err != nil {
		log.Warn("real-time scheduling not available; running at normal priority", "priority", prio, "err", err)
		return
	}
	procs := runtime.GOMAXPROCS(0)
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
		procs = 1
	}
	log.Info("real-time scheduling", "policy", "SCHED_RR", "priority", prio, "gomaxprocs", procs)
	go func() {
		tick := time.NewTicker(rtCheck)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				n, err := setRealtime(prio)
				if err != nil {
					log.Warn("real-time scheduling of a thread", "err", err)
				} else if n > 0 {
					log.Warn("threads found at normal priority and raised", "threads", n, "priority", prio)
				}
			}
		}
	}()
}

// setRealtime sets SCHED_RR prio on every thread of the process that is not at it,
// repeating until a pass finds none (a thread cloned during a pass by a thread not yet
// set would otherwise be missed). It returns how many threads it changed.
func setRealtime(prio int) (int, error) {
	changed := 0
	for pass := 0; pass < 10; pass++ {
		n, err := setRealtimePass(prio)
		changed += n
		if err != nil || n == 0 {
			return changed, err
		}
	}
	return changed, nil
}

func setRealtimePass(prio int) (int, error) {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, fmt.Errorf("list threads: %w", err)
	}
	changed := 0
	for _, e := range entries {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cur, err := unix.SchedGetAttr(tid, 0)
		if errors.Is(err, unix.ESRCH) {
			continue // the thread exited meanwhile
		}
		if err == nil && cur.Policy == unix.SCHED_RR && cur.Priority == uint32(prio) && cur.Flags&unix.SCHED_FLAG_RESET_ON_FORK == 0 {
			continue
		}
		attr := &unix.SchedAttr{Policy: unix.SCHED_RR, Priority: uint32(prio)}
		if err := unix.SchedSetAttr(tid, attr, 0); err != nil {
			if errors.Is(err, unix.ESRCH) {
				continue
			}
			return changed, fmt.Errorf("SCHED_RR priority %d for thread %d: %w", prio, tid, err)
		}
		changed++
	}
	return changed, nil
}
