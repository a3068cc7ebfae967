package dashboard

import (
	"strconv"
	"strings"
	"time"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"

	"github.com/hagent-dev/hagent/cluster"
	"github.com/hagent-dev/hagent/tui/format"
)

// Mode is how the dashboard draws instances.
type Mode int

// The modes: Auto is full while every block fits its room, compact past that.
const (
	Auto Mode = iota
	Full
	Compact
)

// SetRoom tells the dashboard how many lines the full view may use, which decides Auto.
func (m *Model) SetRoom(lines int) {
	if lines == m.room {
		return
	}
	m.room = lines
	// The room decides only Auto's choice: a banner that comes or goes with a
	// transition redoes the rows only when it flips the view.
	if m.wantCompact() != m.compact {
		m.recompute()
	}
}

// wantCompact is whether the view is compact: chosen, or Auto with more instances
// than the full view has room for.
func (m Model) wantCompact() bool {
	return m.mode == Compact || (m.mode == Auto && m.room > 0 && m.fullHeightEstimate() > m.room)
}

// SetMode sets the view mode.
func (m *Model) SetMode(mode Mode) {
	m.mode = mode
	m.recompute()
}

// ToggleView switches between the compact and the full view; the choice then stays.
func (m *Model) ToggleView() {
	if m.compact {
		m.SetMode(Full)
	} else {
		m.SetMode(Compact)
	}
}

// Compact reports whether the compact view is in force.
func (m Model) Compact() bool { return m.compact }

// fullHeightEstimate is the full view's height without rendering it: a header and a
// line per node for every instance (detail lines are extra and not counted).
func (m Model) fullHeightEstimate() int {
	return len(m.rows) * (1 + len(m.nodes))
}

// NextProblem selects the next instance with a problem after the selected one, in
// display order, wrapping; it reports false when no shown instance has one.
func (m *Model) NextProblem() bool {
	n := len(m.shown)
	from := m.selIndex()
	for k := 1; k <= n; k++ {
		e := m.shown[(from+k+n)%n]
		if e.prob != 0 {
			m.sel.Instance = e.row.Name
			m.fixSelection()
			return true
		}
	}
	return false
}

// compactLine is the plain text of one instance's line, before styling.
type compactLine struct {
	name, vrid, vip, master, age string
	cells                        []string
	// ageNode and ageSince are what age is measured from (the newest transition of a
	// reachable node), kept so that a tick redoes the age alone (SetNow).
	ageNode  *cluster.NodeState
	ageSince time.Time
}

func (m Model) plainLine(r cluster.InstanceRow) compactLine {
	l := compactLine{name: r.Name, vrid: strconv.FormatUint(uint64(r.VRID), 10)}
	// VIPs abbreviated: the first without a host prefix length, and how many more.
	vips := vipAddrs(r)
	switch len(vips) {
	case 0:
		l.vip = "—"
	case 1:
		l.vip = shortVIP(vips[0])
	default:
		l.vip = shortVIP(vips[0]) + " +" + strconv.Itoa(len(vips)-1)
	}
	switch ms := r.Masters(); len(ms) {
	case 0:
		l.master = "none"
	case 1:
		l.master = ms[0]
	default:
		l.master = strconv.Itoa(len(ms)) + " nodes" // the problem column names the split
	}
	var newest *hactlv1.Instance
	var newestNode *cluster.NodeState
	for _, c := range r.Cells {
		switch {
		case c.Inst == nil:
			l.cells = append(l.cells, "—")
			continue
		case !c.Node.Reachable:
			l.cells = append(l.cells, cluster.StateName(c.Inst.GetState())+"? "+strconv.FormatUint(uint64(c.Inst.GetEffectivePriority()), 10))
			continue
		}
		l.cells = append(l.cells, cluster.StateName(c.Inst.GetState())+" "+strconv.FormatUint(uint64(c.Inst.GetEffectivePriority()), 10))
		if c.Inst.GetStateSince() != nil && (newest == nil || c.Inst.GetStateSince().AsTime().After(newest.GetStateSince().AsTime())) {
			newest, newestNode = c.Inst, c.Node
		}
	}
	if newest != nil {
		l.ageNode, l.ageSince = newestNode, newest.GetStateSince().AsTime()
		l.age = format.Age(newestNode.AgentNow(m.now).Sub(l.ageSince))
	}
	return l
}

