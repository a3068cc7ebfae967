package dashboard

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"

	"github.com/hagent-dev/hagent/cluster"
	"github.com/hagent-dev/hagent/tui/format"
)

// selMarker starts the selected row, so the selection is visible without colour.
const selMarker = "▸"

// column indexes of a node row.
const (
	colSel = iota
	colNode
	colState
	colPrio
	colMaster
	colVIP
	colProbes
	numCols
)

// nodeRow is one rendered node row plus an optional detail line under it.
type nodeRow struct {
	cols   [numCols]string
	detail string
}

// lines renders the block of every instance shown; columns are aligned across the
// whole dashboard.
func (m Model) lines() []string { return m.blockLines(m.viewRows()) }

// blockLines renders the blocks of rows: a header and a row per node (plus a detail line
// where there is something to say).
func (m Model) blockLines(rows []cluster.InstanceRow) []string {
	type block struct {
		header string
		rows   []nodeRow
	}
	var blocks []block
	var widths [numCols]int
	byAddr := m.byAddr
	if byAddr == nil {
		byAddr = m.nodeByAddr()
	}
	for _, r := range rows {
		b := block{header: m.header(r)}
		beliefs := m.beliefs(r, byAddr)
		for _, c := range r.Cells {
			nr := m.nodeRow(r, c, beliefs)
			for i, col := range nr.cols {
				widths[i] = max(widths[i], lipgloss.Width(col))
			}
			b.rows = append(b.rows, nr)
		}
		blocks = append(blocks, b)
	}
	indent := widths[colSel] + widths[colNode] + 2
	var out []string
	for _, b := range blocks {
		out = append(out, b.header)
		for _, nr := range b.rows {
			var parts []string
			for i, col := range nr.cols {
				if i == numCols-1 {
					parts = append(parts, col)
				} else if i == colSel {
					parts = append(parts, format.Pad(col, widths[i]))
				} else {
					parts = append(parts, format.Pad(col, widths[i])+" ")
				}
			}
			out = append(out, strings.TrimRight(strings.Join(parts, " "), " "))
			if nr.detail != "" {
				out = append(out, strings.Repeat(" ", indent)+nr.detail)
			}
		}
	}
	return out
}

// header is the instance line: name, VRID, and each VIP with its holder(s).
func (m Model) header(r cluster.InstanceRow) string {
	th := m.th
	var vips []string
	for _, addr := range vipAddrs(r) {
		var live, stale []string
		for _, c := range r.Cells {
			for _, v := range c.Inst.GetVips() {
				if v.GetAddress() != addr || !v.GetBound() {
					continue
				}
				if c.Live() {
					live = append(live, c.Node.Name)
				} else {
					stale = append(stale, c.Node.Name+"?")
				}
			}
		}
		holder := strings.Join(append(live, stale...), "+")
		switch {
		case len(live) > 1:
			holder = th.Bad.Render("on " + holder + " (conflict)")
		case len(live) == 1:
			holder = th.OK.Render("on " + holder)
		case len(stale) > 0:
			holder = th.Stale.Render("on " + holder + " (stale)")
		default:
			holder = th.Warn.Render("unbound")
		}
		vips = append(vips, "VIP "+addr+" "+holder)
	}
	head := th.PaneTitle.Render(r.Name) + th.Label.Render(fmt.Sprintf("  VRID %d", r.VRID))
	if g := syncGroup(r); g != "" {
		head += th.Label.Render("  sync group " + g)
	}
	if len(vips) > 0 {
		head += "  " + strings.Join(vips, "  ")
	}
	return head
}

// syncGroup is the vrrp_sync_group the row's instance belongs to, as its nodes report
// it ("" if none).
func syncGroup(r cluster.InstanceRow) string {
	for _, c := range r.Cells {
		if g := c.Inst.GetSyncGroup(); g != "" {
			return g
		}
	}
	return ""
}

func vipAddrs(r cluster.InstanceRow) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range r.Cells {
		for _, v := range c.Inst.GetVips() {
			if !seen[v.GetAddress()] {
				seen[v.GetAddress()] = true
				out = append(out, v.GetAddress())
			}
		}
	}
	return out
}

// nodeByAddr maps each node's instance addresses to the node's name.
func (m Model) nodeByAddr() map[string]string {
	byAddr := map[string]string{}
	for _, n := range m.nodes {
		for _, in := range n.Node.GetInstances() {
			if a := in.GetPrimaryAddress(); a != "" {
				byAddr[a] = n.Name
			}
		}
	}
	return byAddr
}

// beliefs maps each live node of the row to the master it believes in (a node name when
// the address is a known node's (byAddr), else the address); disagreement is when they
// differ.
func (m Model) beliefs(r cluster.InstanceRow, byAddr map[string]string) map[string]string {
	out := map[string]string{}
	for _, c := range r.Cells {
		if c.Inst == nil {
			continue
		}
		ms := c.Inst.GetMaster()
		switch {
		case ms.GetIsSelf():
			out[c.Node.Name] = c.Node.Name
		case ms.GetAddress() == "":
		case byAddr[ms.GetAddress()] != "":
			out[c.Node.Name] = byAddr[ms.GetAddress()]
		default:
			out[c.Node.Name] = ms.GetAddress()
		}
	}
	return out
}

