package vrrp

import (
	"fmt"
	"net/netip"
	"time"
)

// downCause is why the Master_Down_Timer runs.
type downCause struct {
	src      netip.Addr    // the master we last heard, if any
	wait     time.Duration // Master_Down_Interval, or Skew_Time after a priority 0
	resigned bool          // src sent priority 0
	after    string        // what armed it without an advert ("relinquish", "maintenance")
	stalled  time.Duration // how late the timer was handled, when Config.StallGrace waited
	grace    time.Duration // how long it then waited
}

func (c downCause) String() string {
	if c.stalled > 0 {
		base := c
		base.stalled = 0
		base.grace = 0
		return fmt.Sprintf("%s, and %s more after this host was held up %s", base, c.grace.Round(time.Microsecond), c.stalled.Round(time.Microsecond))
	}
	switch {
	case c.resigned:
		return fmt.Sprintf("master %s resigned (priority 0), waited Skew_Time %s", c.src, c.wait)
	case c.src.IsValid():
		return fmt.Sprintf("no advert from %s for Master_Down_Interval %s", c.src, c.wait)
	case c.after != "":
		return fmt.Sprintf("no other master for Master_Down_Interval %s after %s", c.wait, c.after)
	}
	return fmt.Sprintf("no advert for Master_Down_Interval %s", c.wait)
}

// The entry functions below are the only code that changes i.state. Each does all of a
// state's entry actions, in the order the driver must carry them out.

func (i *Instance) transition(to State, step func(Event), reason string) {
	from := i.state
	i.state = to
	i.step = step
	i.since = i.now
	i.reason = reason
	i.transitions++
	i.emit(Transition{From: from, To: to, Reason: reason})
}

// leaveMaster undoes MASTER: stop advertising and optionally resign with one priority-0
// advert (RFC 5798 6.4.3 Shutdown; keepalived on FAULT). The priority-0 advert goes
// first so that a backup starts its Skew_Time at once. With handover the VIPs stay bound
// until the successor has claimed them (see handover.go); successor says it already
// advertised. Without, they are released now.
func (i *Instance) leaveMaster(resign, handover, successor bool) {
	i.disarm(TimerAdver)
	if resign {
		i.sendAdvert(0)
	}
	if handover {
		i.startHandover(successor)
		return
	}
	i.releaseVIPs()
}

// enterMaster is RFC 5798 6.4.1/6.4.2 "transition to Master": send an advert, take the
// VIPs, announce them, arm the Adver_Timer. The advert goes before the gratuitous ARPs
// so that an old master drops the VIPs first (as keepalived's vrrp_state_master_tx).
func (i *Instance) enterMaster(reason string) {
	i.transition(StateMaster, i.stepMaster, reason)
	i.disarm(TimerMasterDown)
	i.endHandover()                   // VIPs we kept for a successor are ours again
	i.masterAdverInt = i.cfg.AdverInt // a master uses its own interval (keepalived)
	i.setMaster(i.cfg.PrimaryAddr, i.prio)
	i.sendAdvert(i.prio)
	if !i.vipsBound {
		i.vipsBound = true
		i.emit(BindVIPs{})
	}
	i.emit(Announce{})
	i.arm(TimerAdver, i.advertAfter(i.now, i.cfg.AdverInt))
}

// enterBackup goes to BACKUP with the Master_Down_Timer at downAt. resign says whether a
// master leaving sends priority 0 first (relinquish, maintenance) or not (it lost an
// election to a higher priority: RFC 5798 6.4.3, keepalived's vrrp_state_master_rx).
// A master leaving hands over: the VIPs stay until its successor claims them; one that
// lost an election has heard its successor already. The caller sets masterAdverInt and
// the master belief.
func (i *Instance) enterBackup(reason string, resign bool, downAt time.Time, why downCause) {
	wasMaster := i.state == StateMaster
	i.transition(StateBackup, i.stepBackup, reason)
	if wasMaster {
		i.leaveMaster(resign, true, !resign)
	}
	i.armMasterDown(downAt, why)
}

// enterFault is keepalived's FAULT: a master sends one priority-0 advert and releases
// the VIPs; no timers run until the last fault clears.
func (i *Instance) enterFault(reason string) {
	wasMaster := i.state == StateMaster
	i.transition(StateFault, i.stepFault, reason)
	if wasMaster {
		i.leaveMaster(true, false, false)
	}
	i.releaseVIPs() // a handover in progress too: a faulty node serves nothing
	i.disarm(TimerMasterDown)
}

// enterStopped shuts the instance down: a master sends priority 0 (RFC 5798 6.4.3
// Shutdown) and hands over (the VIPs stay until a successor claims them, see
// handover.go), every other timer stops and any override ends.
func (i *Instance) enterStopped(reason string) {
	wasMaster := i.state == StateMaster
	i.transition(StateStopped, i.stepIdle, reason)
	if wasMaster {
		i.leaveMaster(true, true, false)
	}
	i.disarm(TimerMasterDown)
	i.endOverride("instance stopped")
	i.setMaster(netip.Addr{}, 0)
}

// armMasterDown sets the Master_Down_Timer and remembers why, for the transition reason.
func (i *Instance) armMasterDown(at time.Time, why downCause) {
	i.downWhy = why
	i.arm(TimerMasterDown, at)
}

