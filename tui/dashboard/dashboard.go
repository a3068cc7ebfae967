// Package dashboard is the node × instance view: per instance a header (VRID, VIPs and
// who holds them) and a row per node with its role, priority, the master it believes in,
// VIP binding and probe health. Unreachable agents are marked and their data shown stale.
//
// Past a screenful of instances it turns compact (compact.go): a summary line, one line
// per instance with problems first, and the selected instance's block below. An
// instance filter (filter.go) narrows either view.
package dashboard

import (
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/hagent-dev/hagent/cluster"
	"github.com/hagent-dev/hagent/tui/format"
	"github.com/hagent-dev/hagent/tui/keys"
	"github.com/hagent-dev/hagent/tui/theme"
)

// Selection names the selected node of the selected instance; names survive reordering.
type Selection struct {
	Instance, Node string
}

// Model is the dashboard.
type Model struct {
	th   *theme.Theme
	keys *keys.KeyMap

	rows   []cluster.InstanceRow
	nodes  []*cluster.NodeState
	now    time.Time
	sel    Selection
	width  int
	height int

	// shown is the rows that pass the filter, in display order (problems first in the
	// compact view), with what is wrong with each; counts covers every row.
	shown  []entry
	counts counts
	// colW are the compact list's column widths over every shown instance.
	colW compactWidths
	// byAddr is nodeByAddr as of the last recompute: the primary addresses come with
	// snapshots, and the selected block is drawn on every frame (255 instances a node).
	byAddr map[string]string
	// sumLeft and sumRight are the summary's two parts (summaryParts), valid with sumOK.
	sumLeft, sumRight string
	sumOK             bool
	// lineC caches styled list lines (see lineCache).
	lineC *lineCache
	// mode is the operator's choice; compact is what is in force (Auto decides by room,
	// the lines the full view may use).
	mode    Mode
	room    int
	compact bool
	// findings is the number of lint findings per instance ("" for the whole config),
	// set by the lint view; nil until then.
	findings map[string]int

	// input is shared by copies of the model (it is kilobytes; bubbletea copies the
	// console on every message).
	input  *textinput.Model
	filter string
}

// entry is one shown instance.
type entry struct {
	row  cluster.InstanceRow
	prob Problem
	// line is the compact view's text of the row, made once per data change.
	line compactLine
}

// New returns an empty dashboard.
func New(th *theme.Theme, km keys.KeyMap) Model {
	return Model{th: th, keys: &km, input: newFilterInput(th), lineC: &lineCache{lines: map[string]string{}}}
}

// SetSize sets the area the dashboard may draw in.
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, height
	m.input.Width = min(max(width/4, 8), 30) // room for the count after it
}

// SetData replaces what is shown; now is the local clock for ages.
func (m *Model) SetData(st *cluster.State, now time.Time) {
	m.rows, m.nodes, m.now = st.Instances(), st.Nodes, now
	m.recompute()
}

// SetNow moves the clock alone: the caller knows that nothing but advert timing
// changed since the last SetData (see tui's quiet), which changes no classification,
// order or line but the ages. At 255 instances it is a small part of a SetData, and the
// console does it on every tick. The rows keep the live instances, so what is drawn
// from them (the selected block, the timing pane) is current.
func (m *Model) SetNow(now time.Time) {
	m.now = now
	if len(m.shown) == 0 {
		return
	}
	// A new slice when an age changed (most ticks change none: ages are shown to
	// the second, the clock ticks four times a second): a copy of an older model
	// (bubbletea copies it on every message) keeps its own lines.
	var shown []entry
	ageW := len("AGE")
	for i := range m.shown {
		l := &m.shown[i].line
		age := l.age
		if l.ageNode != nil {
			age = format.Age(l.ageNode.AgentNow(now).Sub(l.ageSince))
		}
		if age != l.age && shown == nil {
			shown = make([]entry, len(m.shown))
			copy(shown, m.shown)
		}
		if shown != nil {
			shown[i].line.age = age
		}
		ageW = max(ageW, len(age))
	}
	if shown != nil {
		m.shown = shown
	}
	m.colW.age = ageW
}

// SetFindings sets the number of lint findings per instance ("" counts findings not
// tied to one): an instance with findings is a problem, and the summary counts them.
func (m *Model) SetFindings(byInstance map[string]int) {
	if maps.Equal(byInstance, m.findings) {
		return // the lint runs every tick; the findings seldom change
	}
	m.findings = byInstance
	m.recompute()
}

// recompute classifies every row, applies the filter and orders what is shown.
func (m *Model) recompute() {
	m.compact = m.wantCompact()
	m.byAddr = m.nodeByAddr()
	shown := make([]entry, 0, len(m.rows))
	m.counts = countProblems(m.nodes, m.findings)
	needle := strings.ToLower(m.filter)
	for _, r := range m.rows {
		e := entry{row: r, prob: classify(r, m.findings[r.Name])}
		m.counts.add(e.prob)
		if needle == "" || matches(r, needle) {
			e.line = m.plainLine(r)
			shown = append(shown, e)
		}
	}
	if m.compact {
		sort.SliceStable(shown, func(i, j int) bool { return shown[i].prob.rank() < shown[j].prob.rank() })
	}
	m.shown = shown
	m.colW = m.widths()
	m.sumLeft, m.sumRight = m.summaryParts()
	m.sumOK = true
	m.fixSelection()
}

// viewRows is the rows shown, in display order.
func (m Model) viewRows() []cluster.InstanceRow {
	out := make([]cluster.InstanceRow, len(m.shown))
	for i, e := range m.shown {
		out[i] = e.row
	}
	return out
}

// Rows is every instance's row as of the last SetData (State.Instances), shown or not;
// the cells hold the live instances.
func (m Model) Rows() []cluster.InstanceRow { return m.rows }

