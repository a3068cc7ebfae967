package vrrp

// promotedPriority is the effective priority of a Promote override: the highest a
// non-owner can have.
const promotedPriority = 254

// effectivePriority is what we advertise and compare with (keepalived's
// effective_priority): the base plus every PriorityDelta contribution, clamped to
// 1..254. The address owner (255) stays 255 whatever the deltas, as in keepalived. A
// Promote override pins it at 254.
func (i *Instance) effectivePriority() uint8 {
	if i.cfg.Priority == 255 {
		return 255
	}
	if i.override == OverridePromote {
		return promotedPriority
	}
	total := int(i.cfg.Priority)
	for _, d := range i.contributions {
		total += d
	}
	return uint8(min(max(total, 1), 254))
}

func (i *Instance) setContribution(source string, delta int) {
	if delta == 0 {
		delete(i.contributions, source)
	} else {
		i.contributions[source] = delta
	}
	i.updatePriority()
}

// updatePriority recomputes the effective priority. A master advertises a change at
// once instead of at its next Adver_Timer (keepalived waits for the timer): when its
// priority drops below a backup's, that backup can preempt within one packet.
func (i *Instance) updatePriority() {
	p := i.effectivePriority()
	if p == i.prio {
		return
	}
	from := i.prio
	i.prio = p
	i.emit(PriorityChanged{From: from, To: p})
	if i.state == StateMaster {
		i.masterPrio = p
		i.sendAdvert(p)
		i.arm(TimerAdver, i.advertAfter(i.now, i.cfg.AdverInt))
	}
}
