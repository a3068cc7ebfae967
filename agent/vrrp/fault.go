package vrrp

import (
	"slices"
	"strings"
)

// addFault records one source's fault. The first fault of a running instance sends it to
// FAULT (keepalived); later ones only update the reasons.
func (i *Instance) addFault(source, reason string) {
	if _, ok := i.faults[source]; !ok {
		i.faultOrder = append(i.faultOrder, source)
	}
	i.faults[source] = reason
	switch i.state {
	case StateBackup, StateMaster:
		i.enterFault("fault: " + source + ": " + reason)
	}
}

// clearFault clears one source; when none is left a FAULT instance goes to BACKUP with a
// full Master_Down_Interval, as at start (keepalived's vrrp_state_leave_fault).
func (i *Instance) clearFault(source string) {
	if _, ok := i.faults[source]; !ok {
		return
	}
	delete(i.faults, source)
	i.faultOrder = slices.DeleteFunc(i.faultOrder, func(s string) bool { return s == source })
	if i.state == StateFault && len(i.faults) == 0 {
		i.startBackup("fault cleared: " + source)
	}
}

// faultSummary names every fault source and its reason, oldest first.
func (i *Instance) faultSummary() string {
	var b strings.Builder
	for n, s := range i.faultOrder {
		if n > 0 {
			b.WriteString("; ")
		}
		b.WriteString(s + ": " + i.faults[s])
	}
	return b.String()
}

// reported records a tracked check's first result; an instance that waits in INIT for
// its fault sources starts when the last one has reported.
func (i *Instance) reported(source string) {
	if _, ok := i.unreported[source]; !ok {
		return
	}
	delete(i.unreported, source)
	if i.state == StateInit && i.startWanted && i.unreportedFaults() == "" {
		i.start()
	}
}

// unreportedFaults names the fault sources without a first result, sorted, or "".
func (i *Instance) unreportedFaults() string {
	var names []string
	for s, fault := range i.unreported {
		if fault {
			names = append(names, s)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
