package agent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"time"

	"github.com/hagent-dev/hagent/agent/config"
	"github.com/hagent-dev/hagent/agent/probe"
	"github.com/hagent-dev/hagent/agent/vip"
	"github.com/hagent-dev/hagent/agent/vrrp"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// Reload applies a new config, as SIGHUP asks: instances that are gone stop, new ones
// start, and an instance that is still the same virtual router (sameCore) is
// reconfigured in place, keeping its state and VIPs as keepalived's reload_master
// does: a MASTER stays MASTER unless the adverts of the new priorities make it lose
// the election. Only a change of identity (VRID, interface, family, unicast source)
// restarts an instance. Probes restart only when their definitions changed.
func (a *Agent) Reload(ctx context.Context, cfg *config.Config) ([]string, error) {
	a.mu.Lock()
	old := a.cfg
	runCtx := a.runCtx
	a.mu.Unlock()
	if runCtx == nil {
		return nil, errors.New("agent is not running")
	}
	var changes []string
	oldByName := map[string]*config.Instance{}
	for _, ic := range old.Instances {
		oldByName[ic.Name] = ic
	}
	newByName := map[string]*config.Instance{}
	for _, ic := range cfg.Instances {
		newByName[ic.Name] = ic
	}

	probesChanged := !sameProbes(old, cfg)
	if probesChanged {
		// Not under a.mu: a probe's delivery takes it, and stopAll waits for deliveries.
		a.mu.Lock()
		running := a.probes
		a.mu.Unlock()
		running.stopAll()
		// The new probes report afresh; until then, no instance starts from a state
		// the old ones reported.
		a.mu.Lock()
		a.probeLast = map[string]probe.StateChange{}
		a.mu.Unlock()
		changes = append(changes, "probes restarted")
	}

	// Stop what is gone or changed beyond repair, first, so that a VRID moving between
	// instances never runs twice.
	for _, ic := range old.Instances {
		n := newByName[ic.Name]
		if n != nil && sameCore(ic, n) {
			continue
		}
		in := a.instance(ic.Name)
		if in == nil {
			continue
		}
		a.removeInstance(in)
		if n == nil {
			changes = append(changes, "removed "+ic.Name)
		}
	}
	// What the new instances and groups report goes to the new notify FIFOs.
	a.refifo(cfg.Global)
	// New instances resolve their tracks against the new config's probes.
	a.mu.Lock()
	a.cfg = cfg
	a.mu.Unlock()
	var errs error
	for _, ic := range cfg.Instances {
		if in := a.instance(ic.Name); in != nil {
			msgs, err := in.reconfigure(ctx, cfg, ic)
			if err == nil {
				changes = append(changes, msgs...)
				continue
			}
			// The state machine says it is another router after all: restart it.
			in.log.Warn("reload: restarting the instance", "why", err)
			a.removeInstance(in)
		}
		a.mu.Lock()
		err := a.startInstanceLocked(runCtx, cfg, ic, nil)
		maint := a.maintenance
		a.mu.Unlock()
		if err != nil {
			errs = errors.Join(errs, err)
			continue
		}
		if maint {
			in := a.instance(ic.Name)
			_ = in.call(ctx, func(now time.Time) { in.step(now, vrrp.Maintenance{On: true, Who: "maintenance"}) })
		}
		if oldByName[ic.Name] == nil {
			changes = append(changes, "added "+ic.Name)
		} else {
			changes = append(changes, "restarted "+ic.Name)
		}
	}
	a.regroup(ctx, runCtx, cfg)
	a.mu.Lock()
	a.setVIPAddrs(cfg)
	if probesChanged {
		a.probes = newProbes(a.log)
		a.probes.reload = true
		a.probes.start(runCtx, cfg, a.deliverProbeEvent)
	}
	a.mu.Unlock()
	// An interface the new config brings is watched from now on (started instances
	// read their interface's state themselves: applyLink in run).
	a.rewatchKernel(runCtx)
	ev := &hactlv1.ConfigReloadEvent{Ok: errs == nil, ConfigHash: cfg.Hash(), Changes: changes}
	if errs != nil {
		ev.Error = errs.Error()
	}
	a.publish(&hactlv1.WatchResponse{Event: &hactlv1.WatchResponse_ConfigReload{ConfigReload: ev}})
	a.log.Info("config reloaded", "changes", changes, "err", errs)
	return changes, errs
}

// removeInstance stops an instance (priority 0 if master, VIPs removed) and forgets it.
func (a *Agent) removeInstance(in *instance) {
	in.stop()
	a.mu.Lock()
	a.sockets.detach(in)
	delete(a.instances, in.name)
	a.order = slices.DeleteFunc(a.order, func(s string) bool { return s == in.name })
	a.mu.Unlock()
}

