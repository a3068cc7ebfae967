package cluster

import "time"

// DefaultLogSize is how many entries the event log keeps.
const DefaultLogSize = 500

// Kind classifies a log entry.
type Kind string

// Log entry kinds.
const (
	KindAgent        Kind = "agent"
	KindTransition   Kind = "transition"
	KindPriority     Kind = "priority"
	KindProbe        Kind = "probe"
	KindVIP          Kind = "vip"
	KindConfig       Kind = "config"
	KindControl      Kind = "control"
	KindReceiveError Kind = "rx-error"
)

// LogEntry is one line of the event log: when (the agent's clock), where, and what
// happened and why.
type LogEntry struct {
	Time     time.Time
	Node     string
	Instance string
	Kind     Kind
	Text     string
	// Repeat counts identical consecutive entries folded into this one (1 = once), so a
	// peer sending bad adverts every second does not flush the log.
	Repeat int
}

// eventLog is a bounded ring of entries, oldest first.
type eventLog struct {
	max  int
	list []LogEntry
	// snap is the copy entries last returned, until the next add: the console asks
	// for the log on every tick, and at 255 instances its 500 entries were a fifth of
	// what the console allocated (issue 18).
	snap []LogEntry
}

func (l *eventLog) add(e LogEntry) {
	l.snap = nil
	e.Repeat = 1
	if k := len(l.list); k > 0 {
		last := &l.list[k-1]
		if last.Node == e.Node && last.Instance == e.Instance && last.Kind == e.Kind && last.Text == e.Text {
			last.Repeat++
			last.Time = e.Time
			return
		}
	}
	l.list = append(l.list, e)
	if l.max > 0 && len(l.list) > l.max {
		l.list = append(l.list[:0:0], l.list[len(l.list)-l.max:]...)
	}
}

// entries is a copy of the log that later adds leave alone; callers share it and must
// not modify it.
func (l *eventLog) entries() []LogEntry {
	if l.snap == nil {
		l.snap = append([]LogEntry(nil), l.list...)
	}
	return l.snap
}