// compactWidths are the column widths of the list, over every shown instance so that
// scrolling does not move the columns.
type compactWidths struct {
	name, vrid, vip, master, age int
	cells                        []int
}

func (m Model) widths() compactWidths {
	w := compactWidths{name: len("NAME"), vrid: len("VRID"), vip: len("VIP"), master: len("MASTER"), age: len("AGE")}
	for _, n := range m.nodes {
		w.cells = append(w.cells, format.Width(n.Name))
	}
	for _, e := range m.shown {
		l := e.line
		w.name = max(w.name, format.Width(l.name))
		w.vrid = max(w.vrid, len(l.vrid))
		w.vip = max(w.vip, format.Width(l.vip))
		w.master = max(w.master, format.Width(l.master))
		w.age = max(w.age, len(l.age))
		for i, c := range l.cells {
			if i < len(w.cells) {
				w.cells[i] = max(w.cells[i], format.Width(c))
			}
		}
	}
	return w
}

// listHeader names the columns.
func (m Model) listHeader(w compactWidths) string {
	parts := []string{format.Pad("NAME", w.name), padLeft("VRID", w.vrid), format.Pad("VIP", w.vip), format.Pad("MASTER", w.master)}
	for i, n := range m.nodes {
		parts = append(parts, format.Pad(n.Name, w.cells[i]))
	}
	parts = append(parts, padLeft("AGE", w.age), "PROBLEM")
	return m.th.Label.Render("  " + strings.Join(parts, "  "))
}

// lineCache keeps the styled list lines by what they are made of: a tick redraws the
// visible lines, most unchanged, and styling them is most of a redraw at 255 instances.
// Copies of the model share it; the key is the whole content, so sharing is safe.
type lineCache struct {
	lines map[string]string
}

// lineKey is everything listLine's output depends on.
func (m Model) lineKey(e entry, w compactWidths) string {
	var b strings.Builder
	l := e.line
	if e.row.Name == m.sel.Instance {
		b.WriteByte('>')
	}
	for _, s := range []string{l.name, l.vrid, l.vip, l.master, l.age} {
		b.WriteString(s)
		b.WriteByte(0)
	}
	for _, n := range []int{w.name, w.vrid, w.vip, w.master, w.age, len(e.row.Masters()), int(e.prob), m.findings[e.row.Name]} {
		b.WriteString(strconv.Itoa(n))
		b.WriteByte(0)
	}
	for i, c := range e.row.Cells {
		switch {
		case c.Inst == nil:
			b.WriteByte('-')
		case !c.Node.Reachable:
			b.WriteByte('?')
		default:
			b.WriteByte('+')
		}
		if i < len(l.cells) {
			b.WriteString(l.cells[i])
		}
		if i < len(w.cells) {
			b.WriteString(strconv.Itoa(w.cells[i]))
		}
		b.WriteByte(0)
	}
	if e.prob != 0 {
		// describe names nodes and counts: the text itself, to be sure.
		b.WriteString(describe(e.row, e.prob, m.findings[e.row.Name]))
	}
	return b.String()
}

// listLine renders one instance's line, from the cache when nothing in it changed.
func (m Model) listLine(e entry, w compactWidths) string {
	if m.lineC == nil {
		return m.renderLine(e, w)
	}
	k := m.lineKey(e, w)
	if v, ok := m.lineC.lines[k]; ok {
		return v
	}
	if len(m.lineC.lines) > 4*max(m.height, 64) {
		clear(m.lineC.lines) // ages move: old keys never come back
	}
	v := m.renderLine(e, w)
	m.lineC.lines[k] = v
	return v
}

// renderLine styles one instance's line.
func (m Model) renderLine(e entry, w compactWidths) string {
	th, l := m.th, e.line
	sel, name := " ", format.Pad(l.name, w.name)
	if e.row.Name == m.sel.Instance {
		sel, name = selMarker, th.Selected.Render(name)
	}
	master := format.Pad(l.master, w.master)
	switch ms := len(e.row.Masters()); {
	case ms > 1:
		master = th.Bad.Render(master)
	case ms == 0:
		master = th.Warn.Render(master)
	}
	parts := []string{name, padLeft(l.vrid, w.vrid), format.Pad(l.vip, w.vip), master}
	for i, c := range e.row.Cells {
		text := format.Pad(l.cells[i], w.cells[i])
		switch {
		case c.Inst == nil:
			text = th.Subtle.Render(text)
		case !c.Node.Reachable:
			text = th.Stale.Render(text)
		default:
			st := cluster.StateName(c.Inst.GetState())
			text = th.Badge(st).Render(st) + text[len(st):]
		}
		parts = append(parts, text)
	}
	parts = append(parts, th.Subtle.Render(padLeft(l.age, w.age)))
	if e.prob != 0 {
		style := th.Warn
		if e.prob&(ProblemSplitBrain|ProblemFault|ProblemNoMaster) != 0 {
			style = th.Bad
		}
		parts = append(parts, style.Render(describe(e.row, e.prob, m.findings[e.row.Name])))
	}
	return strings.TrimRight(sel+" "+strings.Join(parts, "  "), " ")
}

