package vip

import "time"

// Schedule is keepalived's timing of announcements for a new master. The
// agent calls Announce at each time these methods return.
type Schedule struct {
	// Repeat is garp_master_repeat: announcements per burst (keepalived
	// default 5).
	Repeat int
	// Interval is garp_interval / gna_interval: the gap between two
	// announcements of a burst (default 0, back to back).
	Interval time.Duration
	// Delay is garp_master_delay: a second burst this long after becoming
	// master (default 5s; 0 means no second burst).
	Delay time.Duration
	// Refresh is garp_master_refresh: while master, a burst this often
	// (default 0, off).
	Refresh time.Duration
	// RefreshRepeat is garp_master_refresh_repeat: announcements per refresh
	// burst (default 1).
	RefreshRepeat int
}

// DefaultSchedule is keepalived's default: 5 at once, 5 more after 5s, no
// refresh.
func DefaultSchedule() Schedule {
	return Schedule{Repeat: 5, Delay: 5 * time.Second, RefreshRepeat: 1}
}

// OnMaster returns the announcement times for a transition to master at
// start: a burst at once and, if Delay is set, another Delay later.
func (s Schedule) OnMaster(start time.Time) []time.Time {
	times := burst(start, s.Repeat, s.Interval)
	if s.Delay > 0 {
		times = append(times, burst(start.Add(s.Delay), s.Repeat, s.Interval)...)
	}
	return times
}

// NextRefresh returns the refresh burst due Refresh after last (the
// previous burst), or nil when refreshing is off.
func (s Schedule) NextRefresh(last time.Time) []time.Time {
	if s.Refresh <= 0 {
		return nil
	}
	return burst(last.Add(s.Refresh), s.RefreshRepeat, s.Interval)
}

func burst(at time.Time, n int, gap time.Duration) []time.Time {
	times := make([]time.Time, 0, max(n, 0))
	for i := range n {
		times = append(times, at.Add(time.Duration(i)*gap))
	}
	return times
}
