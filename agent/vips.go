package agent

import (
	"context"
	"net/netip"
	"slices"
	"time"

	"github.com/hagent-dev/hagent/agent/vip"
	"github.com/hagent-dev/hagent/agent/vrrp"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// bindAll adds every VIP; one that fails is logged and the others still go on.
func (in *instance) bindAll(reason string) {
	for _, v := range in.vips {
		in.bindOne(v, reason)
	}
}

func (in *instance) bindOne(v vip.VIP, reason string) {
	changed, err := in.a.binder.Add(v)
	if err != nil {
		in.log.Error("add VIP", "vip", v.String(), "err", err)
		return
	}
	in.bound[v.Prefix] = true
	if changed {
		in.log.Info("VIP added", "vip", v.String(), "reason", reason)
		in.publishVIP(v, true, reason)
	}
}

func (in *instance) unbindAll(reason string) {
	for _, v := range in.vips {
		in.unbindOne(v, reason)
	}
}

func (in *instance) unbindOne(v vip.VIP, reason string) {
	changed, err := in.a.binder.Remove(v)
	if err != nil {
		in.log.Error("remove VIP", "vip", v.String(), "err", err)
		return
	}
	delete(in.bound, v.Prefix)
	if changed {
		in.log.Info("VIP removed", "vip", v.String(), "reason", reason)
		in.publishVIP(v, false, reason)
	}
}

// unbindLeftovers removes VIPs a crashed agent left behind, so that a node that starts
// as BACKUP never answers for an address it does not own.
func (in *instance) unbindLeftovers() {
	for _, v := range in.vips {
		have, err := in.a.binder.List(v.Dev)
		if err != nil {
			continue
		}
		if slices.Contains(have, v.Prefix) {
			in.unbindOne(v, "left behind by an earlier run")
		}
	}
}

func (in *instance) publishVIP(v vip.VIP, bound bool, reason string) {
	in.a.publish(&hactlv1.WatchResponse{Event: &hactlv1.WatchResponse_Vip{Vip: &hactlv1.VipEvent{
		Instance: in.name, Address: v.Prefix.String(), Bound: bound, Reason: reason,
	}}})
}

func (in *instance) garpRepeat() int {
	if in.cfg.GARPMasterRepeat > 0 {
		return in.cfg.GARPMasterRepeat
	}
	return 1
}

// announceBurst sends garp_master_repeat announcements now and schedules the second
// burst after garp_master_delay and the periodic refresh, as keepalived does.
func (in *instance) announceBurst(now time.Time) {
	in.announce(in.garpRepeat())
	in.garpAt = time.Time{}
	if in.cfg.GARPMasterDelay > 0 {
		in.garpAt = now.Add(in.cfg.GARPMasterDelay)
	}
	in.garpRefreshAt = time.Time{}
	if in.cfg.GARPMasterRefresh > 0 {
		in.garpRefreshAt = now.Add(in.cfg.GARPMasterRefresh)
	}
}

// announceJob is n rounds of GARP / unsolicited NA for the VIPs, per device.
type announceJob struct {
	devs   []string
	byDev  map[string][]netip.Addr
	rounds int
}

// announce queues n rounds of GARP / unsolicited NA for the VIPs, per device, for
// announceRun. The loop never sends them itself: each Announce opens and closes a
// packet socket, and the close waits for an RCU grace period (synchronize_net), 10 ms
// and more on a busy host; a burst of garp_master_repeat of them held the loop long
// enough to miss a 10 ms advert interval's Master_Down_Interval.
func (in *instance) announce(n int) {
	j := announceJob{byDev: map[string][]netip.Addr{}, rounds: n}
	for _, v := range in.vips {
		if _, ok := j.byDev[v.Dev]; !ok {
			j.devs = append(j.devs, v.Dev)
		}
		j.byDev[v.Dev] = append(j.byDev[v.Dev], v.Prefix.Addr())
	}
	in.annMu.Lock()
	defer in.annMu.Unlock()
	if len(in.annQueue) >= announceBacklog {
		in.log.Warn("announcements are behind; skipping a burst", "rounds", n)
		return
	}
	in.annQueue = append(in.annQueue, j)
	if !in.annBusy {
		in.annBusy = true
		go in.announceRun()
	}
}

// announceBacklog bounds the bursts waiting to be sent.
const announceBacklog = 4

// announceRun sends the queued announcements, then ends: a goroutine per instance only
// while it has bursts to send. A burst stops early once the instance is no longer
// MASTER: the VIPs are no longer ours to claim.
func (in *instance) announceRun() {
	for {
		in.annMu.Lock()
		if len(in.annQueue) == 0 {
			in.annBusy = false
			in.annMu.Unlock()
			return
		}
		j := in.annQueue[0]
		in.annQueue = in.annQueue[1:]
		in.annMu.Unlock()
		for _, d := range j.devs {
			if !in.master.Load() {
				break
			}
			if err := in.a.announcer.Announce(d, j.byDev[d], j.rounds); err != nil {
				in.log.Warn("announce VIPs", "dev", d, "err", err)
			}
		}
	}
}

// addrMsg: an address left an interface.
type addrMsg struct {
	ifname string
	prefix netip.Prefix
}

// onAddrRemoved puts back a VIP someone removed by hand while we are master.
func (in *instance) onAddrRemoved(now time.Time, m addrMsg) {
	if in.fsm.State() != vrrp.StateMaster {
		return
	}
	for _, v := range in.vips {
		if v.Prefix == m.prefix && v.Dev == m.ifname {
			in.log.Warn("VIP removed from the interface while MASTER; putting it back", "vip", v.String())
			delete(in.bound, v.Prefix)
			in.bindOne(v, "removed by hand while MASTER")
			if err := in.a.announcer.Announce(v.Dev, []netip.Addr{v.Prefix.Addr()}, 1); err != nil {
				in.log.Warn("announce VIP", "vip", v.String(), "err", err)
			}
		}
	}
}

// kernelWatch is one running watchKernel.
type kernelWatch struct {
	names  []string
	cancel context.CancelFunc
	done   chan struct{}
}

// watchedInterfaces are the interfaces of the running config: every instance's and
// every VIP's device, sorted. It reads the config, never an instance (whose VIP list
// belongs to its loop).
func (a *Agent) watchedInterfaces() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	set := map[string]bool{}
	for _, ic := range a.cfg.Instances {
		set[ic.Interface] = true
		for _, v := range ic.VIPs {
			set[vipOf(ic, v).Dev] = true
		}
		for _, v := range ic.ExcludedVIPs {
			set[vipOf(ic, v).Dev] = true
		}
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// rewatchKernel (re)starts the kernel watch over the interfaces of the running config,
// at start and after a reload that changed them: a new interface is watched from then
// on, and its first listing tells every instance its current state. The old watch has
// ended before the new one starts, so no stale event of it lands after a fresh one.
func (a *Agent) rewatchKernel(ctx context.Context) {
	if !a.watchNet {
		return
	}
	a.watchMu.Lock()
	defer a.watchMu.Unlock()
	if ctx.Err() != nil {
		return // shutting down
	}
	names := a.watchedInterfaces()
	if w := a.kwatch; w != nil {
		if slices.Equal(w.names, names) {
			return
		}
		w.cancel()
		<-w.done
	}
	wctx, cancel := context.WithCancel(ctx)
	w := &kernelWatch{names: names, cancel: cancel, done: make(chan struct{})}
	a.kwatch = w
	go func() {
		defer close(w.done)
		a.watchKernel(wctx, names)
	}()
}

// stopKernelWatch ends the kernel watch and waits for it.
func (a *Agent) stopKernelWatch() {
	a.watchMu.Lock()
	defer a.watchMu.Unlock()
	if w := a.kwatch; w != nil {
		w.cancel()
		<-w.done
		a.kwatch = nil
	}
}

// watchKernel follows link and address changes of the interfaces names and hands them
// to the instances until ctx ends. A failed subscription is re-established.
func (a *Agent) watchKernel(ctx context.Context, names []string) {
	for {
		events, err := a.watch(ctx, names)
		if err != nil {
			a.log.Error("watch interfaces", "err", err)
		} else {
			for ev := range events {
				if ctx.Err() != nil {
					continue // replaced or stopping: drain until the watcher closes
				}
				a.dispatchKernel(ev)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// A link event, or an address other than a VIP coming or going, re-reads the interface
// (linkChanged): its existence, index, state and source addresses. The VIPs' own
// events are frequent (every transition of every instance) and change none of that.
func (a *Agent) dispatchKernel(ev vip.Event) {
	var m any
	switch ev := ev.(type) {
	case vip.LinkUp:
		a.linkChanged(ev.Ifname)
		return
	case vip.LinkDown:
		a.linkChanged(ev.Ifname)
		return
	case vip.AddrAdded:
		if !a.isVIP(ev.Prefix.Addr()) {
			a.linkChanged(ev.Ifname)
		}
		return
	case vip.AddrRemoved:
		if !a.isVIP(ev.Prefix.Addr()) {
			a.linkChanged(ev.Ifname)
			return
		}
		m = addrMsg{ifname: ev.Ifname, prefix: ev.Prefix}
	case vip.WatchError:
		a.log.Warn("interface watch", "err", ev.Err)
		return
	default:
		return
	}
	for _, in := range a.instanceList() {
		in.send(m)
	}
}
