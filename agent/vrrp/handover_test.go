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
// gratuitous ARP is seen: the moment clients' neighbour entries point at it, and before
// that moment nobody but us answers for the VIP (RFC 5798 6.4.2 forbids a backup to
// answer ARP; ending the linger there keeps that window as short as it can be).
func TestHandover_LostElectionEndsAtSuccessorAnnouncement(t *testing.T) {
	forVersions(t, func(t *testing.T, c Config) {
		i, at := masterAt(t, c)
		now := at.Add(200 * time.Millisecond)
		acts := recv(t, i, now, highPeer, advertFor(c, 110))
		wantTransition(t, acts, StateMaster, StateBackup)
		if p := sentPriorities(acts); len(p) != 0 {
			t.Fatalf("sent %v on losing the election, want nothing", p)
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
		acts = i.Step(now.Add(30*time.Millisecond), AnnouncementSeen{Addr: vip})
		wantUnbind(t, acts, 1)
		wantWatch(t, acts, false)
		if got := armed(t, acts, TimerRelease); !got.IsZero() {
			t.Fatalf("release timer still armed at %v", got)
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
		acts = i.Step(succ.Add(40*time.Millisecond), AnnouncementSeen{Addr: vip})
		wantUnbind(t, acts, 1)
		wantWatch(t, acts, false)
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
