package vrrp

import (
	"fmt"
	"strings"
	"time"
)

// This file is keepalived's vrrp_sync_group (keepalived 2.2.7 vrrp_sync.c): the
// instances of a group move together. It has two halves, both pure:
//
//   - SyncGroup decides for the group. The driver reports each member's SyncStatus
//     after it changes, and SyncGroup answers with events for the members (SyncOrders)
//     and the group's own transitions (for its notify scripts).
//   - Each Instance takes those events: a group fault is an ordinary Fault source, and
//     SyncMaster, SyncBackup and SyncHold are handled by syncStep.
//
// The rules, after vrrp_sync.c:
//   - vrrp_sync_fault (called from vrrp_track.c down_instance): while any member is in
//     FAULT of its own, every other member is in FAULT too; when the last own fault
//     clears, they all leave FAULT for BACKUP together.
//   - vrrp_sync_master: a member that becomes MASTER takes the BACKUP members with it.
//   - vrrp_sync_backup: a member that leaves MASTER for BACKUP takes the MASTER
//     members with it.
//   - vrrp_sync_can_goto_master: a member only becomes MASTER by itself (its
//     Master_Down_Timer, or preempting a lower master) when every other member wants
//     to be MASTER too; otherwise it stays BACKUP and restarts its Master_Down_Timer
//     (keepalived's wantstate). We keep this as a hold (SyncHold) the group puts on a
//     member while another member does not want to be MASTER, so that each instance's
//     loop decides alone, without asking the others.
//
// Deviation: keepalived checks can_goto_master synchronously in its single thread;
// here a member's wish reaches the others as a message, so a member may go MASTER a
// moment before its hold arrives. The group then sends it back to BACKUP (SyncBackup),
// as can_goto_master would have kept it there.

// SyncFaultSource is the fault source a sync group puts on its members.
func SyncFaultSource(group string) string { return syncFaultPrefix + group }

const syncFaultPrefix = "vrrp_sync_group "

type (
	// SyncMaster makes a BACKUP member MASTER because another member of its group
	// became MASTER (vrrp_sync.c vrrp_sync_master).
	SyncMaster struct{ Group, Member string }
	// SyncBackup makes a MASTER member BACKUP because another member left MASTER, or
	// because it became MASTER while another member does not want to
	// (vrrp_sync_backup, vrrp_sync_can_goto_master).
	SyncBackup struct {
		Group  string
		Reason string
	}
	// SyncHold keeps a BACKUP member from becoming MASTER by itself while On: another
	// member of its group does not want to be MASTER (vrrp_sync_can_goto_master).
	SyncHold struct {
		Group string
		On    bool
	}
)

func (SyncMaster) isEvent() {}
func (SyncBackup) isEvent() {}
func (SyncHold) isEvent()   {}

// syncState is an instance's part in its sync group.
type syncState struct {
	hold bool
	// want is keepalived's wantstate MASTER: our Master_Down_Timer ran out while held,
	// at wantAt; an advert that outranks us since then cancels it.
	want   bool
	wantAt time.Time
}

// syncStep handles the events of a sync group.
func (i *Instance) syncStep(ev Event) {
	switch ev := ev.(type) {
	case SyncHold:
		i.sync.hold = ev.On
	case SyncMaster:
		if i.state != StateBackup || i.maintenance || i.override == OverrideRelinquish {
			return
		}
		i.sync.want = false
		i.enterMaster(fmt.Sprintf("vrrp_sync_group %s: %s became MASTER", ev.Group, ev.Member))
	case SyncBackup:
		if i.state != StateMaster {
			return
		}
		d := i.masterDownInterval()
		i.enterBackup("vrrp_sync_group "+ev.Group+": "+ev.Reason, false, i.now.Add(d), downCause{wait: d, after: "vrrp_sync_group " + ev.Group})
	}
}

// syncHeldAtMasterDown is vrrp_sync_can_goto_master for an expired Master_Down_Timer:
// while held, the member stays BACKUP, says it wants to be MASTER, and restarts its
// timer (keepalived resets ms_down_timer and the sands).
func (i *Instance) syncHeldAtMasterDown() bool {
	if !i.sync.hold {
		return false
	}
	i.sync.want, i.sync.wantAt = true, i.now
	d := i.masterDownInterval()
	why := i.downWhy
	why.wait = d
	i.armMasterDown(i.now.Add(d), why)
	return true
}

// SyncStatus is what the sync group needs to know of a member.
type SyncStatus struct {
	State State
	// OwnFault: the member is in FAULT for a reason of its own, not the group's.
	OwnFault bool
	// WantMaster: the member is MASTER, or a BACKUP that would become MASTER if the
	// group let it: it knows no live master, its master resigned, it outranks the
	// master and may preempt, or its Master_Down_Timer ran out while held.
	WantMaster bool
	// Promoted: an operator's Promote override (until PromotedUntil, zero: until
	// cleared, by PromotedBy) is in force. The group follows it whatever the other
	// members want, and promotes them too, so that a forced failover moves the whole
	// group and the peer's members step down on our members' adverts.
	Promoted      bool
	PromotedUntil time.Time
	PromotedBy    string
}

