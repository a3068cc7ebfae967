package probe

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ScriptSpec is a keepalived vrrp_script.
type ScriptSpec struct {
	Name string
	// Script is the command line. It is split into words like keepalived
	// does (blanks separate, quotes group, backslash escapes) and executed
	// directly, not through a shell; a file without "#!" or ELF header is
	// run by /bin/sh, as keepalived 2.2.7 does. See parseCommand.
	Script   string
	Interval time.Duration // default 1s (keepalived)
	Timeout  time.Duration // default Interval (keepalived)
	Fall     int           // default 1
	Rise     int           // default 1
	User     string        // run as this user; default: as the agent
	Group    string        // default: the user's primary group
	InitFail bool          // start FAILED until rise successes
	Restart  Restart
}

const defaultScriptInterval = time.Second

// ScriptProbe runs a command every interval; exit status 0 is healthy.
type ScriptProbe struct {
	spec ScriptSpec
	cmd  command
	*driver
}

// NewScript validates spec and resolves the command and user.
func NewScript(spec ScriptSpec) (*ScriptProbe, error) {
	if spec.Name == "" {
		return nil, errors.New("script probe: empty name")
	}
	if spec.Interval <= 0 {
		spec.Interval = defaultScriptInterval
	}
	if spec.Timeout <= 0 {
		spec.Timeout = spec.Interval
	}
	cmd, err := parseCommand(spec.Script, spec.User, spec.Group)
	if err != nil {
		return nil, fmt.Errorf("script probe %s: %w", spec.Name, err)
	}
	cmd.dieWithAgent = true
	d, err := newDriver(spec.Name, KindScript, spec.Fall, spec.Rise, spec.InitFail, spec.Restart)
	if err != nil {
		return nil, err
	}
	return &ScriptProbe{spec: spec, cmd: cmd, driver: d}, nil
}

// Name is the vrrp_script name.
func (p *ScriptProbe) Name() string { return p.spec.Name }

// Healthy reports the current state.
func (p *ScriptProbe) Healthy() bool { return p.tracker.Healthy() }

// History returns the last results, oldest first.
func (p *ScriptProbe) History() []Result { return p.tracker.History() }

// Run runs the script every interval until ctx ends.
func (p *ScriptProbe) Run(ctx context.Context, out chan<- Event) {
	p.runPolled(ctx, out, p.spec.Interval, p.check)
}

func (p *ScriptProbe) check(ctx context.Context) Result {
	started := time.Now()
	output, failure := p.cmd.run(ctx, p.spec.Timeout)
	return Result{OK: failure == "", Output: output, Err: failure, Started: started, Duration: time.Since(started)}
}
