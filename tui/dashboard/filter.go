package dashboard

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/hagent-dev/hagent/cluster"
	"github.com/hagent-dev/hagent/tui/theme"
)

// The instance filter: "/" opens it, every key narrows the list at once (name, VRID or
// VIP substring, any case), Enter keeps it and gives the keyboard back, Esc clears it.

func newFilterInput(th *theme.Theme) *textinput.Model {
	in := textinput.New()
	in.Prompt = "/"
	in.Placeholder = "instance, VRID or VIP"
	in.PromptStyle = th.Label
	in.TextStyle = th.Status
	in.PlaceholderStyle = th.Subtle
	in.Cursor.Style = th.Selected
	in.Cursor.TextStyle = th.Status
	return &in
}

// Filtering reports whether the filter input has the keyboard.
func (m Model) Filtering() bool { return m.input.Focused() }

// Filter is the instance filter in force ("" for none).
func (m Model) Filter() string { return m.filter }

// StartFilter gives the keyboard to the filter input, starting from the filter in force.
func (m *Model) StartFilter() tea.Cmd {
	m.input.SetValue(m.filter)
	m.input.CursorEnd()
	return m.input.Focus()
}

// ClearFilter removes the filter; it reports whether there was one.
func (m *Model) ClearFilter() bool {
	had := m.filter != ""
	m.input.Blur()
	m.input.SetValue("")
	m.setFilter("")
	return had
}

func (m *Model) setFilter(f string) {
	if f == m.filter {
		return
	}
	m.filter = f
	m.recompute()
}

// updateFilter handles a key while the input has the keyboard.
func (m Model) updateFilter(k tea.KeyMsg) (Model, tea.Cmd) {
	switch k.Type {
	case tea.KeyEsc:
		m.ClearFilter()
		return m, nil
	case tea.KeyEnter:
		m.input.Blur()
		return m, nil
	}
	var cmd tea.Cmd
	*m.input, cmd = m.input.Update(k)
	m.setFilter(strings.TrimSpace(m.input.Value()))
	return m, cmd
}

// matches reports whether r's name, VRID or one of its VIPs contains needle (lower case).
func matches(r cluster.InstanceRow, needle string) bool {
	if strings.Contains(strings.ToLower(r.Name), needle) || strings.Contains(strconv.FormatUint(uint64(r.VRID), 10), needle) {
		return true
	}
	for _, a := range vipAddrs(r) {
		if strings.Contains(strings.ToLower(a), needle) {
			return true
		}
	}
	return false
}

// filterLines is the filter's line above the list: the input while typing, else the
// filter in force and how many instances pass it; none without a filter.
func (m Model) filterLines() []string {
	count := m.th.Label.Render(fmt.Sprintf("  %d of %d instances", len(m.shown), len(m.rows)))
	switch {
	case m.input.Focused():
		return []string{m.input.View() + count + m.th.Subtle.Render(" · enter keeps · esc clears")}
	case m.filter != "":
		return []string{m.th.Label.Render(fmt.Sprintf("filter %q", m.filter)) + count + m.th.Subtle.Render(" · / edits · esc clears")}
	}
	return nil
}
