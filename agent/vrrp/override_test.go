package vrrp

import (
	"strings"
	"testing"
	"time"
)

// Relinquish: one priority-0 advert, BACKUP, the VIPs kept for the successor (handover);
// demoted, it does not preempt
// the (lower) new master even with FastPreempt, but takes over if nobody is master.
func TestRelinquishHandsOverAndStaysDemoted(t *testing.T) {
	t.Parallel()
	c := v2Config()
	c.FastPreempt = true
	i, at := masterAt(t, c)
	if err := i.CanRelinquish(); err != nil {
		t.Fatalf("CanRelinquish: %v", err)
	}
	now := at.Add(time.Second / 2)
	acts := i.Step(now, Relinquish{Who: "alice"})
	tr := wantTransition(t, acts, StateMaster, StateBackup)
	if tr.Reason != "relinquished by alice" {
		t.Errorf("reason %q", tr.Reason)
	}
	if p := sentPriorities(acts); !eqU8(p, []uint8{0}) {
		t.Fatalf("sent %v", p)
	}
	if len(actionsOf[UnbindVIPs](acts)) != 0 || !i.HandingOver() {
		t.Fatalf("VIPs not kept for the successor: %#v", acts)
	}
	if got, want := armed(t, acts, TimerRelease), now.Add(c.AdverInt+SuccessorGrace); !got.Equal(want) {
		t.Fatalf("release at %v, want %v", got, want)
	}
	if oc := actionsOf[OverrideChanged](acts); len(oc) != 1 || oc[0].Override != OverrideRelinquish {
		t.Fatalf("OverrideChanged: %#v", acts)
	}
	if st := i.Status(now); st.Override != OverrideRelinquish || !st.OverrideUntil.IsZero() {
		t.Fatalf("status %+v", st)
	}
	if err := i.CanRelinquish(); err == nil || !strings.Contains(err.Error(), "not MASTER") {
		t.Fatalf("CanRelinquish as backup: %v", err)
	}

	// The lower peer takes over; its adverts hold us back.
	for n := 1; n <= 5; n++ {
		acts = recv(t, i, now.Add(time.Duration(n)*time.Second), lowPeer, advertFor(c, 50))
		wantNoTransition(t, acts)
		armed(t, acts, TimerMasterDown)
	}
	// The peer dies: availability first, we take over after Master_Down_Interval.
	at, acts = fireAt(t, i, TimerMasterDown)
	if !at.Equal(now.Add(5*time.Second + 3609375*time.Microsecond)) {
		t.Fatalf("took over at %v", at)
	}
	wantTransition(t, acts, StateBackup, StateMaster)
}

func TestRelinquishUntilExpires(t *testing.T) {
	t.Parallel()
	c := v2Config()
	c.FastPreempt = true
	i, at := masterAt(t, c)
	until := at.Add(10 * time.Second)
	acts := i.Step(at, Relinquish{Who: "bob", Until: until})
	if got := armed(t, acts, TimerOverride); !got.Equal(until) {
		t.Fatalf("override timer %v", got)
	}
	wantNoTransition(t, recv(t, i, at.Add(time.Second), lowPeer, advertFor(c, 50)))
	_, acts = fireAt(t, i, TimerOverride)
	if oc := actionsOf[OverrideChanged](acts); len(oc) != 1 || oc[0].Override != OverrideNone || !strings.Contains(oc[0].Reason, "expired") {
		t.Fatalf("OverrideChanged: %#v", acts)
	}
	if i.Status(until).Override != OverrideNone {
		t.Fatal("override still shown")
	}
	// Preemption is back.
	wantTransition(t, recv(t, i, until.Add(time.Second), lowPeer, advertFor(c, 50)), StateBackup, StateMaster)
}

func TestCanRelinquish(t *testing.T) {
	t.Parallel()
	owner := v2Config()
	owner.Priority = 255
	o := started(t, owner)
	if err := o.CanRelinquish(); err == nil || err.Error() != "priority 255 address owner cannot relinquish" {
		t.Fatalf("owner: %v", err)
	}
	if acts := o.Step(t0, Relinquish{}); len(acts) != 0 {
		t.Fatalf("owner relinquished: %#v", acts)
	}
	f := started(t, v2Config())
	f.Step(t0, Fault{Source: "eth0", Reason: "link down"})
	if err := f.CanRelinquish(); err == nil || err.Error() != "instance is FAULT: eth0: link down" {
		t.Fatalf("fault: %v", err)
	}
	b := started(t, v2Config())
	if acts := b.Step(t0, Relinquish{}); len(acts) != 0 {
		t.Fatalf("backup relinquished: %#v", acts)
	}
}

