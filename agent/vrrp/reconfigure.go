package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// SetVIPs replaces the addresses our adverts carry, for a reload that changed only the
// virtual_ipaddress list. The state is kept; binding is the driver's, which knows which
// addresses came and went.
func (i *Instance) SetVIPs(addrs []netip.Addr) {
	i.cfg.VIPs = slices.Clone(addrs)
	i.advert.Addrs = i.cfg.VIPs
}

// ErrNeedsRestart is returned by Reconfigure for a change that makes it another virtual
// router (VRID, version, family, source address, unicast or multicast, address owner):
// the driver must stop the instance and start a new one.
var ErrNeedsRestart = errors.New("the change needs a new instance")

// Reconfigure applies a reloaded config in place, keeping the state, the VIPs and the
// master belief, as keepalived 2.2.7 does on reload: vrrp.c vrrp_complete_init copies
// the old instance's state to the new one, restore_vrrp_state sets reload_master for a
// master, and vrrp_scheduler.c vrrp_init_state keeps a reload_master MASTER (no pass
// through BACKUP) and vrrp_init_instance_sands makes it advertise at once. The election
// is then re-run by adverts: a master advertises its new priority now, so a backup that
// now outranks it preempts (FastPreempt on its first advert), and a backup whose new
// priority outranks the master takes over on the master's next advert.
//
// Deviations from keepalived, each keeping what is running: a backup keeps its
// Master_Down_Timer, moved by the change of Master_Down_Interval as
// vrrp_track.c vrrp_set_effective_priority moves it for a priority change (keepalived
// restarts it in full on reload); a FAULT instance stays FAULT with its fault sources
// (they are the driver's, which re-evaluates the tracks it changed).
//
// The returned actions are those of a Step. On error nothing changed.
func (i *Instance) Reconfigure(now time.Time, cfg Config) ([]Action, error) {
	if err := validate(&cfg); err != nil {
		return nil, fmt.Errorf("vrrp instance %q: %w", cfg.Name, err)
	}
	old := i.cfg
	switch {
	case cfg.VRID != old.VRID:
		return nil, fmt.Errorf("virtual_router_id %d -> %d: %w", old.VRID, cfg.VRID, ErrNeedsRestart)
	case cfg.Version != old.Version:
		return nil, fmt.Errorf("version %d -> %d: %w", old.Version, cfg.Version, ErrNeedsRestart)
	case cfg.PrimaryAddr != old.PrimaryAddr:
		return nil, fmt.Errorf("source address %s -> %s: %w", old.PrimaryAddr, cfg.PrimaryAddr, ErrNeedsRestart)
	case cfg.Unicast != old.Unicast:
		return nil, fmt.Errorf("unicast %v -> %v: %w", old.Unicast, cfg.Unicast, ErrNeedsRestart)
	case (cfg.Priority == 255) != (old.Priority == 255):
		// The address owner starts as MASTER at once and ignores weights: a different
		// router (RFC 5798 6.4.1).
		return nil, fmt.Errorf("address owner (priority 255) changed: %w", ErrNeedsRestart)
	}

	i.now = now
	i.out = nil
	cfg.VIPs = slices.Clone(cfg.VIPs)
	oldDown := i.masterDownInterval()
	i.cfg = cfg
	i.advert.AdverInt = wireInterval(cfg.Version, cfg.AdverInt)
	i.advert.Addrs = i.cfg.VIPs
	i.advert.AuthType = AuthNone
	i.auth = [AuthDataLen]byte{}
	i.advert.AuthData = i.auth
	if cfg.Version == 2 {
		i.advert.AuthType = cfg.AuthType
		if cfg.AuthType == AuthPass {
			i.auth = PassAuthData(cfg.AuthPass)
			i.advert.AuthData = i.auth
		}
	}
	if cfg.PreemptDelay == 0 {
		i.preemptAt = time.Time{}
	} else if old.PreemptDelay != cfg.PreemptDelay && i.state == StateBackup {
		// A new delay counts from the reload, as it would from a start.
		i.preemptAt = now.Add(cfg.PreemptDelay)
	}

	from := i.prio
	i.prio = i.effectivePriority()
	if i.prio != from {
		i.emit(PriorityChanged{From: from, To: i.prio})
	}
	switch i.state {
	case StateMaster:
		// keepalived's reload_master: advertise at once with the new priority and
		// interval, then every (new) advert_int.
		i.masterAdverInt = cfg.AdverInt
		i.masterPrio = i.prio
		i.sendAdvert(i.prio)
		i.arm(TimerAdver, i.advertAfter(now, cfg.AdverInt))
	case StateBackup:
		if cfg.Version == 2 || !i.master.IsValid() {
			// v2 uses its own interval; v3 adopts the master's once it has heard one.
			i.masterAdverInt = cfg.AdverInt
		}
		if at := i.timers[TimerMasterDown]; !at.IsZero() {
			d := i.masterDownInterval()
			why := i.downWhy
			if !why.resigned {
				why.wait = d
			}
			if why.resigned {
				// Skew_Time after a priority 0 follows the new priority too.
				d, oldDown = i.skewTime(), SkewTime(old.Version, from, i.masterAdverInt)
				why.wait = d
			}
			i.armMasterDown(at.Add(d-oldDown), why)
		}
	default:
		i.masterAdverInt = cfg.AdverInt
	}
	return i.takeOut(), nil
}

// SetPrimaryAddr replaces the address we send from, which also breaks equal-priority
// ties and tells our own looped-back adverts apart: an interface that had no address
// when the instance started (DHCP finishing after the agent, an IPv6 link-local still
// tentative) or whose address changed. An instance configured before it had one uses the
// unspecified address of its family, and the driver keeps it in FAULT until this is
// called. An address of the other family is refused. A master's belief about the master
// (itself) follows.
func (i *Instance) SetPrimaryAddr(addr netip.Addr) error {
	if !addr.IsValid() || is6(addr) != is6(i.cfg.PrimaryAddr) {
		return fmt.Errorf("primary address %v is not of the instance's family (%v)", addr, i.cfg.PrimaryAddr)
	}
	old := i.cfg.PrimaryAddr
	i.cfg.PrimaryAddr = addr
	if i.state == StateMaster && i.master == old {
		i.master = addr
	}
	return nil
}
