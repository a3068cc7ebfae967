package config

import (
	"fmt"
	"sort"
	"strings"
)

// checker runs the checks that need the whole configuration: references
// between blocks, uniqueness across instances, and the files scripts name.
type checker struct {
	cfg   *Config
	opts  *options
	diags *diagnostics
}

func (c checker) run() {
	c.checkNames()
	seen := make(map[vridKey]*Instance)
	for _, in := range c.cfg.Instances {
		c.checkInstance(in, seen)
	}
	c.checkSyncGroups()
	// Security first: a script it disables is never run, which is what
	// checkFiles then says about a missing one.
	if c.opts.checkFiles {
		c.checkScriptSecurity()
	}
	if c.opts.checkFiles && c.opts.fileCheck != nil {
		c.checkFiles()
	}
}

// vridKey is what must be unique among instances: two routers with the same
// VRID on one link and family would be the same virtual router.
type vridKey struct {
	iface string
	ipv6  bool
	vrid  int
}

// checkNames refuses a vrrp_http_check named like a vrrp_script: both are
// tracked from track_script, which could not tell them apart.
func (c checker) checkNames() {
	for _, name := range sortedKeys(c.cfg.HTTPChecks) {
		if sc, ok := c.cfg.Scripts[name]; ok {
			hc := c.cfg.HTTPChecks[name]
			c.diags.errorf(hc.Pos, "vrrp_http_check %s: name already used by vrrp_script %s at %s", name, name, sc.Pos)
		}
	}
}

func (c checker) checkInstance(in *Instance, seen map[vridKey]*Instance) {
	ctx := "vrrp_instance " + in.Name
	if in.Interface == "" {
		c.diags.errorf(in.Pos, "%s: interface is required", ctx)
	} else if c.opts.ifaceCheck != nil {
		if err := c.opts.ifaceCheck(in.Interface); err != nil {
			c.diags.errorf(in.Pos, "%s: interface %s: %v", ctx, in.Interface, err)
		}
	}
	if in.VRID == 0 {
		if !in.vridWritten {
			c.diags.errorf(in.Pos, "%s: virtual_router_id is required", ctx)
		}
	} else if in.Interface != "" {
		k := vridKey{iface: in.Interface, ipv6: in.IPv6, vrid: in.VRID}
		if first, dup := seen[k]; dup {
			c.diags.errorf(in.Pos, "%s: virtual_router_id %d is already used on %s (%s) by vrrp_instance %s at %s",
				ctx, in.VRID, in.Interface, familyName(in.IPv6), first.Name, first.Pos)
		} else {
			seen[k] = in
		}
	}
	if len(in.VIPs) == 0 {
		if in.Version == 3 || in.IPv6 || in.StrictMode {
			c.diags.errorf(in.Pos, "%s: no virtual_ipaddress; at least one is required", ctx)
		} else {
			c.diags.warnf(in.Pos, "%s: no virtual_ipaddress; at least one is sensible", ctx)
		}
	}

	for _, ref := range in.TrackScripts {
		_, isScript := c.cfg.Scripts[ref.Name]
		_, isHTTP := c.cfg.HTTPChecks[ref.Name]
		if !isScript && !isHTTP {
			c.diags.errorf(ref.Pos, "%s: track_script %s: no vrrp_script or vrrp_http_check named %s", ctx, ref.Name, ref.Name)
		}
	}
	for _, ref := range in.TrackProcesses {
		if _, ok := c.cfg.Processes[ref.Name]; !ok {
			c.diags.errorf(ref.Pos, "%s: track_process %s: no vrrp_track_process named %s", ctx, ref.Name, ref.Name)
		}
	}
	for _, ref := range in.TrackFiles {
		if _, ok := c.cfg.TrackFiles[ref.Name]; !ok {
			c.diags.errorf(ref.Pos, "%s: track_file %s: no track_file block named %s", ctx, ref.Name, ref.Name)
		}
	}
	for _, ref := range in.TrackInterfaces {
		if ref.Name == in.Interface {
			c.diags.warnf(ref.Pos, "%s: track_interface %s is the instance's own interface, which is always tracked", ctx, ref.Name)
			continue
		}
		if c.opts.ifaceCheck != nil {
			if err := c.opts.ifaceCheck(ref.Name); err != nil {
				c.diags.errorf(ref.Pos, "%s: track_interface %s: %v", ctx, ref.Name, err)
			}
		}
	}
}