// SyncStatus reports the member's part for its sync group; it is cheap enough to call
// after every Step.
func (i *Instance) SyncStatus() SyncStatus {
	s := SyncStatus{State: i.state}
	if i.override == OverridePromote {
		s.Promoted, s.PromotedUntil, s.PromotedBy = true, i.overrideUntil, i.overrideWho
	}
	for src := range i.faults {
		if !strings.HasPrefix(src, syncFaultPrefix) {
			s.OwnFault = true
			break
		}
	}
	switch i.state {
	case StateMaster:
		s.WantMaster = true
	case StateBackup:
		outranked := i.master.IsValid() && i.masterPrio >= i.prio
		switch {
		case i.maintenance || i.override == OverrideRelinquish:
		case i.sync.want && !(outranked && i.lastAdvert.After(i.sync.wantAt)):
			s.WantMaster = true
		case !i.master.IsValid() || i.masterPrio == 0:
			s.WantMaster = true
		case i.masterPrio < i.prio && i.Preempt():
			s.WantMaster = true
		}
	}
	return s
}

// SyncOrder is an event for one member of a sync group.
type SyncOrder struct {
	Member string
	Event  Event
}

// SyncGroup is one vrrp_sync_group's decisions. It is not safe for concurrent use.
type SyncGroup struct {
	name    string
	members []string
	status  map[string]SyncStatus
	fault   map[string]bool // the group fault source is on the member
	hold    map[string]bool // SyncHold{On: true} was sent
	state   State
}

// NewSyncGroup returns the group of the named members, in INIT until they report.
func NewSyncGroup(name string, members []string) *SyncGroup {
	return &SyncGroup{
		name:    name,
		members: append([]string(nil), members...),
		status:  map[string]SyncStatus{},
		fault:   map[string]bool{},
		hold:    map[string]bool{},
		state:   StateInit,
	}
}

// Name is the group's name.
func (g *SyncGroup) Name() string { return g.name }

// Members are the group's instances, in config order.
func (g *SyncGroup) Members() []string { return append([]string(nil), g.members...) }

// State is the group's state: FAULT while any member is, MASTER or BACKUP once every
// member is, STOP once every member stopped; INIT before that.
func (g *SyncGroup) State() State { return g.state }

// Report takes a member's new SyncStatus and returns the orders for the members, in
// the order to deliver them, and the group's transition if its state changed.
func (g *SyncGroup) Report(member string, s SyncStatus) ([]SyncOrder, *Transition) {
	prev, known := g.status[member]
	if known && prev == s {
		return nil, nil
	}
	g.status[member] = s
	var out []SyncOrder

	// vrrp_sync_fault: the group fault source is on every member but the faulty ones.
	for _, m := range g.members {
		var faulty []string
		for _, n := range g.members {
			if n != m && g.status[n].OwnFault {
				faulty = append(faulty, n)
			}
		}
		on := len(faulty) > 0
		if on == g.fault[m] {
			continue
		}
		g.fault[m] = on
		if on {
			out = append(out, SyncOrder{m, Fault{Source: SyncFaultSource(g.name), Reason: strings.Join(faulty, ", ") + " in FAULT"}})
		} else {
			out = append(out, SyncOrder{m, FaultCleared{Source: SyncFaultSource(g.name)}})
		}
	}

	// A forced failover of one member is one of the group.
	switch {
	case s.Promoted && !prev.Promoted:
		for _, m := range g.members {
			if m != member && !g.status[m].Promoted {
				out = append(out, SyncOrder{m, Promote{Until: s.PromotedUntil, Who: "vrrp_sync_group " + g.name + ": " + orUnknown(s.PromotedBy)}})
			}
		}
	case !s.Promoted && prev.Promoted:
		for _, m := range g.members {
			if m != member && g.status[m].Promoted {
				out = append(out, SyncOrder{m, ClearOverride{Who: "vrrp_sync_group " + g.name}})
			}
		}
	}

	switch {
	case prev.State == StateMaster && s.State == StateBackup:
		// vrrp_sync_backup.
		for _, m := range g.members {
			if m != member && g.status[m].State == StateMaster {
				out = append(out, SyncOrder{m, SyncBackup{Group: g.name, Reason: member + " left MASTER"}})
			}
		}
	case prev.State != StateMaster && s.State == StateMaster:
		// vrrp_sync_master, after vrrp_sync_can_goto_master.
		var unwilling []string
		for _, m := range g.members {
			if st := g.status[m]; m != member && !st.WantMaster {
				unwilling = append(unwilling, m)
			}
		}
		if len(unwilling) > 0 && !s.Promoted {
			out = append(out, SyncOrder{member, SyncBackup{Group: g.name, Reason: strings.Join(unwilling, ", ") + " not ready for MASTER"}})
			break
		}
		for _, m := range g.members {
			if m != member && g.status[m].State == StateBackup {
				out = append(out, SyncOrder{m, SyncMaster{Group: g.name, Member: member}})
			}
		}
	}

	// vrrp_sync_can_goto_master as a hold.
	for _, m := range g.members {
		on := false
		for _, n := range g.members {
			if n != m && !g.status[n].WantMaster {
				on = true
			}
		}
		if on != g.hold[m] {
			g.hold[m] = on
			out = append(out, SyncOrder{m, SyncHold{Group: g.name, On: on}})
		}
	}

	return out, g.settle(member, s.State)
}

// settle recomputes the group state; it returns the transition if there is one.
func (g *SyncGroup) settle(member string, to State) *Transition {
	next := g.state
	all := func(st State) bool {
		for _, m := range g.members {
			if g.status[m].State != st {
				return false
			}
		}
		return true
	}
	anyFault := false
	for _, m := range g.members {
		anyFault = anyFault || g.status[m].State == StateFault
	}
	switch {
	case anyFault:
		next = StateFault
	case all(StateMaster):
		next = StateMaster
	case all(StateBackup):
		next = StateBackup
	case all(StateStopped):
		next = StateStopped
	}
	if next == g.state {
		return nil
	}
	t := &Transition{From: g.state, To: next, Reason: fmt.Sprintf("%s is %s", member, to)}
	g.state = next
	return t
}