// disagree reports whether live nodes of the row believe in different masters.
func disagree(r cluster.InstanceRow, beliefs map[string]string) bool {
	seen := ""
	for _, c := range r.Cells {
		b := beliefs[c.Node.Name]
		if !c.Live() || b == "" {
			continue
		}
		if seen != "" && b != seen {
			return true
		}
		seen = b
	}
	return false
}

func (m Model) nodeRow(r cluster.InstanceRow, c cluster.Cell, beliefs map[string]string) nodeRow {
	th := m.th
	var nr nodeRow
	selected := m.sel.Instance == r.Name && m.sel.Node == c.Node.Name
	nr.cols[colSel] = " "
	nr.cols[colNode] = c.Node.Name
	if selected {
		nr.cols[colSel] = selMarker
		nr.cols[colNode] = th.Selected.Render(c.Node.Name)
	}
	in := c.Inst
	n := c.Node
	agentNow := n.AgentNow(m.now)
	stale := !n.Reachable

	switch {
	case !n.Reachable && n.DownSince.IsZero() && n.Node == nil:
		nr.cols[colState] = th.Idle.Render("CONNECTING")
	case !n.Reachable:
		nr.cols[colState] = th.Unreachable.Render("UNREACHABLE " + format.Age(m.now.Sub(n.DownSince)))
	case in == nil:
		nr.cols[colState] = th.Subtle.Render("—")
	default:
		st := cluster.StateName(in.GetState())
		age := ""
		if in.GetStateSince() != nil {
			age = " " + format.Age(agentNow.Sub(in.GetStateSince().AsTime()))
		}
		nr.cols[colState] = th.Badge(st).Render(st) + th.Subtle.Render(age)
	}
	if in == nil {
		if stale && n.LastErr != "" {
			nr.detail = th.Stale.Render("no data: " + n.LastErr)
		}
		return nr
	}

	dim := func(s string) string { return s }
	if stale {
		dim = func(s string) string { return th.Stale.Render(ansi.Strip(s)) }
	}

	prio := fmt.Sprintf("%d→%d", in.GetBasePriority(), in.GetEffectivePriority())
	if cs := cluster.FormatContributions(in.GetContributions()); cs != "" {
		prio += " (" + cs + ")"
	}
	nr.cols[colPrio] = dim(prio)

	master := "master ?"
	if b := beliefs[n.Name]; b != "" {
		master = "master " + b
		if b == n.Name {
			master = "master self"
		}
	}
	if !stale && disagree(r, beliefs) && beliefs[n.Name] != "" {
		master = th.Warn.Render(master + " !")
	}
	nr.cols[colMaster] = dim(master)

	var marks []string
	for _, v := range in.GetVips() {
		if v.GetBound() {
			marks = append(marks, "●")
		} else {
			marks = append(marks, "○")
		}
	}
	if len(marks) > 0 {
		nr.cols[colVIP] = dim("VIP " + strings.Join(marks, ""))
	}

	var probes []string
	for _, p := range in.GetProbes() {
		if p.GetPending() {
			probes = append(probes, th.Warn.Render("… "+p.GetName()))
		} else if p.GetHealthy() {
			probes = append(probes, th.OK.Render("✓ "+p.GetName()))
		} else {
			probes = append(probes, th.Bad.Render("✗ "+p.GetName()))
		}
	}
	nr.cols[colProbes] = dim(strings.Join(probes, " "))

	nr.detail = m.detail(n, in)
	return nr
}

// detail is the line under a row that says why: FAULT reason, staleness, overrides.
func (m Model) detail(n *cluster.NodeState, in *hactlv1.Instance) string {
	th := m.th
	var notes []string
	if !n.Reachable {
		s := "stale: last seen " + cluster.StateName(in.GetState())
		if n.LastErr != "" {
			s += " · " + n.LastErr
		}
		return th.Stale.Render("└ " + s)
	}
	if in.GetState() == hactlv1.State_STATE_FAULT {
		notes = append(notes, th.Bad.Render("FAULT: "+cluster.FaultReason(in)))
	}
	if in.GetState() == hactlv1.State_STATE_INIT && in.GetStateReason() != "" {
		// e.g. waiting for the first result of a weight-0 check
		notes = append(notes, th.Warn.Render("INIT: "+in.GetStateReason()))
	}
	if o := in.GetOverride(); o.GetMode() != hactlv1.OverrideMode_OVERRIDE_MODE_UNSPECIFIED && o.GetMode() != hactlv1.OverrideMode_OVERRIDE_MODE_NONE {
		s := "override " + strings.TrimPrefix(o.GetMode().String(), "OVERRIDE_MODE_")
		if o.GetWho() != "" {
			s += " by " + o.GetWho()
		}
		notes = append(notes, th.Warn.Render(s))
	}
	if n.Node.GetMaintenance() || in.GetMaintenance() {
		notes = append(notes, th.Warn.Render("maintenance"))
	}
	if len(notes) == 0 {
		return ""
	}
	return "└ " + strings.Join(notes, " · ")
}
