package vrrp

import (
	"testing"
	"time"
)

var (
	backupWilling   = SyncStatus{State: StateBackup, WantMaster: true}
	backupUnwilling = SyncStatus{State: StateBackup}
	masterStatus    = SyncStatus{State: StateMaster, WantMaster: true}
)

func ordersFor(orders []SyncOrder, member string) []Event {
	var out []Event
	for _, o := range orders {
		if o.Member == member {
			out = append(out, o.Event)
		}
	}
	return out
}

func hasOrder[T Event](orders []SyncOrder, member string) (T, bool) {
	for _, ev := range ordersFor(orders, member) {
		if x, ok := ev.(T); ok {
			return x, true
		}
	}
	var zero T
	return zero, false
}

// vrrp_sync.c vrrp_sync_fault: a member's own FAULT puts every other member in FAULT
// (as a fault source of the group's), and they leave it together when it clears.
func TestKeepalivedSyncFault_TakesTheGroup(t *testing.T) {
	g := NewSyncGroup("G", []string{"VI_1", "VI_2"})
	g.Report("VI_1", masterStatus)
	g.Report("VI_2", masterStatus)
	if g.State() != StateMaster {
		t.Fatalf("group %s, want MASTER", g.State())
	}
	orders, tr := g.Report("VI_1", SyncStatus{State: StateFault, OwnFault: true})
	f, ok := hasOrder[Fault](orders, "VI_2")
	if !ok || f.Source != "vrrp_sync_group G" || f.Reason != "VI_1 in FAULT" {
		t.Fatalf("orders %#v, want a group Fault for VI_2", orders)
	}
	if len(ordersFor(orders, "VI_1")) != 0 {
		t.Errorf("VI_1 got %#v", ordersFor(orders, "VI_1"))
	}
	if tr == nil || tr.To != StateFault {
		t.Errorf("group transition %v, want to FAULT", tr)
	}
	// VI_2 follows into FAULT (not of its own): nothing more for VI_1.
	orders, _ = g.Report("VI_2", SyncStatus{State: StateFault})
	if _, ok := hasOrder[Fault](orders, "VI_1"); ok {
		t.Errorf("a group-made FAULT spread back: %#v", orders)
	}
	orders, _ = g.Report("VI_1", backupWilling)
	if _, ok := hasOrder[FaultCleared](orders, "VI_2"); !ok {
		t.Fatalf("orders %#v, want FaultCleared for VI_2", orders)
	}
}

// vrrp_sync_master: a member that becomes MASTER takes the BACKUP members with it;
// the group is MASTER (and notifies) once all are.
func TestKeepalivedSyncMaster_TakesTheGroup(t *testing.T) {
	g := NewSyncGroup("G", []string{"VI_1", "VI_2"})
	g.Report("VI_1", backupWilling)
	_, tr := g.Report("VI_2", backupWilling)
	if tr == nil || tr.To != StateBackup {
		t.Fatalf("group transition %v, want to BACKUP", tr)
	}
	orders, tr := g.Report("VI_1", masterStatus)
	if m, ok := hasOrder[SyncMaster](orders, "VI_2"); !ok || m.Member != "VI_1" {
		t.Fatalf("orders %#v, want SyncMaster for VI_2", orders)
	}
	if tr != nil {
		t.Errorf("group changed before every member is MASTER: %v", tr)
	}
	_, tr = g.Report("VI_2", masterStatus)
	if tr == nil || tr.From != StateBackup || tr.To != StateMaster {
		t.Errorf("group transition %v, want BACKUP->MASTER", tr)
	}
}

// vrrp_sync_backup: a member that leaves MASTER for BACKUP takes the others along.
func TestKeepalivedSyncBackup_TakesTheGroup(t *testing.T) {
	g := NewSyncGroup("G", []string{"VI_1", "VI_2"})
	g.Report("VI_1", masterStatus)
	g.Report("VI_2", masterStatus)
	orders, _ := g.Report("VI_2", backupUnwilling)
	if b, ok := hasOrder[SyncBackup](orders, "VI_1"); !ok || b.Reason != "VI_2 left MASTER" {
		t.Fatalf("orders %#v, want SyncBackup for VI_1", orders)
	}
	if h, ok := hasOrder[SyncHold](orders, "VI_1"); !ok || !h.On {
		t.Errorf("orders %#v, want VI_1 held: VI_2 does not want MASTER", orders)
	}
}

