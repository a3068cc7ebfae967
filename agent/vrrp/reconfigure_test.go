package vrrp

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

// reloadMaster returns an instance that has become MASTER at the returned time.
func reloadMaster(t *testing.T, c Config) (*Instance, time.Time) {
	t.Helper()
	i := started(t, c)
	at, _ := fireAt(t, i, TimerMasterDown)
	wantState(t, i, StateMaster)
	return i, at
}

// keepalived vrrp_complete_init + restore_vrrp_state: a reload keeps a MASTER master
// (reload_master) and vrrp_init_instance_sands makes it advertise at once, with the new
// priority; the next advert follows the new advert_int.
func TestKeepalivedReloadMaster_StaysMasterAndAdvertisesNewPriority(t *testing.T) {
	c := v2Config()
	i, at := reloadMaster(t, c)
	trans := i.Status(at).Transitions

	now := at.Add(300 * time.Millisecond)
	c.Priority = 110
	c.AdverInt = 2 * time.Second
	acts, err := i.Reconfigure(now, c)
	if err != nil {
		t.Fatal(err)
	}
	wantNoTransition(t, acts)
	wantState(t, i, StateMaster)
	if got := sentPriorities(acts); !eqU8(got, []uint8{110}) {
		t.Fatalf("adverts sent on reload %v, want one at the new priority 110", got)
	}
	if a := actionsOf[SendAdvert](acts)[0].Advert; a.AdverInt != 2 {
		t.Errorf("advert carries interval %d, want the new 2 s", a.AdverInt)
	}
	if got := armed(t, acts, TimerAdver); !got.Equal(now.Add(2 * time.Second)) {
		t.Errorf("Adver_Timer at %v, want now + new advert_int %v", got, now.Add(2*time.Second))
	}
	if pc := actionsOf[PriorityChanged](acts); len(pc) != 1 || pc[0] != (PriorityChanged{From: 100, To: 110}) {
		t.Errorf("PriorityChanged %v, want 100->110", pc)
	}
	if len(actionsOf[BindVIPs](acts))+len(actionsOf[UnbindVIPs](acts)) != 0 {
		t.Errorf("reload touched the VIPs: %#v", acts)
	}
	if st := i.Status(now); st.Transitions != trans || st.EffectivePriority != 110 || st.BasePriority != 110 {
		t.Errorf("status after reload: transitions %d (was %d), priority %d/%d", st.Transitions, trans, st.BasePriority, st.EffectivePriority)
	}
}

// The weights that hold a priority are the driver's contributions: a reload that
// changes only the base keeps them, and the effective priority follows the new base.
func TestReconfigure_KeepsContributions(t *testing.T) {
	c := v2Config()
	i, at := reloadMaster(t, c)
	i.Step(at, PriorityDelta{Source: "script chk", Delta: -30})
	c.Priority = 120
	acts, err := i.Reconfigure(at.Add(time.Millisecond), c)
	if err != nil {
		t.Fatal(err)
	}
	if got := sentPriorities(acts); !eqU8(got, []uint8{90}) {
		t.Fatalf("advert after reload %v, want 120-30 = 90", got)
	}
}

// After a reload that lowers the master's priority below a backup's, the election is
// re-run by adverts (keepalived: the master keeps its state; vrrp_state_master_rx
// steps it down on the higher advert): the master stays MASTER until it hears the
// higher one, then goes BACKUP.
func TestReconfigure_MasterLosesElectionOnlyByAdvert(t *testing.T) {
	c := v2Config()
	i, at := reloadMaster(t, c)
	c.Priority = 80
	acts, err := i.Reconfigure(at, c)
	if err != nil {
		t.Fatal(err)
	}
	wantNoTransition(t, acts)
	wantState(t, i, StateMaster)
	acts = recv(t, i, at.Add(10*time.Millisecond), highPeer, advertFor(c, 90))
	wantTransition(t, acts, StateMaster, StateBackup)
}

// A backup whose new priority outranks the master takes over on the master's next
// advert (FastPreempt), not at reload: the reload itself changes no state.
func TestReconfigure_BackupRaisedAbovePreemptsOnNextAdvert(t *testing.T) {
	c := v2Config()
	c.FastPreempt = true
	i := started(t, c)
	recv(t, i, t0.Add(100*time.Millisecond), highPeer, advertFor(c, 105))
	c.Priority = 110
	acts, err := i.Reconfigure(t0.Add(200*time.Millisecond), c)
	if err != nil {
		t.Fatal(err)
	}
	wantNoTransition(t, acts)
	wantState(t, i, StateBackup)
	acts = recv(t, i, t0.Add(time.Second), highPeer, advertFor(c, 105))
	wantTransition(t, acts, StateBackup, StateMaster)
}

