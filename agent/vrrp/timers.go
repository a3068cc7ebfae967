package vrrp

import "time"

// centisecond is the unit of the VRRPv3 Max Adver Int field.
const centisecond = 10 * time.Millisecond

// downTimerAdverts is how many adverts a backup misses before it declares the master
// down (the 3 of RFC 5798 6.1; keepalived's VRRP_DOWN_TIMER_ADVERTS).
const downTimerAdverts = 3

// SkewTime and MasterDownInterval are RFC 5798 6.1 (v3) and RFC 3768 6.1 (v2):
//
//	v3: Skew_Time            = ((256 - Priority) * Master_Adver_Interval) / 256
//	v2: Skew_Time            = (256 - Priority) / 256 seconds
//	    Master_Down_Interval = (3 * Master_Adver_Interval) + Skew_Time
//
// Priority is the effective priority (what we advertise). The arithmetic is done in
// nanoseconds on the real-valued formula, so v2 is exact (1 s / 256 is a whole number of
// nanoseconds) and v3 is exact to the nanosecond. We do not use the RFC's integer
// centiseconds: with a 10 ms interval they would round every Skew_Time to 0, giving all
// backups the same Master_Down_Interval. keepalived (VRRP_TIMER_SKEW in vrrp.h) computes
// the same real formula but truncates to the microsecond; the difference is below 1 µs.
func SkewTime(version, priority uint8, masterAdverInt time.Duration) time.Duration {
	n := time.Duration(256 - int(priority))
	if version == 2 {
		return n * time.Second / 256
	}
	return n * masterAdverInt / 256
}

// MasterDownInterval is RFC 5798 6.1's Master_Down_Interval; see SkewTime.
func MasterDownInterval(version, priority uint8, masterAdverInt time.Duration) time.Duration {
	return downTimerAdverts*masterAdverInt + SkewTime(version, priority, masterAdverInt)
}

// skewTime and masterDownInterval are the instance's current values: they follow the
// effective priority and, in v3, the Master_Adver_Interval adopted from the master.
func (i *Instance) skewTime() time.Duration {
	return SkewTime(i.cfg.Version, i.prio, i.masterAdverInt)
}

func (i *Instance) masterDownInterval() time.Duration {
	return MasterDownInterval(i.cfg.Version, i.prio, i.masterAdverInt)
}

// arm sets a timer's deadline and tells the driver.
func (i *Instance) arm(k TimerKind, at time.Time) {
	i.timers[k] = at
	i.emit(ArmTimer{Kind: k, At: at})
}

// disarm cancels a timer; it says nothing when the timer was not armed.
func (i *Instance) disarm(k TimerKind) {
	if i.timers[k].IsZero() {
		return
	}
	i.timers[k] = time.Time{}
	i.emit(ArmTimer{Kind: k})
}

// fire decides whether a TimerFired is real. The driver may deliver one late, after the
// timer was re-armed or cancelled: a disarmed timer is ignored, and one whose deadline is
// still ahead is ignored too but re-announced, so that a driver that dropped its deadline
// when its own timer went off gets it back. A real one is consumed (disarmed) here.
func (i *Instance) fire(k TimerKind) bool {
	if int(k) >= len(i.timers) || k == 0 {
		return false
	}
	at := i.timers[k]
	if at.IsZero() {
		return false
	}
	if i.now.Before(at) {
		i.emit(ArmTimer{Kind: k, At: at})
		return false
	}
	i.timers[k] = time.Time{}
	i.fired = at
	return true
}

// nextAdvert is the Adver_Timer's next deadline after the one that fired: on the grid
// the master's adverts started on (fired + AdverInt), so a late wake-up delays one
// advert and not every later one. keepalived's vrrp_init_instance_sands re-arms from
// the time it handled the expiry, and each interval then carries that wake-up latency.
// When the next grid point has already passed (the driver was held up for a whole
// interval or more) the grid restarts from now: one advert now and the next a full
// interval later, never a burst of catch-up adverts.
func (i *Instance) nextAdvert(fired time.Time) time.Time {
	if next := fired.Add(i.cfg.AdverInt); next.After(i.now) {
		return next
	}
	return i.advertAfter(i.now, i.cfg.AdverInt)
}

// advertAfter is the Adver_Timer's deadline after an advert sent at now out of turn:
// now + interval, or with Config.AdvertPhase the one point of the phase's grid in
// (now, now + interval].
func (i *Instance) advertAfter(now time.Time, interval time.Duration) time.Time {
	if i.cfg.AdvertPhase.IsZero() || interval <= 0 {
		return now.Add(interval)
	}
	r := now.Sub(i.cfg.AdvertPhase) % interval
	if r < 0 {
		r += interval
	}
	return now.Add(interval - r)
}
