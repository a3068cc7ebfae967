package drill

import (
	"slices"
	"time"
)

// Gap bases: how a ClientView's Gap was measured.
const (
	// GapServerSwitch: end of the first success from the new server minus end of
	// the last success from the old one, the servers told apart by their answers.
	GapServerSwitch = "server-switch"
	// GapLongestOutage: the servers answer alike, so the gap is the longest time
	// without a successful response.
	GapLongestOutage = "longest-outage"
)

// ClientView is what a client of the VIP saw across one handover.
type ClientView struct {
	// OldServer is who answered last before the trigger, NewServer who answered
	// first afterwards with a different answer ("" when nobody did).
	OldServer string
	NewServer string
	// Gap is the client-visible interruption, measured as GapBasis says; GapKnown
	// is false when no success came after the trigger at all.
	Gap      time.Duration
	GapBasis string
	GapKnown bool
	// LongestOutage is the longest time without a successful response completing,
	// whatever the servers.
	LongestOutage time.Duration
	Sent          int
	Failed        int
	FailedByKind  map[string]int
}

// Analyze computes the client's view of a handover triggered at trigger from the
// samples taken around it. It does not modify samples.
func Analyze(samples []Sample, trigger time.Time) ClientView {
	byEnd := slices.Clone(samples)
	slices.SortStableFunc(byEnd, func(a, b Sample) int { return a.End.Compare(b.End) })

	v := ClientView{Sent: len(byEnd), FailedByKind: map[string]int{}}
	var oks []Sample
	for _, s := range byEnd {
		if s.OK {
			oks = append(oks, s)
			continue
		}
		v.Failed++
		v.FailedByKind[s.Kind]++
	}
	v.LongestOutage = longestOutage(byEnd, oks)

	var last *Sample // last success before the trigger
	for i := range oks {
		if oks[i].End.After(trigger) {
			break
		}
		last = &oks[i]
	}
	if last != nil {
		v.OldServer = last.Server
	}
	firstNew := -1
	successAfter := false
	for i, s := range oks {
		if !s.End.After(trigger) {
			continue
		}
		successAfter = true
		if last != nil && s.Server != last.Server {
			firstNew = i
			break
		}
	}
	if firstNew >= 0 {
		v.NewServer = oks[firstNew].Server
		lastOld := last.End
		for _, s := range oks[:firstNew] {
			if s.Server == v.OldServer {
				lastOld = s.End
			}
		}
		v.Gap = oks[firstNew].End.Sub(lastOld)
		v.GapBasis = GapServerSwitch
		v.GapKnown = true
		return v
	}
	v.GapBasis = GapLongestOutage
	v.Gap = v.LongestOutage
	v.GapKnown = successAfter
	return v
}

// longestOutage is the longest stretch with no success completing, bounded by the
// first request's start and the last request's end. samples are sorted by End and
// oks are its successes.
func longestOutage(samples, oks []Sample) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	begin := samples[0].Start
	for _, s := range samples {
		if s.Start.Before(begin) {
			begin = s.Start
		}
	}
	end := samples[len(samples)-1].End
	var longest time.Duration
	prev := begin
	for _, s := range oks {
		longest = max(longest, s.End.Sub(prev))
		prev = s.End
	}
	return max(longest, end.Sub(prev))
}
