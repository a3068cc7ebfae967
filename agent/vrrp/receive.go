package vrrp

import (
	"crypto/subtle"
	"fmt"
	"net/netip"
	"time"
)

// receive runs the receive checks of RFC 5798 7.1 and RFC 3768 7.1 that the codec cannot
// (TTL, our version, VRID, v2 auth and interval, address list) after Parse's (length,
// version, type, checksum). A failed check is counted and reported with a Dropped action.
// An address-list mismatch is counted and reported but the advert is still accepted (RFC
// 5798 only asks to log it). Our own adverts looped back are ignored silently.
func (i *Instance) receive(ev AdvertReceived) (Advert, bool) {
	if ev.Src == i.cfg.PrimaryAddr {
		return Advert{}, false
	}
	a, err := Parse(ev.Packet, ParseOptions{Src: ev.Src, Dst: ev.Dst, Checksum: i.cfg.Checksum})
	if err != nil {
		c := CauseOf(err)
		if c == CauseNone {
			c = CauseLength
		}
		i.count(ev.Src, c, err.Error())
		return a, false
	}
	switch {
	case !i.cfg.Unicast && ev.TTL != 255:
		i.count(ev.Src, CauseTTL, fmt.Sprintf("TTL %d, want 255", ev.TTL))
	case a.Version != i.cfg.Version:
		i.count(ev.Src, CauseVersion, fmt.Sprintf("VRRPv%d advert, we run VRRPv%d", a.Version, i.cfg.Version))
	case a.VRID != i.cfg.VRID:
		i.count(ev.Src, CauseVRID, fmt.Sprintf("VRID %d, ours is %d", a.VRID, i.cfg.VRID))
	case a.Version == 2 && a.AuthType != i.cfg.AuthType:
		i.count(ev.Src, CauseAuth, fmt.Sprintf("auth type %s, ours is %s", a.AuthType, i.cfg.AuthType))
	case a.Version == 2 && a.AuthType == AuthPass && subtle.ConstantTimeCompare(a.AuthData[:], i.auth[:]) != 1:
		i.count(ev.Src, CauseAuth, "wrong password")
	case a.Version == 2 && time.Duration(a.AdverInt)*time.Second != i.cfg.AdverInt:
		// RFC 3768 7.1: MUST drop, so that two masters of one VRID with different
		// intervals are noticed (keepalived does the same).
		i.count(ev.Src, CauseInterval, fmt.Sprintf("advert_int %ds, ours is %s", a.AdverInt, i.cfg.AdverInt))
	case a.Version == 3 && a.AdverInt == 0 && a.Priority != 0:
		i.count(ev.Src, CauseInterval, "advert interval 0")
	default:
		if !i.sameAddrs(a.Addrs) {
			i.count(ev.Src, CauseAddrList, fmt.Sprintf("advert carries %v, we have %v", a.Addrs, i.cfg.VIPs))
		}
		i.advertsReceived++
		return a, true
	}
	return a, false
}

// count records a failed receive check.
func (i *Instance) count(src netip.Addr, c Cause, reason string) {
	i.errs[c]++
	i.emit(Dropped{Src: src, Cause: c, Reason: reason})
}

