package vrrp

import (
	"net/netip"
	"testing"
	"time"
)

// wantWatch checks the last WatchAnnouncements in acts.
func wantWatch(t *testing.T, acts []Action, on bool) {
	t.Helper()
	w := actionsOf[WatchAnnouncements](acts)
	if len(w) == 0 || w[len(w)-1].On != on {
		t.Fatalf("want WatchAnnouncements{On: %v} in %#v", on, acts)
	}
}

func wantUnbind(t *testing.T, acts []Action, n int) {
	t.Helper()
	if got := len(actionsOf[UnbindVIPs](acts)); got != n {
		t.Fatalf("%d UnbindVIPs, want %d: %#v", got, n, acts)
	}
}

// RFC 5798 6.4.3 steps a master down for a higher priority without a priority-0 advert
// (keepalived vrrp.c: vrrp_state_master_rx). We keep the VIPs until the successor's
// gratuitous ARP is seen, the moment clients' neighbour entries point at it, plus
// HandoverDrain for the requests already on their way to us (RFC 5798 6.4.2 forbids a
// backup to answer ARP; ending the linger there keeps that window short).
func TestHandover_LostElectionEndsAtSuccessorAnnouncement(t *testing.T) {
	forVersions(t, func(t *testing.T, c Config) {
		i, at := masterAt(t, c)
		now := at.Add(200 * time.Millisecond)
		acts := recv(t, i, now, highPeer, advertFor(c, 110))
		wantTransition(t, acts, StateMaster, StateBackup)
		if p := sentPriorities(acts); !eqU8(p, []uint8{100}) {
			t.Fatalf("sent %v on losing the election, want one advert at our 100, no priority 0", p)
		}
		wantUnbind(t, acts, 0)
		wantWatch(t, acts, true)
		if got, want := armed(t, acts, TimerRelease), now.Add(HandoverLinger); !got.Equal(want) {
			t.Fatalf("release at %v, want %v", got, want)
		}
		if st := i.Status(now); !st.Handover || !st.ReleaseAt.Equal(now.Add(HandoverLinger)) {
			t.Fatalf("status %+v", st)
		}
		// Another address announced is not ours: still kept.
		if acts := i.Step(now.Add(10*time.Millisecond), AnnouncementSeen{Addr: netip.MustParseAddr("192.168.188.200")}); len(acts) != 0 {
			t.Fatalf("foreign announcement acted: %#v", acts)
		}
		// The successor's adverts do not move the release.
		recv(t, i, now.Add(20*time.Millisecond), highPeer, advertFor(c, 110))
		if !i.timers[TimerRelease].Equal(now.Add(HandoverLinger)) {
			t.Fatalf("release moved to %v", i.timers[TimerRelease])
		}
		// Its gratuitous ARP: clients go to it; ours drain for HandoverDrain.
		seen := now.Add(30 * time.Millisecond)
		acts = i.Step(seen, AnnouncementSeen{Addr: vip})
		wantUnbind(t, acts, 0)
		wantWatch(t, acts, false)
		if got, want := armed(t, acts, TimerRelease), seen.Add(HandoverDrain); !got.Equal(want) {
			t.Fatalf("release at %v, want %v", got, want)
		}
		if acts := i.Step(seen.Add(time.Millisecond), AnnouncementSeen{Addr: vip}); len(acts) != 0 {
			t.Fatalf("a second announcement acted: %#v", acts)
		}
		fired, acts := fireAt(t, i, TimerRelease)
		if !fired.Equal(seen.Add(HandoverDrain)) {
			t.Fatalf("released at %v", fired)
		}
		wantUnbind(t, acts, 1)
		if len(actionsOf[WatchAnnouncements](acts)) != 0 {
			t.Fatalf("watch stopped twice: %#v", acts)
		}
		if i.HandingOver() {
			t.Fatal("still handing over")
		}
		wantState(t, i, StateBackup)
	})
}

