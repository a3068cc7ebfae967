package script

import (
	"fmt"
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"
)

// startNormal starts cmd at normal scheduling priority even when the agent's threads
// run at SCHED_RR (--rt-priority, max_auto_priority): a runaway check script must not
// run at real-time priority over the host.
//
// A child inherits the policy of the thread that forks it unless that thread has
// SCHED_RESET_ON_FORK. The agent's threads must not carry the flag: the Go runtime
// clones its new threads from them, and a new thread at normal priority can be starved
// by busy neighbours while it runs an instance's loop (issue 16). So the flag is set
// here, on the one thread that forks, for the fork only: the goroutine is locked to
// its thread (the runtime then starts any new thread from its template thread, not
// from this one), and the thread's attributes are restored before it is unlocked.
func startNormal(cmd *exec.Cmd) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cur, err := unix.SchedGetAttr(0, 0)
	if err != nil || (cur.Policy != unix.SCHED_RR && cur.Policy != unix.SCHED_FIFO) || cur.Flags&unix.SCHED_FLAG_RESET_ON_FORK != 0 {
		return cmd.Start()
	}
	reset := *cur
	reset.Flags |= unix.SCHED_FLAG_RESET_ON_FORK
	if err := unix.SchedSetAttr(0, &reset, 0); err != nil {
		return fmt.Errorf("keep the command at normal priority: %w", err)
	}
	startErr := cmd.Start()
	restore := *cur
	if err := unix.SchedSetAttr(0, &restore, 0); err != nil {
		// The thread keeps the flag; the next threads it clones would start at
		// normal priority, so it must not go back to the runtime's pool.
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		return fmt.Errorf("restore real-time scheduling after starting a command: %w", err)
	}
	return startErr
}
