package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Instance is one VRRP virtual router as seen from this host: RFC 5798 section 6 plus
// keepalived's FAULT state and our operator overrides. It is pure: time comes in as an
// argument, and what to do goes out as actions. It is not safe for concurrent use; one
// goroutine owns it.
//
// As in etcd's raft, each state has its own step function (stepIdle, stepBackup,
// stepMaster, stepFault), swapped by the entry functions enterMaster, enterBackup,
// enterFault and enterStopped, which are the only places that change state. Adverts,
// the one event that comes hundreds of times a second, go to each state's advert handler
// by a switch on the state instead (advertReceived), which allocates nothing.
type Instance struct {
	cfg    Config
	advert Advert // template of what we send; Priority is set per send
	auth   [AuthDataLen]byte

	state  State
	step   func(ev Event)
	since  time.Time
	reason string

	now time.Time // of the Step in progress
	out []Action  // actions of the Step in progress

	// addrBuf is where a received advert's addresses are decoded, one advert after
	// another (Parse's AddrBuf): nothing keeps them past its Step (count clones them).
	addrBuf []netip.Addr

	// timers holds one deadline per TimerKind; zero is disarmed.
	timers [TimerRelease + 1]time.Time
	// fired is the deadline of the timer being handled (set by fire).
	fired time.Time
	// downWhy says why the Master_Down_Timer was last set, for the transition to MASTER;
	// it is formatted only then, to keep the per-advert path free of allocations.
	downWhy downCause

	// prio is the effective priority, recomputed by updatePriority.
	prio          uint8
	contributions map[string]int
	faults        map[string]string
	faultOrder    []string // fault sources in arrival order, for stable reasons

	override      Override
	overrideUntil time.Time
	overrideWho   string
	maintenance   bool

	// preemptAt is when preemption becomes allowed under preempt_delay (keepalived's
	// preempt_time); zero means the delay has not started.
	preemptAt time.Time

	vipsBound bool
	// handover is the make-before-break phase after leaving MASTER (handover.go).
	handover handoverPhase

	// unreported holds the tracked checks without a first result: source -> whether it
	// is a fault source (weight 0). startWanted: Start came while a fault source was
	// unreported, so the instance waits in INIT.
	unreported  map[string]bool
	startWanted bool

	// checksum is the VRRPv3 IPv4 pseudo-header in force (keepalived's
	// unicast_chksum_compat: CONFIG from the start, AUTO once a peer used it).
	checksum ChecksumMode
	// lastMasterSrc is the source of the last advert a BACKUP followed or discarded as
	// lower (keepalived's master_saddr); skip_check_adv_addr compares with it.
	lastMasterSrc netip.Addr
	// lowerAnsweredAt is when a MASTER last answered a lower-priority advert, and
	// lowerSuppressed how many it has left unanswered since: at most one answer per
	// advert interval.
	lowerAnsweredAt time.Time
	lowerSuppressed uint64

	sync syncState // our part in a vrrp_sync_group (syncgroup.go)

	// Master belief.
	masterAdverInt time.Duration // RFC 5798 Master_Adver_Interval
	master         netip.Addr
	masterPrio     uint8
	lastAdvert     time.Time
	intervals      [IntervalHistory]time.Duration
	nIntervals     int // valid entries in intervals (at most IntervalHistory)
	intervalHead   int // index of the next write

	advertsSent     uint64
	advertsReceived uint64
	errs            [causeCount]uint64
	transitions     uint64
}

// New validates cfg and returns an instance in INIT; Start it with Step(now, Start{}).
func New(cfg Config) (*Instance, error) {
	if err := validate(&cfg); err != nil {
		return nil, fmt.Errorf("vrrp instance %q: %w", cfg.Name, err)
	}
	cfg.VIPs = slices.Clone(cfg.VIPs)
	i := &Instance{
		cfg:            cfg,
		state:          StateInit,
		contributions:  map[string]int{},
		faults:         map[string]string{},
		unreported:     map[string]bool{},
		masterAdverInt: cfg.AdverInt,
	}
	i.step = i.stepIdle
	i.prio = i.effectivePriority()
	if cfg.UnicastChecksum == UnicastChecksumOld {
		i.checksum = ChecksumGroupPseudoHeader
	}
	i.advert = Advert{
		Version:  cfg.Version,
		Type:     TypeAdvertisement,
		VRID:     cfg.VRID,
		AdverInt: wireInterval(cfg.Version, cfg.AdverInt),
		Addrs:    cfg.VIPs,
	}
	if cfg.Version == 2 {
		i.advert.AuthType = cfg.AuthType
		if cfg.AuthType == AuthPass {
			i.auth = PassAuthData(cfg.AuthPass)
			i.advert.AuthData = i.auth
		}
	}
	return i, nil
}