// ReloadFailed reports a reload that did not parse: the running config stays.
func (a *Agent) ReloadFailed(err error) {
	a.log.Error("reload refused; keeping the running config", "err", err)
	a.publish(&hactlv1.WatchResponse{Event: &hactlv1.WatchResponse_ConfigReload{ConfigReload: &hactlv1.ConfigReloadEvent{
		Ok: false, Error: err.Error(),
	}}})
}

// reconfigure applies a reloaded vrrp_instance in place, in the instance's loop: the
// VIPs that came and went, the state machine's settings (priority, advert_int,
// preempt, authentication: vrrp.Instance.Reconfigure keeps a MASTER master, as
// keepalived's reload_master), the tracks and their weights, unicast peers, garp and
// notify settings. It returns what changed, one line each, or an error when the
// change needs a new instance after all.
func (in *instance) reconfigure(ctx context.Context, newCfg *config.Config, ic *config.Instance) ([]string, error) {
	var msgs []string
	var ferr error
	err := in.call(ctx, func(now time.Time) {
		oldFSM := fsmConfig(in.cfg, in.primary(), in.a.advertPhase)
		newFSM := fsmConfig(ic, in.primary(), in.a.advertPhase)
		acts, err := in.fsm.Reconfigure(now, newFSM)
		if err != nil {
			ferr = err
			return
		}
		oldIC := in.cfg
		in.cfg = ic
		in.notify.ic = ic
		if ic.Unicast() {
			in.dsts = ic.UnicastPeers
		}
		if msg := in.reconfigureVIPs(ic); msg != "" {
			msgs = append(msgs, msg)
		}
		in.apply(now, acts)
		if in.retrack(now, newCfg, ic) {
			msgs = append(msgs, in.name+": tracks changed")
		}
		if in.fsm.State() == vrrp.StateMaster && oldIC.GARPMasterRefresh != ic.GARPMasterRefresh {
			in.garpRefreshAt = time.Time{}
			if ic.GARPMasterRefresh > 0 {
				in.garpRefreshAt = now.Add(ic.GARPMasterRefresh)
			}
		}
		// The VIP list is reported above, on its own.
		oldFSM.VIPs, newFSM.VIPs = nil, nil
		if !reflect.DeepEqual(oldFSM, newFSM) {
			msgs = append(msgs, fmt.Sprintf("%s: reconfigured in place, still %s", in.name, in.fsm.State()))
		}
	})
	if err != nil {
		return nil, err
	}
	if ferr != nil {
		return nil, ferr
	}
	return msgs, nil
}

// reconfigureVIPs moves the VIPs that came and went; the rest stay bound.
func (in *instance) reconfigureVIPs(ic *config.Instance) string {
	var next []vip.VIP
	for _, v := range ic.VIPs {
		next = append(next, vipOf(ic, v))
	}
	for _, v := range ic.ExcludedVIPs {
		next = append(next, vipOf(ic, v))
	}
	var added, removed []vip.VIP
	for _, v := range next {
		if !slices.Contains(in.vips, v) {
			added = append(added, v)
		}
	}
	for _, v := range in.vips {
		if !slices.Contains(next, v) {
			removed = append(removed, v)
		}
	}
	if len(added) == 0 && len(removed) == 0 {
		return ""
	}
	in.vips = next
	for _, v := range removed {
		in.unbindOne(v, "removed from the config")
	}
	if in.fsm.State() == vrrp.StateMaster {
		for _, v := range added {
			in.bindOne(v, "added to the config")
			if err := in.a.announcer.Announce(v.Dev, []netip.Addr{v.Prefix.Addr()}, 1); err != nil {
				in.log.Warn("announce VIP", "vip", v.String(), "err", err)
			}
		}
	}
	return fmt.Sprintf("%s: %d VIPs added, %d removed", in.name, len(added), len(removed))
}

