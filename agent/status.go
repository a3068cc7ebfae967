package agent

import (
	"context"
	"math"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/hagent-dev/hagent/agent/config"
	"github.com/hagent-dev/hagent/agent/vrrp"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// statusTimeout bounds how long Status waits for a busy instance loop.
const statusTimeout = 2 * time.Second

// Status is a fresh snapshot of the node, copied out of every instance's loop.
func (a *Agent) Status() *hactlv1.Node {
	now := time.Now()
	a.mu.Lock()
	n := &hactlv1.Node{
		Name:         a.name,
		Version:      a.version,
		StartedAt:    timestamppb.New(a.started),
		Uptime:       durationpb.New(now.Sub(a.started)),
		ConfigFile:   a.configPath,
		ConfigHash:   a.cfg.Hash(),
		ApiListeners: a.listeners,
		Maintenance:  a.maintenance,
		Now:          timestamppb.New(now),
	}
	a.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), statusTimeout)
	defer cancel()
	// All at once: an instance whose loop is busy (stopping during a reload) must not
	// use up the others' time and have them reported as stopped.
	insts := a.instanceList()
	n.Instances = make([]*hactlv1.Instance, len(insts))
	var wg sync.WaitGroup
	for i, in := range insts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var pi *hactlv1.Instance
			err := in.call(ctx, func(now time.Time) { pi = in.statusProto(now) })
			if err != nil {
				pi = &hactlv1.Instance{Name: in.name, Vrid: uint32(in.vrid), Interface: in.ifname,
					Version: uint32(in.version), State: hactlv1.State_STATE_STOP, StateReason: err.Error()}
			}
			n.Instances[i] = pi
		}()
	}
	wg.Wait()
	return n
}

// statusProto runs in the instance's loop.
func (in *instance) statusProto(now time.Time) *hactlv1.Instance {
	st := in.fsm.Status(now)
	pi := &hactlv1.Instance{
		Name:              in.name,
		Vrid:              uint32(in.vrid),
		Interface:         in.cfg.Interface,
		Version:           uint32(in.cfg.Version),
		State:             stateProto(st.State),
		StateSince:        timestamppb.New(st.Since),
		StateReason:       st.Reason,
		BasePriority:      uint32(st.BasePriority),
		EffectivePriority: uint32(st.EffectivePriority),
		Contributions:     contributionsProto(st.Contributions),
		Master:            masterProto(st, in.src),
		Timing:            timingProto(in.cfg, st, now),
		AdvertsSent:       st.AdvertsSent,
		AdvertsReceived:   st.AdvertsReceived,
		ReceiveErrors:     errorsProto(st.Errors, in.queueDrops.Load()),
		Transitions:       st.Transitions,
		Maintenance:       st.Maintenance,
		PrimaryAddress:    addrString(in.src),
		Override:          overrideProto(st, in.opStopped, in.overrideWho),
		Config:            configProto(in.cfg),
		ForeignSenders:    in.foreignProtos(now),
	}
	if in.group != nil {
		pi.SyncGroup, pi.SyncGroupState = in.group.status()
	}
	for src, reason := range st.Faults {
		pi.Faults = append(pi.Faults, &hactlv1.FaultSource{Source: src, Reason: reason})
	}
	sort.Slice(pi.Faults, func(i, j int) bool { return pi.Faults[i].Source < pi.Faults[j].Source })
	for _, v := range in.vips {
		pi.Vips = append(pi.Vips, &hactlv1.Vip{Address: v.Prefix.String(), Dev: v.Dev, Bound: in.bound[v.Prefix]})
	}
	for _, p := range in.cfg.UnicastPeers {
		pi.UnicastPeers = append(pi.UnicastPeers, p.String())
	}
	keys := make([]string, 0, len(in.probeViews))
	for k := range in.probeViews {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := in.probeViews[k]
		pp := &hactlv1.Probe{Name: v.name, Kind: v.kind, Healthy: v.healthy && !v.pending, Weight: int32(v.weight), Reason: v.reason, Pending: v.pending}
		for _, r := range v.results {
			pp.Results = append(pp.Results, probeResultProto(r))
		}
		pi.Probes = append(pi.Probes, pp)
	}
	return pi
}

