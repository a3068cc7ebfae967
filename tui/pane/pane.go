// Package pane is the console's read-only text pane over the dashboard: the lint
// findings (?) and the explanation of the selected instance (e). The root keeps it
// current on every refresh; it wraps long sentences and scrolls.
package pane

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/hagent-dev/hagent/tui/format"
	"github.com/hagent-dev/hagent/tui/keys"
	"github.com/hagent-dev/hagent/tui/theme"
)

// Kind is what the pane shows.
type Kind int

// Pane kinds.
const (
	Closed Kind = iota
	Findings
	Explain
)

// Line is one line of content with its tone.
type Line struct {
	Text string
	Tone Tone
}

// Tone picks the style of a line.
type Tone int

// Tones.
const (
	Plain Tone = iota
	Heading
	Error
	Warning
	Subtle
)

// Model is the pane.
type Model struct {
	th     *theme.Theme
	keys   *keys.KeyMap // a pointer: the console model (holding this) is copied on every message
	kind   Kind
	title  string
	lines  []Line
	offset int
	width  int
	height int
}

// New returns a closed pane.
func New(th *theme.Theme, km keys.KeyMap) Model { return Model{th: th, keys: &km} }

// Open shows kind; Close hides the pane.
func (m *Model) Open(kind Kind) { m.kind, m.offset = kind, 0 }

// Close hides the pane.
func (m *Model) Close() { m.kind = Closed }

// Kind is what the pane shows, Closed when hidden.
func (m Model) Kind() Kind { return m.kind }

// IsOpen says whether the pane is shown.
func (m Model) IsOpen() bool { return m.kind != Closed }

// SetContent replaces the title and lines (the scroll position is kept).
func (m *Model) SetContent(title string, lines []Line) { m.title, m.lines = title, lines }

// SetSize sets the area the pane may draw in.
func (m *Model) SetSize(width, height int) { m.width, m.height = width, height }

// Update scrolls.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return m, nil
	}
	switch {
	case key.Matches(k, m.keys.Up, m.keys.PageUp):
		m.offset = max(m.offset-1, 0)
	case key.Matches(k, m.keys.Down, m.keys.PageDown):
		m.offset = min(m.offset+1, max(len(m.wrapped())-m.bodyHeight(), 0))
	}
	return m, nil
}

func (m Model) bodyHeight() int { return max(m.height-2, 0) }

// wrapped is every line wrapped to the width, continuation lines indented.
func (m Model) wrapped() []string {
	var out []string
	for _, l := range m.lines {
		for _, w := range wrap(l.Text, max(m.width-2, 10)) {
			out = append(out, m.style(l.Tone, w))
		}
	}
	return out
}

func (m Model) style(t Tone, s string) string {
	switch t {
	case Heading:
		return m.th.PaneTitle.Render(s)
	case Error:
		return m.th.Bad.Render(s)
	case Warning:
		return m.th.Warn.Render(s)
	case Subtle:
		return m.th.Subtle.Render(s)
	}
	return s
}

// View is the title, the visible lines and a hint, exactly the pane's height.
func (m Model) View() string {
	if m.height <= 0 {
		return ""
	}
	body := m.wrapped()
	off := min(m.offset, max(len(body)-m.bodyHeight(), 0))
	body = body[off:]
	more := ""
	if len(body) > m.bodyHeight() {
		body = body[:m.bodyHeight()]
		more = " · ↓ more"
	}
	out := []string{m.th.PaneTitle.Render(m.title)}
	for _, l := range body {
		out = append(out, " "+l)
	}
	for len(out) < m.height-1 {
		out = append(out, "")
	}
	out = append(out, m.th.Subtle.Render("esc closes · ↑/↓ scroll"+more))
	for i := range out {
		out[i] = format.Fit(out[i], m.width)
	}
	return strings.Join(out[:m.height], "\n")
}

// wrap breaks s at spaces to width; continuation lines are indented by the leading
// spaces of s plus two.
func wrap(s string, width int) []string {
	indent := len(s) - len(strings.TrimLeft(s, " "))
	var out []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = strings.Repeat(" ", indent) + w
			if len(out) > 0 {
				line = strings.Repeat(" ", indent+2) + w
			}
		case format.Width(line)+1+format.Width(w) > width:
			out = append(out, line)
			line = strings.Repeat(" ", indent+2) + w
		default:
			line += " " + w
		}
	}
	if line != "" || len(out) == 0 {
		out = append(out, line)
	}
	return out
}
