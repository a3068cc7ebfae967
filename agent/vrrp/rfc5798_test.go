package vrrp

import (
	"strings"
	"testing"
	"time"
)

// Each test is one sentence of RFC 5798 section 6.4 (and RFC 3768 6.4 for v2), run for
// both versions where the sentence applies to both.

func forVersions(t *testing.T, f func(t *testing.T, c Config)) {
	for _, c := range []Config{v2Config(), v3Config()} {
		t.Run("v"+string(rune('0'+c.Version)), func(t *testing.T) {
			t.Parallel()
			f(t, c)
		})
	}
}

// 6.4.1: "If the Priority = 255 ... Send an ADVERTISEMENT ... Broadcast a gratuitous ARP
// ... Set the Adver_Timer to Advertisement_Interval ... Transition to the {Master} state".
func TestRFC5798_6_4_1_OwnerBecomesMasterAtStartup(t *testing.T) {
	forVersions(t, func(t *testing.T, c Config) {
		c.Priority = 255
		i := mustNew(t, c)
		acts := i.Step(t0, Start{})
		want := []Action{
			Transition{From: StateInit, To: StateMaster, Reason: "start: address owner (priority 255)"},
			SendAdvert{Advert: Advert{Version: c.Version, Type: TypeAdvertisement, VRID: 51, Priority: 255,
				AdverInt: wireInterval(c.Version, c.AdverInt), AuthType: c.AuthType, AuthData: PassAuthData(c.AuthPass), Addrs: c.VIPs}},
			BindVIPs{},
			Announce{},
			ArmTimer{Kind: TimerAdver, At: t0.Add(time.Second)},
		}
		if len(acts) != len(want) {
			t.Fatalf("actions %#v, want %#v", acts, want)
		}
		for n := range want {
			if sa, ok := want[n].(SendAdvert); ok {
				got, ok := acts[n].(SendAdvert)
				if !ok || got.Advert.Priority != sa.Advert.Priority || got.Advert.VRID != sa.Advert.VRID ||
					got.Advert.AdverInt != sa.Advert.AdverInt || got.Advert.Version != sa.Advert.Version ||
					got.Advert.AuthType != sa.Advert.AuthType || got.Advert.AuthData != sa.Advert.AuthData ||
					len(got.Advert.Addrs) != 1 || got.Advert.Addrs[0] != vip {
					t.Fatalf("action %d: %#v, want %#v", n, acts[n], want[n])
				}
				continue
			}
			if acts[n] != want[n] {
				t.Fatalf("action %d: %#v, want %#v", n, acts[n], want[n])
			}
		}
		// What we send must be what a peer accepts.
		if _, err := Parse(packet(t, actionsOf[SendAdvert](acts)[0].Advert, ourAddr), ParseOptions{Src: ourAddr, Dst: group4}); err != nil {
			t.Fatalf("our advert does not parse: %v", err)
		}
	})
}

// 6.4.1: "else ... Set Master_Adver_Interval to Advertisement_Interval; Set the
// Master_Down_Timer to Master_Down_Interval; Transition to the {Backup} state".
func TestRFC5798_6_4_1_NonOwnerStartsBackupWithMasterDownInterval(t *testing.T) {
	t.Parallel()
	for _, initial := range []State{StateBackup, StateMaster} {
		c := v2Config()
		c.Priority = 90
		c.InitialState = initial
		i := mustNew(t, c)
		acts := i.Step(t0, Start{})
		wantTransition(t, acts, StateInit, StateBackup)
		if got, want := armed(t, acts, TimerMasterDown), t0.Add(3648437500*time.Nanosecond); !got.Equal(want) {
			t.Errorf("state %s: Master_Down_Timer %v, want %v", initial, got, want)
		}
		if n := len(actionsOf[SendAdvert](acts)) + len(actionsOf[BindVIPs](acts)); n != 0 {
			t.Errorf("state %s: a backup sent or bound at start: %#v", initial, acts)
		}
		st := i.Status(t0)
		if st.MasterDownAt != t0.Add(3648437500*time.Nanosecond) || st.MasterAdverInt != time.Second || st.MasterDown != 3648437500*time.Nanosecond {
			t.Errorf("status %+v", st)
		}
	}
}