// A backup keeps its Master_Down_Timer, moved by the change of Master_Down_Interval
// (Skew_Time follows the priority), as vrrp_track.c vrrp_set_effective_priority moves
// keepalived's sands on a priority change.
func TestReconfigure_BackupMovesMasterDownTimerBySkewChange(t *testing.T) {
	c := v2Config()
	i := started(t, c)
	heard := t0.Add(500 * time.Millisecond)
	recv(t, i, heard, highPeer, advertFor(c, 200))
	before := i.timers[TimerMasterDown]
	if want := heard.Add(MasterDownInterval(2, 100, time.Second)); !before.Equal(want) {
		t.Fatalf("Master_Down_Timer %v, want %v", before, want)
	}
	c.Priority = 150
	acts, err := i.Reconfigure(heard.Add(100*time.Millisecond), c)
	if err != nil {
		t.Fatal(err)
	}
	want := heard.Add(MasterDownInterval(2, 150, time.Second))
	if got := armed(t, acts, TimerMasterDown); !got.Equal(want) {
		t.Errorf("Master_Down_Timer after reload %v, want %v (last advert + new Master_Down_Interval)", got, want)
	}
	wantNoTransition(t, acts)
}

// An advert_int change on a v2 backup changes Master_Down_Interval at once.
func TestReconfigure_BackupAdvertIntChange(t *testing.T) {
	c := v2Config()
	i := started(t, c)
	heard := t0.Add(500 * time.Millisecond)
	recv(t, i, heard, highPeer, advertFor(c, 200))
	c.AdverInt = 2 * time.Second
	acts, err := i.Reconfigure(heard, c)
	if err != nil {
		t.Fatal(err)
	}
	want := heard.Add(MasterDownInterval(2, 100, 2*time.Second))
	if got := armed(t, acts, TimerMasterDown); !got.Equal(want) {
		t.Errorf("Master_Down_Timer %v, want %v", got, want)
	}
	if got := i.Status(heard).MasterAdverInt; got != 2*time.Second {
		t.Errorf("Master_Adver_Interval %v, want 2s", got)
	}
}

// VIPs and authentication follow the reload in the next advert.
func TestReconfigure_AdvertCarriesNewVIPsAndAuth(t *testing.T) {
	c := v2Config()
	i, at := reloadMaster(t, c)
	c.VIPs = append(c.VIPs, highPeer.Next())
	c.AuthPass = "secret"
	acts, err := i.Reconfigure(at, c)
	if err != nil {
		t.Fatal(err)
	}
	a := actionsOf[SendAdvert](acts)[0].Advert
	if len(a.Addrs) != 2 || a.AuthData != PassAuthData("secret") {
		t.Errorf("advert %+v, want two addresses and the new password", a)
	}
	c.AuthType = AuthNone
	acts, _ = i.Reconfigure(at, c)
	if a := actionsOf[SendAdvert](acts)[0].Advert; a.AuthType != AuthNone || a.AuthData != ([AuthDataLen]byte{}) {
		t.Errorf("advert %+v, want no authentication", a)
	}
}

// FAULT stays FAULT: its sources are the driver's.
func TestReconfigure_FaultStaysFault(t *testing.T) {
	c := v2Config()
	i := started(t, c)
	i.Step(t0, Fault{Source: "interface eth0", Reason: "down"})
	c.Priority = 120
	acts, err := i.Reconfigure(t0.Add(time.Second), c)
	if err != nil {
		t.Fatal(err)
	}
	wantNoTransition(t, acts)
	wantState(t, i, StateFault)
	if len(actionsOf[SendAdvert](acts)) != 0 {
		t.Errorf("a FAULT instance advertised on reload: %#v", acts)
	}
	acts = i.Step(t0.Add(2*time.Second), FaultCleared{Source: "interface eth0"})
	wantTransition(t, acts, StateFault, StateBackup)
	if got := i.Status(t0).EffectivePriority; got != 120 {
		t.Errorf("priority %d, want the reloaded 120", got)
	}
}

