package tui

import (
	"bytes"
	"io"

	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/hagent-dev/hagent/tui/dialog"
)

// assertFits checks a view is exactly h lines of at most w cells.
func assertFits(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if lw := lipgloss.Width(l); lw > w {
			t.Errorf("line %d is %d cells wide (> %d): %q", i, lw, w, ansi.Strip(l))
		}
	}
}

func TestSelectionMoves(t *testing.T) {
	t.Parallel()
	var r recorder
	m := model(t, r.options(), 100, 30, healthyMsgs()...)
	if s := m.dash.Selection(); s.Instance != "VI_1" || s.Node != "cenvm71" {
		t.Fatalf("initial selection = %+v", s)
	}
	m = update(t, m, press("down"))
	if s := m.dash.Selection(); s.Node != "cenvm72" {
		t.Fatalf("after down: %+v", s)
	}
	m = update(t, m, press("down")) // stays on the last row
	m = update(t, m, press("up"))
	if s := m.dash.Selection(); s.Node != "cenvm71" {
		t.Fatalf("after down, down, up: %+v", s)
	}
	if !strings.Contains(m.View(), "▸ cenvm71") {
		t.Fatalf("selected row not marked:\n%s", m.View())
	}
}

func TestFailoverDialogConfirmAndCancel(t *testing.T) {
	t.Parallel()
	var r recorder
	m := model(t, r.options(), 100, 30, healthyMsgs()...)
	m = update(t, m, press("down")) // the selected node does not matter with two nodes
	m = update(t, m, press("f"))
	if !m.dialog.Open() || !strings.Contains(m.View(), "VI_1: cenvm71 → cenvm72") {
		t.Fatalf("f did not open the dialog naming the move:\n%s", m.View())
	}
	m = updateRun(t, m, press("esc"))
	if m.dialog.Open() || len(r.failover) != 0 || !strings.Contains(m.View(), "cancelled") {
		t.Fatalf("esc: dialog open %v, calls %v", m.dialog.Open(), r.failover)
	}
	m = update(t, m, press("f"))
	m = updateRun(t, m, press("n"))
	if len(r.failover) != 0 {
		t.Fatalf("n called failover: %v", r.failover)
	}
	m = update(t, m, press("f"))
	m = updateRun(t, m, press("y"))
	if len(r.failover) != 1 || r.failover[0] != [2]string{"VI_1", "cenvm72"} {
		t.Fatalf("y: failover calls %v, want [VI_1 cenvm72]", r.failover)
	}
	if !strings.Contains(m.View(), "VI_1: cenvm71 → cenvm72: taking over") {
		t.Fatalf("result not in the status line:\n%s", m.View())
	}
	m = update(t, m, press("f"))
	m = updateRun(t, m, press("enter"))
	if len(r.failover) != 2 {
		t.Fatalf("enter did not confirm: %v", r.failover)
	}
}

func TestFailoverRefusedWhenTargetFaulty(t *testing.T) {
	t.Parallel()
	var r recorder
	m := model(t, r.options(), 100, 30, faultMsgs()...)
	m = update(t, m, press("f"))
	if m.dialog.Open() {
		t.Fatal("dialog opened although the only target is FAULT")
	}
	if v := m.View(); !strings.Contains(v, "target cenvm72 is FAULT: chk_nginx: nginx down") {
		t.Fatalf("no reason in the status line:\n%s", v)
	}
}

func TestClearShowsError(t *testing.T) {
	t.Parallel()
	var r recorder
	m := model(t, r.options(), 100, 30, healthyMsgs()...)
	m = updateRun(t, m, press("c"))
	if len(r.clear) != 1 || r.clear[0] != "VI_1" {
		t.Fatalf("clear calls %v", r.clear)
	}
	if !strings.Contains(m.View(), "✗ clear VI_1: cenvm72: connection refused") {
		t.Fatalf("error not shown:\n%s", m.View())
	}
}

func TestMaintenanceConfirm(t *testing.T) {
	t.Parallel()
	var r recorder
	m := model(t, r.options(), 100, 30, healthyMsgs()...)
	m = update(t, m, press("down"))
	m = update(t, m, press("m"))
	if !strings.Contains(m.View(), "Put cenvm72 into maintenance?") {
		t.Fatalf("no maintenance dialog:\n%s", m.View())
	}
	m = updateRun(t, m, press("y"))
	if len(r.maint) != 1 || r.maint[0] != "cenvm72 on" {
		t.Fatalf("maintenance calls %v", r.maint)
	}
	if !strings.Contains(m.View(), "cenvm72: maintenance on") {
		t.Fatalf("result not in the status line:\n%s", m.View())
	}
}