// 6.4.2: "If the Master_Down_Timer fires, then: Send an ADVERTISEMENT; Broadcast a
// gratuitous ARP; Set the Adver_Timer; Transition to the {Master} state".
func TestRFC5798_6_4_2_BackupBecomesMasterWhenMasterDownTimerFires(t *testing.T) {
	forVersions(t, func(t *testing.T, c Config) {
		i := started(t, c)
		at, acts := fireAt(t, i, TimerMasterDown)
		if want := t0.Add(MasterDownInterval(c.Version, 100, time.Second)); !at.Equal(want) {
			t.Fatalf("fired at %v, want %v", at, want)
		}
		tr := wantTransition(t, acts, StateBackup, StateMaster)
		if !strings.Contains(tr.Reason, "Master_Down_Interval") {
			t.Errorf("reason %q", tr.Reason)
		}
		if p := sentPriorities(acts); !eqU8(p, []uint8{100}) {
			t.Errorf("sent %v", p)
		}
		if len(actionsOf[BindVIPs](acts)) != 1 || len(actionsOf[Announce](acts)) != 1 {
			t.Errorf("no bind/announce: %#v", acts)
		}
		if got := armed(t, acts, TimerAdver); !got.Equal(at.Add(time.Second)) {
			t.Errorf("Adver_Timer %v", got)
		}
		if st := i.Status(at); st.Master != ourAddr || st.MasterPriority != 100 || !st.MasterDownAt.IsZero() {
			t.Errorf("status %+v", st)
		}
	})
}

// 6.4.2: "If the Priority in the ADVERTISEMENT is zero, then: Set the Master_Down_Timer
// to Skew_Time".
func TestRFC5798_6_4_2_PriorityZeroSetsSkewTime(t *testing.T) {
	forVersions(t, func(t *testing.T, c Config) {
		c.Priority = 90
		i := started(t, c)
		now := t0.Add(1500 * time.Millisecond)
		acts := recv(t, i, now, highPeer, advertFor(c, 0))
		want := now.Add(648437500 * time.Nanosecond) // 166/256 s, v3 at 1 s too
		if got := armed(t, acts, TimerMasterDown); !got.Equal(want) {
			t.Fatalf("Master_Down_Timer %v, want %v", got, want)
		}
		_, acts = fireAt(t, i, TimerMasterDown)
		tr := wantTransition(t, acts, StateBackup, StateMaster)
		if !strings.Contains(tr.Reason, "priority 0") {
			t.Errorf("reason %q", tr.Reason)
		}
	})
}

// 6.4.2: "If Preempt_Mode is False, or if the Priority in the ADVERTISEMENT is greater
// than or equal to the local Priority, then: ... Reset the Master_Down_Timer to
// Master_Down_Interval".
func TestRFC5798_6_4_2_BackupResetsTimerOnHigherOrEqualPriority(t *testing.T) {
	forVersions(t, func(t *testing.T, c Config) {
		for _, prio := range []uint8{100, 101, 255} {
			i := started(t, c)
			now := t0.Add(2 * time.Second)
			acts := recv(t, i, now, highPeer, advertFor(c, prio))
			if got, want := armed(t, acts, TimerMasterDown), now.Add(MasterDownInterval(c.Version, 100, time.Second)); !got.Equal(want) {
				t.Errorf("prio %d: Master_Down_Timer %v, want %v", prio, got, want)
			}
			wantNoTransition(t, acts)
			st := i.Status(now)
			if st.Master != highPeer || st.MasterPriority != prio || !st.LastAdvert.Equal(now) || st.AdvertsReceived != 1 {
				t.Errorf("prio %d: status %+v", prio, st)
			}
		}
	})
}

