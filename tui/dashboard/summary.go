package dashboard

import (
	"fmt"
	"strings"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"

	"github.com/hagent-dev/hagent/cluster"
	"github.com/hagent-dev/hagent/tui/format"
)

// counts is the summary's problem count: instances per problem, lint findings, and
// agents whose data is stale (unreachable).
type counts struct {
	fault, noMaster, splitBrain, override, maintenance int
	lint, stale                                        int
}

// countProblems starts the counts with what does not depend on the rows: stale agents
// and the lint findings (every finding, also those not tied to an instance).
func countProblems(nodes []*cluster.NodeState, findings map[string]int) counts {
	var c counts
	for _, n := range nodes {
		if !n.Reachable && (n.Node != nil || n.LastErr != "") {
			c.stale++
		}
	}
	for _, k := range findings {
		c.lint += k
	}
	return c
}

func (c *counts) add(p Problem) {
	for _, x := range []struct {
		bit Problem
		n   *int
	}{
		{ProblemFault, &c.fault}, {ProblemNoMaster, &c.noMaster}, {ProblemSplitBrain, &c.splitBrain},
		{ProblemOverride, &c.override}, {ProblemMaintenance, &c.maintenance},
	} {
		if p&x.bit != 0 {
			*x.n++
		}
	}
}

// summaryStates is the order of the per-node state counts.
var summaryStates = []hactlv1.State{
	hactlv1.State_STATE_MASTER, hactlv1.State_STATE_BACKUP, hactlv1.State_STATE_FAULT,
	hactlv1.State_STATE_INIT, hactlv1.State_STATE_STOP,
}

// summaryLines is the compact view's summary: instances per state per node, then the
// problem counts; one line when both fit, else two.
func (m Model) summaryLines() []string {
	left, right := m.sumLeft, m.sumRight
	if !m.sumOK {
		left, right = m.summaryParts()
	}
	if format.Width(left)+3+format.Width(right) <= m.width {
		return []string{left + m.th.Subtle.Render(" │ ") + right}
	}
	return []string{left, right}
}

// summaryParts are the summary's node counts and problem counts, made by recompute (they
// follow the data, not the clock: a tick reuses them).
func (m Model) summaryParts() (left, right string) {
	th := m.th
	var nodes []string
	for _, n := range m.nodes {
		s := th.PaneTitle.Render(n.Name)
		switch {
		case !n.Reachable && n.Node == nil && n.LastErr == "":
			s += th.Idle.Render(" connecting")
			nodes = append(nodes, s)
			continue
		case !n.Reachable:
			s += th.Unreachable.Render(" UNREACHABLE")
		}
		per := map[hactlv1.State]int{}
		for _, in := range n.Node.GetInstances() {
			per[in.GetState()]++
		}
		for _, st := range summaryStates {
			if per[st] == 0 {
				continue
			}
			name := cluster.StateName(st)
			text := fmt.Sprintf(" %d %s", per[st], name)
			if n.Reachable {
				s += th.Badge(name).Render(text)
			} else {
				s += th.Stale.Render(text)
			}
		}
		nodes = append(nodes, s)
	}
	return strings.Join(nodes, th.Subtle.Render(" · ")), m.problemSummary()
}

// problemSummary counts the problems, or says there are none.
func (m Model) problemSummary() string {
	th := m.th
	c := m.counts
	var parts []string
	add := func(n int, one, many string) {
		switch {
		case n == 1:
			parts = append(parts, "1 "+one)
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", n, many))
		}
	}
	add(c.fault, "FAULT", "FAULT")
	add(c.noMaster, "no master", "no master")
	add(c.splitBrain, "split brain", "split brain")
	add(c.override, "override", "overrides")
	add(c.maintenance, "maintenance", "maintenance")
	add(c.lint, "lint finding", "lint findings")
	add(c.stale, "stale agent", "stale agents")
	if len(parts) == 0 {
		return th.OK.Render("✓ no problems")
	}
	style := th.Warn
	if c.fault+c.noMaster+c.splitBrain+c.stale > 0 {
		style = th.Bad
	}
	return style.Render("✗ "+strings.Join(parts, " · ")) + th.Subtle.Render("  n: next")
}
