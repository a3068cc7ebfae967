package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
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

// rtRescan is how often threads the Go runtime started since are given the priority. A
// new thread may be the one that runs an instance's loop next, and at normal priority
// it can wait behind busy neighbours for longer than a 10 ms advert interval's
// Master_Down_Interval; listing /proc/self/task costs some 20 µs.
const rtRescan = 10 * time.Millisecond

// runRealtime puts every thread of hagent under SCHED_RR at prio, and keeps doing so for
// the threads the Go runtime starts later, until ctx ends. prio 0 does nothing.
//
// Why: at a short advert_int a few tens of milliseconds without CPU are a failover. With
// two processes spinning on a loaded 2-core host, hagent at normal priority missed its
// Master_Down_Interval (36 ms at advert_int 0.01) about twice a second, keepalived 2.2.7
// four times a second; at SCHED_RR hagent missed none. keepalived has vrrp_rt_priority /
// max_auto_priority for the same reason.
//
// Linux schedules threads, so each one is set. SCHED_RESET_ON_FORK keeps the check and
// notify scripts hagent starts at normal priority (a runaway script must not run at
// real-time priority); it also means a new runtime thread starts at normal priority,
// which is why the threads are rescanned.
func runRealtime(ctx context.Context, prio int, log *slog.Logger) {
	if prio == 0 {
		return
	}
	done := map[int]bool{}
	if err := setRealtime(prio, done); err != nil {
		log.Warn("real-time scheduling not available; running at normal priority", "priority", prio, "err", err)
		return
	}
	log.Info("real-time scheduling", "policy", "SCHED_RR", "priority", prio)
	go func() {
		tick := time.NewTicker(rtRescan)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if err := setRealtime(prio, done); err != nil {
					log.Warn("real-time scheduling of a new thread", "err", err)
				}
			}
		}
	}()
}

// setRealtime sets SCHED_RR on every thread of the process not in done, and records them.
func setRealtime(prio int, done map[int]bool) error {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("list threads: %w", err)
	}
	seen := make(map[int]bool, len(entries))
	for _, e := range entries {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		seen[tid] = true
		if done[tid] {
			continue
		}
		attr := &unix.SchedAttr{Policy: unix.SCHED_RR, Priority: uint32(prio), Flags: unix.SCHED_FLAG_RESET_ON_FORK}
		if err := unix.SchedSetAttr(tid, attr, 0); err != nil {
			if errors.Is(err, unix.ESRCH) {
				continue // the thread exited meanwhile
			}
			return fmt.Errorf("SCHED_RR priority %d for thread %d: %w", prio, tid, err)
		}
		done[tid] = true
	}
	for tid := range done {
		if !seen[tid] {
			delete(done, tid)
		}
	}
	return nil
}