// Without the successor's announcement (IPv6, no packet socket, garp disabled) the VIPs
// go HandoverLinger after the election was lost, to the nanosecond.
func TestHandover_LostElectionReleasesAfterLinger(t *testing.T) {
	forVersions(t, func(t *testing.T, c Config) {
		i, at := masterAt(t, c)
		now := at.Add(300 * time.Millisecond)
		recv(t, i, now, highPeer, advertFor(c, 110))
		if acts := i.Step(now.Add(HandoverLinger-time.Nanosecond), TimerFired{Kind: TimerRelease}); len(actionsOf[UnbindVIPs](acts)) != 0 {
			t.Fatalf("released early: %#v", acts)
		}
		fired, acts := fireAt(t, i, TimerRelease)
		if !fired.Equal(now.Add(HandoverLinger)) {
			t.Fatalf("released at %v", fired)
		}
		wantUnbind(t, acts, 1)
		wantWatch(t, acts, false)
	})
}

// Shutdown (RFC 5798 6.4.3: "Send an ADVERTISEMENT with Priority = 0"), make before
// break: the VIPs stay until the successor advertises (it takes over Skew_Time after our
// priority 0), then until its announcement or HandoverLinger.
func TestHandover_StopKeepsVIPsUntilSuccessor(t *testing.T) {
	forVersions(t, func(t *testing.T, c Config) {
		i, at := masterAt(t, c)
		stop := at.Add(100 * time.Millisecond)
		acts := i.Step(stop, Stop{})
		wantTransition(t, acts, StateMaster, StateStopped)
		if p := sentPriorities(acts); !eqU8(p, []uint8{0}) {
			t.Fatalf("sent %v, want one priority 0", p)
		}
		wantUnbind(t, acts, 0)
		wantWatch(t, acts, true)
		if got, want := armed(t, acts, TimerRelease), stop.Add(c.AdverInt+SuccessorGrace); !got.Equal(want) {
			t.Fatalf("release at %v, want %v", got, want)
		}
		// Another resigning router is no successor.
		recv(t, i, stop.Add(time.Millisecond), lowPeer, advertFor(c, 0))
		if !i.timers[TimerRelease].Equal(stop.Add(c.AdverInt + SuccessorGrace)) {
			t.Fatalf("priority 0 moved the release to %v", i.timers[TimerRelease])
		}
		// The best backup (priority 90) takes over after its Skew_Time.
		succ := stop.Add(SkewTime(c.Version, 90, c.AdverInt))
		acts = recv(t, i, succ, highPeer, advertFor(c, 90))
		wantNoTransition(t, acts)
		if got, want := armed(t, acts, TimerRelease), succ.Add(HandoverLinger); !got.Equal(want) {
			t.Fatalf("release at %v, want %v", got, want)
		}
		seen := succ.Add(40 * time.Millisecond)
		acts = i.Step(seen, AnnouncementSeen{Addr: vip})
		wantUnbind(t, acts, 0)
		wantWatch(t, acts, false)
		released, acts := fireAt(t, i, TimerRelease)
		if !released.Equal(seen.Add(HandoverDrain)) {
			t.Fatalf("released at %v, want %v", released, seen.Add(HandoverDrain))
		}
		wantUnbind(t, acts, 1)
		wantState(t, i, StateStopped)
		if i.HandingOver() {
			t.Fatal("still handing over")
		}
		// Done: adverts are no longer even looked at.
		if acts := recv(t, i, succ.Add(time.Second), highPeer, advertFor(c, 90)); len(acts) != 0 {
			t.Fatalf("stopped instance acted: %#v", acts)
		}
	})
}