// stallGraceWaits is Config.StallGrace for the Master_Down_Timer that just fired: when
// it was handled more than StallLate after its deadline, and no grace was given since
// it was last armed, it re-arms the timer for as long as it was late (at most one
// Master_Adver_Interval) and says so. The advert that comes meanwhile re-arms it as
// usual; the timer that runs out again takes over.
func (i *Instance) stallGraceWaits() bool {
	late := i.now.Sub(i.fired)
	if !i.cfg.StallGrace || i.downWhy.stalled > 0 || late <= StallLate(i.masterAdverInt) {
		return false
	}
	why := i.downWhy
	why.stalled, why.grace = late, min(late, i.masterAdverInt)
	i.armMasterDown(i.now.Add(why.grace), why)
	i.emit(StallGraced{Late: late, Grace: why.grace})
	return true
}

// startBackup is RFC 5798 6.4.1 for a non-owner: Master_Adver_Interval is our own
// Advertisement_Interval and the Master_Down_Timer a full Master_Down_Interval. So does
// keepalived for `state BACKUP`; for `state MASTER` its vrrp_init_state (vrrp_scheduler.c)
// waits only Master_Adver_Interval plus a minimal skew. We deliberately keep the full
// interval for both (no two masters at start) and make up for it with FastPreempt.
func (i *Instance) startBackup(reason string) {
	i.masterAdverInt = i.cfg.AdverInt
	if i.cfg.PreemptDelay > 0 {
		i.preemptAt = i.now.Add(i.cfg.PreemptDelay)
	}
	d := i.masterDownInterval()
	i.enterBackup(reason, false, i.now.Add(d), downCause{wait: d})
}

// stepIdle is INIT and STOP: only Start matters (RFC 5798 6.4.1), and a stopped master
// handing over still listens for its successor's advert (idleAdvert).
func (i *Instance) stepIdle(ev Event) {
	switch ev.(type) {
	case Start:
		i.start()
	case Stop:
		if i.state == StateInit {
			i.startWanted = false
			i.enterStopped("stopped before start")
		}
	}
}

// advertReceived hands an advert to its state's handler. Adverts go by state here, not
// through the step function: an Event passed to a func value escapes, so each advert
// would be allocated (ReceiveAppend). The handlers are the RFC's "If an ADVERTISEMENT is
// received" of each state.
func (i *Instance) advertReceived(ev AdvertReceived) {
	switch i.state {
	case StateBackup:
		i.backupAdvert(ev)
	case StateMaster:
		i.masterAdvert(ev)
	case StateFault:
		i.faultAdvert(ev)
	default:
		i.idleAdvert(ev)
	}
}

// idleAdvert: INIT ignores adverts; a stopped master handing over listens for its
// successor's.
func (i *Instance) idleAdvert(ev AdvertReceived) {
	if i.handover == handoverNone {
		return
	}
	if a, ok := i.receive(ev); ok {
		i.successorAdvertised(a.Priority)
	}
}

func (i *Instance) start() {
	if w := i.unreportedFaults(); w != "" {
		// keepalived's vrrp_init_state keeps an instance with num_script_init out of
		// BACKUP and MASTER until process_script_update_priority has the first result.
		i.startWanted = true
		i.reason = "waiting for the first result of " + w
		i.since = i.now
		return
	}
	i.startWanted = false
	switch {
	case len(i.faults) > 0:
		i.enterFault("start: " + i.faultSummary())
	case i.cfg.Priority == 255 && !i.maintenance:
		i.enterMaster("start: address owner (priority 255)")
	default:
		i.startBackup("start")
	}
}

// stepBackup is RFC 5798 6.4.2.
func (i *Instance) stepBackup(ev Event) {
	switch ev := ev.(type) {
	case Stop:
		i.enterStopped("stop")
	case TimerFired:
		if ev.Kind != TimerMasterDown {
			return
		}
		if i.maintenance {
			// Held out of mastership: stay BACKUP with no timer; Maintenance{On: false}
			// re-arms it.
			return
		}
		if i.stallGraceWaits() {
			return
		}
		if i.syncHeldAtMasterDown() {
			return
		}
		i.enterMaster("master down: " + i.downWhy.String())
	case Promote:
		i.promote(ev)
	}
}

// stepMaster is RFC 5798 6.4.3.
func (i *Instance) stepMaster(ev Event) {
	switch ev := ev.(type) {
	case Stop:
		i.enterStopped("stop")
	case TimerFired:
		if ev.Kind != TimerAdver {
			return
		}
		i.sendAdvert(i.prio)
		i.arm(TimerAdver, i.nextAdvert(i.fired))
	case Relinquish:
		i.relinquish(ev)
	}
}

// stepFault is keepalived's FAULT: adverts are checked and observed but never acted on
// (faultAdvert).
func (i *Instance) stepFault(ev Event) {
	if _, ok := ev.(Stop); ok {
		i.enterStopped("stop")
	}
}

func (i *Instance) backupAdvert(ev AdvertReceived) {
	if a, ok := i.receive(ev); ok {
		i.successorAdvertised(a.Priority)
		i.backupReceive(ev.Src, &a)
	}
}

func (i *Instance) masterAdvert(ev AdvertReceived) {
	if a, ok := i.receive(ev); ok {
		i.masterReceive(ev.Src, &a)
	}
}

// faultAdvert: FAULT checks and observes adverts but never acts on them.
func (i *Instance) faultAdvert(ev AdvertReceived) {
	if a, ok := i.receive(ev); ok {
		if i.cfg.Version == 3 && a.Priority > 0 {
			i.masterAdverInt = time.Duration(a.AdverInt) * centisecond
		}
		i.observe(ev.Src, a.Priority)
	}
}