// Total is the number of instances, shown or not.
func (m Model) Total() int { return len(m.rows) }

// Selection returns the selected instance and node.
func (m Model) Selection() Selection { return m.sel }

// Selected returns the selected row and cell; an instance the filter hides is never
// selected, so an action acts on what the operator sees.
func (m Model) Selected() (cluster.InstanceRow, cluster.Cell, bool) {
	for _, e := range m.shown {
		r := e.row
		if r.Name != m.sel.Instance {
			continue
		}
		for _, c := range r.Cells {
			if c.Node.Name == m.sel.Node {
				return r, c, true
			}
		}
	}
	return cluster.InstanceRow{}, cluster.Cell{}, false
}

// Update moves the selection.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return m, nil
	}
	if m.input.Focused() {
		return m.updateFilter(k)
	}
	switch {
	case key.Matches(k, m.keys.Up) && m.compact:
		m.stepInstance(-1)
	case key.Matches(k, m.keys.Down) && m.compact:
		m.stepInstance(+1)
	case key.Matches(k, m.keys.Up):
		m.move(-1)
	case key.Matches(k, m.keys.Down):
		m.move(+1)
	case key.Matches(k, m.keys.Left):
		m.moveNode(-1)
	case key.Matches(k, m.keys.Right):
		m.moveNode(+1)
	case key.Matches(k, m.keys.NextInstance):
		m.moveInstance(+1)
	case key.Matches(k, m.keys.PrevInstance):
		m.moveInstance(-1)
	}
	return m, nil
}

// flat lists every (instance, node) pair in display order.
func (m Model) flat() []Selection {
	var out []Selection
	for _, e := range m.shown {
		for _, c := range e.row.Cells {
			out = append(out, Selection{Instance: e.row.Name, Node: c.Node.Name})
		}
	}
	return out
}

// selIndex is the position of the selected instance among those shown, -1 if none.
func (m Model) selIndex() int {
	for i, e := range m.shown {
		if e.row.Name == m.sel.Instance {
			return i
		}
	}
	return -1
}

// stepInstance moves the selection delta instances, stopping at the ends (the compact
// view's up and down), on the same node.
func (m *Model) stepInstance(delta int) {
	if len(m.shown) == 0 {
		return
	}
	i := min(max(m.selIndex()+delta, 0), len(m.shown)-1)
	m.sel.Instance = m.shown[i].row.Name
	m.fixSelection()
}

// moveNode selects the previous or next node of the selected instance.
func (m *Model) moveNode(delta int) {
	i := m.selIndex()
	if i < 0 {
		return
	}
	cells := m.shown[i].row.Cells
	for j, c := range cells {
		if c.Node.Name == m.sel.Node {
			m.sel.Node = cells[min(max(j+delta, 0), len(cells)-1)].Node.Name
			return
		}
	}
}

func (m *Model) move(delta int) {
	all := m.flat()
	if len(all) == 0 {
		return
	}
	i := indexOf(all, m.sel)
	i = min(max(i+delta, 0), len(all)-1)
	m.sel = all[i]
}

func (m *Model) moveInstance(delta int) {
	if len(m.shown) == 0 {
		return
	}
	i := max(m.selIndex(), 0)
	i = (i + delta + len(m.shown)) % len(m.shown)
	m.sel.Instance = m.shown[i].row.Name
	m.fixSelection()
}

// fixSelection keeps the selection on an existing pair, defaulting to the first. A
// selection the filter hides is kept while nothing matches, so that clearing the filter
// gives it back.
func (m *Model) fixSelection() {
	all := m.flat()
	if len(all) == 0 {
		if len(m.rows) == 0 {
			m.sel = Selection{}
		}
		return
	}
	if indexOf(all, m.sel) >= 0 {
		return
	}
	for _, s := range all {
		if s.Instance == m.sel.Instance {
			m.sel = s
			return
		}
	}
	for _, s := range all {
		if s.Node == m.sel.Node {
			m.sel = s
			return
		}
	}
	m.sel = all[0]
}

func indexOf(all []Selection, s Selection) int {
	for i, x := range all {
		if x == s {
			return i
		}
	}
	return -1
}

// Height is how many lines the dashboard wants.
func (m Model) Height() int {
	if m.compact {
		return m.compactHeight()
	}
	return len(m.filterLines()) + max(len(m.lines()), 1)
}

// View renders the dashboard, scrolled so the selection stays visible.
func (m Model) View() string {
	if m.compact {
		return m.compactView()
	}
	top := m.filterLines()
	lines := m.lines()
	if len(lines) == 0 {
		lines = []string{m.th.Subtle.Render(m.waiting())}
		if len(m.rows) > 0 {
			lines = []string{m.th.Subtle.Render("no instance matches the filter")}
		}
	}
	// The filter line stays on top; the blocks scroll under it.
	height := m.height - len(top)
	selLine := 0
	for i, l := range lines {
		if strings.HasPrefix(l, selMarker) {
			selLine = i
		}
	}
	if m.height > 0 && len(lines) > height {
		height = max(height, 1)
		start := min(max(selLine-height/2, 0), len(lines)-height)
		lines = lines[start : start+height]
	}
	lines = append(top, lines...)
	for i := range lines {
		lines[i] = format.Fit(lines[i], m.width)
	}
	return strings.Join(lines, "\n")
}

// waiting explains an empty dashboard: no agent has answered yet.
func (m Model) waiting() string {
	var parts []string
	for _, n := range m.nodes {
		s := n.Name + " connecting"
		if n.LastErr != "" {
			s = n.Name + " unreachable: " + n.LastErr
		}
		parts = append(parts, s)
	}
	return "waiting for agents: " + strings.Join(parts, "; ")
}