// 6.4.2: "Set Master_Adver_Interval to Adver Interval contained in the ADVERTISEMENT;
// Recompute the Skew_Time; Recompute the Master_Down_Interval".
func TestRFC5798_6_4_2_BackupAdoptsMasterAdverInterval(t *testing.T) {
	t.Parallel()
	c := v3Config()
	i := started(t, c)
	a := advertFor(c, 200)
	a.AdverInt = 50 // centiseconds: the master advertises every 500 ms
	now := t0.Add(time.Second)
	acts := recv(t, i, now, highPeer, a)
	// 3 * 500ms + 156 * 500ms / 256 = 1.5s + 304.6875ms
	want := now.Add(1804687500 * time.Nanosecond)
	if got := armed(t, acts, TimerMasterDown); !got.Equal(want) {
		t.Fatalf("Master_Down_Timer %v, want %v", got, want)
	}
	if st := i.Status(now); st.MasterAdverInt != 500*time.Millisecond || st.MasterDown != 1804687500*time.Nanosecond {
		t.Fatalf("status %+v", st)
	}
	// Once master again, we advertise our own interval.
	_, acts = fireAt(t, i, TimerMasterDown)
	if got := actionsOf[SendAdvert](acts)[0].Advert.AdverInt; got != 100 {
		t.Fatalf("master sends interval %d cs, want 100", got)
	}
	if st := i.Status(want); st.MasterAdverInt != time.Second {
		t.Fatalf("master's Master_Adver_Interval %s", st.MasterAdverInt)
	}
}

// 6.4.2: "else (Priority less than local Priority and Preempt_Mode True): Discard the
// ADVERTISEMENT" — the Master_Down_Timer is not reset, so the backup takes over when it
// runs out.
func TestRFC5798_6_4_2_BackupPreemptsLowerPriority(t *testing.T) {
	forVersions(t, func(t *testing.T, c Config) {
		i := started(t, c)
		deadline := i.timers[TimerMasterDown]
		acts := recv(t, i, t0.Add(time.Second), lowPeer, advertFor(c, 50))
		if len(actionsOf[ArmTimer](acts)) != 0 {
			t.Fatalf("lower advert touched a timer: %#v", acts)
		}
		wantNoTransition(t, acts)
		if st := i.Status(t0); st.Master != lowPeer || st.MasterPriority != 50 {
			t.Errorf("lower master not recorded: %+v", st)
		}
		at, acts := fireAt(t, i, TimerMasterDown)
		if !at.Equal(deadline) {
			t.Fatalf("fired at %v, want the original %v", at, deadline)
		}
		wantTransition(t, acts, StateBackup, StateMaster)
	})
}

// Our improvement over RFC 5798 6.4.2 and keepalived: with FastPreempt a backup that may
// preempt takes over on the first lower-priority advert, not 3 * advert_int + Skew_Time
// later.
func TestFastPreempt_BackupTakesOverOnLowerPriorityAdvert(t *testing.T) {
	forVersions(t, func(t *testing.T, c Config) {
		c.FastPreempt = true
		c.InitialState = StateMaster
		i := started(t, c)
		now := t0.Add(300 * time.Millisecond)
		acts := recv(t, i, now, lowPeer, advertFor(c, 50))
		tr := wantTransition(t, acts, StateBackup, StateMaster)
		if !strings.Contains(tr.Reason, "preempting 192.168.188.70") {
			t.Errorf("reason %q", tr.Reason)
		}
		if p := sentPriorities(acts); !eqU8(p, []uint8{100}) {
			t.Errorf("sent %v", p)
		}
		if st := i.Status(now); !st.Since.Equal(now) {
			t.Errorf("since %v", st.Since)
		}
		// Higher or equal priority still holds it back.
		j := started(t, c)
		wantNoTransition(t, recv(t, j, now, lowPeer, advertFor(c, 100)))
	})
}

// RFC 5798 6.4.2 with keepalived's rule: nopreempt (Preempt_Mode False) only counts with
// `state BACKUP`; the lower advert then resets the timer like any other.
func TestRFC5798_6_4_2_NoPreemptResetsTimerOnLowerPriority(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		initial     State
		wantPreempt bool
	}{
		{StateBackup, false},
		{StateMaster, true}, // keepalived ignores nopreempt with state MASTER
	} {
		c := v2Config()
		c.NoPreempt = true
		c.FastPreempt = true
		c.InitialState = tc.initial
		i := started(t, c)
		if i.Preempt() != tc.wantPreempt {
			t.Fatalf("state %s: Preempt() = %v", tc.initial, i.Preempt())
		}
		now := t0.Add(time.Second)
		acts := recv(t, i, now, lowPeer, advertFor(c, 50))
		if tc.wantPreempt {
			wantTransition(t, acts, StateBackup, StateMaster)
			continue
		}
		wantNoTransition(t, acts)
		if got, want := armed(t, acts, TimerMasterDown), now.Add(3609375*time.Microsecond); !got.Equal(want) {
			t.Fatalf("Master_Down_Timer %v, want %v", got, want)
		}
	}
}

