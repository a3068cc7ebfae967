package agent

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/hagent-dev/hagent/agent/config"
	"github.com/hagent-dev/hagent/agent/script"
	"github.com/hagent-dev/hagent/agent/vrrp"
)

const (
	// notifyTimeout bounds one notify script: it is killed with its process group
	// after this. keepalived never waits for notify scripts at all.
	notifyTimeout = 30 * time.Second
	// notifyHandoff is how long the next notify script of an instance waits for the
	// previous one. Scripts that finish within it run strictly in order (notify_master
	// before notify, MASTER's before the following BACKUP's); one that takes longer
	// keeps running on its own until notifyTimeout, and the queue moves on, so a stuck
	// script delays the next by at most this much and never stalls later transitions.
	notifyHandoff = 2 * time.Second
)

// notifyJob is one notify script to run.
type notifyJob struct {
	keyword string // notify_master, notify, ...
	argv    []string
	as      script.RunAs
}

// notifyBacklog bounds the transitions whose scripts wait to run.
const notifyBacklog = 64

// notifier runs an instance's notify scripts in order, off the instance's loop, with
// the one runner every script uses (package script: argv, /bin/sh for a file without
// "#!", fixed environment, run-as user, process group killed at the timeout). The
// loop never waits for a script, not even when it stops: a slow notify_stop must not
// hold up a reload, nor the instance's packets (keepalived does not wait for them at
// all). The scripts of an instance restarted by a reload run after those of the
// instance it replaces (after), so a script that records the state sees them in order.
//
// A goroutine runs the queue only while it holds scripts: most instances have no
// notify script, and at hundreds of instances an idle runner each would cost more
// memory than the instances themselves.
type notifier struct {
	ic     *config.Instance // read and written by the instance's loop only
	global script.RunAs     // global_defs script_user
	log    *slog.Logger
	wg     *sync.WaitGroup // the agent's: shutdown waits for every runner

	mu      sync.Mutex
	queue   [][]notifyJob
	busy    bool            // a runner goroutine is draining the queue
	closed  bool            // no more transitions: done closes once the queue is drained
	after   <-chan struct{} // the previous notifier of the same instance name, if any
	done    chan struct{}
	running sync.WaitGroup // scripts still running after their handoff
	ctx     context.Context
	cancel  context.CancelFunc
}

func newNotifier(ic *config.Instance, g config.Global, wg *sync.WaitGroup, log *slog.Logger) *notifier {
	ctx, cancel := context.WithCancel(context.Background())
	return &notifier{
		ic: ic, global: script.RunAs{User: g.ScriptUser, Group: g.ScriptGroup}, log: log, wg: wg,
		done: make(chan struct{}), ctx: ctx, cancel: cancel,
	}
}

// transition queues the scripts for entering state: notify_<state> as written, then
// `notify` with keepalived's arguments: INSTANCE "VI_1" MASTER 100.
func (n *notifier) transition(to vrrp.State, priority uint8) {
	var specific, kw string
	word := to.String()
	switch to {
	case vrrp.StateMaster:
		specific, kw = n.ic.NotifyMaster, "notify_master"
	case vrrp.StateBackup:
		specific, kw = n.ic.NotifyBackup, "notify_backup"
	case vrrp.StateFault:
		specific, kw = n.ic.NotifyFault, "notify_fault"
	case vrrp.StateStopped:
		specific, kw = n.ic.NotifyStop, "notify_stop"
		word = "STOP"
	default:
		return
	}
	var jobs []notifyJob
	if specific != "" {
		if argv, err := script.Split(specific); err == nil && len(argv) > 0 {
			jobs = append(jobs, notifyJob{keyword: kw, argv: argv, as: n.ic.NotifyLines[kw].As})
		}
	}
	if n.ic.Notify != "" {
		if argv, err := script.Split(n.ic.Notify); err == nil && len(argv) > 0 {
			argv = append(argv, "INSTANCE", n.ic.Name, word, strconv.Itoa(int(priority)))
			jobs = append(jobs, notifyJob{keyword: "notify", argv: argv, as: n.ic.NotifyLines["notify"].As})
		}
	}
	if len(jobs) > 0 && !n.enqueue(jobs) {
		n.log.Warn("notify scripts backlogged; dropping", "state", word)
	}
}

// enqueue queues one transition's scripts, starting a runner if none is running. It
// reports false when the backlog is full (or the notifier is closed).
func (n *notifier) enqueue(jobs []notifyJob) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed || len(n.queue) >= notifyBacklog {
		return false
	}
	n.queue = append(n.queue, jobs)
	n.startLocked()
	return true
}

// startLocked starts a runner unless one is running.
func (n *notifier) startLocked() {
	if n.busy {
		return
	}
	n.busy = true
	if n.wg != nil {
		n.wg.Add(1)
	}
	go n.run()
}

// run drains the queue, then ends; the last one, after close, finishes the notifier.
func (n *notifier) run() {
	if n.wg != nil {
		defer n.wg.Done()
	}
	if n.after != nil {
		<-n.after
		n.after = nil // only this runner reads it: busy keeps runners one at a time
	}
	for {
		n.mu.Lock()
		if len(n.queue) == 0 {
			n.busy = false
			closed := n.closed
			n.mu.Unlock()
			if closed {
				n.finish()
				close(n.done)
			}
			return
		}
		jobs := n.queue[0]
		n.queue = n.queue[1:]
		n.mu.Unlock()
		for _, j := range jobs {
			n.exec(j)
		}
	}
}

// close ends the queue: the scripts already queued still run, and done closes after
// the last. Only the instance's loop calls it, after its last transition.
func (n *notifier) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	n.closed = true
	// A runner finishes the notifier (it may wait for a predecessor and for scripts).
	n.startLocked()
}

// finish gives scripts still running one more handoff to end, then kills them, so
// that shutting down never waits for a stuck script.
func (n *notifier) finish() {
	finished := make(chan struct{})
	go func() {
		n.running.Wait()
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(notifyHandoff):
		n.cancel()
		<-finished
	}
	n.cancel()
}

// exec starts one script and waits for it for at most notifyHandoff.
func (n *notifier) exec(j notifyJob) {
	log := n.log.With("script", j.keyword, "cmd", j.argv)
	id, _, err := script.Resolve(j.as, n.global, false)
	if err != nil {
		log.Warn("notify script not run", "err", err)
		return
	}
	cmd, err := script.ParseArgv(j.argv, id)
	if err != nil {
		log.Warn("notify script not run", "err", err)
		return
	}
	cmd.DieWithAgent = true
	ended := make(chan struct{})
	n.running.Add(1)
	go func() {
		defer n.running.Done()
		defer close(ended)
		out, failure := cmd.Run(n.ctx, notifyTimeout)
		if failure != "" {
			log.Warn("notify script failed", "user", id.Name, "reason", failure, "output", out)
			return
		}
		log.Debug("notify script ran", "user", id.Name)
	}()
	select {
	case <-ended:
	case <-time.After(notifyHandoff):
		log.Warn("notify script still running; starting the next ones meanwhile", "after", notifyHandoff)
	}
}
