package vrrp

import (
	"strings"
	"testing"
	"time"
)

// keepalived's FAULT: a master sends ONE priority-0 advert and releases the VIPs; no
// timer runs; more faults change nothing; the last clear goes to BACKUP with a full
// Master_Down_Interval.
func TestKeepalived_FaultFromMasterSendsOnePriorityZero(t *testing.T) {
	t.Parallel()
	c := v2Config()
	i, at := masterAt(t, c)
	now := at.Add(100 * time.Millisecond)
	acts := i.Step(now, Fault{Source: "chk_nginx", Reason: "exit status 1"})
	tr := wantTransition(t, acts, StateMaster, StateFault)
	if tr.Reason != "fault: chk_nginx: exit status 1" {
		t.Errorf("reason %q", tr.Reason)
	}
	if p := sentPriorities(acts); !eqU8(p, []uint8{0}) {
		t.Fatalf("sent %v, want [0]", p)
	}
	if len(actionsOf[UnbindVIPs](acts)) != 1 {
		t.Fatalf("VIPs kept: %#v", acts)
	}
	for k := TimerAdver; k <= TimerMasterDown; k++ {
		if !i.timers[k].IsZero() {
			t.Fatalf("timer %s still armed", k)
		}
	}

	// A second source, adverts, a stale adver timer: nothing is sent.
	acts = i.Step(now.Add(time.Millisecond), Fault{Source: "eth0", Reason: "link down"})
	acts = append(acts, i.Step(now.Add(time.Second), TimerFired{Kind: TimerAdver})...)
	a := advertFor(c, 50)
	acts = append(acts, recv(t, i, now.Add(2*time.Second), lowPeer, a)...)
	acts = append(acts, recv(t, i, now.Add(3*time.Second), lowPeer, a)...)
	if len(acts) != 0 {
		t.Fatalf("FAULT acted: %#v", acts)
	}
	// ... but the adverts were observed.
	st := i.Status(now)
	if st.Master != lowPeer || st.MasterPriority != 50 || len(st.RecentIntervals) != 1 || st.AdvertsReceived != 2 {
		t.Fatalf("fault status %+v", st)
	}
	if len(st.Faults) != 2 || st.Faults["eth0"] != "link down" {
		t.Fatalf("faults %v", st.Faults)
	}
	if err := i.CanPromote(); err == nil || !strings.Contains(err.Error(), "chk_nginx: exit status 1; eth0: link down") {
		t.Fatalf("CanPromote: %v", err)
	}

	// Clearing one source is not enough; clearing the last goes to BACKUP.
	if acts := i.Step(now.Add(4*time.Second), FaultCleared{Source: "chk_nginx"}); len(acts) != 0 {
		t.Fatalf("partial clear: %#v", acts)
	}
	t2 := now.Add(5 * time.Second)
	acts = i.Step(t2, FaultCleared{Source: "eth0"})
	tr = wantTransition(t, acts, StateFault, StateBackup)
	if !strings.Contains(tr.Reason, "eth0") {
		t.Errorf("reason %q", tr.Reason)
	}
	if got := armed(t, acts, TimerMasterDown); !got.Equal(t2.Add(3609375 * time.Microsecond)) {
		t.Fatalf("Master_Down_Timer %v", got)
	}
}

// A fault reported before Start makes the instance start in FAULT; a backup in FAULT
// sends nothing.
func TestKeepalived_FaultBeforeStartAndFromBackup(t *testing.T) {
	t.Parallel()
	i := mustNew(t, v2Config())
	i.Step(t0, Fault{Source: "eth0", Reason: "link down"})
	acts := i.Step(t0, Start{})
	wantTransition(t, acts, StateInit, StateFault)
	if len(actionsOf[ArmTimer](acts)) != 0 {
		t.Fatalf("timers in FAULT: %#v", acts)
	}

	j := started(t, v2Config())
	acts = j.Step(t0.Add(time.Second), Fault{Source: "eth0", Reason: "link down"})
	wantTransition(t, acts, StateBackup, StateFault)
	if len(actionsOf[SendAdvert](acts))+len(actionsOf[UnbindVIPs](acts)) != 0 {
		t.Fatalf("backup sent or unbound: %#v", acts)
	}
	if !armed(t, acts, TimerMasterDown).IsZero() {
		t.Fatal("Master_Down_Timer not cancelled")
	}
	// With FastPreempt the cleared backup preempts a lower master at once.
	c := v2Config()
	c.FastPreempt = true
	k := started(t, c)
	k.Step(t0, Fault{Source: "eth0", Reason: "down"})
	k.Step(t0.Add(time.Second), FaultCleared{Source: "eth0"})
	wantTransition(t, recv(t, k, t0.Add(1500*time.Millisecond), lowPeer, advertFor(c, 50)), StateBackup, StateMaster)
}

// v3: a master's interval observed in FAULT shows in the status.
func TestFaultObservesMasterAdverInterval(t *testing.T) {
	t.Parallel()
	c := v3Config()
	i := started(t, c)
	i.Step(t0, Fault{Source: "x", Reason: "y"})
	a := advertFor(c, 200)
	a.AdverInt = 20
	recv(t, i, t0.Add(time.Second), highPeer, a)
	if st := i.Status(t0); st.MasterAdverInt != 200*time.Millisecond {
		t.Fatalf("MasterAdverInt %s", st.MasterAdverInt)
	}
}
