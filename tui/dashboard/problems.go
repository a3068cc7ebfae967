package dashboard

import (
	"strconv"
	"strings"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"

	"github.com/hagent-dev/hagent/cluster"
)

// Problem is what is wrong with one instance, as bits: an instance can be in FAULT on
// one node and overridden on another.
type Problem uint8

// The problems an operator is pointed at, most urgent first: the compact view sorts by
// the most urgent bit set.
const (
	ProblemSplitBrain  Problem = 1 << iota // two or more live nodes are MASTER
	ProblemFault                           // a live node is in FAULT
	ProblemNoMaster                        // live nodes report it, none is MASTER
	ProblemOverride                        // a forced failover is in force
	ProblemMaintenance                     // a node holds it out of mastership
	ProblemLint                            // the config has findings for it (issue 15)
)

// rank orders problems for sorting: the index of the most urgent bit, 8 when none.
func (p Problem) rank() int {
	for i := range 8 {
		if p&(1<<i) != 0 {
			return i
		}
	}
	return 8
}

// classify says what is wrong with row; findings is its number of lint findings.
// Only live cells count: an unreachable agent is one problem of the cluster (the
// summary's stale count), not one per instance.
func classify(r cluster.InstanceRow, findings int) Problem {
	var p Problem
	live, masters := 0, 0
	for _, c := range r.Cells {
		if !c.Live() {
			continue
		}
		live++
		in := c.Inst
		switch in.GetState() {
		case hactlv1.State_STATE_MASTER:
			masters++
		case hactlv1.State_STATE_FAULT:
			p |= ProblemFault
		}
		if overridden(in) {
			p |= ProblemOverride
		}
		if in.GetMaintenance() || c.Node.Node.GetMaintenance() {
			p |= ProblemMaintenance
		}
	}
	switch {
	case masters > 1:
		p |= ProblemSplitBrain
	case live > 0 && masters == 0:
		p |= ProblemNoMaster
	}
	if findings > 0 {
		p |= ProblemLint
	}
	return p
}

func overridden(in *hactlv1.Instance) bool {
	mode := in.GetOverride().GetMode()
	return mode != hactlv1.OverrideMode_OVERRIDE_MODE_UNSPECIFIED && mode != hactlv1.OverrideMode_OVERRIDE_MODE_NONE
}

// describe is the compact view's problem column: the most telling words first.
func describe(r cluster.InstanceRow, p Problem, findings int) string {
	var parts []string
	if p&ProblemSplitBrain != 0 {
		parts = append(parts, "SPLIT BRAIN")
	}
	if p&ProblemFault != 0 {
		for _, c := range r.Cells {
			if c.Live() && c.Inst.GetState() == hactlv1.State_STATE_FAULT {
				parts = append(parts, "FAULT "+c.Node.Name+": "+cluster.FaultReason(c.Inst))
			}
		}
	}
	if p&ProblemNoMaster != 0 {
		parts = append(parts, "NO MASTER")
	}
	if p&ProblemOverride != 0 {
		parts = append(parts, "override")
	}
	if p&ProblemMaintenance != 0 {
		parts = append(parts, "maintenance")
	}
	if p&ProblemLint != 0 {
		parts = append(parts, "lint "+strconv.Itoa(findings))
	}
	return strings.Join(parts, " · ")
}
