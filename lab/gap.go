package lab

import (
	"fmt"
	"slices"
	"time"
)

// Gap is what the client saw when the VIP moved from one server to another.
// The definitions are those of the keepalived baseline (anchors), so numbers for
// hagent and keepalived compare directly.
type Gap struct {
	From, To string
	// LastOld is the last success from From that ended before FirstNew did;
	// FirstNew is the first success from To that ended after the event.
	LastOld, FirstNew Sample
	// Gap is the client-visible gap: FirstNew.End - LastOld.End. When no request
	// failed it is about one probe interval.
	Gap time.Duration
	// EventToServe is FirstNew.End - event.
	EventToServe time.Duration
	// Failed counts the requests started between the event and FirstNew.End that
	// failed.
	Failed int
	// Probes counts all requests started in that window, and MaxSpacing is the
	// longest time between two consecutive request starts from 1 s before the
	// event to FirstNew.End: the measurement's real resolution (it exceeds the
	// probe interval when the machine starved the prober).
	Probes     int
	MaxSpacing time.Duration
}

func (g Gap) String() string {
	return fmt.Sprintf("%s->%s: gap %v, event->serves %v, %d/%d failed, max probe spacing %v", g.From, g.To,
		g.Gap.Round(time.Millisecond), g.EventToServe.Round(time.Millisecond), g.Failed, g.Probes,
		g.MaxSpacing.Round(time.Millisecond))
}

// Analyze computes the Gap around event from samples (in any order).
func Analyze(samples []Sample, event time.Time, from, to string) (Gap, error) {
	s := slices.Clone(samples)
	sortByStart(s)
	g := Gap{From: from, To: to}
	first := -1
	for i, x := range s {
		if x.OK && x.Body == to && x.End.After(event) && (first < 0 || x.End.Before(s[first].End)) {
			first = i
		}
	}
	if first < 0 {
		return g, fmt.Errorf("no request was served by %s after the event", to)
	}
	g.FirstNew = s[first]
	last := -1
	for i, x := range s {
		if x.OK && x.Body == from && x.End.Before(g.FirstNew.End) && (last < 0 || x.End.After(s[last].End)) {
			last = i
		}
	}
	if last < 0 {
		return g, fmt.Errorf("no request was served by %s before %s served", from, to)
	}
	g.LastOld = s[last]
	g.Gap = g.FirstNew.End.Sub(g.LastOld.End)
	g.EventToServe = g.FirstNew.End.Sub(event)
	g.Failed = len(Failures(s, event, g.FirstNew.End))
	var prev time.Time
	for _, x := range s {
		if x.Start.Before(event.Add(-time.Second)) || !x.Start.Before(g.FirstNew.End) {
			continue
		}
		if !x.Start.Before(event) {
			g.Probes++
		}
		if !prev.IsZero() && x.Start.Sub(prev) > g.MaxSpacing {
			g.MaxSpacing = x.Start.Sub(prev)
		}
		prev = x.Start
	}
	return g, nil
}

// Failures returns the failed samples that started in [from, to).
func Failures(samples []Sample, from, to time.Time) []Sample {
	var out []Sample
	for _, x := range samples {
		if !x.OK && !x.Start.Before(from) && x.Start.Before(to) {
			out = append(out, x)
		}
	}
	return out
}

func sortByStart(s []Sample) {
	slices.SortStableFunc(s, func(a, b Sample) int { return a.Start.Compare(b.Start) })
}
