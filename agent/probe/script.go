package probe

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hagent-dev/hagent/agent/script"
)

// ScriptSpec is a keepalived vrrp_script.
type ScriptSpec struct {
	Name string
	// Script is the command line, run as keepalived runs it: see package
	// script.
	Script   string
	Interval time.Duration // default 1s (keepalived)
	Timeout  time.Duration // default Interval (keepalived)
	Fall     int           // default 1
	Rise     int           // default 1
	User     string        // run as this user; default: keepalived_script if it exists, else as the agent
	Group    string        // default: the user's primary group
	InitFail bool          // start FAILED until rise successes
	Secure   bool          // enable_script_security: a script found late must pass script.Insecure to run as root
	Restart  Restart
}

const defaultScriptInterval = time.Second

// ScriptProbe runs a command every interval; exit status 0 is healthy.
type ScriptProbe struct {
	spec ScriptSpec
	cmd  script.Command
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
	cmd.DieWithAgent = true
	cmd.Secure = spec.Secure
	// A program missing at start is a failed check from the start, whatever fall
	// says: nothing that depends on it may go MASTER for fall intervals first.
	initFail := spec.InitFail || cmd.Missing() != ""
	d, err := newDriver(spec.Name, KindScript, spec.Fall, spec.Rise, initFail, spec.Restart)
	if err != nil {
		return nil, err
	}
	d.initialReason = cmd.Missing()
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

// parseCommand resolves who runs line (user and group, or keepalived's
// default) and parses it.
func parseCommand(line, userName, groupName string) (script.Command, error) {
	id, _, err := script.Resolve(script.RunAs{User: userName, Group: groupName}, script.RunAs{}, false)
	if err != nil {
		return script.Command{}, err
	}
	return script.Parse(line, id)
}

func (p *ScriptProbe) check(ctx context.Context) Result {
	if p.cmd.Missing() != "" && p.cmd.Locate() {
		// A script deployed after the agent runs from now on.
		p.log.Info("script found; running it", "script", p.cmd.Argv())
	}
	started := time.Now()
	output, failure := p.cmd.Run(ctx, p.spec.Timeout)
	return Result{OK: failure == "", Output: output, Err: failure, Started: started, Duration: time.Since(started)}
}
