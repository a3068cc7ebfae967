package tui

import (
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/hagent-dev/hagent/cluster"
	"github.com/hagent-dev/hagent/cluster/explain"
	"github.com/hagent-dev/hagent/cluster/lint"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
	"github.com/hagent-dev/hagent/tui/pane"
)

// The console's insight into the configuration: lint findings as banners and on ?, the
// explanation of the selected instance on e. Both are recomputed from the live state on
// every refresh, so they follow reloads and what the agents hear.

// lintWorthy says whether msg may change a finding. Advert timing and probe results,
// the bulk of the stream at hundreds of instances, carry nothing lint compares but the
// master and the configured interval, which make a timing message news (quiet), and
// applyAgent lints after those. A transition or a priority change moves only the
// state and the effective priority, which lint does not read (it compares the
// configured state and base priority): at 255 instances the lint was half of what
// drawing a transition cost (issue 18).
func lintWorthy(msg cluster.Msg) bool {
	if isTiming(msg) {
		return false
	}
	ev, ok := msg.(cluster.Event)
	if !ok {
		return true
	}
	switch ev.Resp.GetEvent().(type) {
	case *hactlv1.WatchResponse_ProbeResult, *hactlv1.WatchResponse_Transition, *hactlv1.WatchResponse_PriorityChange:
		return false
	}
	return true
}

// isTiming reports whether msg is advert timing, alone or in a batch.
func isTiming(msg cluster.Msg) bool {
	ev, ok := msg.(cluster.Event)
	if !ok {
		return false
	}
	switch ev.Resp.GetEvent().(type) {
	case *hactlv1.WatchResponse_AdvertTiming, *hactlv1.WatchResponse_AdvertTimingBatch:
		return true
	}
	return false
}

// refreshInsight lints the live state when it may have changed, and refills an open pane.
func (m *Model) refreshInsight() {
	if m.lintDirty {
		m.findings = lint.Check(m.state.Statuses())
		m.lintDirty = false
		m.dash.SetFindings(findingsByInstance(m.findings))
	}
	switch m.pane.Kind() {
	case pane.Findings:
		m.pane.SetContent(findingsContent(m.findings))
	case pane.Explain:
		m.pane.SetContent(m.explainContent())
	}
}

func findingsContent(fs []lint.Finding) (string, []pane.Line) {
	title := fmt.Sprintf("Lint findings (%d)", len(fs))
	if len(fs) == 0 {
		return title, []pane.Line{{Text: "No findings: the nodes agree and nothing foreign was heard.", Tone: pane.Subtle}}
	}
	lines := make([]pane.Line, 0, len(fs))
	for _, f := range fs {
		tone := pane.Warning
		if f.Severity == lint.Error {
			tone = pane.Error
		}
		lines = append(lines, pane.Line{Text: f.String(), Tone: tone})
	}
	return title, lines
}

func (m Model) explainContent() (string, []pane.Line) {
	row, _, ok := m.dash.Selected()
	if !ok {
		return "Explain", []pane.Line{{Text: "No instance selected.", Tone: pane.Subtle}}
	}
	r, err := explain.Explain(row.Name, m.state.Statuses())
	if err != nil {
		return "Explain " + row.Name, []pane.Line{{Text: err.Error(), Tone: pane.Error}}
	}
	lines := []pane.Line{{Text: r.Summary}}
	section := func(title string, ss []string) {
		lines = append(lines, pane.Line{Text: title, Tone: pane.Heading})
		for _, s := range ss {
			lines = append(lines, pane.Line{Text: "  " + s})
		}
	}
	section("Why", r.Why)
	section("Nodes", r.Nodes)
	section("Next", r.Next)
	return "Explain " + row.Name, lines
}

// paneKey handles the keys that open, close and scroll the pane; ok is false for keys
// the pane leaves to the console.
func (m Model) paneKey(k tea.KeyMsg) (Model, tea.Cmd, bool) {
	switch {
	case key.Matches(k, m.keys.Help):
		m.help.ShowAll = !m.help.ShowAll
		m.togglePane(pane.Findings)
		return m, nil, true
	case key.Matches(k, m.keys.Explain):
		m.togglePane(pane.Explain)
		return m, nil, true
	case !m.pane.IsOpen():
		return m, nil, false
	case k.Type == tea.KeyEsc:
		m.pane.Close()
		m.help.ShowAll = false
		m.layout()
		return m, nil, true
	case key.Matches(k, m.keys.Up, m.keys.Down, m.keys.PageUp, m.keys.PageDown):
		var cmd tea.Cmd
		m.pane, cmd = m.pane.Update(k)
		return m, cmd, true
	}
	return m, nil, false
}

// togglePane opens kind, or closes the pane when kind is what it shows.
func (m *Model) togglePane(kind pane.Kind) {
	if m.pane.Kind() == kind {
		m.pane.Close()
	} else {
		m.pane.Open(kind)
	}
	if kind == pane.Explain {
		m.help.ShowAll = false
	}
	m.refreshInsight()
	m.layout()
}