// Promote: make before break. The backup goes MASTER at once with priority 254 and says
// so; the old master (same code) steps down on that advert.
func TestPromoteTakesOverAndOldMasterStepsDown(t *testing.T) {
	t.Parallel()
	c := v2Config()
	c.Priority = 90
	i := started(t, c)
	recv(t, i, t0.Add(time.Second), lowPeer, advertFor(c, 100))
	if err := i.CanPromote(); err != nil {
		t.Fatalf("CanPromote: %v", err)
	}
	now := t0.Add(1500 * time.Millisecond)
	acts := i.Step(now, Promote{Who: "carol"})
	if pc := actionsOf[PriorityChanged](acts); len(pc) != 1 || pc[0] != (PriorityChanged{From: 90, To: 254}) {
		t.Fatalf("PriorityChanged: %#v", acts)
	}
	tr := wantTransition(t, acts, StateBackup, StateMaster)
	if tr.Reason != "promoted by carol" {
		t.Errorf("reason %q", tr.Reason)
	}
	sent := actionsOf[SendAdvert](acts)
	if len(sent) != 1 || sent[0].Advert.Priority != 254 {
		t.Fatalf("sent %#v", sent)
	}

	// The old master sees it and steps down.
	old := mustNew(t, Config{Name: "VI_1", VRID: 51, Version: 2, Priority: 100, AdverInt: time.Second,
		AuthType: AuthPass, AuthPass: c.AuthPass, VIPs: c.VIPs, PrimaryAddr: lowPeer})
	old.Step(t0, Start{})
	fireAt(t, old, TimerMasterDown)
	acts = recv(t, old, now, ourAddr, sent[0].Advert)
	wantTransition(t, acts, StateMaster, StateBackup)

	// ClearOverride: back to 90, advertised at once; the old master (preempt) takes over.
	acts = i.Step(now.Add(time.Minute), ClearOverride{Who: "carol"})
	if p := sentPriorities(acts); !eqU8(p, []uint8{90}) {
		t.Fatalf("sent %v", p)
	}
	if pc := actionsOf[PriorityChanged](acts); len(pc) != 1 || pc[0] != (PriorityChanged{From: 254, To: 90}) {
		t.Fatalf("PriorityChanged: %#v", acts)
	}
	if st := i.Status(now); st.Override != OverrideNone || st.EffectivePriority != 90 {
		t.Fatalf("status %+v", st)
	}
	deadline := old.timers[TimerMasterDown]
	acts = recv(t, old, now.Add(time.Minute), ourAddr, actionsOf[SendAdvert](acts)[0].Advert)
	if len(actionsOf[ArmTimer](acts)) != 0 {
		t.Fatalf("old master reset its timer on a lower advert: %#v", acts)
	}
	if at, acts := fireAt(t, old, TimerMasterDown); !at.Equal(deadline) || len(actionsOf[Transition](acts)) != 1 {
		t.Fatalf("old master did not take back at %v: %#v", deadline, acts)
	}
}

// With a master at 254 too, Promote still goes MASTER; the higher primary address wins the
// tie (RFC 5798 6.4.3), documented on CanPromote.
func TestPromoteAgainst254TieBreaksByAddress(t *testing.T) {
	t.Parallel()
	c := v2Config()
	i := started(t, c)
	recv(t, i, t0.Add(time.Second), highPeer, advertFor(c, 254))
	wantTransition(t, i.Step(t0.Add(2*time.Second), Promote{}), StateBackup, StateMaster)
	// The .72 master answers with 254: its address is higher, we step back.
	wantTransition(t, recv(t, i, t0.Add(2*time.Second), highPeer, advertFor(c, 254)), StateMaster, StateBackup)
}

