// Package timing is the advertisement timing pane of the selected instance: intervals,
// a sparkline of recent inter-arrival times, jitter, and for each backup the age of the
// last advert against its master-down deadline, with adverts and errors per second.
package timing

import (
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"

	"github.com/hagent-dev/hagent/cluster"
	"github.com/hagent-dev/hagent/tui/format"
	"github.com/hagent-dev/hagent/tui/theme"
)

const (
	sparkWidth = 8
	barWidth   = 8
)

// Model is the timing pane.
type Model struct {
	th     *theme.Theme
	row    cluster.InstanceRow
	ok     bool
	now    time.Time
	width  int
	height int
}

// New returns an empty pane.
func New(th *theme.Theme) Model { return Model{th: th} }

// SetSize sets the area the pane may draw in.
func (m *Model) SetSize(width, height int) { m.width, m.height = width, height }

// SetData shows row (ok false: nothing selected); now is the local clock.
func (m *Model) SetData(row cluster.InstanceRow, ok bool, now time.Time) {
	m.row, m.ok, m.now = row, ok, now
}

// Update does nothing: the pane has no keys. It exists so the pane is a component like
// the others.
func (m Model) Update(tea.Msg) (Model, tea.Cmd) { return m, nil }

// Height is how many lines the pane wants.
func (m Model) Height() int {
	if !m.ok {
		return 0
	}
	return 1 + len(m.row.Cells)
}

// View renders the pane.
func (m Model) View() string {
	if !m.ok || m.height <= 0 {
		return ""
	}
	lines := []string{m.title()}
	for _, c := range m.row.Cells {
		lines = append(lines, m.nodeLine(c))
	}
	if len(lines) > m.height {
		lines = lines[:m.height]
	}
	for i := range lines {
		lines[i] = format.Fit(lines[i], m.width)
	}
	return strings.Join(lines, "\n")
}

func (m Model) title() string {
	var configured, inForce time.Duration
	for _, c := range m.row.Cells {
		if c.Live() {
			configured = c.Inst.GetTiming().GetConfigured().AsDuration()
			inForce = c.Inst.GetTiming().GetMasterAdverInterval().AsDuration()
			break
		}
	}
	t := m.th.PaneTitle.Render("Advert timing · " + m.row.Name)
	if configured > 0 {
		t += m.th.Label.Render(fmt.Sprintf(" · interval %s configured, %s in force", format.Dur(configured), format.Dur(inForce)))
	}
	return t
}

func (m Model) nodeLine(c cluster.Cell) string {
	th := m.th
	nameW := 0
	for _, x := range m.row.Cells {
		nameW = max(nameW, len(x.Node.Name))
	}
	name := format.Pad(c.Node.Name, nameW)
	if !c.Node.Reachable {
		return name + " " + th.Unreachable.Render("UNREACHABLE") + th.Stale.Render(" no live timing")
	}
	if c.Inst == nil {
		return name + " " + th.Subtle.Render("—")
	}
	in := c.Inst
	st := cluster.StateName(in.GetState())
	head := name + " " + format.Pad(th.Badge(st).Render(st), 6) + " "
	if !c.Node.TimingLive(in.GetName()) {
		// Just selected: the agent sends this instance's timing from now on
		// (cluster.TimingFocus); what is held of it is old.
		return head + th.Subtle.Render("waiting for advert timing…")
	}
	rates := c.Node.Rates[in.GetName()]
	errs := th.Subtle.Render("err " + format.Rate(rates.ErrorsPerSec))
	if rates.ErrorsPerSec > 0 {
		errs = th.Bad.Render("err " + format.Rate(rates.ErrorsPerSec))
	}
	switch in.GetState() {
	case hactlv1.State_STATE_MASTER:
		return head + fmt.Sprintf("sending %s", format.Rate(rates.AdvertsSentPerSec)) + "  " + errs
	case hactlv1.State_STATE_BACKUP:
		return head + m.backupTiming(c.Node, in) + "  rx " + format.Rate(rates.AdvertsReceivedPerSec) + " " + errs
	default:
		return head + th.Subtle.Render("not taking part in the election") + "  " + errs
	}
}

// backupTiming is what a backup sees of the master's adverts, and how close it is to
// declaring the master down.
func (m Model) backupTiming(n *cluster.NodeState, in *hactlv1.Instance) string {
	th := m.th
	t := in.GetTiming()
	interval := t.GetMasterAdverInterval().AsDuration()
	var recent []time.Duration
	for _, d := range t.GetRecent() {
		recent = append(recent, d.AsDuration())
	}
	spark := format.Pad(sparkline(recent, interval, sparkWidth), sparkWidth)
	s := spark + fmt.Sprintf(" %s±%s", format.Dur(t.GetMean().AsDuration()), format.Dur(t.GetJitter().AsDuration()))

	age := t.GetLastAdvertAge().AsDuration()
	if t.GetLastAdvertAt() != nil {
		age = n.AgentNow(m.now).Sub(t.GetLastAdvertAt().AsTime())
	}
	deadline := t.GetMasterDownInterval().AsDuration()
	if deadline <= 0 {
		return s + "  last " + format.Dur(age)
	}
	// The bar is the age of the last advert against the master-down deadline.
	frac := float64(age) / float64(deadline)
	style := th.OK
	switch {
	case frac >= 1:
		style = th.Bad
	case frac >= 0.66:
		style = th.Warn
	}
	return s + "  last " + format.Dur(age) + "/" + format.Dur(deadline) + " " + style.Render(bar(frac, barWidth))
}
