package vrrp

import (
	"maps"
	"slices"
	"time"
)

// Status returns a copy of the instance's observable state; it shares nothing with the
// instance. Every field is a point in time or a duration, so now only documents when the
// snapshot was taken: callers compute ages such as now.Sub(LastAdvert).
func (i *Instance) Status(now time.Time) Status {
	s := Status{
		State:             i.state,
		Since:             i.since,
		Reason:            i.reason,
		BasePriority:      i.cfg.Priority,
		EffectivePriority: i.prio,
		Contributions:     maps.Clone(i.contributions),
		Faults:            maps.Clone(i.faults),
		Override:          i.override,
		OverrideUntil:     i.overrideUntil,
		Maintenance:       i.maintenance,
		Master:            i.master,
		MasterPriority:    i.masterPrio,
		MasterAdverInt:    i.masterAdverInt,
		LastAdvert:        i.lastAdvert,
		MasterDown:        i.masterDownInterval(),
		RecentIntervals:   i.recentIntervals(),
		AdvertsSent:       i.advertsSent,
		AdvertsReceived:   i.advertsReceived,
		Errors:            make(map[Cause]uint64, len(Causes)),
		Transitions:       i.transitions,
	}
	if i.state == StateBackup {
		s.MasterDownAt = i.timers[TimerMasterDown]
	}
	for src := range i.unreported {
		s.Unreported = append(s.Unreported, src)
	}
	slices.Sort(s.Unreported)
	if i.handover != handoverNone {
		s.Handover = true
		s.ReleaseAt = i.timers[TimerRelease]
	}
	for _, c := range Causes {
		s.Errors[c] = i.errs[c]
	}
	return s
}

// recentIntervals returns the kept inter-arrival times, oldest first.
func (i *Instance) recentIntervals() []time.Duration {
	if i.nIntervals == 0 {
		return nil
	}
	out := make([]time.Duration, 0, i.nIntervals)
	start := (i.intervalHead - i.nIntervals + IntervalHistory) % IntervalHistory
	for n := range i.nIntervals {
		out = append(out, i.intervals[(start+n)%IntervalHistory])
	}
	return out
}
