package vrrp

import (
	"net/netip"
	"time"
)

// Make before break. RFC 5798 has a master that leaves (6.4.3: a higher priority, or
// Shutdown) stop answering for the VIPs at once, and a backup take over Skew_Time after a
// priority-0 advert, or Master_Down_Interval after silence. In between nobody answers
// for the VIPs: keepalived 2.2.7 (vrrp.c: vrrp_state_leave_master ->
// vrrp_restore_interface) leaves clients unserved for that long. We keep the VIPs bound
// after leaving MASTER until the successor has claimed them, and release them then:
//
//   - handoverAwaitAdvert: nobody has advertised yet (we resigned with priority 0 on
//     Stop, Relinquish or Maintenance). The VIPs stay until a successor's first advert,
//     or one advert interval plus SuccessorGrace if nobody takes over: a backup takes
//     over Skew_Time after our priority 0, and Skew_Time is below one advert interval at
//     any priority (RFC 5798 6.1).
//   - handoverAwaitAnnounce: the successor advertises (or we just lost an election to
//     it). It binds the VIPs and sends its gratuitous ARPs right after its advert; the
//     VIPs stay until we see one of those announcements (AnnouncementSeen), or
//     HandoverLinger after its advert if we never see one.
//   - handoverDrain: the successor's announcement was seen; clients now send to it. The
//     VIPs stay HandoverDrain more, for the requests that reached us just before (a
//     connection whose SYN we accepted dies if the address goes under it).
//
// RFC 5798 6.4.2 forbids a backup to answer ARP for the VIPs. While we linger we still
// do (the kernel answers for any bound address), which is why the linger ends soon after
// the successor's first gratuitous ARP: from then on the clients' neighbour entries
// point at the successor, and an ARP reply of ours within the kernel's locktime (1 s by
// default) after that gratuitous ARP does not move them back (net/ipv4/arp.c:
// arp_process overrides a recent entry only for a gratuitous ARP).
type handoverPhase uint8

const (
	handoverNone handoverPhase = iota
	handoverAwaitAdvert
	handoverAwaitAnnounce
	handoverDrain
)

// SuccessorGrace is added to one advert interval when a router that resigned with
// priority 0 waits for a successor's advert.
const SuccessorGrace = 100 * time.Millisecond

// HandoverLinger is how long the VIPs stay after the successor's first advert when its
// gratuitous ARP / unsolicited NA is not seen. The new master advertises before it binds
// the VIPs and announces them, tens of milliseconds later on a busy host; releasing at
// its advert left clients sending to an address nobody answered for that long.
const HandoverLinger = 500 * time.Millisecond

// HandoverDrain is how long the VIPs stay after the successor's announcement was seen:
// a request whose first packet reached us just before it finishes here (on a LAN, in
// milliseconds), well within the kernel's ARP locktime of 1 s.
const HandoverDrain = 200 * time.Millisecond

// startHandover keeps the VIPs after leaving MASTER; successor says whether the new
// master has already advertised (we lost an election to it).
func (i *Instance) startHandover(successor bool) {
	if !i.vipsBound {
		return
	}
	if i.handover == handoverNone {
		i.emit(WatchAnnouncements{On: true})
	}
	if successor {
		i.handover = handoverAwaitAnnounce
		i.arm(TimerRelease, i.now.Add(HandoverLinger))
		return
	}
	i.handover = handoverAwaitAdvert
	i.arm(TimerRelease, i.now.Add(i.cfg.AdverInt+SuccessorGrace))
}

// successorAdvertised records an accepted advert from another router while the VIPs are
// kept: one above priority 0 is the successor taking part.
func (i *Instance) successorAdvertised(prio uint8) {
	if i.handover != handoverAwaitAdvert || prio == 0 {
		return
	}
	i.handover = handoverAwaitAnnounce
	i.arm(TimerRelease, i.now.Add(HandoverLinger))
}

// announcementSeen: another router announced one of our VIPs, so clients now go to it;
// the VIPs go after HandoverDrain (or sooner, if the release was due sooner).
func (i *Instance) announcementSeen(addr netip.Addr) {
	if i.handover == handoverNone || i.handover == handoverDrain {
		return
	}
	for _, v := range i.cfg.VIPs {
		if v == addr {
			i.handover = handoverDrain
			i.emit(WatchAnnouncements{On: false})
			if at := i.now.Add(HandoverDrain); at.Before(i.timers[TimerRelease]) {
				i.arm(TimerRelease, at)
			}
			return
		}
	}
}

// endHandover stops keeping the VIPs for a successor without releasing them (we are
// MASTER again).
func (i *Instance) endHandover() {
	if i.handover == handoverNone {
		return
	}
	watching := i.handover != handoverDrain
	i.handover = handoverNone
	i.disarm(TimerRelease)
	if watching {
		i.emit(WatchAnnouncements{On: false})
	}
}

// releaseVIPs ends any handover and unbinds the VIPs if they are bound.
func (i *Instance) releaseVIPs() {
	i.endHandover()
	if i.vipsBound {
		i.vipsBound = false
		i.emit(UnbindVIPs{})
	}
}

// HandingOver reports whether the instance keeps the VIPs for a successor. A driver
// that stops keeps feeding adverts, announcements and timers until it is false.
func (i *Instance) HandingOver() bool { return i.handover != handoverNone }