// retrack applies the reloaded track_* lines: a track that is gone takes its weight or
// fault with it; a track whose weight or reverse changed is re-evaluated with the
// probe's last known health; a new one takes its probe's last reported state, or is
// healthy until it reports, as at start. It reports whether anything changed.
func (in *instance) retrack(now time.Time, cfg *config.Config, ic *config.Instance) bool {
	next := tracksOf(cfg, ic)
	if reflect.DeepEqual(next, in.tracks) {
		return false
	}
	old := in.tracks
	// deliverProbeEvent reads tracks under a.mu; the loop is the only writer.
	in.a.mu.Lock()
	in.tracks = next
	in.a.mu.Unlock()
	for key, t := range old {
		if _, ok := next[key]; ok {
			continue
		}
		delete(in.probeViews, key)
		in.clearTrack(now, t)
	}
	for key, t := range next {
		v, ok := in.probeViews[key]
		if !ok {
			v = &probeView{name: t.name, kind: t.kind, weight: t.weight, pending: true, reason: waitingReason}
			in.probeViews[key] = v
			// A probe that already reported: its last state counts now (replayProbes).
			in.a.mu.Lock()
			c, known := in.a.probeLast[key]
			in.a.mu.Unlock()
			if known {
				v.healthy, v.reason, v.pending = c.Healthy, c.Reason, false
				in.applyTrack(now, t, v)
			} else {
				// Not healthy until it says so, as at start (stepUnreported): it holds off
				// preemption until its first result.
				in.step(now, vrrp.Unreported{Source: trackSource(t), Fault: t.weight == 0})
			}
			continue
		}
		if old[key] == t {
			continue
		}
		v.weight = t.weight
		// A weight replaces the old one in one PriorityDelta; a change between weight 0
		// (fault) and a weight first undoes the old use.
		if prev := old[key]; (prev.weight == 0) != (t.weight == 0) {
			in.clearTrack(now, prev)
		}
		in.applyTrack(now, t, v)
	}
	return true
}

// clearTrack removes what a track contributes: its fault or its weight.
func (in *instance) clearTrack(now time.Time, t track) {
	src := t.kind + " " + t.name
	in.step(now, vrrp.FaultCleared{Source: src})
	in.step(now, vrrp.PriorityDelta{Source: src, Delta: 0})
}

// sameCore reports whether two versions of an instance are the same virtual router,
// so that reconfigure can apply the difference in place: what keepalived 2.2.7's
// vrrp.c vrrp_exist matches on (VRID, family, interface, unicast or multicast and the
// unicast source), plus what this agent derives its socket and advert source from and
// the address owner (which starts differently). Everything else (priority, advert_int,
// preempt, authentication, VIPs, tracks and their weights, garp, notify, unicast
// peers) is reconfigured in place. The receive checks (skip_check_adv_addr,
// lower_prio_no_advert, old_unicast_checksum) restart it too: they decide how its
// socket's packets are read.
func sameCore(a, b *config.Instance) bool {
	return a.Interface == b.Interface && a.VRID == b.VRID && a.Version == b.Version &&
		a.IPv6 == b.IPv6 && a.Unicast() == b.Unicast() && a.UnicastSrcIP == b.UnicastSrcIP &&
		a.McastSrcIP == b.McastSrcIP && (a.Priority == 255) == (b.Priority == 255) &&
		a.SkipCheckAdvAddr == b.SkipCheckAdvAddr && a.LowerPrioNoAdvert == b.LowerPrioNoAdvert &&
		a.OldUnicastChecksum == b.OldUnicastChecksum && a.McastGroup == b.McastGroup && a.ChecksumGroup == b.ChecksumGroup &&
		a.UnicastConfigured == b.UnicastConfigured && a.UnicastFaultNoPeer == b.UnicastFaultNoPeer && a.TrackSrcIP == b.TrackSrcIP
}

// sameProbes compares probe definitions, ignoring where in the files they were written.
func sameProbes(a, b *config.Config) bool {
	return reflect.DeepEqual(probeDefs(a), probeDefs(b))
}

func probeDefs(c *config.Config) map[string]any {
	out := map[string]any{}
	// Which probes run at all: only the tracked ones do, so a reload that starts
	// tracking a probe (a track_interface line, a vrrp_script unused until now) must
	// start it, or the instances tracking it never hear from it.
	for _, ic := range c.Instances {
		for k := range tracksOf(c, ic) {
			out["tracked:"+k] = true
		}
	}
	// Probes built under enable_script_security check a script found late (ScriptSpec.Secure).
	out["enable_script_security"] = c.Global.EnableScriptSecurity
	for n, s := range c.Scripts {
		out["script:"+n] = []any{s.Script, s.Interval, s.Timeout, s.Weight, s.Reverse, s.Fall, s.Rise, s.User, s.Group, s.InitFail, s.Restart}
	}
	for n, h := range c.HTTPChecks {
		out["http:"+n] = []any{h.URL, h.Status, h.BodyContains, h.Interval, h.Timeout, h.Fall, h.Rise, h.Weight, h.Reverse, h.Restart}
	}
	for n, f := range c.TrackFiles {
		out["file:"+n] = []any{f.Path, f.Weight, f.Reverse, f.Init, f.InitValue, f.Overwrite}
	}
	for n, p := range c.Processes {
		out["process:"+n] = []any{p.Process, p.Params, p.ParamMatch, p.Quorum, p.QuorumMax, p.Weight, p.Reverse, p.Delay, p.TerminateDelay, p.ForkDelay, p.FullCommand, p.Restart}
	}
	return out
}
