package config

import (
	"os/exec"

	"github.com/hagent-dev/hagent/agent/script"
)

// runnable is one command of the configuration that hagent would run, with
// who runs it and how to switch it off.
type runnable struct {
	at      Pos
	ctx     string // "vrrp_script chk", "vrrp_instance VI_1"
	what    string // "script", "notify_master", "restart_command"
	line    string
	as      script.RunAs // written on the script's own line or block
	disable func(reason string)
}

// checkScriptSecurity does what keepalived 2.2.7 does at start for every
// script (lib/notify.c check_script_secure, keepalived/vrrp/vrrp.c
// check_vrrp_script_security):
//
//   - the run-as user is resolved (the script's own, script_user, else
//     keepalived_script if it exists, else root — said in a warning); a user
//     that does not exist disables the script;
//   - a script that would run as root while it, or a directory on its path,
//     is writable by a non-root user is disabled under enable_script_security,
//     and named in a warning without it;
//   - without enable_script_security, `hagent -t` says that scripts run
//     unchecked ("SECURITY VIOLATION" in keepalived's words).
//
// A disabled vrrp_script is tracked by no instance; a disabled notify or
// restart command is not run. Files that do not exist are checkFiles'
// business.
func (c checker) checkScriptSecurity() {
	g := c.cfg.Global
	security := g.EnableScriptSecurity
	global := script.RunAs{User: g.ScriptUser, Group: g.ScriptGroup}
	var (
		first, fallbackAt Pos
		any, fellBack     bool
		insecure          int
	)
	for _, r := range c.runnables() {
		if !any {
			first, any = r.at, true
		}
		id, fallback, err := script.Resolve(r.as, global, security)
		if err != nil {
			r.disable(err.Error())
			c.diags.warnf(r.at, "%s: %s disabled: %v (as keepalived)", r.ctx, r.what, err)
			continue
		}
		if fallback && !fellBack {
			fellBack, fallbackAt = true, r.at
		}
		argv, err := SplitCommand(r.line)
		if err != nil || len(argv) == 0 {
			continue
		}
		path, err := exec.LookPath(argv[0])
		if err != nil {
			continue
		}
		why := script.Insecure(path, id)
		switch {
		case why == "":
		case security:
			r.disable("insecure: " + why)
			c.diags.warnf(r.at, "%s: %s disabled by enable_script_security: it would run as %s but %s (as keepalived)",
				r.ctx, r.what, id, why)
		default:
			insecure++
			c.diags.warnf(r.at, "%s: %s runs as %s but %s; enable_script_security would disable it",
				r.ctx, r.what, id, why)
		}
	}
	if fellBack {
		c.diags.warnf(fallbackAt, "scripts run as root: no script_user is set and the default user %s does not exist (as keepalived)", script.DefaultUser)
	}
	if any && !security {
		msg := "scripts are run but enable_script_security is not set (keepalived: SECURITY VIOLATION)"
		if insecure > 0 {
			msg += "; there are insecure scripts"
		}
		c.diags.warnf(first, "global_defs: %s", msg)
	}
}

// runnables lists every command the configuration runs, in file order of
// blocks: vrrp_scripts and their restart commands, the other checks' restart
// commands, and the notify scripts of instances and sync groups.
func (c checker) runnables() []runnable {
	var out []runnable
	for _, name := range sortedKeys(c.cfg.Scripts) {
		sc := c.cfg.Scripts[name]
		ctx := "vrrp_script " + name
		as := script.RunAs{User: sc.User, Group: sc.Group}
		if sc.Script != "" {
			out = append(out, runnable{at: sc.scriptPos, ctx: ctx, what: "script", line: sc.Script, as: as,
				disable: func(why string) { sc.Disabled = why }})
		}
		if sc.Restart.Enabled() {
			out = append(out, runnable{at: sc.restartPos, ctx: ctx, what: "restart_command", line: sc.Restart.Command, as: as,
				disable: func(string) { sc.Restart = Restart{} }})
		}
	}
	for _, name := range sortedKeys(c.cfg.Processes) {
		if tp := c.cfg.Processes[name]; tp.Restart.Enabled() {
			out = append(out, runnable{at: tp.restartPos, ctx: "vrrp_track_process " + name, what: "restart_command",
				line: tp.Restart.Command, disable: func(string) { tp.Restart = Restart{} }})
		}
	}
	for _, name := range sortedKeys(c.cfg.HTTPChecks) {
		if hc := c.cfg.HTTPChecks[name]; hc.Restart.Enabled() {
			out = append(out, runnable{at: hc.restartPos, ctx: "vrrp_http_check " + name, what: "restart_command",
				line: hc.Restart.Command, disable: func(string) { hc.Restart = Restart{} }})
		}
	}
	notifies := func(ctx string, lines map[string]NotifyLine, fields map[string]*string) {
		for _, kw := range sortedKeys(fields) {
			dst := fields[kw]
			if *dst == "" {
				continue
			}
			l := lines[kw]
			out = append(out, runnable{at: l.Pos, ctx: ctx, what: kw, line: *dst, as: l.As,
				disable: func(string) { *dst = "" }})
		}
	}
	// The notify FIFOs' scripts (vrrp.c check_vrrp_script_security checks them
	// with check_notify_script_secure like any notify script).
	for _, f := range []struct {
		kw  string
		dst *NotifyFIFO
	}{{"notify_fifo_script", &c.cfg.Global.NotifyFIFO}, {"vrrp_notify_fifo_script", &c.cfg.Global.VRRPNotifyFIFO}} {
		if f.dst.Script == "" {
			continue
		}
		dst := f.dst
		out = append(out, runnable{at: dst.ScriptPos, ctx: "global_defs", what: f.kw, line: dst.Script, as: dst.ScriptAs,
			disable: func(string) { dst.Script = "" }})
	}
	for _, in := range c.cfg.Instances {
		notifies("vrrp_instance "+in.Name, in.NotifyLines, map[string]*string{
			"notify": &in.Notify, "notify_master": &in.NotifyMaster, "notify_backup": &in.NotifyBackup,
			"notify_fault": &in.NotifyFault, "notify_stop": &in.NotifyStop,
		})
	}
	for _, sg := range c.cfg.SyncGroups {
		notifies("vrrp_sync_group "+sg.Name, sg.NotifyLines, map[string]*string{
			"notify": &sg.Notify, "notify_master": &sg.NotifyMaster, "notify_backup": &sg.NotifyBackup,
			"notify_fault": &sg.NotifyFault, "notify_stop": &sg.NotifyStop,
		})
	}
	return out
}
