// Package eventlog is the scrolling event log pane: agent timestamps, node, instance,
// what happened and why. pgup/pgdn scroll; "l" filters by substring; Esc clears.
package eventlog

import (
	"fmt"
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

// Model is the event log pane.
type Model struct {
	th      *theme.Theme
	keys    *keys.KeyMap
	loc     *time.Location
	entries []cluster.LogEntry
	// input is shared by copies of the model: bubbletea copies the model on every
	// message, and a textinput is kilobytes.
	input  *textinput.Model
	filter string
	// scroll is how many lines back from the newest the view ends.
	scroll int
	width  int
	height int
}

// New returns an empty log; times are shown in loc.
func New(th *theme.Theme, km keys.KeyMap, loc *time.Location) Model {
	in := textinput.New()
	in.Prompt = "filter: "
	in.Placeholder = "filter"
	in.PromptStyle = th.Label
	in.TextStyle = th.Status
	in.PlaceholderStyle = th.Subtle
	in.Cursor.Style = th.Selected
	in.Cursor.TextStyle = th.Status
	return Model{th: th, keys: &km, loc: loc, input: &in}
}

// SetSize sets the area the pane may draw in.
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, height
	m.input.Width = max(width-10, 1)
}

// SetEntries replaces the log (oldest first).
func (m *Model) SetEntries(entries []cluster.LogEntry) { m.entries = entries }

// Filtering reports whether the filter input has the keyboard.
func (m Model) Filtering() bool { return m.input.Focused() }

// Filter is the filter in force.
func (m Model) Filter() string { return m.filter }

// Update handles scrolling and the filter input.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	k, isKey := msg.(tea.KeyMsg)
	if m.input.Focused() {
		if isKey {
			switch k.Type {
			case tea.KeyEsc:
				m.input.Blur()
				m.input.SetValue("")
				m.filter, m.scroll = "", 0
				return m, nil
			case tea.KeyEnter:
				m.input.Blur()
				return m, nil
			}
		}
		var cmd tea.Cmd
		*m.input, cmd = m.input.Update(msg)
		m.filter, m.scroll = m.input.Value(), 0
		return m, cmd
	}
	if !isKey {
		return m, nil
	}
	page := max(m.height-1, 1)
	switch {
	case key.Matches(k, m.keys.LogFilter):
		m.input.SetValue(m.filter)
		return m, m.input.Focus()
	case key.Matches(k, m.keys.PageUp):
		m.scroll = min(m.scroll+page, max(len(m.visible(0))-page, 0)) // only the count
	case key.Matches(k, m.keys.PageDown):
		m.scroll = max(m.scroll-page, 0)
	case k.Type == tea.KeyEsc && m.filter != "":
		m.filter, m.scroll = "", 0
		m.input.SetValue("")
	}
	return m, nil
}

// visible returns the rendered lines that pass the filter, oldest first. Without a
// filter only the newest last (the lines that can show, the scroll included) are
// rendered and the rest left as "" (the log keeps 500 entries, and the console draws
// it several times a second); last < 0 renders all.
func (m Model) visible(last int) []string {
	var out []string
	needle := strings.ToLower(m.filter)
	if needle == "" && last >= 0 && last < len(m.entries) {
		out = make([]string, len(m.entries))
		for i := len(m.entries) - last; i < len(m.entries); i++ {
			out[i] = m.line(m.entries[i])
		}
		return out
	}
	for _, e := range m.entries {
		line := m.line(e)
		if needle != "" && !strings.Contains(strings.ToLower(line), needle) {
			continue
		}
		out = append(out, line)
	}
	return out
}

func (m Model) line(e cluster.LogEntry) string {
	inst := e.Instance
	if inst == "" {
		inst = "-"
	}
	s := fmt.Sprintf("%s %-8s %-5s %s", e.Time.In(m.loc).Format("15:04:05"), e.Node, inst, e.Text)
	if e.Repeat > 1 {
		s += fmt.Sprintf(" (×%d)", e.Repeat)
	}
	return s
}

// View renders the title (with the filter) and the newest lines that fit.
func (m Model) View() string {
	if m.height <= 0 {
		return ""
	}
	lines := m.visible(m.height - 1 + m.scroll)
	title := m.th.PaneTitle.Render("Events")
	switch {
	case m.input.Focused():
		title += "  " + m.input.View()
	case m.filter != "":
		title += m.th.Label.Render(fmt.Sprintf("  filter %q (%d) · esc clears", m.filter, len(lines)))
	}
	if m.scroll > 0 {
		title += m.th.Label.Render(fmt.Sprintf("  ↑%d", m.scroll))
	}
	body := m.height - 1
	end := max(len(lines)-m.scroll, 0)
	start := max(end-body, 0)
	out := []string{format.Fit(title, m.width)}
	for _, l := range lines[start:end] {
		out = append(out, format.Fit(m.styleLine(l), m.width))
	}
	return strings.Join(out, "\n")
}

// styleLine greys the timestamp; the rest stays plain so it reads in any terminal.
func (m Model) styleLine(l string) string {
	if len(l) < 8 {
		return l
	}
	return m.th.Subtle.Render(l[:8]) + l[8:]
}
