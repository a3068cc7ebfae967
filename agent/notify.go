package agent

import (
	"context"
	"errors"
	"log/slog"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/hagent-dev/hagent/agent/config"
	"github.com/hagent-dev/hagent/agent/vrrp"
)

// notifyTimeout bounds one notify script; keepalived does not wait for them at all,
// we do (to keep them ordered) but not forever.
const notifyTimeout = 30 * time.Second

// notifier runs an instance's notify scripts in order, off the instance's loop. The
// loop never waits for a script, not even when it stops: a slow notify_stop must not
// hold up a reload, nor the instance's packets (keepalived does not wait for them at
// all). The scripts of an instance restarted by a reload run after those of the
// instance it replaces (after), so a script that records the state sees them in order.
type notifier struct {
	ic    *config.Instance // read and written by the instance's loop only
	log   *slog.Logger
	jobs  chan [][]string
	done  chan struct{}
	after <-chan struct{} // the previous notifier of the same instance name, if any
}

func newNotifier(ic *config.Instance, log *slog.Logger) *notifier {
	return &notifier{ic: ic, log: log, jobs: make(chan [][]string, 64), done: make(chan struct{})}
}

// transition queues the scripts for entering state: notify_<state> as written, then
// `notify` with keepalived's arguments: INSTANCE "VI_1" MASTER 100.
func (n *notifier) transition(to vrrp.State, priority uint8) {
	var specific string
	word := to.String()
	switch to {
	case vrrp.StateMaster:
		specific = n.ic.NotifyMaster
	case vrrp.StateBackup:
		specific = n.ic.NotifyBackup
	case vrrp.StateFault:
		specific = n.ic.NotifyFault
	case vrrp.StateStopped:
		specific = n.ic.NotifyStop
		word = "STOP"
	default:
		return
	}
	var cmds [][]string
	if specific != "" {
		if argv, err := config.SplitCommand(specific); err == nil && len(argv) > 0 {
			cmds = append(cmds, argv)
		}
	}
	if n.ic.Notify != "" {
		if argv, err := config.SplitCommand(n.ic.Notify); err == nil && len(argv) > 0 {
			cmds = append(cmds, append(argv, "INSTANCE", n.ic.Name, word, strconv.Itoa(int(priority))))
		}
	}
	if len(cmds) == 0 {
		return
	}
	select {
	case n.jobs <- cmds:
	default:
		n.log.Warn("notify scripts backlogged; dropping", "state", word)
	}
}

func (n *notifier) run() {
	defer close(n.done)
	if n.after != nil {
		<-n.after
	}
	for cmds := range n.jobs {
		for _, argv := range cmds {
			n.exec(argv)
		}
	}
}

// close ends the queue: the scripts already queued still run, and done closes after
// the last. Only the instance's loop calls it, after its last transition.
func (n *notifier) close() {
	close(n.jobs)
}

func (n *notifier) exec(argv []string) {
	ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.CombinedOutput()
	if errors.Is(err, syscall.ENOEXEC) {
		// A script without a #! line: keepalived runs those with /bin/sh too.
		cmd = exec.CommandContext(ctx, "/bin/sh", argv...)
		out, err = cmd.CombinedOutput()
	}
	if err != nil {
		n.log.Warn("notify script failed", "cmd", argv, "err", err, "output", clipOutput(out))
		return
	}
	n.log.Debug("notify script ran", "cmd", argv)
}

func clipOutput(b []byte) string {
	const max = 512
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