// vrrp_sync_can_goto_master: while another member does not want MASTER, a member is
// held; one that became MASTER anyway is sent back.
func TestKeepalivedSyncCanGotoMaster(t *testing.T) {
	g := NewSyncGroup("G", []string{"VI_1", "VI_2"})
	orders, _ := g.Report("VI_1", backupWilling)
	if h, ok := hasOrder[SyncHold](orders, "VI_1"); !ok || !h.On {
		t.Fatalf("orders %#v: VI_1 must be held until VI_2 reports", orders)
	}
	orders, _ = g.Report("VI_2", backupUnwilling)
	if len(ordersFor(orders, "VI_1")) != 0 {
		t.Errorf("VI_1 already held, got %#v", orders)
	}
	orders, _ = g.Report("VI_1", masterStatus)
	if _, ok := hasOrder[SyncBackup](orders, "VI_1"); !ok {
		t.Fatalf("orders %#v, want VI_1 sent back to BACKUP", orders)
	}
	if _, ok := hasOrder[SyncMaster](orders, "VI_2"); ok {
		t.Fatalf("an unwilling member was made MASTER: %#v", orders)
	}
	g.Report("VI_1", backupWilling)
	orders, _ = g.Report("VI_2", backupWilling)
	if h, ok := hasOrder[SyncHold](orders, "VI_1"); !ok || h.On {
		t.Errorf("orders %#v, want VI_1's hold lifted", orders)
	}
}

// The instance side: a held member's expired Master_Down_Timer keeps it BACKUP,
// restarts the timer and makes it want MASTER; SyncMaster makes it MASTER; SyncBackup
// makes a MASTER BACKUP without a priority-0 advert (vrrp_state_leave_master(isync,
// false)); the group's fault is not an own fault.
func TestSyncGroupInstanceEvents(t *testing.T) {
	c := v2Config()
	i := started(t, c)
	i.Step(t0, SyncHold{Group: "G", On: true})
	recv(t, i, t0.Add(100*time.Millisecond), highPeer, advertFor(c, 200))
	if i.SyncStatus().WantMaster {
		t.Fatal("a backup that hears a higher master wants MASTER")
	}
	at, acts := fireAt(t, i, TimerMasterDown)
	wantNoTransition(t, acts)
	if got, want := armed(t, acts, TimerMasterDown), at.Add(MasterDownInterval(2, 100, time.Second)); !got.Equal(want) {
		t.Errorf("held: Master_Down_Timer %v, want %v", got, want)
	}
	if !i.SyncStatus().WantMaster {
		t.Error("held after Master_Down_Interval: want MASTER")
	}
	acts = i.Step(at.Add(time.Millisecond), SyncMaster{Group: "G", Member: "VI_2"})
	tr := wantTransition(t, acts, StateBackup, StateMaster)
	if tr.Reason != "vrrp_sync_group G: VI_2 became MASTER" {
		t.Errorf("reason %q", tr.Reason)
	}
	acts = i.Step(at.Add(2*time.Millisecond), SyncBackup{Group: "G", Reason: "VI_2 left MASTER"})
	wantTransition(t, acts, StateMaster, StateBackup)
	if p := sentPriorities(acts); len(p) != 0 {
		t.Errorf("SyncBackup sent adverts %v, want none (no priority 0)", p)
	}
	i.Step(at.Add(3*time.Millisecond), Fault{Source: SyncFaultSource("G"), Reason: "VI_2 in FAULT"})
	if st := i.SyncStatus(); st.State != StateFault || st.OwnFault {
		t.Errorf("group fault: %+v, want FAULT not of its own", st)
	}
	i.Step(at.Add(4*time.Millisecond), Fault{Source: "script chk", Reason: "down"})
	if !i.SyncStatus().OwnFault {
		t.Error("own fault not reported")
	}
}

// A held backup does not preempt a lower master on its advert (FastPreempt); unheld,
// it does.
func TestSyncHoldStopsFastPreempt(t *testing.T) {
	c := v2Config()
	c.FastPreempt = true
	i := started(t, c)
	i.Step(t0, SyncHold{Group: "G", On: true})
	acts := recv(t, i, t0.Add(100*time.Millisecond), highPeer, advertFor(c, 90))
	wantNoTransition(t, acts)
	if !i.SyncStatus().WantMaster {
		t.Error("a backup above its master wants MASTER")
	}
	i.Step(t0.Add(200*time.Millisecond), SyncHold{Group: "G", On: false})
	acts = recv(t, i, t0.Add(time.Second), highPeer, advertFor(c, 90))
	wantTransition(t, acts, StateBackup, StateMaster)
}

