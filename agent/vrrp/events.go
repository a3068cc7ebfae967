package vrrp

import (
	"fmt"
	"net/netip"
	"time"
)

// State is an instance's VRRP state: RFC 5798's three plus keepalived's FAULT and a
// stopped instance.
type State uint8

const (
	StateInit State = iota
	StateBackup
	StateMaster
	StateFault
	StateStopped
)

func (s State) String() string {
	switch s {
	case StateInit:
		return "INIT"
	case StateBackup:
		return "BACKUP"
	case StateMaster:
		return "MASTER"
	case StateFault:
		return "FAULT"
	case StateStopped:
		return "STOP"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// TimerKind names one of an instance's timers. The driver keeps one deadline per kind.
type TimerKind uint8

const (
	// TimerAdver is RFC 5798's Adver_Timer: the master's next advert.
	TimerAdver TimerKind = iota + 1
	// TimerMasterDown is RFC 5798's Master_Down_Timer: a backup's takeover deadline.
	TimerMasterDown
	// TimerOverride ends a time-limited failover override.
	TimerOverride
	// TimerRelease ends a handover: a router that left MASTER releases the VIPs it kept
	// for its successor (make before break, see handover.go).
	TimerRelease
)

func (k TimerKind) String() string {
	switch k {
	case TimerAdver:
		return "adver"
	case TimerMasterDown:
		return "master_down"
	case TimerOverride:
		return "override"
	case TimerRelease:
		return "release"
	}
	return fmt.Sprintf("timer(%d)", uint8(k))
}

// Config is what one instance needs from keepalived.conf, already checked.
type Config struct {
	Name    string
	VRID    uint8
	Version uint8 // 2 or 3
	// Priority is the configured base priority, 1..255; 255 makes this the address owner.
	Priority uint8
	// AdverInt is the configured advertisement interval: whole seconds for v2,
	// a multiple of 10 ms for v3.
	AdverInt time.Duration
	// InitialState is keepalived's `state`: StateMaster or StateBackup.
	InitialState State
	// NoPreempt is keepalived's `nopreempt`; it only counts with `state BACKUP`.
	NoPreempt    bool
	PreemptDelay time.Duration
	AuthType     AuthType
	AuthPass     string // v2 PASS; only the first 8 bytes count
	// VIPs are the addresses carried in our adverts (virtual_ipaddress).
	VIPs []netip.Addr
	// PrimaryAddr is the address we send from; it breaks equal-priority ties.
	PrimaryAddr netip.Addr
	// UnicastChecksum is keepalived's `old_unicast_checksum` for VRRPv3 over IPv4
	// unicast: which pseudo-header our adverts carry, and whether an advert with the
	// pre-1.3.6 one switches us to it.
	UnicastChecksum UnicastChecksum
	// SkipCheckAdvAddr is keepalived's skip_check_adv_addr (or global
	// vrrp_skip_check_adv_addr): a BACKUP does not check the address list of adverts
	// from the master it already follows.
	SkipCheckAdvAddr bool
	// LowerPrioNoAdvert is keepalived's lower_prio_no_advert (forced on by strict mode):
	// a MASTER does not answer a lower-priority advert.
	LowerPrioNoAdvert bool
	// Unicast is set with unicast_peer: adverts come by unicast, so no TTL check
	// applies (as keepalived).
	Unicast bool
	// CheckUnicastSrc (check_unicast_src, global vrrp_check_unicast_src) drops a unicast
	// advert whose source is not one of UnicastPeers.
	CheckUnicastSrc bool
	UnicastPeers    []netip.Addr
	// Group is the multicast group a multicast instance's adverts go to
	// (vrrp_mcast_group4/6, mcast_dst_ip); an advert to another group is dropped,
	// as keepalived's socket, bound to its group, never sees it. Zero: not checked.
	Group netip.Addr
	// ChecksumGroup is the IPv4 group of keepalived's pre-1.3.6 unicast checksum: the
	// global vrrp_mcast_group4, even for a unicast instance. Zero: 224.0.0.18.
	ChecksumGroup netip.Addr
	// FastPreempt makes a backup that may preempt take over as soon as it receives an
	// advert of lower priority, instead of letting its Master_Down_Timer run out
	// (RFC 5798 6.4.2, keepalived: 3 * advert_int + Skew_Time). Off is the RFC.
	FastPreempt bool

	// AdvertPhase, when set, puts a master's Adver_Timer on the grid AdvertPhase + k ×
	// AdverInt: the advert after one sent out of turn (becoming master, a priority
	// change, a reload, answering priority 0) is due at the one grid point within the
	// next AdverInt instead of a whole AdverInt later. So it is never later than the
	// RFC's, at most once earlier; and every instance of an agent given the same phase
	// advertises at the same moments (keepalived gets that from handling all the timers
	// due at one wake-up with one time), so a lost link lets their backups take over
	// together. The zero time: AdverInt after each out-of-turn advert, as the RFC words it.
	AdvertPhase time.Time

	// StallGrace: a Master_Down_Timer handled late by more than StallLate means this
	// host was not running at the deadline (a stalled virtual machine, every CPU held by
	// work as urgent as ours), and what held it up may have held the master's advert up
	// too: in a VM whose vCPUs stop together, both wake at once and the backup, whose
	// timer has long run out, would take over in the instant before the master's overdue
	// advert arrives. With StallGrace the backup then waits once more, as long as it was
	// held up (at most one Master_Adver_Interval), and takes over only if no advert came
	// meanwhile. A timer handled on time takes over at once, so a real failure costs
	// nothing extra unless this host was stalled too. keepalived and the RFC take over at
	// once (off).
	StallGrace bool
}

// StallLate is how late a Master_Down_Timer must be handled for Config.StallGrace to
// count it as a stall of this host: a tenth of the Master_Adver_Interval, at least a
// millisecond. That is well above the wake-up latency of a busy host at realtime
// priority (tens of microseconds), and above the queue of an agent whose hundreds of
// instances at whole-second intervals all take over at once (tens of milliseconds):
// those are late because the agent is busy with the others, not because it stopped.
func StallLate(masterAdverInt time.Duration) time.Duration {
	return max(time.Millisecond, masterAdverInt/10)
}

// UnicastChecksum is keepalived's unicast_chksum_compat setting (vrrp.h
// chksum_compatibility_t).
type UnicastChecksum uint8

const (
	// UnicastChecksumAuto sends RFC 5798's checksum and switches to the pre-1.3.6 one
	// when a unicast peer's advert verifies only with it (CHKSUM_COMPATIBILITY_NONE).
	UnicastChecksumAuto UnicastChecksum = iota
	// UnicastChecksumNever never switches (`old_unicast_checksum never`).
	UnicastChecksumNever
	// UnicastChecksumOld sends and accepts only the pre-1.3.6 checksum
	// (`old_unicast_checksum`, CHKSUM_COMPATIBILITY_CONFIG).
	UnicastChecksumOld
)

// Event is an input to Instance.Step.
type Event interface{ isEvent() }

type (
	// Start leaves Initialize (RFC 5798 6.4.1).
	Start struct{}
	// Stop shuts the instance down: a master sends one priority-0 advert.
	Stop struct{}
	// AdvertReceived is a VRRP packet read from the network, not yet checked.
	AdvertReceived struct {
		Src, Dst netip.Addr
		TTL      int
		Packet   []byte
	}
	// TimerFired is a deadline from an ArmTimer that has passed.
	TimerFired struct{ Kind TimerKind }
	// PriorityDelta sets one source's contribution to the effective priority (it replaces
	// the source's previous value; 0 removes it).
	PriorityDelta struct {
		Source string
		Delta  int
	}
	// Fault puts the instance in FAULT while any source reports one.
	Fault struct{ Source, Reason string }
	// FaultCleared clears one fault source.
	FaultCleared struct{ Source string }
	// Relinquish makes a master hand over at once: one priority-0 advert, then BACKUP,
	// demoted (it does not preempt back) until ClearOverride or Until.
	Relinquish struct {
		Until time.Time // zero: until cleared
		Who   string
	}
	// Promote makes a backup take over at once with a raised effective priority, so that
	// the old master steps down on our first advert (make before break).
	Promote struct {
		Until time.Time // zero: until cleared
		Who   string
	}
	// ClearOverride ends a Relinquish or Promote.
	ClearOverride struct{ Who string }
	// Maintenance holds the instance out of mastership while On.
	Maintenance struct {
		On  bool
		Who string
	}
	// Unreported names a tracked check that has not given its first result yet; the
	// check reports with a Fault, FaultCleared or PriorityDelta of the same Source. A
	// fault source (Fault: a weight-0 check) holds the instance in INIT until it reports,
	// as keepalived's num_script_init (vrrp_track.c: initialise_track_script_state,
	// process_script_update_priority). Any unreported check holds off preemption.
	Unreported struct {
		Source string
		Fault  bool
	}
	// AnnouncementSeen is another router's gratuitous ARP or unsolicited NA for Addr,
	// seen on the segment: during a handover it means the successor has claimed the VIP.
	AnnouncementSeen struct{ Addr netip.Addr }
)

func (Start) isEvent()            {}
func (Stop) isEvent()             {}
func (AdvertReceived) isEvent()   {}
func (TimerFired) isEvent()       {}
func (PriorityDelta) isEvent()    {}
func (Fault) isEvent()            {}
func (FaultCleared) isEvent()     {}
func (Relinquish) isEvent()       {}
func (Promote) isEvent()          {}
func (ClearOverride) isEvent()    {}
func (Maintenance) isEvent()      {}
func (Unreported) isEvent()       {}
func (AnnouncementSeen) isEvent() {}

// Action is an output of Instance.Step, for the driver to carry out in order.
type Action interface{ isAction() }

type (
	// SendAdvert asks the driver to marshal and send an advert (to the group, or to each
	// unicast peer).
	SendAdvert struct {
		Advert Advert
		// Checksum is the pseudo-header VRRPv3 over IPv4 must use (see ChecksumMode).
		Checksum ChecksumMode
	}
	// BindVIPs adds the virtual addresses to the interface.
	BindVIPs struct{}
	// UnbindVIPs removes them.
	UnbindVIPs struct{}
	// Announce sends gratuitous ARP / unsolicited NA for the VIPs (the driver applies
	// garp_master_delay/repeat/refresh).
	Announce struct{}
	// ArmTimer sets the deadline of a timer; a zero At disarms it.
	ArmTimer struct {
		Kind TimerKind
		At   time.Time
	}
	// Transition reports a state change and why.
	Transition struct {
		From, To State
		Reason   string
	}
	// Dropped reports a packet that failed a receive check and was ignored, for the
	// log; the counter is already incremented.
	Dropped struct {
		Src    netip.Addr
		Cause  Cause
		Reason string
		// Advert is the packet as decoded; zero (Version 0) when it could not be.
		Advert Advert
	}
	// ChecksumChanged reports that the instance switched its VRRPv3 checksum because
	// Src's advert verified only with it (keepalived: "Setting unicast VRRPv3 checksum
	// to old version"), for the log.
	ChecksumChanged struct {
		Src      netip.Addr
		Checksum ChecksumMode
	}
	// LowerPriorityAdvert reports that a MASTER heard another master of lower priority
	// and, unless LowerPrioNoAdvert, answered it (advert and announcement). The core
	// answers, and so reports, at most once per advert interval, so that a driver may
	// log every one.
	LowerPriorityAdvert struct {
		Src      netip.Addr
		Priority uint8
		Answered bool
		// Suppressed counts the lower-priority adverts left unanswered since the last
		// report.
		Suppressed uint64
	}
	// PriorityChanged reports a new effective priority.
	PriorityChanged struct{ From, To uint8 }
	// StallGraced reports that Config.StallGrace held a takeover back: the
	// Master_Down_Timer was handled Late after its deadline, and the backup waits Grace
	// more for the master's advert.
	StallGraced struct{ Late, Grace time.Duration }
	// WatchAnnouncements asks the driver to watch the segment for another router's
	// gratuitous ARP / unsolicited NA for our VIPs (On) or to stop (off), and to report
	// each with AnnouncementSeen. It is on only while a handover keeps the VIPs.
	WatchAnnouncements struct{ On bool }
	// OverrideChanged reports that a Relinquish or Promote override started (Override
	// is it, Until its end or zero) or ended (Override is OverrideNone), for the event
	// stream: an override can end by itself when its Until passes.
	OverrideChanged struct {
		Override Override
		Until    time.Time
		Reason   string
	}
)

func (SendAdvert) isAction()          {}
func (BindVIPs) isAction()            {}
func (UnbindVIPs) isAction()          {}
func (Announce) isAction()            {}
func (ArmTimer) isAction()            {}
func (Transition) isAction()          {}
func (Dropped) isAction()             {}
func (ChecksumChanged) isAction()     {}
func (LowerPriorityAdvert) isAction() {}
func (PriorityChanged) isAction()     {}
func (StallGraced) isAction()         {}
func (OverrideChanged) isAction()     {}
func (WatchAnnouncements) isAction()  {}

// Override is an operator's failover override in force.
type Override uint8

const (
	OverrideNone Override = iota
	OverrideRelinquish
	OverridePromote
)

func (o Override) String() string {
	switch o {
	case OverrideNone:
		return "none"
	case OverrideRelinquish:
		return "relinquish"
	case OverridePromote:
		return "promote"
	}
	return fmt.Sprintf("override(%d)", uint8(o))
}

// IntervalHistory is how many advert inter-arrival times Status keeps.
const IntervalHistory = 64

// Status is a copy of an instance's observable state, for the API.
type Status struct {
	State  State
	Since  time.Time
	Reason string // why it last changed

	BasePriority      uint8
	EffectivePriority uint8          // what we send and decide with
	Contributions     map[string]int // source -> delta, as given by PriorityDelta
	Faults            map[string]string
	Override          Override
	OverrideUntil     time.Time
	Maintenance       bool

	// The master we believe in: ourselves when MASTER, else the last accepted advert's
	// source; invalid when unknown.
	Master          netip.Addr
	MasterPriority  uint8
	MasterAdverInt  time.Duration // Master_Adver_Interval (v3 adopts the master's)
	LastAdvert      time.Time     // arrival of the last accepted advert
	MasterDownAt    time.Time     // Master_Down_Timer deadline when BACKUP, else zero
	MasterDown      time.Duration // Master_Down_Interval now in force
	RecentIntervals []time.Duration

	AdvertsSent     uint64
	AdvertsReceived uint64
	Errors          map[Cause]uint64
	Transitions     uint64

	// Unreported lists the tracked checks that have not given their first result, sorted.
	Unreported []string
	// Handover is set while a router that left MASTER keeps the VIPs for its successor;
	// ReleaseAt is when it releases them at the latest.
	Handover  bool
	ReleaseAt time.Time
}