func (c checker) checkSyncGroups() {
	byName := make(map[string]*Instance, len(c.cfg.Instances))
	for _, in := range c.cfg.Instances {
		byName[in.Name] = in
	}
	member := make(map[string]string)
	for _, sg := range c.cfg.SyncGroups {
		ctx := "vrrp_sync_group " + sg.Name
		for _, name := range sg.Instances {
			if _, ok := byName[name]; !ok {
				c.diags.warnf(sg.Pos, "%s: vrrp_instance %s does not exist; ignored (as keepalived)", ctx, name)
				continue
			}
			if other, ok := member[name]; ok {
				c.diags.warnf(sg.Pos, "%s: vrrp_instance %s is already in vrrp_sync_group %s", ctx, name, other)
				continue
			}
			member[name] = sg.Name
		}
	}
}

// checkFiles looks for the program of every check and restart command, so that
// `hagent -t` catches a typo before a failover does. A missing program is a
// warning, not an error: the config may be checked away from the host that runs
// it, a script may be deployed after the config, and `hagent -t` and `hagent`
// must agree (what one accepts, the other starts). The warning says what the
// run does about it (missingScriptEffect).
func (c checker) checkFiles() {
	check := func(at Pos, ctx, what, cmdline, effect string) {
		argv, err := SplitCommand(cmdline)
		if err != nil {
			c.diags.errorf(at, "%s: %s: %v", ctx, what, err)
			return
		}
		if len(argv) == 0 {
			return
		}
		if err := c.opts.fileCheck(argv[0]); err != nil {
			c.diags.warnf(at, "%s: %s: %v; %s", ctx, what, err, effect)
		}
	}
	const restartEffect = "each restart attempt fails until it exists"
	for _, name := range sortedKeys(c.cfg.Scripts) {
		sc := c.cfg.Scripts[name]
		if sc.Script != "" {
			check(sc.scriptPos, "vrrp_script "+name, "script", sc.Script, c.missingScriptEffect(name))
		}
		if sc.Restart.Enabled() {
			check(sc.restartPos, "vrrp_script "+name, "restart_command", sc.Restart.Command, restartEffect)
		}
	}
	for _, name := range sortedKeys(c.cfg.Processes) {
		if tp := c.cfg.Processes[name]; tp.Restart.Enabled() {
			check(tp.restartPos, "vrrp_track_process "+name, "restart_command", tp.Restart.Command, restartEffect)
		}
	}
	for _, name := range sortedKeys(c.cfg.HTTPChecks) {
		if hc := c.cfg.HTTPChecks[name]; hc.Restart.Enabled() {
			check(hc.restartPos, "vrrp_http_check "+name, "restart_command", hc.Restart.Command, restartEffect)
		}
	}
}

// missingScriptEffect says what the agent does with a vrrp_script whose program
// is missing or not executable. keepalived 2.2.7 disables such a script for good
// (vrrp.c check_track_script_secure: "Disabling track script %s since not
// found/accessible") and removes it from every instance tracking it, so an
// instance runs as if it had no check until the next reload. hagent is stricter:
// the check counts as failing from the start (a tracked weight-0 script makes
// the instance FAULT, a negative weight applies) and is looked for again at every
// interval, so a script deployed after the agent is picked up without a reload.
func (c checker) missingScriptEffect(name string) string {
	if c.cfg.Scripts[name].Disabled != "" {
		return "disabled, so never run"
	}
	var effects []string
	for _, in := range c.cfg.Instances {
		for _, ref := range in.TrackScripts {
			if ref.Name != name {
				continue
			}
			weight, reverse := c.cfg.Scripts[name].Weight, c.cfg.Scripts[name].Reverse
			if ref.WeightSet {
				weight, reverse = ref.Weight, ref.Reverse
			}
			// A failure counts as a success with reverse.
			var e string
			switch ok := reverse; {
			case weight == 0 && !ok:
				e = "FAULT"
			case weight > 0 && ok:
				e = fmt.Sprintf("priority %+d", weight)
			case weight > 0:
				e = fmt.Sprintf("without its %+d", weight)
			case weight < 0 && !ok:
				e = fmt.Sprintf("priority %+d", weight)
			default:
				e = "unaffected (reverse)"
			}
			effects = append(effects, in.Name+" "+e)
		}
	}
	if len(effects) == 0 {
		return "not tracked by any instance, so never run"
	}
	return "the check fails until it exists (keepalived 2.2.7 disables it instead): " + strings.Join(effects, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