func TestDrillShowsSpinnerThenReport(t *testing.T) {
	t.Parallel()
	var r recorder
	m := model(t, r.options(), 100, 30, healthyMsgs()...)
	m = update(t, m, press("t"))
	next, cmd := m.Update(press("y"))
	m = next.(Model)
	m = update(t, m, cmd()) // drillConfirmedMsg
	if m.dialog.Kind() != dialog.Progress {
		t.Fatalf("dialog kind %v, want Progress while the test runs", m.dialog.Kind())
	}
	m = update(t, m, drillDoneMsg{instance: "VI_1", report: "VIP moved in 1.2s; 0 requests failed"})
	if m.dialog.Kind() != dialog.Report || !strings.Contains(m.View(), "VIP moved in 1.2s") {
		t.Fatalf("report not shown:\n%s", m.View())
	}
	m = update(t, m, press("esc"))
	if m.dialog.Open() {
		t.Fatal("esc did not close the report")
	}
}

func TestLogFilterAndHelp(t *testing.T) {
	t.Parallel()
	var r recorder
	m := model(t, r.options(), 100, 30, healthyMsgs()...)
	if !strings.Contains(m.View(), "VIP 192.168.188.109 bound: became MASTER") {
		t.Fatalf("event missing from the log:\n%s", m.View())
	}
	m = update(t, m, press("l"))
	if !m.log.Filtering() {
		t.Fatal("l did not open the log filter")
	}
	for _, k := range "preempt" {
		m = update(t, m, press(string(k)))
	}
	v := m.View()
	if strings.Contains(v, "became MASTER") || !strings.Contains(v, "preempted lower priority master") {
		t.Fatalf("filter not applied:\n%s", v)
	}
	m = update(t, m, press("q")) // typed into the filter, not quitting
	if m.log.Filter() != "preemptq" {
		t.Fatalf("filter = %q", m.log.Filter())
	}
	m = update(t, m, press("esc"))
	if m.log.Filtering() || m.log.Filter() != "" || !strings.Contains(m.View(), "became MASTER") {
		t.Fatalf("esc did not clear the filter")
	}
	m = update(t, m, press("?"))
	if !m.help.ShowAll || !strings.Contains(m.View(), "next instance") {
		t.Fatalf("? did not show the full help:\n%s", m.View())
	}
}

func TestResizeNeverOverflows(t *testing.T) {
	t.Parallel()
	var r recorder
	m := model(t, r.options(), 100, 30, unreachableMsgs()...)
	for _, sz := range [][2]int{{80, 24}, {60, 15}, {40, 10}, {120, 50}} {
		m = update(t, m, teaSize(sz[0], sz[1]))
		assertFits(t, m.View(), sz[0], sz[1])
	}
}

// TestNoColorHonoured builds the console on a renderer the way the terminal would get
// one: CLICOLOR_FORCE gives colour (so the check can fail), NO_COLOR takes it away.
func TestNoColorHonoured(t *testing.T) {
	t.Setenv("CLICOLOR_FORCE", "1")
	var r recorder
	opts := r.options()
	opts.Renderer = lipgloss.NewRenderer(io.Discard)
	colored := model(t, opts, 100, 30, splitBrainMsgs()...).View()
	if !bytes.Contains([]byte(colored), []byte("\x1b[")) {
		t.Fatal("no escapes even with CLICOLOR_FORCE: the check below would prove nothing")
	}
	t.Setenv("NO_COLOR", "1")
	opts.Renderer = lipgloss.NewRenderer(io.Discard)
	plain := model(t, opts, 100, 30, splitBrainMsgs()...).View()
	if bytes.Contains([]byte(plain), []byte("\x1b")) {
		t.Fatalf("NO_COLOR view has escape sequences: %q", plain)
	}

}

func teaSize(w, h int) tea.WindowSizeMsg { return tea.WindowSizeMsg{Width: w, Height: h} }

// The dashboard names an instance's vrrp_sync_group next to it; without one it says
// nothing of groups.
func TestDashboardShowsSyncGroup(t *testing.T) {
	var r recorder
	in71 := seedInstance("cenvm71", master, "cenvm71")
	in72 := seedInstance("cenvm72", backup, "cenvm71")
	in71.SyncGroup, in72.SyncGroup = "G_ROUTER", "G_ROUTER"
	m := model(t, r.options(), 120, 40, snap("cenvm71", in71), snap("cenvm72", in72))
	if v := m.View(); !strings.Contains(v, "VI_1  VRID 51  sync group G_ROUTER") {
		t.Errorf("view does not show the sync group:\n%s", v)
	}
	m = model(t, r.options(), 120, 40, healthyMsgs()...)
	if v := m.View(); strings.Contains(v, "sync group") {
		t.Errorf("view shows a sync group for an instance in none:\n%s", v)
	}
}
