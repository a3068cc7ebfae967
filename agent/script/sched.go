package script

import (
	"fmt"
	"os/exec"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// chrtPath is util-linux's chrt(1), which hands a command normal scheduling before it
// runs ("" when the host has none).
var chrtPath = sync.OnceValue(func() string {
	for _, p := range []string{"/usr/bin/chrt", "/bin/chrt"} {
		if err := unix.Access(p, unix.X_OK); err == nil {
			return p
		}
	}
	return ""
})

// realtime reports whether the calling thread runs at a real-time policy (the agent's
// --rt-priority / max_auto_priority sets every thread).
func realtime() bool {
	a, err := unix.SchedGetAttr(0, 0)
	return err == nil && (a.Policy == unix.SCHED_RR || a.Policy == unix.SCHED_FIFO)
}

// startNormal starts cmd so that the command runs at normal scheduling priority even
// when the agent's threads run at SCHED_RR: a runaway check script must not run at
// real-time priority over the host.
//
// How matters (issue 16). Go starts a child with vfork: the forking thread is stopped,
// still holding its P, until the child calls execve, and a garbage collection's
// stop-the-world waits for that P. A child at normal priority (SCHED_RESET_ON_FORK on
// the forking thread) can wait tens of milliseconds for a CPU behind busy neighbours
// before it reaches execve, and every goroutine of the agent, instance loops
// included, waits with it. So the child keeps the agent's real-time priority up to
// execve and runs chrt --other 0, which drops to normal scheduling and execs the
// command (execvp: a file the kernel cannot exec runs under /bin/sh, as keepalived's
// system() fallback and Run's do).
//
// Without chrt the fork falls back to SCHED_RESET_ON_FORK, set on the one forking
// thread for the fork only (never on the agent's threads: the Go runtime clones its
// new threads from them, and they must inherit SCHED_RR).
func startNormal(cmd *exec.Cmd) error {
	if !realtime() {
		return cmd.Start()
	}
	if chrt := chrtPath(); chrt != "" {
		cmd.Args = append([]string{chrt, "--other", "0", cmd.Path}, cmd.Args[1:]...)
		cmd.Path = chrt
		return cmd.Start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cur, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		return fmt.Errorf("keep the command at normal priority: %w", err)
	}
	reset := *cur
	reset.Flags |= unix.SCHED_FLAG_RESET_ON_FORK
	if err := unix.SchedSetAttr(0, &reset, 0); err != nil {
		return fmt.Errorf("keep the command at normal priority: %w", err)
	}
	startErr := cmd.Start()
	restore := *cur
	if err := unix.SchedSetAttr(0, &restore, 0); err != nil {
		// The thread keeps the flag, so threads it cloned would start at normal
		// priority: it must not go back to the runtime's pool. Locked once more, it
		// ends with the goroutine.
		runtime.LockOSThread()
		return fmt.Errorf("restore real-time scheduling after starting a command: %w", err)
	}
	return startErr
}
