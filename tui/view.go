package tui

import (
	"fmt"
	"strings"

	"github.com/hagent-dev/hagent/tui/dashboard"
	"github.com/hagent-dev/hagent/tui/format"
)

// minLogHeight keeps the event log visible (title and two lines) on small screens.
const minLogHeight = 3

// layout shares the screen: header, banners, dashboard, timing, event log, status, footer.
func (m *Model) layout() {
	m.help.Width = m.width
	m.alarms = m.computeBanners()
	m.place()
}

// place is layout with the banners as they are (see tickRefresh).
func (m *Model) place() {
	w, h := m.width, m.height
	m.help.Width = w
	rest := max(h-1-len(m.alarms)-1-m.footerHeight(), 0)
	m.dialog.SetSize(w, rest)
	m.pane.SetSize(w, rest)
	m.dash.SetRoom(max(rest-m.timing.Height()-minLogHeight, 1))
	logMin := minLogHeight
	if m.dash.Compact() {
		// The compact list scrolls; the log keeps a quarter of the screen.
		logMin = max(minLogHeight, rest/4)
	}
	dashH := min(max(m.dash.Height(), 1), max(rest-logMin, 1))
	if m.dash.Compact() {
		dashH = min(max(m.dash.Height(), 1), max(rest-logMin-m.timing.Height(), 1))
	}
	timH := min(m.timing.Height(), max(rest-dashH-minLogHeight, 0))
	logH := max(rest-dashH-timH, 0)
	m.dash.SetSize(w, dashH)
	m.timing.SetSize(w, timH)
	m.log.SetSize(w, logH)
}

func (m Model) footerHeight() int {
	return strings.Count(m.footer(), "\n") + 1
}

// footerCache keeps the key help: it depends only on the width and whether it is
// expanded, and layout and View each asked for it on every tick.
type footerCache struct {
	width int
	all   bool
	text  string
	ok    bool
}

// footer is the key help at the bottom.
func (m Model) footer() string {
	c := m.footerC
	if c == nil {
		return m.help.View(m.keys)
	}
	if !c.ok || c.width != m.help.Width || c.all != m.help.ShowAll {
		*c = footerCache{width: m.help.Width, all: m.help.ShowAll, text: m.help.View(m.keys), ok: true}
	}
	return c.text
}

// maxBanners bounds the alarm lines: at 255 instances a bad moment raises hundreds,
// and the compact list (problems first, n to jump) says the rest.
const maxBanners = 3

// banners are the alarm lines as of the last layout (every state change and resize
// lays out): computing them walks every instance.
func (m Model) banners() []string { return m.alarms }

func (m Model) computeBanners() []string {
	b := append(dashboard.Banners(m.th, m.state, m.dash.Rows(), m.width), dashboard.LintBanners(m.th, m.findings, m.width)...)
	if len(b) <= maxBanners {
		return b
	}
	more := fmt.Sprintf(" +%d more alarms · n: next problem", len(b)-(maxBanners-1))
	return append(b[:maxBanners-1:maxBanners-1], m.th.BannerSplit.Render(format.Pad(format.Fit(more, m.width), m.width)))
}

// View draws the whole screen, exactly width × height, every line truncated. It is
// drawn once per frame: a quiet message keeps the last one (see frameCache).
func (m Model) View() string {
	if m.frame != nil && m.frame.ok {
		return m.frame.view
	}
	v := m.render()
	if m.frame != nil {
		m.frame.view, m.frame.ok = v, true
	}
	return v
}

func (m Model) render() string {
	var parts []string
	parts = append(parts, m.header())
	parts = append(parts, m.banners()...)
	if m.dialog.Open() {
		parts = append(parts, m.dialog.View())
	} else if m.pane.IsOpen() {
		parts = append(parts, m.pane.View())
	} else {
		parts = append(parts, m.dash.View())
		if v := m.timing.View(); v != "" {
			parts = append(parts, v)
		}
		parts = append(parts, m.log.View())
	}
	body := strings.Split(strings.Join(parts, "\n"), "\n")
	bodyH := m.height - 1 - m.footerHeight()
	for len(body) < bodyH {
		body = append(body, "")
	}
	body = body[:max(bodyH, 0)]
	body = append(body, m.statusLine())
	body = append(body, strings.Split(m.footer(), "\n")...)
	for i := range body {
		body[i] = format.Fit(body[i], m.width)
	}
	return strings.Join(body, "\n")
}

func (m Model) header() string {
	live := 0
	for _, n := range m.state.Nodes {
		if n.Reachable {
			live++
		}
	}
	left := m.th.Title.Render("hactl") + m.th.Label.Render(fmt.Sprintf("  %d/%d agents reachable · %s", live, len(m.state.Nodes), plural(m.dash.Total(), "instance")))
	if m.closed {
		left += m.th.Bad.Render("  · watch stopped")
	}
	right := m.th.Label.Render(m.now.In(m.opts.Location).Format("15:04:05"))
	gap := m.width - format.Width(left) - format.Width(right)
	if gap < 1 {
		return left
	}
	return left + strings.Repeat(" ", gap) + right
}

func (m Model) statusLine() string {
	if m.status == "" {
		return ""
	}
	if m.statusErr {
		return m.th.StatusErr.Render("✗ " + m.status)
	}
	return m.th.Status.Render("› " + m.status)
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