// What makes it another virtual router is refused, and nothing changes.
func TestReconfigure_RefusesIdentityChanges(t *testing.T) {
	base := v2Config()
	for name, mod := range map[string]func(*Config){
		"vrid":    func(c *Config) { c.VRID = 52 },
		"version": func(c *Config) { c.Version = 3; c.AuthType = AuthNone },
		"source":  func(c *Config) { c.PrimaryAddr = lowPeer },
		"unicast": func(c *Config) { c.Unicast = true },
		"owner":   func(c *Config) { c.Priority = 255 },
	} {
		t.Run(name, func(t *testing.T) {
			i, at := reloadMaster(t, base)
			c := base
			mod(&c)
			acts, err := i.Reconfigure(at, c)
			if !errors.Is(err, ErrNeedsRestart) {
				t.Fatalf("err %v, want ErrNeedsRestart", err)
			}
			if len(acts) != 0 || i.cfg.Priority != base.Priority || i.cfg.VRID != base.VRID {
				t.Errorf("a refused reconfigure changed something: %#v", acts)
			}
		})
	}
	i, at := reloadMaster(t, base)
	bad := base
	bad.Priority = 0
	if _, err := i.Reconfigure(at, bad); err == nil || errors.Is(err, ErrNeedsRestart) {
		t.Errorf("invalid config: err %v, want a validation error", err)
	}
}

// preempt_delay set by a reload counts from the reload.
func TestReconfigure_PreemptDelayStartsAtReload(t *testing.T) {
	c := v2Config()
	c.FastPreempt = true
	i := started(t, c)
	recv(t, i, t0.Add(100*time.Millisecond), highPeer, advertFor(c, 90))
	wantState(t, i, StateMaster) // preempted at once without a delay
	c2 := v2Config()
	c2.FastPreempt = true
	j := started(t, c2)
	c2.PreemptDelay = 5 * time.Second
	rl := t0.Add(50 * time.Millisecond)
	if _, err := j.Reconfigure(rl, c2); err != nil {
		t.Fatal(err)
	}
	acts := recv(t, j, t0.Add(100*time.Millisecond), highPeer, advertFor(c2, 90))
	wantNoTransition(t, acts)
	acts = recv(t, j, rl.Add(5*time.Second), highPeer, advertFor(c2, 90))
	wantTransition(t, acts, StateBackup, StateMaster)
}

// An instance configured before its interface had an address starts with the
// unspecified address; once the driver sets the real one, equal-priority ties are broken
// with it (RFC 5798 6.4.3: the higher primary address wins) and its own looped-back
// adverts are ignored.
func TestSetPrimaryAddr_TieBreakAndOwnAdverts(t *testing.T) {
	t.Parallel()
	c := v2Config()
	c.PrimaryAddr = netip.IPv4Unspecified()
	i := mustNew(t, c)
	if err := i.SetPrimaryAddr(netip.MustParseAddr("2001:db8::1")); err == nil {
		t.Fatal("SetPrimaryAddr accepted an IPv6 address for an IPv4 instance")
	}
	if err := i.SetPrimaryAddr(ourAddr); err != nil {
		t.Fatal(err)
	}
	i.Step(t0, Start{})
	at, _ := fireAt(t, i, TimerMasterDown)
	wantState(t, i, StateMaster)
	if st := i.Status(at); st.Master != ourAddr {
		t.Fatalf("master belief %v, want ourselves (%v)", st.Master, ourAddr)
	}

	// Our own advert looped back: not counted, not acted on.
	now := at.Add(10 * time.Millisecond)
	if acts := recv(t, i, now, ourAddr, advertFor(c, 100)); len(acts) != 0 {
		t.Fatalf("own advert acted on: %#v", acts)
	}
	// Equal priority from a lower address: we stay master (our address is higher).
	wantNoTransition(t, recv(t, i, now, lowPeer, advertFor(c, 100)))
	wantState(t, i, StateMaster)

	// The address changes to one below the peer's: the same advert now wins.
	if err := i.SetPrimaryAddr(netip.MustParseAddr("192.168.188.60")); err != nil {
		t.Fatal(err)
	}
	if st := i.Status(now); st.Master != netip.MustParseAddr("192.168.188.60") {
		t.Fatalf("master belief %v after the address changed", st.Master)
	}
	wantTransition(t, recv(t, i, now.Add(time.Second), lowPeer, advertFor(c, 100)), StateMaster, StateBackup)
}