// keepalived's preempt_delay: no preemption before start + preempt_delay; an advert of
// higher priority stops the delay and the next lower one starts it again.
func TestKeepalived_PreemptDelay(t *testing.T) {
	t.Parallel()
	c := v2Config()
	c.FastPreempt = true
	c.PreemptDelay = 5 * time.Second
	i := started(t, c)

	// During the delay a lower master is accepted like a higher one.
	acts := recv(t, i, t0.Add(time.Second), lowPeer, advertFor(c, 50))
	wantNoTransition(t, acts)
	armed(t, acts, TimerMasterDown)
	acts = recv(t, i, t0.Add(4999*time.Millisecond), lowPeer, advertFor(c, 50))
	wantNoTransition(t, acts)
	// At start + delay we preempt.
	acts = recv(t, i, t0.Add(5*time.Second), lowPeer, advertFor(c, 50))
	wantTransition(t, acts, StateBackup, StateMaster)

	// A higher master takes over and stops the delay; when its priority drops below ours
	// the delay starts again from its first lower advert.
	t1 := t0.Add(10 * time.Second)
	wantTransition(t, recv(t, i, t1, highPeer, advertFor(c, 150)), StateMaster, StateBackup)
	recv(t, i, t1.Add(time.Second), highPeer, advertFor(c, 150))
	wantNoTransition(t, recv(t, i, t1.Add(2*time.Second), highPeer, advertFor(c, 60)))
	wantNoTransition(t, recv(t, i, t1.Add(6999*time.Millisecond), highPeer, advertFor(c, 60)))
	wantTransition(t, recv(t, i, t1.Add(7*time.Second), highPeer, advertFor(c, 60)), StateBackup, StateMaster)
}

// 6.4.3: "If the Adver_Timer fires, then: Send an ADVERTISEMENT; Reset the Adver_Timer
// to Advertisement_Interval".
func TestRFC5798_6_4_3_MasterAdvertisesWhenAdverTimerFires(t *testing.T) {
	forVersions(t, func(t *testing.T, c Config) {
		c.Priority = 255
		i := started(t, c)
		for n := 1; n <= 3; n++ {
			at, acts := fireAt(t, i, TimerAdver)
			if !at.Equal(t0.Add(time.Duration(n) * time.Second)) {
				t.Fatalf("advert %d at %v", n, at)
			}
			if p := sentPriorities(acts); !eqU8(p, []uint8{255}) {
				t.Fatalf("sent %v", p)
			}
			if got := armed(t, acts, TimerAdver); !got.Equal(at.Add(time.Second)) {
				t.Fatalf("re-armed at %v", got)
			}
		}
		if st := i.Status(t0); st.AdvertsSent != 4 {
			t.Fatalf("sent %d adverts, want 4", st.AdvertsSent)
		}
	})
}

// masterAt returns a v2/v3 instance that became master through its timer at the returned time.
func masterAt(t *testing.T, c Config) (*Instance, time.Time) {
	t.Helper()
	i := started(t, c)
	at, _ := fireAt(t, i, TimerMasterDown)
	wantState(t, i, StateMaster)
	return i, at
}

// 6.4.3: "If the Priority in the ADVERTISEMENT is greater than the local Priority ...
// Cancel Adver_Timer; Set Master_Adver_Interval ...; Set Master_Down_Timer to
// Master_Down_Interval; Transition to the {Backup} state" — without a priority-0 advert,
// as keepalived's vrrp.c: vrrp_state_master_rx (priority 0 is for Shutdown); one advert
// at our own priority as keepalived's higher_prio_send_advert. Beyond the RFC, the VIPs
// stay until the successor's announcement or HandoverLinger (handover.go).
func TestRFC5798_6_4_3_MasterStepsDownOnHigherPriority(t *testing.T) {
	forVersions(t, func(t *testing.T, c Config) {
		i, at := masterAt(t, c)
		now := at.Add(500 * time.Millisecond)
		acts := recv(t, i, now, lowPeer, advertFor(c, 101))
		wantTransition(t, acts, StateMaster, StateBackup)
		if p := sentPriorities(acts); !eqU8(p, []uint8{100}) {
			t.Errorf("stepping down for a higher priority: sent %v, want one advert at our 100", p)
		}
		if len(actionsOf[UnbindVIPs](acts)) != 0 {
			t.Errorf("VIPs released before the successor announced them: %#v", acts)
		}
		if got, want := armed(t, acts, TimerRelease), now.Add(HandoverLinger); !got.Equal(want) {
			t.Errorf("release at %v, want %v", got, want)
		}
		if got := armed(t, acts, TimerAdver); !got.IsZero() {
			t.Errorf("Adver_Timer not cancelled: %v", got)
		}
		if got, want := armed(t, acts, TimerMasterDown), now.Add(MasterDownInterval(c.Version, 100, time.Second)); !got.Equal(want) {
			t.Errorf("Master_Down_Timer %v, want %v", got, want)
		}
		if st := i.Status(now); st.Master != lowPeer || st.MasterPriority != 101 {
			t.Errorf("status %+v", st)
		}
	})
}

