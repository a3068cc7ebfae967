package cluster

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// probeResultsKept bounds each probe's results ring.
const probeResultsKept = 20

// applyEvent folds one event into n.Node (which is nil until the first snapshot, in which
// case only the log learns of it) and logs what an operator wants to read.
func (s *State) applyEvent(n *NodeState, resp *hactlv1.WatchResponse) {
	at := resp.GetTime().AsTime()
	ts := resp.GetTime()
	if ts == nil {
		ts = timestamppb.New(at)
	}
	entry := func(inst string, kind Kind, format string, args ...any) {
		s.log.add(LogEntry{Time: at, Node: n.Name, Instance: inst, Kind: kind, Text: fmt.Sprintf(format, args...)})
	}
	switch ev := resp.GetEvent().(type) {
	case *hactlv1.WatchResponse_Transition:
		t := ev.Transition
		if in := n.Instance(t.GetInstance()); in != nil {
			in.State = t.GetTo()
			in.StateSince = ts
			in.StateReason = t.GetReason()
			in.Transitions++
			if t.GetTo() != hactlv1.State_STATE_FAULT {
				in.Faults = nil
			}
		}
		entry(t.GetInstance(), KindTransition, "%s → %s: %s", StateName(t.GetFrom()), StateName(t.GetTo()), t.GetReason())

	case *hactlv1.WatchResponse_PriorityChange:
		p := ev.PriorityChange
		if in := n.Instance(p.GetInstance()); in != nil {
			in.EffectivePriority = p.GetTo()
			in.Contributions = p.GetContributions()
		}
		text := fmt.Sprintf("priority %d → %d", p.GetFrom(), p.GetTo())
		if c := FormatContributions(p.GetContributions()); c != "" {
			text += " (" + c + ")"
		}
		entry(p.GetInstance(), KindPriority, "%s", text)

	case *hactlv1.WatchResponse_ProbeResult:
		s.foldProbe(n, ev.ProbeResult)
		pr := ev.ProbeResult
		if pr.GetChanged() {
			if pr.GetHealthy() {
				entry(pr.GetInstance(), KindProbe, "probe %s healthy", pr.GetProbe())
			} else {
				entry(pr.GetInstance(), KindProbe, "probe %s failed: %s", pr.GetProbe(), strings.TrimSpace(pr.GetResult().GetOutput()))
			}
		}

	case *hactlv1.WatchResponse_Vip:
		v := ev.Vip
		if in := n.Instance(v.GetInstance()); in != nil {
			found := false
			for _, x := range in.Vips {
				if x.GetAddress() == v.GetAddress() {
					x.Bound, found = v.GetBound(), true
				}
			}
			if !found {
				in.Vips = append(in.Vips, &hactlv1.Vip{Address: v.GetAddress(), Bound: v.GetBound()})
			}
		}
		verb := "released"
		if v.GetBound() {
			verb = "bound"
		}
		entry(v.GetInstance(), KindVIP, "VIP %s %s: %s", v.GetAddress(), verb, v.GetReason())

	case *hactlv1.WatchResponse_AdvertTiming:
		n.foldTiming(ev.AdvertTiming, at)

	case *hactlv1.WatchResponse_AdvertTimingBatch:
		// One event for many instances (agents that batch); older agents send them alone.
		for _, a := range ev.AdvertTimingBatch.GetTimings() {
			n.foldTiming(a, at)
		}

	case *hactlv1.WatchResponse_ConfigReload:
		c := ev.ConfigReload
		if !c.GetOk() {
			entry("", KindConfig, "config reload failed: %s", c.GetError())
			break
		}
		if n.Node != nil {
			n.Node.ConfigHash = c.GetConfigHash()
		}
		text := "config reloaded"
		if len(c.GetChanges()) > 0 {
			text += ": " + strings.Join(c.GetChanges(), "; ")
		}
		entry("", KindConfig, "%s", text)

	case *hactlv1.WatchResponse_ControlAction:
		c := ev.ControlAction
		if c.GetAction() == "maintenance" && n.Node != nil {
			n.Node.Maintenance = c.GetMaintenance()
		}
		if c.GetAction() == "override" {
			foldOverride(n.Instance(c.GetInstance()), c.GetDetail())
		}
		text := c.GetAction()
		if c.GetWho() != "" {
			text += " by " + c.GetWho()
		}
		if c.GetDetail() != "" {
			text += ": " + c.GetDetail()
		}
		entry(c.GetInstance(), KindControl, "%s", text)

	case *hactlv1.WatchResponse_ReceiveError:
		r := ev.ReceiveError
		foldForeign(n, r)
		text := "receive error " + r.GetCause()
		if r.GetSource() != "" {
			text += " from " + r.GetSource()
		}
		if r.GetReason() != "" {
			text += ": " + r.GetReason()
		}
		entry(r.GetInstance(), KindReceiveError, "%s", text)

	case *hactlv1.WatchResponse_Snapshot:
		// Delivered as Snapshot by Watch; tolerate it here too.
		n.Node = ev.Snapshot
	}
}