func stateProto(s vrrp.State) hactlv1.State {
	switch s {
	case vrrp.StateInit:
		return hactlv1.State_STATE_INIT
	case vrrp.StateBackup:
		return hactlv1.State_STATE_BACKUP
	case vrrp.StateMaster:
		return hactlv1.State_STATE_MASTER
	case vrrp.StateFault:
		return hactlv1.State_STATE_FAULT
	case vrrp.StateStopped:
		return hactlv1.State_STATE_STOP
	}
	return hactlv1.State_STATE_UNSPECIFIED
}

func contributionsProto(c map[string]int) []*hactlv1.PriorityContribution {
	out := make([]*hactlv1.PriorityContribution, 0, len(c))
	for src, d := range c {
		if d != 0 {
			out = append(out, &hactlv1.PriorityContribution{Source: src, Delta: int32(d)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}

func masterProto(st vrrp.Status, self netip.Addr) *hactlv1.Master {
	if !st.Master.IsValid() {
		return nil
	}
	return &hactlv1.Master{
		Address:  st.Master.String(),
		Priority: uint32(st.MasterPriority),
		IsSelf:   st.State == vrrp.StateMaster || st.Master == self,
	}
}

func errorsProto(errs map[vrrp.Cause]uint64, queueDrops uint64) []*hactlv1.ReceiveErrorCount {
	var out []*hactlv1.ReceiveErrorCount
	for _, c := range vrrp.Causes {
		if n := errs[c]; n > 0 {
			out = append(out, &hactlv1.ReceiveErrorCount{Cause: c.String(), Count: n})
		}
	}
	if queueDrops > 0 {
		out = append(out, &hactlv1.ReceiveErrorCount{Cause: "queue_full", Count: queueDrops})
	}
	return out
}

func overrideProto(st vrrp.Status, opStopped bool, who string) *hactlv1.Override {
	o := &hactlv1.Override{Mode: hactlv1.OverrideMode_OVERRIDE_MODE_NONE, Who: who}
	switch {
	case opStopped:
		o.Mode = hactlv1.OverrideMode_OVERRIDE_MODE_STOP
	case st.Override == vrrp.OverridePromote:
		o.Mode = hactlv1.OverrideMode_OVERRIDE_MODE_TAKEOVER
	case st.Override == vrrp.OverrideRelinquish:
		o.Mode = hactlv1.OverrideMode_OVERRIDE_MODE_RELINQUISH
	default:
		o.Who = ""
	}
	if !st.OverrideUntil.IsZero() {
		o.Until = timestamppb.New(st.OverrideUntil)
	}
	return o
}

// timingProto summarises the master's adverts as this node saw them: min, mean, max
// and jitter (standard deviation) of the recent inter-arrival times.
func timingProto(ic *config.Instance, st vrrp.Status, now time.Time) *hactlv1.AdvertTiming {
	t := &hactlv1.AdvertTiming{
		Configured:          durationpb.New(ic.AdvertInt),
		MasterAdverInterval: durationpb.New(st.MasterAdverInt),
		MasterDownInterval:  durationpb.New(st.MasterDown),
	}
	if !st.LastAdvert.IsZero() {
		t.LastAdvertAt = timestamppb.New(st.LastAdvert)
		t.LastAdvertAge = durationpb.New(now.Sub(st.LastAdvert))
	}
	if !st.MasterDownAt.IsZero() {
		t.MasterDownAt = timestamppb.New(st.MasterDownAt)
	}
	if len(st.RecentIntervals) == 0 {
		return t
	}
	lo, hi := st.RecentIntervals[0], st.RecentIntervals[0]
	var sum float64
	for _, d := range st.RecentIntervals {
		lo, hi = min(lo, d), max(hi, d)
		sum += float64(d)
		t.Recent = append(t.Recent, durationpb.New(d))
	}
	mean := sum / float64(len(st.RecentIntervals))
	var sq float64
	for _, d := range st.RecentIntervals {
		sq += (float64(d) - mean) * (float64(d) - mean)
	}
	t.Min = durationpb.New(lo)
	t.Max = durationpb.New(hi)
	t.Mean = durationpb.New(time.Duration(mean))
	t.Jitter = durationpb.New(time.Duration(math.Sqrt(sq / float64(len(st.RecentIntervals)))))
	return t
}
