package vrrp

import (
	"errors"
	"fmt"
	"time"
)

// Operator overrides: Relinquish (the master hands over), Promote (a backup takes over)
// and Maintenance (hold out of mastership). The API checks CanRelinquish/CanPromote first
// and reports their error; Step ignores an override that is not possible.

// CanRelinquish says why Relinquish would do nothing, or nil.
func (i *Instance) CanRelinquish() error {
	switch {
	case i.cfg.Priority == 255:
		return errors.New("priority 255 address owner cannot relinquish")
	case i.state == StateFault:
		return fmt.Errorf("instance is FAULT: %s", i.faultSummary())
	case i.state != StateMaster:
		return fmt.Errorf("not MASTER: instance is %s", i.state)
	}
	return nil
}

// CanPromote says why Promote would do nothing, or nil. A promoted backup advertises 254;
// if the current master also has 254 the higher primary address wins (RFC 5798 6.4.3), so
// promotion of the lower address fails — that is reported as no error, since it cannot be
// known for sure until the adverts meet.
func (i *Instance) CanPromote() error {
	switch {
	case i.cfg.Priority == 255:
		return errors.New("priority 255 address owner cannot be promoted: it is MASTER whenever it can be")
	case i.state == StateFault:
		return fmt.Errorf("instance is FAULT: %s", i.faultSummary())
	case i.maintenance:
		return errors.New("instance is in maintenance")
	case i.state == StateMaster:
		return errors.New("already MASTER")
	case i.state != StateBackup:
		return fmt.Errorf("not BACKUP: instance is %s", i.state)
	case i.master.IsValid() && i.masterPrio == 255:
		return fmt.Errorf("current master %s is the address owner (priority 255)", i.master)
	}
	return nil
}

// relinquish is an operator failover away from us: one priority-0 advert so that the
// best backup takes over after its Skew_Time, then BACKUP, demoted: until the override
// ends we never preempt, and only take over if the Master_Down_Timer expires (nobody
// else is master — availability first).
func (i *Instance) relinquish(ev Relinquish) {
	if i.CanRelinquish() != nil {
		return
	}
	i.setOverride(OverrideRelinquish, ev.Until, ev.Who)
	d := i.masterDownInterval()
	i.enterBackup("relinquished by "+orUnknown(ev.Who), true, i.now.Add(d), downCause{wait: d, after: "relinquish"})
	i.updatePriority() // a Promote override it replaced no longer raises our priority
}

// promote is an operator failover to us (make before break): priority 254, MASTER at
// once with an advert; the old master sees the higher priority and steps down. When the
// override ends our priority returns to normal, and a higher-priority preempting backup
// takes over by itself.
func (i *Instance) promote(ev Promote) {
	if i.CanPromote() != nil {
		return
	}
	i.setOverride(OverridePromote, ev.Until, ev.Who)
	i.updatePriority()
	i.enterMaster("promoted by " + orUnknown(ev.Who))
}

func (i *Instance) setOverride(o Override, until time.Time, who string) {
	i.override = o
	i.overrideUntil = until
	i.overrideWho = who
	if until.IsZero() {
		i.disarm(TimerOverride)
	} else {
		i.arm(TimerOverride, until)
	}
	i.emit(OverrideChanged{Override: o, Until: until, Reason: o.String() + " by " + orUnknown(who)})
}

// endOverride ends a Relinquish or Promote (ClearOverride, its Until, or Stop).
func (i *Instance) endOverride(why string) {
	if i.override == OverrideNone {
		return
	}
	was := i.override
	i.override = OverrideNone
	i.overrideUntil = time.Time{}
	i.overrideWho = ""
	i.disarm(TimerOverride)
	i.emit(OverrideChanged{Override: OverrideNone, Reason: was.String() + " " + why})
	i.updatePriority()
}

// setMaintenance holds the instance out of mastership: a master resigns (priority 0,
// VIPs released) and goes to BACKUP; while on, the Master_Down_Timer expiring does not
// make it master and it never preempts. Off re-arms the timer if it had run out.
func (i *Instance) setMaintenance(on bool, who string) {
	if i.maintenance == on {
		return
	}
	i.maintenance = on
	switch {
	case on && i.state == StateMaster:
		d := i.masterDownInterval()
		i.enterBackup("maintenance on by "+orUnknown(who), true, i.now.Add(d), downCause{wait: d, after: "maintenance"})
	case !on && i.state == StateBackup && i.timers[TimerMasterDown].IsZero():
		d := i.masterDownInterval()
		i.armMasterDown(i.now.Add(d), downCause{wait: d, after: "maintenance"})
	}
}
