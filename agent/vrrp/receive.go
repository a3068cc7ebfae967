package vrrp

import (
	"crypto/subtle"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// receive runs the receive checks of RFC 5798 7.1 and RFC 3768 7.1 that the codec cannot
// (TTL, our version, VRID, v2 auth and interval, address list) after Parse's (length,
// trailing bytes, version, type, checksum), as keepalived 2.2.7's vrrp.c:
// vrrp_check_packet does. A failed check is counted and reported with a Dropped action;
// the packet is then ignored in every state. Our own adverts looped back are ignored
// silently.
func (i *Instance) receive(ev AdvertReceived) (Advert, bool) {
	if ev.Src == i.cfg.PrimaryAddr {
		return Advert{}, false
	}
	a, err := i.parse(ev)
	if err != nil {
		c := CauseOf(err)
		if c == CauseNone {
			c = CauseLength
		}
		i.count(ev.Src, Advert{}, c, err.Error())
		return a, false
	}
	switch {
	case !i.cfg.Unicast && ev.TTL != 255:
		i.count(ev.Src, a, CauseTTL, fmt.Sprintf("TTL %d, want 255", ev.TTL))
	case a.Version != i.cfg.Version:
		i.count(ev.Src, a, CauseVersion, fmt.Sprintf("VRRPv%d advert, we run VRRPv%d", a.Version, i.cfg.Version))
	case a.VRID != i.cfg.VRID:
		i.count(ev.Src, a, CauseVRID, fmt.Sprintf("VRID %d, ours is %d", a.VRID, i.cfg.VRID))
	case a.Version == 2 && a.AuthType != i.cfg.AuthType:
		i.count(ev.Src, a, CauseAuth, fmt.Sprintf("auth type %s, ours is %s", a.AuthType, i.cfg.AuthType))
	case a.Version == 2 && a.AuthType == AuthPass && subtle.ConstantTimeCompare(a.AuthData[:], i.auth[:]) != 1:
		i.count(ev.Src, a, CauseAuth, "wrong password")
	case a.Version == 2 && time.Duration(a.AdverInt)*time.Second != i.cfg.AdverInt:
		// RFC 3768 7.1: MUST drop, so that two masters of one VRID with different
		// intervals are noticed (keepalived does the same).
		i.count(ev.Src, a, CauseInterval, fmt.Sprintf("advert_int %ds, ours is %s", a.AdverInt, i.cfg.AdverInt))
	case a.Version == 3 && a.AdverInt == 0 && a.Priority != 0:
		i.count(ev.Src, a, CauseInterval, "advert interval 0")
	case ev.Dst.IsMulticast() == i.cfg.Unicast:
		// vrrp_check_packet: "Expected unicast packet but received multicast packet" (or
		// the reverse) -> VRRP_PACKET_KO. The raw socket hears every VRRP packet to the
		// host: a unicast instance must not follow a multicast router of its VRID.
		want := "multicast"
		if i.cfg.Unicast {
			want = "unicast"
		}
		i.count(ev.Src, a, CauseDestination, fmt.Sprintf("sent to %s, we expect %s", ev.Dst, want))
	case !i.cfg.Unicast && i.cfg.Group.IsValid() && ev.Dst != i.cfg.Group:
		// vrrp.c open_vrrp_read_socket binds the socket to the instance's group
		// (vrrp_mcast_group4/6, mcast_dst_ip): an advert to another group never reaches it.
		i.count(ev.Src, a, CauseDestination, fmt.Sprintf("sent to %s, our group is %s", ev.Dst, i.cfg.Group))
	case i.checkAddrs(ev.Src) && len(a.Addrs) != len(i.cfg.VIPs):
		// vrrp_check_packet: "received an unexpected ip number count" -> VRRP_PACKET_KO.
		i.count(ev.Src, a, CauseAddrCount, fmt.Sprintf("advert carries %d addresses, we have %d", len(a.Addrs), len(i.cfg.VIPs)))
	case i.checkAddrs(ev.Src) && !i.sameAddrs(a.Addrs):
		// vrrp_check_packet: "ip address associated with VRID not present in MASTER
		// advert" -> VRRP_PACKET_KO. Two clusters that share a VRID on one VLAN never
		// take each other's mastership.
		i.count(ev.Src, a, CauseAddrList, fmt.Sprintf("advert carries %v, we have %v", a.Addrs, i.cfg.VIPs))
	case i.cfg.Unicast && i.cfg.CheckUnicastSrc && i.checkAddrs(ev.Src) && !slices.Contains(i.cfg.UnicastPeers, ev.Src):
		// vrrp_check_packet, within the address checks: "unicast source address %s not a
		// unicast peer" -> VRRP_PACKET_KO. A stray router of the VRID cannot take over.
		i.count(ev.Src, a, CauseUnicastSrc, fmt.Sprintf("%s is not a unicast_peer", ev.Src))
	default:
		i.advertsReceived++
		return a, true
	}
	return a, false
}

// parse decodes the packet with the checksum in force. keepalived 2.2.7 (vrrp.c:
// vrrp_check_packet) retries a VRRPv3 IPv4 unicast advert whose checksum fails with the
// multicast group in the pseudo-header, keepalived's own checksum before 1.3.6; when
// that verifies, the instance switches to it for good, for receiving and sending
// (unicast_chksum_compat = CHKSUM_COMPATIBILITY_AUTO; it is per instance, not per peer).
// `old_unicast_checksum` starts in that mode, `old_unicast_checksum never` forbids the
// switch.
func (i *Instance) parse(ev AdvertReceived) (Advert, error) {
	group := i.cfg.ChecksumGroup
	if !group.IsValid() {
		group = GroupIPv4
	}
	if cap(i.addrBuf) < len(i.cfg.VIPs) {
		i.addrBuf = make([]netip.Addr, len(i.cfg.VIPs))
	}
	a, err := Parse(ev.Packet, ParseOptions{Src: ev.Src, Dst: ev.Dst, Checksum: i.checksum, Group: group, AddrBuf: i.addrBuf})
	if CauseOf(err) != CauseChecksum || i.checksum != ChecksumPseudoHeader ||
		i.cfg.Version != 3 || !i.cfg.Unicast || i.cfg.UnicastChecksum != UnicastChecksumAuto ||
		is6(ev.Src) || ev.Dst == group {
		return a, err
	}
	old, oldErr := Parse(ev.Packet, ParseOptions{Src: ev.Src, Dst: ev.Dst, Checksum: ChecksumGroupPseudoHeader, Group: group, AddrBuf: i.addrBuf})
	if oldErr != nil {
		return a, err
	}
	i.checksum = ChecksumGroupPseudoHeader
	i.emit(ChecksumChanged{Src: ev.Src, Checksum: i.checksum})
	return old, nil
}

// checkAddrs says whether the address list of an advert from src is checked. keepalived
// 2.2.7 always checks it, except that with skip_check_adv_addr (or the global
// vrrp_skip_check_adv_addr) a BACKUP skips it for an advert from the same router as the
// master it last accepted (vrrp.c: vrrp_state_backup; vrrp_state_master_rx always checks).
func (i *Instance) checkAddrs(src netip.Addr) bool {
	return !i.cfg.SkipCheckAdvAddr || i.state != StateBackup || !i.lastMasterSrc.IsValid() || src != i.lastMasterSrc
}

// count records a failed receive check; a is the decoded advert (zero when the packet
// could not be decoded), for the driver's record of foreign senders.
func (i *Instance) count(src netip.Addr, a Advert, c Cause, reason string) {
	i.errs[c]++
	a.Addrs = slices.Clone(a.Addrs) // the driver may keep them; addrBuf is reused
	i.emit(Dropped{Src: src, Cause: c, Reason: reason, Advert: a})
}

// sameAddrs is the RFC's "MAY verify that the IP address(es) associated with the VRID are
// valid" as keepalived does it (vrrp.c: vrrp_in_chk_vips): each of ours present, in any
// order. The caller has checked the count.
func (i *Instance) sameAddrs(got []netip.Addr) bool {
	for _, want := range i.cfg.VIPs {
		if !slices.Contains(got, want) {
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
		i.lastMasterSrc = src
		i.trackPreemptDelay(a.Priority)
		d := i.masterDownInterval()
		i.armMasterDown(i.now.Add(d), downCause{src: src, wait: d})
	case i.master.IsValid() && i.master != i.cfg.PrimaryAddr && src != i.master:
		// Lower priority from a router that is not the master we follow (a master that
		// just lost to it, announcing itself once): RFC 5798 discards it, and it says
		// nothing about our master, so it must not make us preempt.
		i.lastMasterSrc = src
	default:
		// Lower priority and we may preempt. RFC 5798: discard, so the Master_Down_Timer
		// runs out and we take over. keepalived does the same and records the sender.
		i.observe(src, a.Priority)
		i.lastMasterSrc = src
		if i.cfg.FastPreempt && !i.sync.hold {
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
		// too (shutting down or handing over), so its gratuitous ARPs may hold clients:
		// announce the VIPs again to bring them back.
		i.sendAdvert(i.prio)
		i.arm(TimerAdver, i.advertAfter(i.now, i.cfg.AdverInt))
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
		// No priority-0 advert (RFC 5798 6.4.3, keepalived's vrrp.c: vrrp_state_master_rx):
		// it would start every backup's Skew_Time and could pull a nopreempt or
		// preempt_delay backup into a third failover. One advert at our own priority
		// instead, as keepalived with higher_prio_send_advert: when a split brain heals
		// and the higher master's advert reaches us first, this is all the higher master
		// hears of us, and it answers by re-announcing the VIPs (below), bringing back
		// the clients our gratuitous ARPs took. Backups see a priority below the master
		// they follow, which changes nothing for them (backupReceive).
		i.sendAdvert(i.prio)
		i.enterBackup(why, false, i.now.Add(d), downCause{src: src, wait: d})
	default:
		i.lowerPriorityMaster(src, a.Priority)
	}
}

// lowerPriorityMaster answers another master of lower priority. RFC 5798 6.4.3 discards
// its advert. keepalived 2.2.7 (vrrp.c: vrrp_state_master_rx) re-advertises at once
// ("forcing new election") unless lower_prio_no_advert (forced by strict mode), which
// ends a split brain within one packet. keepalived stops there, and the clients that the
// other master's gratuitous ARPs took away stay with it until their ARP entries age out;
// we announce the VIPs again so that they come back at once. Both at most once per
// Advertisement_Interval: keepalived answers every advert, so a peer sending every 10 ms
// would make us send a hundred adverts and gratuitous ARP bursts a second.
func (i *Instance) lowerPriorityMaster(src netip.Addr, prio uint8) {
	if !i.lowerAnsweredAt.IsZero() && i.now.Sub(i.lowerAnsweredAt) < i.cfg.AdverInt {
		i.lowerSuppressed++
		return
	}
	i.lowerAnsweredAt = i.now
	if !i.cfg.LowerPrioNoAdvert {
		i.sendAdvert(i.prio)
		i.emit(Announce{})
	}
	i.emit(LowerPriorityAdvert{Src: src, Priority: prio, Answered: !i.cfg.LowerPrioNoAdvert, Suppressed: i.lowerSuppressed})
	i.lowerSuppressed = 0
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