// A master that handed over and becomes master again (its successor died before it let
// go) keeps the VIPs: nothing is released, the release timer is cancelled.
func TestHandover_MasterAgainKeepsVIPs(t *testing.T) {
	t.Parallel()
	c := v2Config()
	i, at := masterAt(t, c)
	acts := i.Step(at, Relinquish{Who: "op"})
	wantWatch(t, acts, true)
	i.Step(at, ClearOverride{})
	// Nobody advertises; our Master_Down_Timer (3 s + skew) outlasts the release (1.1 s),
	// so fire an early takeover: a lower-priority advert with FastPreempt.
	i.cfg.FastPreempt = true
	acts = recv(t, i, at.Add(50*time.Millisecond), lowPeer, advertFor(c, 50))
	wantTransition(t, acts, StateBackup, StateMaster)
	wantUnbind(t, acts, 0)
	wantWatch(t, acts, false)
	if got := armed(t, acts, TimerRelease); !got.IsZero() {
		t.Fatalf("release still armed at %v", got)
	}
	if i.HandingOver() {
		t.Fatal("still handing over")
	}
}

// keepalived's FAULT releases the VIPs (vrrp.c: vrrp_state_leave_master ->
// vrrp_restore_interface); a handover in progress ends at once as well.
func TestHandover_FaultReleasesAtOnce(t *testing.T) {
	t.Parallel()
	c := v2Config()
	i, at := masterAt(t, c)
	recv(t, i, at, highPeer, advertFor(c, 110))
	acts := i.Step(at.Add(time.Millisecond), Fault{Source: "script chk", Reason: "exit 1"})
	wantTransition(t, acts, StateBackup, StateFault)
	wantUnbind(t, acts, 1)
	wantWatch(t, acts, false)
}

// Three routers, A=100 master, C=110 preempting it: A steps down with one advert at its
// own priority (keepalived's higher_prio_send_advert), never priority 0. A backup B that
// follows C — nopreempt, preempt_delay, or even a preempting one at 105 with FastPreempt
// — is not pulled into a third failover by A's advert (RFC 5798 6.4.2 discards a
// lower-priority advert; it is not from the master B follows).
func TestThreeRouters_PreemptionIsNotAThirdFailover(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		mod     func(*Config)
		followA bool // B followed A before C came (a 105 backup would have preempted A)
	}{
		{"nopreempt 90", func(c *Config) { c.Priority = 90; c.NoPreempt = true }, true},
		{"preempt_delay 90", func(c *Config) { c.Priority = 90; c.PreemptDelay = 500 * time.Millisecond }, true},
		{"preempt 105", func(c *Config) { c.Priority = 105 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ca := v3Config()
			ca.FastPreempt = true
			a, at := masterAt(t, ca)

			cb := v3Config()
			cb.PrimaryAddr = lowPeer
			cb.FastPreempt = true
			tc.mod(&cb)
			b := started(t, cb)
			if tc.followA {
				wantNoTransition(t, recv(t, b, at, ourAddr, advertFor(cb, 100)))
			}

			// C (.72, 110) preempts: its advert reaches A and B.
			now := at.Add(300 * time.Millisecond)
			acts := recv(t, a, now, highPeer, advertFor(ca, 110))
			wantTransition(t, acts, StateMaster, StateBackup)
			sent := actionsOf[SendAdvert](acts)
			if len(sent) != 1 || sent[0].Advert.Priority != 100 {
				t.Fatalf("A sent %v, want one advert at 100", sentPriorities(acts))
			}
			wantNoTransition(t, recv(t, b, now, highPeer, advertFor(cb, 110)))
			// A's advert at 100 reaches B after C's.
			acts = b.Step(now.Add(time.Millisecond), AdvertReceived{Src: ourAddr, Dst: group4, TTL: 255, Packet: packet(t, sent[0].Advert, ourAddr)})
			wantNoTransition(t, acts)
			// C keeps advertising; B never becomes master.
			for n := 1; n <= 10; n++ {
				wantNoTransition(t, recv(t, b, now.Add(time.Duration(n)*100*time.Millisecond), highPeer, advertFor(cb, 110)))
			}
			wantState(t, b, StateBackup)
			if st := b.Status(now); st.Master != highPeer {
				t.Fatalf("B follows %s, want C", st.Master)
			}
		})
	}
}