// 6.4.3: "... or if the Priority in the ADVERTISEMENT is equal to the local Priority and
// the primary IPvX Address of the sender is greater than the local primary IPvX Address"
// — and the other way round, the master stays.
func TestRFC5798_6_4_3_EqualPriorityTieBreakByAddress(t *testing.T) {
	forVersions(t, func(t *testing.T, c Config) {
		i, at := masterAt(t, c)
		acts := recv(t, i, at.Add(100*time.Millisecond), lowPeer, advertFor(c, 100))
		wantNoTransition(t, acts)
		if p := sentPriorities(acts); !eqU8(p, []uint8{100}) {
			t.Errorf("lower address, equal priority: sent %v, want a re-advert", p)
		}
		acts = recv(t, i, at.Add(200*time.Millisecond), highPeer, advertFor(c, 100))
		tr := wantTransition(t, acts, StateMaster, StateBackup)
		if !strings.Contains(tr.Reason, "higher address") {
			t.Errorf("reason %q", tr.Reason)
		}
	})
}

// 6.4.3: "If the Priority in the ADVERTISEMENT is zero, then: Send an ADVERTISEMENT;
// Reset the Adver_Timer to Advertisement_Interval".
func TestRFC5798_6_4_3_MasterAnswersPriorityZero(t *testing.T) {
	forVersions(t, func(t *testing.T, c Config) {
		i, at := masterAt(t, c)
		now := at.Add(300 * time.Millisecond)
		acts := recv(t, i, now, highPeer, advertFor(c, 0))
		wantNoTransition(t, acts)
		if p := sentPriorities(acts); !eqU8(p, []uint8{100}) {
			t.Fatalf("sent %v", p)
		}
		if got := armed(t, acts, TimerAdver); !got.Equal(now.Add(time.Second)) {
			t.Fatalf("Adver_Timer %v", got)
		}
		// The resigning router was a master too: its gratuitous ARPs may hold clients.
		if n := len(actionsOf[Announce](acts)); n != 1 {
			t.Fatalf("%d Announce actions, want 1: %#v", n, acts)
		}
	})
}

// 6.4.3: "else: Discard the ADVERTISEMENT" — and, as keepalived 2.2.7, advertise at once
// ("forcing new election") so that the lower master steps down now.
func TestRFC5798_6_4_3_MasterDiscardsLowerPriorityAndReadvertises(t *testing.T) {
	forVersions(t, func(t *testing.T, c Config) {
		i, at := masterAt(t, c)
		adver := i.timers[TimerAdver]
		acts := recv(t, i, at.Add(300*time.Millisecond), highPeer, advertFor(c, 99))
		wantNoTransition(t, acts)
		if p := sentPriorities(acts); !eqU8(p, []uint8{100}) {
			t.Fatalf("sent %v", p)
		}
		if !i.timers[TimerAdver].Equal(adver) {
			t.Fatalf("Adver_Timer moved from %v to %v", adver, i.timers[TimerAdver])
		}
		if st := i.Status(at); st.Master != ourAddr {
			t.Fatalf("master belief %s", st.Master)
		}
	})
}

