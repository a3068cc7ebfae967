package tui

import (
	"strings"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"

	"github.com/hagent-dev/hagent/cluster"
	"github.com/hagent-dev/hagent/cluster/lint"
)

// frameCache holds the last rendered screen. Update replaces it (a new pointer, so a
// copy of an older model keeps its own) on every message except the quiet ones.
type frameCache struct {
	view string
	ok   bool
}

// quiet reports whether an agent message only refreshes numbers that the 250 ms tick
// redraws anyway: advert timing (counters, intervals), alone or in a batch, that does
// not change whom the node believes to be master for any instance, nor an instance's
// configured interval. Nothing lint reads changes with a quiet message. Everything an
// operator must see at once — a transition, a VIP, a probe, a priority, an agent lost —
// is drawn on arrival.
func (m Model) quiet(msg cluster.Msg) bool {
	e, ok := msg.(cluster.Event)
	if !ok || m.frame == nil {
		return false
	}
	var timings []*hactlv1.AdvertTimingEvent
	switch ev := e.Resp.GetEvent().(type) {
	case *hactlv1.WatchResponse_AdvertTiming:
		timings = []*hactlv1.AdvertTimingEvent{ev.AdvertTiming}
	case *hactlv1.WatchResponse_AdvertTimingBatch:
		timings = ev.AdvertTimingBatch.GetTimings()
	default:
		return false
	}
	n := m.state.Node(e.Agent)
	if n == nil || !n.Reachable {
		return false // the first message after an outage is news
	}
	for _, at := range timings {
		in := n.Instance(at.GetInstance())
		if in == nil {
			return false
		}
		next := at.GetMaster()
		if next != nil && (next.GetAddress() != in.GetMaster().GetAddress() || next.GetIsSelf() != in.GetMaster().GetIsSelf()) {
			return false
		}
		// The configured interval is config (lint compares it across nodes): it comes
		// with a reload, and a timing message that differs is news.
		if c, was := at.GetTiming().GetConfigured(), in.GetTiming().GetConfigured(); c != nil && (c.GetSeconds() != was.GetSeconds() || c.GetNanos() != was.GetNanos()) {
			return false
		}
	}
	return true
}

// findingsByInstance counts lint findings per instance for the dashboard; a finding on
// instances whose names the nodes disagree on ("VI_1/VI_2") counts for each, one on no
// instance under "".
func findingsByInstance(fs []lint.Finding) map[string]int {
	if len(fs) == 0 {
		return nil
	}
	out := map[string]int{}
	for _, f := range fs {
		if f.Instance == "" {
			out[""]++
			continue
		}
		for _, name := range strings.Split(f.Instance, "/") {
			out[name]++
		}
	}
	return out
}
