package probe

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hagent-dev/hagent/agent/script"
)

// Restart is the recovery action of a probe, run when it goes FAILED.
type Restart struct {
	Command  string        // split and run like a vrrp_script (see ScriptSpec.Script); empty: no restart
	Attempts int           // how many times to try before giving up; default 1
	Backoff  time.Duration // wait between an attempt and the next; default 1s
	Timeout  time.Duration // per attempt; default 10s
	User     string        // run as this user (and Group); default: keepalived_script if it exists, else as the agent
	Group    string
	Secure   bool // enable_script_security: a command found late must pass script.Insecure to run as root
}

const (
	defaultRestartBackoff = time.Second
	defaultRestartTimeout = 10 * time.Second
)

// restarter runs a probe's restart attempts in the background so that the
// probe keeps checking (and the agent keeps seeing FAILED) meanwhile.
//
// Life cycle, driven by the probe loop: failed() when the probe goes FAILED
// starts attempt 1; after each attempt the loop re-checks and calls
// stillFailed(), which arms the backoff timer if attempts remain; the timer
// firing starts the next attempt; recovered() when the probe is healthy again
// (after rise) resets the count.
type restarter struct {
	name     string
	cmd      script.Command
	attempts int
	backoff  time.Duration
	timeout  time.Duration

	tried   int
	running bool
	done    chan Result // the running attempt's result; buffered, never blocks
	timer   *time.Timer
	timerC  <-chan time.Time
	wg      sync.WaitGroup
}

func newRestarter(name string, r Restart) (*restarter, error) {
	if r.Command == "" {
		return nil, nil
	}
	cmd, err := parseCommand(r.Command, r.User, r.Group)
	if err != nil {
		return nil, fmt.Errorf("restart command of probe %s: %w", name, err)
	}
	// A missing command is not an error: each attempt fails until it exists.
	cmd.Secure = r.Secure
	rs := &restarter{
		name:     name,
		cmd:      cmd,
		attempts: r.Attempts,
		backoff:  r.Backoff,
		timeout:  r.Timeout,
		done:     make(chan Result, 1),
	}
	if rs.attempts <= 0 {
		rs.attempts = 1
	}
	if rs.backoff <= 0 {
		rs.backoff = defaultRestartBackoff
	}
	if rs.timeout <= 0 {
		rs.timeout = defaultRestartTimeout
	}
	return rs, nil
}

// Done delivers the result of the running attempt. A nil restarter never
// delivers.
func (r *restarter) Done() <-chan Result {
	if r == nil {
		return nil
	}
	return r.done
}

// Due fires when the backoff is over and the next attempt should start.
func (r *restarter) Due() <-chan time.Time {
	if r == nil {
		return nil
	}
	return r.timerC
}

func (r *restarter) failed(ctx context.Context) {
	if r == nil {
		return
	}
	r.start(ctx)
}

func (r *restarter) stillFailed() {
	if r == nil || r.running || r.timerC != nil || r.tried >= r.attempts {
		return
	}
	r.timer = time.NewTimer(r.backoff)
	r.timerC = r.timer.C
}

// due is called when Due fired.
func (r *restarter) due(ctx context.Context) {
	r.timer, r.timerC = nil, nil
	r.start(ctx)
}

func (r *restarter) recovered() {
	if r == nil {
		return
	}
	r.stopTimer()
	r.tried = 0
}

// finished is called with the result read from Done.
func (r *restarter) finished() {
	r.running = false
}

func (r *restarter) start(ctx context.Context) {
	if r.running || r.tried >= r.attempts {
		return
	}
	r.stopTimer()
	r.tried++
	r.running = true
	attempt := r.tried
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		started := time.Now()
		out, failure := r.cmd.Run(ctx, r.timeout)
		res := Result{
			Probe:    r.name,
			Kind:     KindRestart,
			OK:       failure == "",
			Output:   out,
			Err:      failure,
			Started:  started,
			Duration: time.Since(started),
			Attempt:  attempt,
		}
		if attempt == r.attempts && res.Err != "" {
			res.Err += fmt.Sprintf(" (attempt %d of %d, giving up)", attempt, r.attempts)
		}
		r.done <- res // buffered: at most one attempt runs at a time
	}()
}

// stop releases the timer and waits for a running attempt, which ends with
// the ctx it was started with.
func (r *restarter) stop() {
	if r != nil {
		r.stopTimer()
		r.wg.Wait()
	}
}

func (r *restarter) stopTimer() {
	if r.timer != nil {
		r.timer.Stop()
	}
	r.timer, r.timerC = nil, nil
}
