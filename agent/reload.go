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
// start, and an instance whose only change is its VIP list (or its notify scripts)
// keeps running and moves just the VIPs that changed. Any other change restarts that
// instance. Probes restart only when their definitions changed.
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
		if n != nil && sameCore(ic, n, old, cfg) {
			continue
		}
		in := a.instance(ic.Name)
		if in == nil {
			continue
		}
		in.stop()
		a.mu.Lock()
		a.sockets.detach(in)
		delete(a.instances, ic.Name)
		a.order = slices.DeleteFunc(a.order, func(s string) bool { return s == ic.Name })
		a.mu.Unlock()
		if n == nil {
			changes = append(changes, "removed "+ic.Name)
		}
	}
	var errs error
	for _, ic := range cfg.Instances {
		if in := a.instance(ic.Name); in != nil {
			if msg := in.reconfigure(ctx, ic); msg != "" {
				changes = append(changes, msg)
			}
			continue
		}
		a.mu.Lock()
		err := a.startInstanceLocked(runCtx, cfg, ic)
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
	a.mu.Lock()
	a.cfg = cfg
	if probesChanged {
		a.probes = newProbes(a.log)
		a.probes.start(runCtx, cfg, a.deliverProbeEvent)
	}
	a.mu.Unlock()
	// An interface the new config brings is watched from now on (started instances
	// read their link's state themselves: linkAtStart).
	a.rewatchKernel(runCtx)
	ev := &hactlv1.ConfigReloadEvent{Ok: errs == nil, ConfigHash: cfg.Hash(), Changes: changes}
	if errs != nil {
		ev.Error = errs.Error()
	}
	a.publish(&hactlv1.WatchResponse{Event: &hactlv1.WatchResponse_ConfigReload{ConfigReload: ev}})
	a.log.Info("config reloaded", "changes", changes, "err", errs)
	return changes, errs
}

// ReloadFailed reports a reload that did not parse: the running config stays.
func (a *Agent) ReloadFailed(err error) {
	a.log.Error("reload refused; keeping the running config", "err", err)
	a.publish(&hactlv1.WatchResponse{Event: &hactlv1.WatchResponse_ConfigReload{ConfigReload: &hactlv1.ConfigReloadEvent{
		Ok: false, Error: err.Error(),
	}}})
}

// reconfigure swaps an instance's VIP list and notify scripts in place.
func (in *instance) reconfigure(ctx context.Context, ic *config.Instance) string {
	var msg string
	err := in.call(ctx, func(now time.Time) {
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
		in.cfg = ic
		in.notify.ic = ic
		if len(added) == 0 && len(removed) == 0 {
			return
		}
		in.vips = next
		var addrs []netip.Addr
		for _, v := range ic.VIPs {
			addrs = append(addrs, v.Prefix.Addr())
		}
		in.fsm.SetVIPs(addrs)
		for _, v := range removed {
			in.unbindOne(v, "removed from the config")
		}
		if in.fsm.State() == vrrp.StateMaster {
			for _, v := range added {
				in.bindOne(v, "added to the config")
				if err := in.a.announcer.Announce(v.Dev, []netip.Addr{v.Prefix.Addr()}); err != nil {
					in.log.Warn("announce VIP", "vip", v.String(), "err", err)
				}
			}
		}
		msg = fmt.Sprintf("%s: %d VIPs added, %d removed", in.name, len(added), len(removed))
	})
	if err != nil {
		return ""
	}
	return msg
}

// sameCore reports whether two versions of an instance differ only in what reconfigure
// can change in place.
func sameCore(a, b *config.Instance, oldCfg, newCfg *config.Config) bool {
	if a.Interface != b.Interface || a.VRID != b.VRID || a.Priority != b.Priority ||
		a.AdvertInt != b.AdvertInt || a.Version != b.Version || a.IPv6 != b.IPv6 ||
		a.AuthType != b.AuthType || a.AuthPass != b.AuthPass || a.State != b.State ||
		a.NoPreempt != b.NoPreempt || a.PreemptDelay != b.PreemptDelay ||
		a.UnicastSrcIP != b.UnicastSrcIP || !slices.Equal(a.UnicastPeers, b.UnicastPeers) ||
		a.McastSrcIP != b.McastSrcIP || a.DontTrackPrimary != b.DontTrackPrimary ||
		a.GARPMasterDelay != b.GARPMasterDelay || a.GARPMasterRepeat != b.GARPMasterRepeat ||
		a.GARPMasterRefresh != b.GARPMasterRefresh || a.GARPMasterRefreshRepeat != b.GARPMasterRefreshRepeat ||
		a.SkipCheckAdvAddr != b.SkipCheckAdvAddr || a.LowerPrioNoAdvert != b.LowerPrioNoAdvert ||
		a.OldUnicastChecksum != b.OldUnicastChecksum {
		return false
	}
	return reflect.DeepEqual(tracksOf(oldCfg, a), tracksOf(newCfg, b))
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
	for n, s := range c.Scripts {
		out["script:"+n] = []any{s.Script, s.Interval, s.Timeout, s.Weight, s.Reverse, s.Fall, s.Rise, s.User, s.Group, s.InitFail, s.Restart}
	}
	for n, h := range c.HTTPChecks {
		out["http:"+n] = []any{h.URL, h.Status, h.BodyContains, h.Interval, h.Timeout, h.Fall, h.Rise, h.Weight, h.Reverse, h.Restart}
	}
	for n, p := range c.Processes {
		out["process:"+n] = []any{p.Process, p.Params, p.ParamMatch, p.Quorum, p.QuorumMax, p.Weight, p.Reverse, p.Delay, p.TerminateDelay, p.ForkDelay, p.FullCommand, p.Restart}
	}
	return out
}
