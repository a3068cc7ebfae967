// Package dialog is the console's modal: a yes/no confirmation, a progress box with a
// spinner while something long runs, and a report box for its result.
package dialog

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/hagent-dev/hagent/tui/format"
	"github.com/hagent-dev/hagent/tui/theme"
)

// Kind is what the dialog is doing.
type Kind int

// Dialog kinds.
const (
	Closed Kind = iota
	Confirm
	Progress
	Report
)

// CancelledMsg is sent when a confirmation is declined.
type CancelledMsg struct{}

// KeyMap is the dialog's keys.
type KeyMap struct {
	Yes, No, Close key.Binding
}

// DefaultKeyMap: y or Enter confirms, n or Esc cancels; Enter, Esc or q closes a report.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Yes:   key.NewBinding(key.WithKeys("y", "Y", "enter"), key.WithHelp("y/enter", "confirm")),
		No:    key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n/esc", "cancel")),
		Close: key.NewBinding(key.WithKeys("enter", "esc", "q"), key.WithHelp("enter/esc", "close")),
	}
}

// Model is the dialog.
type Model struct {
	th      *theme.Theme
	keys    KeyMap
	kind    Kind
	title   string
	body    string
	onYes   tea.Msg
	spinner spinner.Model
	width   int
	height  int
}

// New returns a closed dialog.
func New(th *theme.Theme) Model {
	sp := spinner.New(spinner.WithSpinner(spinner.Line), spinner.WithStyle(th.Selected))
	return Model{th: th, keys: DefaultKeyMap(), spinner: sp}
}

// SetSize sets the screen area the dialog is centred in.
func (m *Model) SetSize(width, height int) { m.width, m.height = width, height }

// Open reports whether the dialog is showing.
func (m Model) Open() bool { return m.kind != Closed }

// Kind reports what the dialog is showing.
func (m Model) Kind() Kind { return m.kind }

// Title is the dialog's title.
func (m Model) Title() string { return m.title }

// Confirm opens a confirmation; onYes is sent when the operator confirms.
func (m Model) Confirm(title, body string, onYes tea.Msg) Model {
	m.kind, m.title, m.body, m.onYes = Confirm, title, body, onYes
	return m
}

// Progress opens a box with a spinner; it stays until Report or Close.
func (m Model) Progress(title, body string) (Model, tea.Cmd) {
	m.kind, m.title, m.body, m.onYes = Progress, title, body, nil
	return m, m.spinner.Tick
}

// Report opens a box showing a result.
func (m Model) Report(title, body string) Model {
	m.kind, m.title, m.body, m.onYes = Report, title, body, nil
	return m
}

// Close hides the dialog.
func (m Model) Close() Model {
	m.kind = Closed
	return m
}

// Update handles the dialog's keys and its spinner.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case spinner.TickMsg:
		if m.kind != Progress {
			return m, nil
		}
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		return m, cmd
	case tea.KeyMsg:
		switch m.kind {
		case Confirm:
			switch {
			case key.Matches(msg, m.keys.Yes):
				yes := m.onYes
				m.kind = Closed
				return m, func() tea.Msg { return yes }
			case key.Matches(msg, m.keys.No):
				m.kind = Closed
				return m, func() tea.Msg { return CancelledMsg{} }
			}
		case Report:
			if key.Matches(msg, m.keys.Close) {
				m.kind = Closed
			}
		}
	}
	return m, nil
}

// View renders the dialog centred in its area ("" when closed).
func (m Model) View() string {
	if m.kind == Closed {
		return ""
	}
	// Wide enough for a failover test report line (about 80 cells) on a 100-column screen.
	inner := max(min(m.width-4, 96), 10)
	var lines []string
	title := m.th.DialogTitle.Render(m.title)
	if m.kind == Progress {
		title = m.spinner.View() + " " + title
	}
	lines = append(lines, format.Fit(title, inner), "")
	for _, l := range strings.Split(m.body, "\n") {
		lines = append(lines, format.Fit(l, inner))
	}
	switch m.kind {
	case Confirm:
		lines = append(lines, "", m.th.DialogHint.Render("y/enter confirm · n/esc cancel"))
	case Report:
		lines = append(lines, "", m.th.DialogHint.Render("enter/esc close"))
	}
	maxBody := max(m.height-2, 3)
	if len(lines) > maxBody {
		lines = append(lines[:maxBody-1], "…")
	}
	box := m.th.Dialog.Render(strings.Join(lines, "\n"))
	return m.th.R.Place(m.width, m.height, lipgloss.Center, lipgloss.Center, box)
}