func validate(c *Config) error {
	var errs []error
	if c.VRID == 0 {
		errs = append(errs, errors.New("virtual_router_id must be 1..255"))
	}
	if c.Priority == 0 {
		errs = append(errs, errors.New("priority must be 1..255"))
	}
	switch c.InitialState {
	case StateInit:
		c.InitialState = StateBackup // keepalived's default `state`
	case StateBackup, StateMaster:
	default:
		errs = append(errs, fmt.Errorf("initial state %s is neither MASTER nor BACKUP", c.InitialState))
	}
	switch c.Version {
	case 2:
		if c.AdverInt < time.Second || c.AdverInt > 255*time.Second || c.AdverInt%time.Second != 0 {
			errs = append(errs, fmt.Errorf("VRRPv2 advert_int %s must be whole seconds, 1..255", c.AdverInt))
		}
		switch c.AuthType {
		case AuthNone, AuthPass:
		default:
			errs = append(errs, fmt.Errorf("auth_type %s is not supported; use PASS or none", c.AuthType))
		}
	case 3:
		if c.AdverInt < centisecond || c.AdverInt > 0x0fff*centisecond || c.AdverInt%centisecond != 0 {
			errs = append(errs, fmt.Errorf("VRRPv3 advert_int %s must be a multiple of 10ms, 10ms..40.95s", c.AdverInt))
		}
	default:
		errs = append(errs, fmt.Errorf("version %d is neither 2 nor 3", c.Version))
	}
	if c.PreemptDelay < 0 {
		errs = append(errs, fmt.Errorf("preempt_delay %s is negative", c.PreemptDelay))
	}
	if !c.PrimaryAddr.IsValid() {
		errs = append(errs, errors.New("primary address is required: it is our advert source, breaks priority ties and filters our own adverts"))
	} else {
		v6 := is6(c.PrimaryAddr)
		if v6 && c.Version == 2 {
			errs = append(errs, errors.New("VRRPv2 is IPv4 only"))
		}
		for _, a := range c.VIPs {
			if !a.IsValid() || is6(a) != v6 {
				errs = append(errs, fmt.Errorf("virtual address %s is not of the primary address %s's family", a, c.PrimaryAddr))
			}
		}
	}
	if len(c.VIPs) > MaxAddrs {
		errs = append(errs, fmt.Errorf("%d virtual addresses, an advert carries at most %d", len(c.VIPs), MaxAddrs))
	}
	return errors.Join(errs...)
}

func is6(a netip.Addr) bool { return a.Is6() && !a.Is4In6() }

// wireInterval is the configured interval in the advert's unit: seconds for v2,
// centiseconds for v3.
func wireInterval(version uint8, d time.Duration) uint16 {
	if version == 2 {
		return uint16(d / time.Second)
	}
	return uint16(d / centisecond)
}

// Step feeds one event at time now and returns what the driver must do, in order. The
// returned slice belongs to the caller.
func (i *Instance) Step(now time.Time, ev Event) []Action { return i.StepAppend(nil, now, ev) }

// StepAppend is Step appending the actions to out: a driver that hands back the slice of
// an earlier step, emptied, steps without allocating for them.
func (i *Instance) StepAppend(out []Action, now time.Time, ev Event) []Action {
	i.now = now
	i.out = out
	switch ev := ev.(type) {
	case PriorityDelta:
		i.setContribution(ev.Source, ev.Delta)
		i.reported(ev.Source)
	case Fault:
		i.addFault(ev.Source, ev.Reason)
		i.reported(ev.Source)
	case FaultCleared:
		i.clearFault(ev.Source)
		i.reported(ev.Source)
	case Unreported:
		i.unreported[ev.Source] = ev.Fault
	case AnnouncementSeen:
		i.announcementSeen(ev.Addr)
	case ClearOverride:
		i.endOverride("cleared by " + orUnknown(ev.Who))
	case Maintenance:
		i.setMaintenance(ev.On, ev.Who)
	case SyncMaster, SyncBackup, SyncHold:
		i.syncStep(ev)
	case TimerFired:
		if !i.fire(ev.Kind) {
			break
		}
		if ev.Kind == TimerOverride {
			i.endOverride("expired")
			break
		}
		if ev.Kind == TimerRelease {
			i.releaseVIPs()
			break
		}
		i.step(ev)
	case AdvertReceived:
		i.advertReceived(ev)
	case nil:
	default:
		i.step(ev)
	}
	return i.takeOut()
}

// ReceiveAppend is StepAppend for an advert, taken as it is: an Event holding one is
// allocated, and a backup of 255 instances steps 255 adverts a second.
func (i *Instance) ReceiveAppend(out []Action, now time.Time, ev AdvertReceived) []Action {
	i.now = now
	i.out = out
	i.advertReceived(ev)
	return i.takeOut()
}

// takeOut ends a step: its actions go to the caller.
func (i *Instance) takeOut() []Action {
	out := i.out
	i.out = nil
	return out
}

// State is the current state.
func (i *Instance) State() State { return i.state }

// Preempt reports the configured preempt mode: keepalived's `nopreempt` only counts with
// `state BACKUP`, and is ignored with `state MASTER`.
func (i *Instance) Preempt() bool {
	return !(i.cfg.NoPreempt && i.cfg.InitialState == StateBackup)
}

// preemptAllowed is whether a backup may now take over from a lower-priority master:
// the preempt mode, preempt_delay, our overrides (a relinquished or maintained instance
// never preempts), and the tracked checks: while one has not given its first result our
// effective priority is not known yet, so a node that boots with its service down does
// not preempt and then fail back (keepalived only has its Master_Down_Interval before
// the first result: vrrp_scheduler.c: vrrp_init_script runs the scripts at once).
func (i *Instance) preemptAllowed() bool {
	if !i.Preempt() || i.override == OverrideRelinquish || i.maintenance || len(i.unreported) > 0 {
		return false
	}
	if i.cfg.PreemptDelay > 0 {
		return !i.preemptAt.IsZero() && !i.now.Before(i.preemptAt)
	}
	return true
}

func (i *Instance) emit(a Action) { i.out = append(i.out, a) }

// sendAdvert sends an advert with the given priority (0 to resign).
func (i *Instance) sendAdvert(prio uint8) {
	a := i.advert
	a.Priority = prio
	i.advertsSent++
	i.emit(SendAdvert{Advert: a, Checksum: i.checksum})
}

func orUnknown(who string) string {
	if who == "" {
		return "unknown"
	}
	return who
}
