// Package dashboard is the node × instance view: per instance a header (VRID, VIPs and
// who holds them) and a row per node with its role, priority, the master it believes in,
// VIP binding and probe health. Unreachable agents are marked and their data shown stale.
package dashboard

import (
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
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
	keys keys.KeyMap

	rows   []cluster.InstanceRow
	nodes  []*cluster.NodeState
	now    time.Time
	sel    Selection
	width  int
	height int
}

// New returns an empty dashboard.
func New(th *theme.Theme, km keys.KeyMap) Model {
	return Model{th: th, keys: km}
}

// SetSize sets the area the dashboard may draw in.
func (m *Model) SetSize(width, height int) { m.width, m.height = width, height }

// SetData replaces what is shown; now is the local clock for ages.
func (m *Model) SetData(st *cluster.State, now time.Time) {
	m.rows, m.nodes, m.now = st.Instances(), st.Nodes, now
	m.fixSelection()
}

// Selection returns the selected instance and node.
func (m Model) Selection() Selection { return m.sel }

// Selected returns the selected row and cell.
func (m Model) Selected() (cluster.InstanceRow, cluster.Cell, bool) {
	for _, r := range m.rows {
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
	switch {
	case key.Matches(k, m.keys.Up):
		m.move(-1)
	case key.Matches(k, m.keys.Down):
		m.move(+1)
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
	for _, r := range m.rows {
		for _, c := range r.Cells {
			out = append(out, Selection{Instance: r.Name, Node: c.Node.Name})
		}
	}
	return out
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
	if len(m.rows) == 0 {
		return
	}
	i := 0
	for j, r := range m.rows {
		if r.Name == m.sel.Instance {
			i = j
		}
	}
	i = (i + delta + len(m.rows)) % len(m.rows)
	m.sel.Instance = m.rows[i].Name
	m.fixSelection()
}

// fixSelection keeps the selection on an existing pair, defaulting to the first.
func (m *Model) fixSelection() {
	all := m.flat()
	if len(all) == 0 {
		m.sel = Selection{}
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
func (m Model) Height() int { return len(m.lines()) }

// View renders the dashboard, scrolled so the selection stays visible.
func (m Model) View() string {
	lines := m.lines()
	if len(lines) == 0 {
		lines = []string{m.th.Subtle.Render(m.waiting())}
	}
	selLine := 0
	for i, l := range lines {
		if strings.HasPrefix(l, selMarker) {
			selLine = i
		}
	}
	if m.height > 0 && len(lines) > m.height {
		start := min(max(selLine-m.height/2, 0), len(lines)-m.height)
		lines = lines[start : start+m.height]
	}
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
