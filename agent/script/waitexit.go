package script

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// waitExit returns once the child pid has exited, without reaping it: it waits in the
// runtime's netpoller on a pidfd, which turns readable when its process exits, so that
// exec.Cmd.Wait's waitid, which follows, returns at once.
//
// Why: a blocking waitid keeps its thread's P until the runtime's sysmon takes the P
// back, which can be 10-20 ms; at real-time priority the agent has one P (GOMAXPROCS 1,
// cmd/hagent), so every instance waited with the check script: the lab's master fell
// silent for 20-28 ms each time the seed's script ran under CPU hogs (issue 16). An
// error means the wait could not be set up (a kernel before 5.10); Wait then blocks as
// before.
func waitExit(pid int) error {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return fmt.Errorf("pidfd_open: %w", err)
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var perr error
	err = rc.Read(func(fd uintptr) bool {
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			_, err := unix.Poll(p, 0)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				perr = err
				return true
			}
			return p[0].Revents != 0 // readable: exited; otherwise park in the netpoller
		}
	})
	if err != nil {
		return err
	}
	return perr
}