// Two members on one host driven through their group: a member's own fault takes
// both to FAULT (both resign with priority 0 and release the VIPs), and both come
// back together.
func TestSyncGroupScenario_FaultMovesBoth(t *testing.T) {
	g := NewSyncGroup("G", []string{"VI_1", "VI_2"})
	c1, c2 := v2Config(), v2Config()
	c2.Name, c2.VRID = "VI_2", 52
	insts := map[string]*Instance{"VI_1": mustNew(t, c1), "VI_2": mustNew(t, c2)}
	var unbound []string
	var deliver func(now time.Time, name string, ev Event)
	deliver = func(now time.Time, name string, ev Event) {
		in := insts[name]
		for _, a := range in.Step(now, ev) {
			if _, ok := a.(UnbindVIPs); ok {
				unbound = append(unbound, name)
			}
		}
		orders, _ := g.Report(name, in.SyncStatus())
		for _, o := range orders {
			deliver(now, o.Member, o.Event)
		}
	}
	deliver(t0, "VI_1", Start{})
	deliver(t0, "VI_2", Start{})
	now := t0.Add(4 * time.Second)
	deliver(now, "VI_1", TimerFired{Kind: TimerMasterDown})
	if insts["VI_1"].State() != StateMaster || insts["VI_2"].State() != StateMaster || g.State() != StateMaster {
		t.Fatalf("states %s %s group %s, want all MASTER", insts["VI_1"].State(), insts["VI_2"].State(), g.State())
	}
	deliver(now.Add(time.Second), "VI_1", Fault{Source: "script chk", Reason: "nginx down"})
	if insts["VI_2"].State() != StateFault || g.State() != StateFault || len(unbound) != 2 {
		t.Fatalf("after VI_1's fault: VI_2 %s, group %s, unbound %v; want FAULT and both VIPs released", insts["VI_2"].State(), g.State(), unbound)
	}
	deliver(now.Add(2*time.Second), "VI_1", FaultCleared{Source: "script chk"})
	if insts["VI_1"].State() != StateBackup || insts["VI_2"].State() != StateBackup || g.State() != StateBackup {
		t.Fatalf("after recovery: %s %s group %s, want all BACKUP", insts["VI_1"].State(), insts["VI_2"].State(), g.State())
	}
}

// An operator's Promote (hactl failover towards this node) moves the whole group: the
// promoted member takes the others along even though they hear a live master.
func TestSyncGroupFollowsPromotedMember(t *testing.T) {
	g := NewSyncGroup("G", []string{"VI_1", "VI_2"})
	g.Report("VI_1", backupUnwilling)
	g.Report("VI_2", backupUnwilling)
	orders, _ := g.Report("VI_1", SyncStatus{State: StateMaster, WantMaster: true, Promoted: true})
	if _, ok := hasOrder[SyncMaster](orders, "VI_2"); !ok {
		t.Fatalf("orders %#v, want VI_2 taken along", orders)
	}
	if _, ok := hasOrder[SyncBackup](orders, "VI_1"); ok {
		t.Fatalf("the promoted member was sent back: %#v", orders)
	}
	if p, ok := hasOrder[Promote](orders, "VI_2"); !ok || p.Who != "vrrp_sync_group G: unknown" {
		t.Fatalf("orders %#v, want VI_2 promoted too", orders)
	}
	g.Report("VI_2", SyncStatus{State: StateMaster, WantMaster: true, Promoted: true})
	orders, _ = g.Report("VI_1", masterStatus)
	if _, ok := hasOrder[ClearOverride](orders, "VI_2"); !ok {
		t.Fatalf("orders %#v, want VI_2's promotion cleared with VI_1's", orders)
	}
	i := started(t, v2Config())
	recv(t, i, t0.Add(100*time.Millisecond), highPeer, advertFor(v2Config(), 200))
	i.Step(t0.Add(200*time.Millisecond), Promote{Who: "op"})
	if st := i.SyncStatus(); st.State != StateMaster || !st.Promoted {
		t.Errorf("after Promote: %+v, want MASTER and Promoted", st)
	}
}