// 6.4.3: "If a Shutdown event is received, then: Cancel the Adver_Timer; Send an
// ADVERTISEMENT with Priority = 0; Transition to the {Initialize} state" (our STOP). The
// VIPs are released when the handover ends (handover.go); here nobody takes over, so
// after one advert interval plus SuccessorGrace.
func TestRFC5798_6_4_3_MasterShutdownSendsPriorityZero(t *testing.T) {
	forVersions(t, func(t *testing.T, c Config) {
		i, at := masterAt(t, c)
		stop := at.Add(time.Second / 2)
		acts := i.Step(stop, Stop{})
		wantTransition(t, acts, StateMaster, StateStopped)
		if p := sentPriorities(acts); !eqU8(p, []uint8{0}) {
			t.Fatalf("sent %v, want one priority 0", p)
		}
		if !armed(t, acts, TimerAdver).IsZero() || !i.timers[TimerAdver].IsZero() {
			t.Fatal("Adver_Timer not cancelled")
		}
		released, acts := fireAt(t, i, TimerRelease)
		if !released.Equal(stop.Add(c.AdverInt+SuccessorGrace)) || len(actionsOf[UnbindVIPs](acts)) != 1 {
			t.Fatalf("VIPs released at %v with %#v", released, acts)
		}
		// Stopped, nothing moves it but Start.
		if acts := recv(t, i, at.Add(time.Second), highPeer, advertFor(c, 0)); len(acts) != 0 {
			t.Fatalf("stopped instance acted: %#v", acts)
		}
		wantTransition(t, i.Step(at.Add(2*time.Second), Start{}), StateStopped, StateBackup)
	})
}

// 6.4.2: "If a Shutdown event is received, then: Cancel the Master_Down_Timer".
func TestRFC5798_6_4_2_BackupShutdownCancelsTimer(t *testing.T) {
	forVersions(t, func(t *testing.T, c Config) {
		i := started(t, c)
		acts := i.Step(t0.Add(time.Second), Stop{})
		wantTransition(t, acts, StateBackup, StateStopped)
		if len(actionsOf[SendAdvert](acts)) != 0 {
			t.Fatalf("backup sent on stop: %#v", acts)
		}
		if !armed(t, acts, TimerMasterDown).IsZero() {
			t.Fatal("Master_Down_Timer not cancelled")
		}
	})
}

// A keepalived 2.2.7 advert from the capture is accepted by a v2 backup of the same
// virtual router and holds it back (priority 100 over our 90).
func TestKeepalivedCaptureHoldsBackupBack(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file string
		cfg  Config
		len  int
	}{
		{"testdata/keepalived-v2-pass.pcap", v2Config(), 20},
		{"testdata/keepalived-v3.pcap", v3Config(), 12},
	} {
		pkt := firstVRRPPayload(t, tc.file, tc.len)
		c := tc.cfg
		c.Priority = 90
		c.PrimaryAddr = highPeer // the capture is from .71
		if c.Version == 3 {
			c.AdverInt = 100 * time.Millisecond
		}
		i := started(t, c)
		now := t0.Add(50 * time.Millisecond)
		acts := i.Step(now, AdvertReceived{Src: ourAddr, Dst: group4, TTL: 255, Packet: pkt})
		if d := actionsOf[Dropped](acts); len(d) != 0 {
			t.Fatalf("%s: dropped: %#v", tc.file, d)
		}
		want := now.Add(MasterDownInterval(c.Version, 90, c.AdverInt))
		if got := armed(t, acts, TimerMasterDown); !got.Equal(want) {
			t.Fatalf("%s: Master_Down_Timer %v, want %v", tc.file, got, want)
		}
		if st := i.Status(now); st.Master != ourAddr || st.MasterPriority != 100 {
			t.Fatalf("%s: status %+v", tc.file, st)
		}
	}
}

// A master that hears a lower-priority master (a healed partition) re-advertises at once,
// as keepalived does, and also announces the VIPs again: the other master's gratuitous
// ARPs may have taken the clients, and keepalived leaves them there for seconds.
func TestHealedSplitBrain_MasterReannouncesOnLowerPriority(t *testing.T) {
	forVersions(t, func(t *testing.T, c Config) {
		i, at := masterAt(t, c)
		acts := recv(t, i, at.Add(time.Millisecond), lowPeer, advertFor(c, 90))
		wantNoTransition(t, acts)
		if p := sentPriorities(acts); !eqU8(p, []uint8{100}) {
			t.Fatalf("sent %v, want one advert at 100", p)
		}
		if n := len(actionsOf[Announce](acts)); n != 1 {
			t.Fatalf("%d Announce actions, want 1: %#v", n, acts)
		}
	})
}