// sameAddrs is the RFC's "MAY verify that the IP address(es) associated with the VRID are
// valid": same count, and each of ours present (in any order, as keepalived).
func (i *Instance) sameAddrs(got []netip.Addr) bool {
	if len(got) != len(i.cfg.VIPs) {
		return false
	}
	for _, want := range i.cfg.VIPs {
		found := false
		for _, g := range got {
			if g == want {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// backupReceive is RFC 5798 6.4.2 "If an ADVERTISEMENT is received".
func (i *Instance) backupReceive(src netip.Addr, a *Advert) {
	switch {
	case a.Priority == 0:
		// The master resigns: take over after Skew_Time, the highest backup first.
		i.observe(src, 0)
		skew := i.skewTime()
		i.armMasterDown(i.now.Add(skew), downCause{src: src, wait: skew, resigned: true})
	case a.Priority >= i.prio || !i.preemptAllowed():
		if i.cfg.Version == 3 {
			i.masterAdverInt = time.Duration(a.AdverInt) * centisecond
		}
		i.observe(src, a.Priority)
		i.trackPreemptDelay(a.Priority)
		d := i.masterDownInterval()
		i.armMasterDown(i.now.Add(d), downCause{src: src, wait: d})
	default:
		// Lower priority and we may preempt. RFC 5798: discard, so the Master_Down_Timer
		// runs out and we take over. keepalived does the same and records the sender.
		i.observe(src, a.Priority)
		if i.cfg.FastPreempt {
			// Our improvement: take over now rather than after Master_Down_Interval
			// (3.6 s at advert_int 1). The lower master steps down on our first advert.
			i.enterMaster(fmt.Sprintf("preempting %s: its priority %d is below our %d", src, a.Priority, i.prio))
		}
	}
}

// trackPreemptDelay is keepalived's preempt_delay bookkeeping in vrrp_state_backup: an
// advert of our priority or higher stops the delay; the first lower one (re)starts it,
// so preemption waits preempt_delay after start or after a lower master first appears.
func (i *Instance) trackPreemptDelay(prio uint8) {
	if i.cfg.PreemptDelay == 0 {
		return
	}
	if prio >= i.prio {
		i.preemptAt = time.Time{}
	} else if i.preemptAt.IsZero() {
		i.preemptAt = i.now.Add(i.cfg.PreemptDelay)
	}
}

// masterReceive is RFC 5798 6.4.3 "If an ADVERTISEMENT is received".
func (i *Instance) masterReceive(src netip.Addr, a *Advert) {
	switch {
	case a.Priority == 0:
		// Another router resigns: show at once that there is a master. It was a master
		// too (a healed split brain, see below), so its gratuitous ARPs may hold clients:
		// announce the VIPs again to bring them back.
		i.sendAdvert(i.prio)
		i.arm(TimerAdver, i.now.Add(i.cfg.AdverInt))
		i.emit(Announce{})
	case a.Priority > i.prio || (a.Priority == i.prio && src.Compare(i.cfg.PrimaryAddr) > 0):
		why := fmt.Sprintf("%s has higher priority %d, ours %d", src, a.Priority, i.prio)
		if a.Priority == i.prio {
			why = fmt.Sprintf("%s has equal priority %d and a higher address", src, a.Priority)
		}
		if i.cfg.Version == 3 {
			i.masterAdverInt = time.Duration(a.AdverInt) * centisecond
		}
		i.observe(src, a.Priority)
		d := i.masterDownInterval()
		// Not in RFC 5798: we resign with one priority-0 advert. When a split brain heals
		// and the higher master's advert arrives here first, this is the only thing the
		// higher master ever hears of us, and it answers by advertising and announcing
		// the VIPs at once (above); without it the clients our gratuitous ARPs took stay
		// unserved until their ARP entries expire. A backup that hears the priority 0
		// starts its Skew_Time, but the master's immediate advert stops it.
		i.enterBackup(why, true, i.now.Add(d), downCause{src: src, wait: d})
	default:
		// A lower priority master: RFC 5798 discards it. keepalived 2.2.7 also re-advertises
		// at once ("forcing new election"), which ends a split brain within one packet.
		// keepalived stops there, and the clients that the other master's gratuitous ARPs
		// took away stay with it until their ARP entries age out; we announce the VIPs
		// again so that they come back at once.
		i.sendAdvert(i.prio)
		i.emit(Announce{})
	}
}

// observe records an accepted advert in the master belief.
func (i *Instance) observe(src netip.Addr, prio uint8) {
	if src != i.master {
		i.resetIntervals()
	} else if !i.lastAdvert.IsZero() {
		i.intervals[i.intervalHead] = i.now.Sub(i.lastAdvert)
		i.intervalHead = (i.intervalHead + 1) % IntervalHistory
		if i.nIntervals < IntervalHistory {
			i.nIntervals++
		}
	}
	i.master = src
	i.masterPrio = prio
	i.lastAdvert = i.now
}

// setMaster sets the master belief without an advert (ourselves, or nobody).
func (i *Instance) setMaster(addr netip.Addr, prio uint8) {
	if addr != i.master {
		i.resetIntervals()
		i.lastAdvert = time.Time{}
	}
	i.master = addr
	i.masterPrio = prio
}

func (i *Instance) resetIntervals() {
	i.nIntervals = 0
	i.intervalHead = 0
}