func padLeft(s string, width int) string {
	if n := width - format.Width(s); n > 0 {
		return strings.Repeat(" ", n) + s
	}
	return s
}

// selectedBlock is the full view's block of the selected instance.
func (m Model) selectedBlock() []string {
	i := m.selIndex()
	if i < 0 {
		return nil
	}
	return m.blockLines([]cluster.InstanceRow{m.shown[i].row})
}

// compactHeight is what the compact view wants: summary, filter, column names, every
// shown instance and the selected block. It counts without rendering: layout asks on
// every redraw.
func (m Model) compactHeight() int {
	return len(m.summaryLines()) + len(m.filterLines()) + 1 + max(len(m.shown), 1) + m.selectedBlockHeight()
}

// selectedBlockHeight is len(selectedBlock()) without rendering it: a header, a row per
// node, and a detail line under a row that has one.
func (m Model) selectedBlockHeight() int {
	i := m.selIndex()
	if i < 0 {
		return 0
	}
	n := 1
	for _, c := range m.shown[i].row.Cells {
		n++
		if m.hasDetail(c) {
			n++
		}
	}
	return n
}

// hasDetail mirrors nodeRow: whether the cell's row has a line under it.
func (m Model) hasDetail(c cluster.Cell) bool {
	if c.Inst == nil {
		return !c.Node.Reachable && c.Node.LastErr != ""
	}
	return m.detail(c.Node, c.Inst) != ""
}

// compactView renders the compact view in the dashboard's height: only the visible
// instance lines are styled, so the cost of a redraw does not grow with the instances.
func (m Model) compactView() string {
	out := append(m.summaryLines(), m.filterLines()...)
	block := m.selectedBlock()
	w := m.colW
	out = append(out, m.listHeader(w))

	// The list gets what the summary and the block leave, at least three lines (or
	// as many instances); the block gives way first on a small screen.
	fixed := len(out)
	listMin := min(max(len(m.shown), 1), 3)
	if m.height > 0 {
		block = block[:min(len(block), max(m.height-fixed-listMin, 0))]
	}
	listH := max(len(m.shown), 1)
	if m.height > 0 {
		listH = max(m.height-fixed-len(block), 0)
	}
	if len(m.shown) == 0 {
		msg := "no instance matches the filter"
		if len(m.rows) == 0 {
			msg = m.waiting()
		}
		out = append(out, m.th.Subtle.Render(msg))
	} else if listH > 0 {
		sel := max(m.selIndex(), 0)
		start := 0
		if len(m.shown) > listH {
			start = min(max(sel-listH/2, 0), len(m.shown)-listH)
		}
		end := min(start+listH, len(m.shown))
		for i := start; i < end; i++ {
			out = append(out, m.listLine(m.shown[i], w))
		}
		for range listH - (end - start) {
			out = append(out, "")
		}
	}
	out = append(out, block...)
	for i := range out {
		out[i] = format.Fit(out[i], m.width)
	}
	return strings.Join(out, "\n")
}

// shortVIP drops a host prefix (/32, /128): it is what a VIP usually has.
func shortVIP(a string) string {
	if x, ok := strings.CutSuffix(a, "/32"); ok && !strings.Contains(x, ":") {
		return x
	}
	if x, ok := strings.CutSuffix(a, "/128"); ok && strings.Contains(x, ":") {
		return x
	}
	return a
}

// SelectedBlockHeight and SelectedBlockLen expose the count and the rendered length of
// the selected block for the console's tests.
func (m Model) SelectedBlockHeight() int { return m.selectedBlockHeight() }

// SelectedBlockLen is len(selectedBlock()).
func (m Model) SelectedBlockLen() int { return len(m.selectedBlock()) }