func TestCanPromote(t *testing.T) {
	t.Parallel()
	owner := v2Config()
	owner.Priority = 255
	if err := started(t, owner).CanPromote(); err == nil || !strings.Contains(err.Error(), "owner") {
		t.Fatalf("owner: %v", err)
	}
	m, _ := masterAt(t, v2Config())
	if err := m.CanPromote(); err == nil || err.Error() != "already MASTER" {
		t.Fatalf("master: %v", err)
	}
	f := started(t, v2Config())
	f.Step(t0, Fault{Source: "chk", Reason: "timeout"})
	if err := f.CanPromote(); err == nil || err.Error() != "instance is FAULT: chk: timeout" {
		t.Fatalf("fault: %v", err)
	}
	if acts := f.Step(t0, Promote{}); len(acts) != 0 {
		t.Fatalf("FAULT promoted: %#v", acts)
	}
	mt := started(t, v2Config())
	mt.Step(t0, Maintenance{On: true})
	if err := mt.CanPromote(); err == nil || err.Error() != "instance is in maintenance" {
		t.Fatalf("maintenance: %v", err)
	}
	if acts := mt.Step(t0, Promote{}); len(acts) != 0 {
		t.Fatalf("maintenance promoted: %#v", acts)
	}
	b := started(t, v2Config())
	recv(t, b, t0.Add(time.Second), highPeer, advertFor(v2Config(), 255))
	if err := b.CanPromote(); err == nil || !strings.Contains(err.Error(), "address owner (priority 255)") {
		t.Fatalf("behind owner: %v", err)
	}
	if err := mustNew(t, v2Config()).CanPromote(); err == nil || err.Error() != "not BACKUP: instance is INIT" {
		t.Fatalf("init: %v", err)
	}
}

// Promote Until: the override timer ends it and the priority returns.
func TestPromoteUntilExpires(t *testing.T) {
	t.Parallel()
	i := started(t, v2Config())
	until := t0.Add(time.Minute)
	i.Step(t0.Add(time.Second), Promote{Until: until})
	_, acts := fireAt(t, i, TimerOverride)
	if pc := actionsOf[PriorityChanged](acts); len(pc) != 1 || pc[0].To != 100 {
		t.Fatalf("PriorityChanged: %#v", acts)
	}
	if p := sentPriorities(acts); !eqU8(p, []uint8{100}) {
		t.Fatalf("sent %v", p)
	}
	wantState(t, i, StateMaster)
}

// Maintenance: a master resigns; while on, the Master_Down_Timer does not make it master
// and it never preempts; off re-arms the timer.
func TestMaintenanceHoldsOutOfMastership(t *testing.T) {
	t.Parallel()
	c := v2Config()
	c.FastPreempt = true
	i, at := masterAt(t, c)
	acts := i.Step(at, Maintenance{On: true, Who: "dave"})
	tr := wantTransition(t, acts, StateMaster, StateBackup)
	if tr.Reason != "maintenance on by dave" {
		t.Errorf("reason %q", tr.Reason)
	}
	if p := sentPriorities(acts); !eqU8(p, []uint8{0}) || len(actionsOf[UnbindVIPs](acts)) != 0 || !i.HandingOver() {
		t.Fatalf("actions %#v, want priority 0 and the VIPs kept for the successor", acts)
	}
	if !i.Status(at).Maintenance {
		t.Fatal("status does not show maintenance")
	}
	wantNoTransition(t, recv(t, i, at.Add(time.Second), lowPeer, advertFor(c, 50)))
	fired, acts := fireAt(t, i, TimerMasterDown)
	if len(acts) != 0 {
		t.Fatalf("maintenance: timer fire acted: %#v", acts)
	}
	wantState(t, i, StateBackup)
	acts = i.Step(fired.Add(time.Second), Maintenance{On: false})
	if got := armed(t, acts, TimerMasterDown); !got.Equal(fired.Add(time.Second + 3609375*time.Microsecond)) {
		t.Fatalf("re-armed at %v", got)
	}
	wantTransition(t, recv(t, i, fired.Add(2*time.Second), lowPeer, advertFor(c, 50)), StateBackup, StateMaster)

	// An owner in maintenance starts as BACKUP.
	owner := v2Config()
	owner.Priority = 255
	o := mustNew(t, owner)
	o.Step(t0, Maintenance{On: true})
	wantTransition(t, o.Step(t0, Start{}), StateInit, StateBackup)
}
