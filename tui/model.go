package tui

import (
	"context"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/hagent-dev/hagent/cluster"
	"github.com/hagent-dev/hagent/cluster/lint"
	"github.com/hagent-dev/hagent/tui/dashboard"
	"github.com/hagent-dev/hagent/tui/dialog"
	"github.com/hagent-dev/hagent/tui/eventlog"
	"github.com/hagent-dev/hagent/tui/keys"
	"github.com/hagent-dev/hagent/tui/pane"
	"github.com/hagent-dev/hagent/tui/theme"
	"github.com/hagent-dev/hagent/tui/timing"
)

// Model is the console's root model: it owns the cluster state and routes messages to
// the components.
type Model struct {
	opts  Options
	ctx   context.Context
	th    *theme.Theme
	keys  *keys.KeyMap // pointers here and in the components: the model is copied on every message
	state *cluster.State
	now   time.Time

	dash   dashboard.Model
	timing timing.Model
	log    eventlog.Model
	dialog dialog.Model
	help   *help.Model // a pointer: the model is copied on every message
	pane   pane.Model  // lint findings (?) or explain (e), over the dashboard

	findings   []lint.Finding
	lintDirty  bool      // a message since the last lint may have changed a finding
	bannerTick time.Time // when a tick last recomputed the banners (see tickRefresh)

	status    string
	statusErr bool
	width     int
	height    int
	closed    bool

	// frame caches View between messages that change nothing on screen (see quiet).
	frame *frameCache
	// alarms are the banner lines, computed by layout.
	alarms []string
	// footerC is the key help, shared by copies like help (see footer).
	footerC *footerCache
}

// New builds the console.
func New(opts Options) Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	if opts.Renderer == nil {
		opts.Renderer = lipgloss.DefaultRenderer()
	}
	if opts.Context == nil {
		opts.Context = context.Background()
	}
	th := theme.New(opts.Renderer)
	km := keys.Default()
	h := help.New()
	h.Styles = th.Help
	m := Model{
		opts:    opts,
		ctx:     opts.Context,
		th:      th,
		keys:    &km,
		state:   cluster.NewState(opts.Cluster),
		now:     opts.Now(),
		dash:    dashboard.New(th, km),
		timing:  timing.New(th),
		log:     eventlog.New(th, km, opts.Location),
		dialog:  dialog.New(th),
		pane:    pane.New(th, km),
		help:    &h,
		footerC: &footerCache{},
		width:   80,
		height:  24,

		lintDirty: true,
	}
	m.refresh()
	m.layout()
	return m
}

// State is the console's model of the cluster (for tests and the caller after exit).
func (m Model) State() *cluster.State { return m.state }

// Init starts reading events and the clock.
func (m Model) Init() tea.Cmd {
	return tea.Batch(waitEventCmd(m.opts.Events), tickCmd())
}

// Update routes one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case AgentEventMsg:
		return m.applyAgent(msg.Msg)
	case agentEventsMsg:
		return m.applyAgent(msg...)
	}
	m.frame = &frameCache{}
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case eventsClosedMsg:
		m.closed = true
		return m, nil
	case tickMsg:
		m.now = m.opts.Now()
		m.tickRefresh()
		return m, tickCmd()
	case actionDoneMsg:
		m.setResult(msg.what, msg.text, msg.err)
		return m, nil
	case drillDoneMsg:
		return m.drillDone(msg), nil
	case failoverConfirmedMsg:
		m.setStatus("failover "+msg.instance+"…", false)
		return m, failoverCmd(m.ctx, m.opts.Failover, msg.instance, msg.target)
	case maintenanceConfirmedMsg:
		m.setStatus("maintenance "+msg.node+"…", false)
		return m, maintenanceCmd(m.ctx, m.opts.Maintenance, msg.node, msg.on)
	case drillConfirmedMsg:
		return m.startDrill(msg.instance)
	case dialog.CancelledMsg:
		m.setStatus("cancelled", false)
		return m, nil
	case tea.KeyMsg:
		return m.handleKey(msg)
	}
	// Anything else (spinner ticks, cursor blinks) belongs to the dialog or the log input.
	var c1, c2 tea.Cmd
	m.dialog, c1 = m.dialog.Update(msg)
	m.log, c2 = m.log.Update(msg)
	return m, tea.Batch(c1, c2)
}