// foldTiming keeps an instance's advert timing, counters and master current, whether
// the agent sent the event alone or in a batch.
func (n *NodeState) foldTiming(a *hactlv1.AdvertTimingEvent, at time.Time) {
	in := n.Instance(a.GetInstance())
	if in == nil {
		return
	}
	if n.focused && a.GetInstance() == n.detail {
		n.detailLive = true
	}
	if a.GetTiming() != nil {
		in.Timing = a.GetTiming()
	}
	in.AdvertsSent = a.GetAdvertsSent()
	in.AdvertsReceived = a.GetAdvertsReceived()
	in.ReceiveErrors = a.GetReceiveErrors()
	if a.GetMaster() != nil {
		in.Master = a.GetMaster()
	}
	n.updateRates(a.GetInstance(), at, a.GetAdvertsSent(), a.GetAdvertsReceived(), a.GetReceiveErrors())
}

// foldProbe records a probe result in the probe's ring and its health.
func (s *State) foldProbe(n *NodeState, pr *hactlv1.ProbeResultEvent) {
	in := n.Instance(pr.GetInstance())
	if in == nil {
		return
	}
	var p *hactlv1.Probe
	for _, x := range in.Probes {
		if x.GetName() == pr.GetProbe() {
			p = x
		}
	}
	if p == nil {
		p = &hactlv1.Probe{Name: pr.GetProbe()}
		in.Probes = append(in.Probes, p)
	}
	p.Healthy = pr.GetHealthy()
	if r := pr.GetResult(); r != nil {
		p.Results = append(p.Results, r)
		if len(p.Results) > probeResultsKept {
			p.Results = append([]*hactlv1.ProbeResult(nil), p.Results[len(p.Results)-probeResultsKept:]...)
		}
		if pr.GetHealthy() {
			p.Reason = ""
		} else if out := strings.TrimSpace(r.GetOutput()); out != "" {
			p.Reason = out
		}
	}
}

// updateRates derives per-second rates from the counters' change since the last sample.
// A counter that went backwards (agent restart) restarts the baseline.
func (n *NodeState) updateRates(inst string, at time.Time, sent, received uint64, errs []*hactlv1.ReceiveErrorCount) {
	var errTotal uint64
	for _, e := range errs {
		errTotal += e.GetCount()
	}
	prev, ok := n.Rates[inst]
	next := Rates{at: at, sent: sent, received: received, errs: errTotal}
	if ok && !prev.at.IsZero() && at.After(prev.at) && sent >= prev.sent && received >= prev.received && errTotal >= prev.errs {
		dt := at.Sub(prev.at).Seconds()
		next.AdvertsSentPerSec = float64(sent-prev.sent) / dt
		next.AdvertsReceivedPerSec = float64(received-prev.received) / dt
		next.ErrorsPerSec = float64(errTotal-prev.errs) / dt
	} else if ok && !at.After(prev.at) {
		// Same instant (a snapshot right after an event): keep the rates we had.
		next.AdvertsSentPerSec, next.AdvertsReceivedPerSec, next.ErrorsPerSec = prev.AdvertsSentPerSec, prev.AdvertsReceivedPerSec, prev.ErrorsPerSec
	}
	if n.Rates == nil {
		n.Rates = map[string]Rates{}
	}
	n.Rates[inst] = next
}

// StateName is the short state name used everywhere: INIT BACKUP MASTER FAULT STOP.
func StateName(s hactlv1.State) string {
	switch s {
	case hactlv1.State_STATE_INIT:
		return "INIT"
	case hactlv1.State_STATE_BACKUP:
		return "BACKUP"
	case hactlv1.State_STATE_MASTER:
		return "MASTER"
	case hactlv1.State_STATE_FAULT:
		return "FAULT"
	case hactlv1.State_STATE_STOP:
		return "STOP"
	default:
		return "UNKNOWN"
	}
}

// FormatContributions renders priority contributions as "chk_nginx −20, eth1 +10".
func FormatContributions(cs []*hactlv1.PriorityContribution) string {
	parts := make([]string, 0, len(cs))
	for _, c := range cs {
		if c.GetDelta() < 0 {
			parts = append(parts, fmt.Sprintf("%s −%d", c.GetSource(), -c.GetDelta()))
		} else {
			parts = append(parts, fmt.Sprintf("%s +%d", c.GetSource(), c.GetDelta()))
		}
	}
	return strings.Join(parts, ", ")
}

// foldOverride keeps an instance's override mode current between snapshots. The agent
// announces a change as ControlAction "override" with detail "MODE: reason", MODE being
// vrrp.Override's name (agent/instance.go onOverrideChanged); an unknown MODE is left
// for the next snapshot.
func foldOverride(in *hactlv1.Instance, detail string) {
	if in == nil {
		return
	}
	mode, _, _ := strings.Cut(detail, ":")
	m, ok := map[string]hactlv1.OverrideMode{
		"none":       hactlv1.OverrideMode_OVERRIDE_MODE_NONE,
		"promote":    hactlv1.OverrideMode_OVERRIDE_MODE_TAKEOVER,
		"relinquish": hactlv1.OverrideMode_OVERRIDE_MODE_RELINQUISH,
	}[mode]
	if !ok {
		return
	}
	if in.Override == nil {
		in.Override = &hactlv1.Override{}
	}
	in.Override.Mode = m
	if m == hactlv1.OverrideMode_OVERRIDE_MODE_NONE {
		in.Override.Who, in.Override.Until = "", nil
	}
}
