package probe

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hagent-dev/hagent/agent/sanitize"
	"github.com/hagent-dev/hagent/agent/script"
)

// Kind says which kind of check produced a Result.
type Kind int

// The kinds of Result. KindRestart marks a restart attempt, which is recorded
// in the history but never counts towards fall or rise.
const (
	KindScript Kind = iota + 1
	KindProcess
	KindHTTP
	KindInterface
	KindRestart
	KindFile
)

func (k Kind) String() string {
	switch k {
	case KindScript:
		return "script"
	case KindProcess:
		return "process"
	case KindHTTP:
		return "http"
	case KindInterface:
		return "interface"
	case KindRestart:
		return "restart"
	case KindFile:
		return "file"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// MaxOutput bounds Result.Output (and the bytes a script may leave in memory).
const MaxOutput = script.MaxOutput

// Result is one observation of a probe.
type Result struct {
	Probe    string
	Kind     Kind
	OK       bool
	Output   string // trimmed, at most MaxOutput bytes
	Err      string // why it failed, empty when OK
	Started  time.Time
	Duration time.Duration
	Attempt  int // restart attempt number (1-based); only for KindRestart
}

// Reason is the short human explanation of the result: the error, or else
// the output.
func (r Result) Reason() string {
	if r.Err != "" {
		return r.Err
	}
	return r.Output
}

// StateChange reports that a probe became healthy or FAILED, or (Pending, only in the
// first event of a Run) that it has no result yet.
type StateChange struct {
	Probe   string
	Healthy bool
	// Pending: the probe has not given its first result; Healthy is only the state it
	// assumes until then. The first result then decides, whatever fall and rise say
	// (keepalived: vrrp_scheduler.c: vrrp_init_script sets result = rise - 1, and
	// vrrp_script_child_thread reports the first failure of a script in
	// SCRIPT_INIT_STATE_INIT at once).
	Pending bool
	Reason  string // the last output or error
	At      time.Time
	// Value is what a track_file holds (KindFile only; Healthy is Value == 0). The
	// tracking instance weighs it: keepalived's track_file is a number, not a state.
	Value int64
}

// Event is what a probe sends: a Result, and a StateChange when that result
// changed the probe's state.
type Event struct {
	Result Result
	Change *StateChange
}

// Probe is a running health check.
type Probe interface {
	Name() string
	// Run checks until ctx ends and sends every result on out. It returns
	// when ctx is done, having stopped everything it started. Run a probe
	// once at a time; it may be run again after it returned.
	Run(ctx context.Context, out chan<- Event)
	// Healthy is the current state; safe from any goroutine.
	Healthy() bool
	// History is a copy of the last results, oldest first; safe from any
	// goroutine.
	History() []Result
}

// send delivers ev unless ctx ends first.
func send(ctx context.Context, out chan<- Event, ev Event) bool {
	select {
	case out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// clip trims s and bounds it to MaxOutput bytes of valid UTF-8, without
// splitting a rune: a script's output is whatever bytes it printed (a GBK
// error message on a Chinese-locale host) and protobuf refuses invalid UTF-8.
func clip(s string) string {
	return sanitize.Clip(strings.TrimSpace(s), MaxOutput)
}

// safe returns r with its outside text (output, error) valid UTF-8 and
// bounded, whatever probe produced it.
func (r Result) safe() Result {
	r.Output = clip(r.Output)
	r.Err = clip(r.Err)
	return r
}

var (
	_ Probe = (*ScriptProbe)(nil)
	_ Probe = (*ProcessProbe)(nil)
	_ Probe = (*HTTPProbe)(nil)
	_ Probe = (*InterfaceProbe)(nil)
	_ Probe = (*FileProbe)(nil)
)