// applyAgent folds agent messages into the state and redraws when one of them is news.
// Quiet ones (see quiet) are drawn at the next tick: bubbletea calls View after every
// message, and at 255 instances the agents report hundreds of advert timings a second
// (batched by current agents, one event each by older ones).
func (m Model) applyAgent(msgs ...cluster.Msg) (tea.Model, tea.Cmd) {
	news := false
	for _, e := range msgs {
		q := m.quiet(e)
		news = news || !q
		m.state.Apply(e)
		// A quiet message changes nothing lint reads (see quiet); advert timing that is
		// news (another master) may.
		m.lintDirty = m.lintDirty || (!q && (lintWorthy(e) || isTiming(e)))
	}
	if news {
		m.frame = &frameCache{}
		m.now = m.opts.Now()
		m.refresh()
	}
	return m, waitEventCmd(m.opts.Events)
}

// handleKey gives the dialog and the filter input the keyboard when they are open, then
// handles the console's keys.
func (m Model) handleKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	if m.dialog.Open() {
		m.dialog, cmd = m.dialog.Update(k)
		return m, cmd
	}
	if m.log.Filtering() {
		m.log, cmd = m.log.Update(k)
		m.layout()
		return m, cmd
	}
	if m.dash.Filtering() {
		m.dash, cmd = m.dash.Update(k)
		m.refresh()
		return m, cmd
	}
	if mm, cmd, ok := m.paneKey(k); ok {
		return mm, cmd
	}
	switch {
	case key.Matches(k, m.keys.Quit):
		return m, tea.Quit
	case key.Matches(k, m.keys.Failover):
		return m.askFailover(), nil
	case key.Matches(k, m.keys.Clear):
		return m.clear()
	case key.Matches(k, m.keys.Maintenance):
		return m.askMaintenance(), nil
	case key.Matches(k, m.keys.Drill):
		return m.askDrill(), nil
	case key.Matches(k, m.keys.Filter):
		cmd = m.dash.StartFilter()
		m.refresh()
		return m, cmd
	case k.Type == tea.KeyEsc && m.dash.Filter() != "":
		// Esc clears the instance filter first, then (pressed again) the log's.
		m.dash.ClearFilter()
		m.refresh()
		return m, nil
	case key.Matches(k, m.keys.NextProblem):
		if !m.dash.NextProblem() {
			m.setStatus("no problem among the instances shown", false)
		}
		m.refresh()
		return m, nil
	case key.Matches(k, m.keys.ToggleView):
		m.dash.ToggleView()
		m.refresh()
		return m, nil
	case key.Matches(k, m.keys.LogFilter, m.keys.PageUp, m.keys.PageDown), k.Type == tea.KeyEsc:
		m.log, cmd = m.log.Update(k)
		return m, cmd
	}
	m.dash, cmd = m.dash.Update(k)
	m.refresh()
	return m, cmd
}

// refresh hands the components the current state.
func (m *Model) refresh() {
	m.dash.SetData(m.state, m.now)
	row, _, ok := m.dash.Selected()
	m.timing.SetData(row, ok, m.now)
	if m.opts.FocusTiming != nil {
		m.opts.FocusTiming(row.Name) // the zero row when nothing is selected: ""
	}
	m.log.SetEntries(m.state.Log())
	m.refreshInsight()
	m.layout()
}

// tickRefresh is refresh for the clock's tick. Every agent message that is news
// refreshes at once (applyAgent), so what arrived since the last refresh is quiet:
// advert timing that changes no master. It changes no instance's problem, place or
// line but the ages, and the rows hold the live instances, so the tick keeps the
// classification, order and column widths (dashboard.SetNow), the lint findings
// (lint reads nothing a quiet message changes) and the banners, which it recomputes
// once a second (a certificate's days to expiry follow the clock). At 255 instances this is most of what a tick cost.
func (m *Model) tickRefresh() {
	m.dash.SetNow(m.now)
	row, _, ok := m.dash.Selected()
	m.timing.SetData(row, ok, m.now)
	m.log.SetEntries(m.state.Log())
	linted := m.lintDirty
	m.refreshInsight()
	if linted || m.now.Sub(m.bannerTick) >= time.Second {
		m.bannerTick = m.now
		m.layout()
		return
	}
	m.place()
}

func (m *Model) setStatus(s string, isErr bool) { m.status, m.statusErr = s, isErr }

func (m *Model) setResult(what, text string, err error) {
	switch {
	case err != nil:
		m.setStatus(what+": "+cluster.Printable(err.Error()), true)
	case text != "":
		m.setStatus(text, false)
	default:
		m.setStatus(what+": done", false)
	}
}
