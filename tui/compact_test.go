package tui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"google.golang.org/protobuf/types/known/durationpb"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"

	"github.com/hagent-dev/hagent/cluster"
	"github.com/hagent-dev/hagent/cluster/lint"
)

// listLines returns the compact list's instance lines (the lines after the column
// names, up to the selected block), without styling.
func listLines(t *testing.T, view string) []string {
	t.Helper()
	var out []string
	in := false
	for _, l := range strings.Split(ansi.Strip(view), "\n") {
		switch {
		case strings.HasPrefix(l, "  NAME "):
			in = true
		case in && (strings.HasPrefix(l, "▸ VI_") || strings.HasPrefix(l, "  VI_")):
			out = append(out, l)
		case in:
			return out
		}
	}
	if !in {
		t.Fatalf("no compact list on the screen:\n%s", view)
	}
	return out
}

func TestCompactIsDefaultPastAScreenfulAndToggles(t *testing.T) {
	t.Parallel()
	var r recorder
	small := model(t, r.options(), 120, 40, healthyMsgs()...)
	if small.dash.Compact() {
		t.Fatal("one instance shown compact: the full view fits")
	}
	m := model(t, r.options(), 120, 40, scaleHealthyMsgs()...)
	if !m.dash.Compact() {
		t.Fatal("255 instances not compact by default")
	}
	v := m.View()
	if !strings.Contains(v, "cenvm71 255 MASTER · cenvm72 255 BACKUP │ ✓ no problems") {
		t.Fatalf("no summary line:\n%s", v)
	}
	m = update(t, m, press("v"))
	if m.dash.Compact() || strings.Contains(m.View(), "  NAME ") {
		t.Fatalf("v did not switch to the full view:\n%s", m.View())
	}
	m = update(t, m, press("v"))
	if !m.dash.Compact() {
		t.Fatal("v did not switch back to the compact view")
	}
	small = update(t, small, press("v"))
	if !small.dash.Compact() || !strings.Contains(small.View(), "  NAME ") {
		t.Fatalf("v did not make one instance compact:\n%s", small.View())
	}
}

func TestCompactDownMovesByInstance(t *testing.T) {
	t.Parallel()
	var r recorder
	m := model(t, r.options(), 120, 40, scaleHealthyMsgs()...)
	m = update(t, m, press("down"))
	m = update(t, m, press("down"))
	if s := m.dash.Selection(); s.Instance != "VI_3" || s.Node != "cenvm71" {
		t.Fatalf("after down, down: %+v, want VI_3 on cenvm71", s)
	}
	m = update(t, m, press("right"))
	if s := m.dash.Selection(); s.Instance != "VI_3" || s.Node != "cenvm72" {
		t.Fatalf("after right: %+v, want VI_3 on cenvm72", s)
	}
	if l := listLines(t, m.View()); !strings.HasPrefix(l[2], "▸ VI_3 ") {
		t.Fatalf("VI_3 not marked selected: %q", l[:3])
	}
}

// TestCompactProblemFirstOnArrival: a FAULT raised while the operator looks at the list
// goes to the top at once, and the summary counts it.
func TestCompactProblemFirstOnArrival(t *testing.T) {
	t.Parallel()
	var r recorder
	m := model(t, r.options(), 120, 40, scaleHealthyMsgs()...)
	if l := listLines(t, m.View()); !strings.HasPrefix(l[0], "▸ VI_1 ") {
		t.Fatalf("healthy list does not start with VI_1: %q", l[0])
	}
	m = update(t, m, ev("cenvm71", 2, t0.Add(3*time.Minute+5*time.Second), transition("VI_137", master, fault, "chk_nginx: nginx down")))
	v := m.View()
	l := listLines(t, v)
	if !strings.HasPrefix(l[0], "  VI_137 ") || !strings.Contains(l[0], "FAULT cenvm71") {
		t.Fatalf("the FAULT is not the first line: %q", l[0])
	}
	if !strings.HasPrefix(l[1], "▸ VI_1 ") {
		t.Fatalf("the selection moved off VI_1: %q", l[:2])
	}
	if !strings.Contains(v, "✗ 1 FAULT · 1 no master") {
		t.Fatalf("summary does not count the problem:\n%s", v)
	}
}

func TestNextProblemCycles(t *testing.T) {
	t.Parallel()
	var r recorder
	msgs := append(scaleSplitBrainMsgs(), ev("cenvm71", 2, t0.Add(3*time.Minute+5*time.Second), transition("VI_137", master, fault, "chk_nginx: nginx down")))
	m := model(t, r.options(), 120, 40, msgs...)
	var got []string
	for range 3 {
		m = update(t, m, press("n"))
		got = append(got, m.dash.Selection().Instance)
	}
	if strings.Join(got, " ") != "VI_42 VI_137 VI_42" {
		t.Fatalf("n visited %v, want VI_42 VI_137 VI_42 (split brain, then FAULT)", got)
	}
	healthy := model(t, r.options(), 120, 40, scaleHealthyMsgs()...)
	healthy = update(t, healthy, press("n"))
	if s := healthy.dash.Selection(); s.Instance != "VI_1" || !strings.Contains(healthy.View(), "no problem among the instances shown") {
		t.Fatalf("n without problems: selection %+v\n%s", s, healthy.View())
	}
}

// TestFilterThenFailoverActsOnTheSelectedInstanceOnly: "/" narrows the list by name,
// VRID or VIP; f + y then fails over that one instance, and the log filter is separate.
func TestFilterThenFailoverActsOnTheSelectedInstanceOnly(t *testing.T) {
	t.Parallel()
	var r recorder
	m := model(t, r.options(), 120, 40, scaleFilteredMsgs()...)
	if l := listLines(t, m.View()); len(l) != 1 || !strings.HasPrefix(l[0], "▸ VI_200 ") {
		t.Fatalf("filter VI_200 shows %q", l)
	}
	if m.dash.Filtering() || m.log.Filter() != "" {
		t.Fatalf("after enter: input open %v, log filter %q", m.dash.Filtering(), m.log.Filter())
	}
	m = update(t, m, press("f"))
	if !strings.Contains(m.View(), "VI_200: cenvm71 → cenvm72") {
		t.Fatalf("the dialog does not name VI_200:\n%s", m.View())
	}
	m = updateRun(t, m, press("y"))
	if len(r.failover) != 1 || r.failover[0] != [2]string{"VI_200", "cenvm72"} {
		t.Fatalf("failover calls %v, want exactly [VI_200 cenvm72]", r.failover)
	}

	for needle, want := range map[string]string{"189.17": "VI_17", "vi_25": "VI_25"} {
		m := model(t, r.options(), 120, 40, scaleHealthyMsgs()...)
		m = update(t, m, press("/"))
		for _, k := range typeKeys(needle) {
			m = update(t, m, k)
		}
		if v := ansi.Strip(m.View()); !strings.Contains(v, "enter keeps · esc clears") {
			t.Errorf("filter %q: the prompt line does not fit:\n%s", needle, v)
		}
		l := listLines(t, m.View())
		if len(l) == 0 || !strings.HasPrefix(l[0], "▸ "+want+" ") {
			t.Errorf("filter %q: first line %q, want %s selected", needle, l, want)
		}
		for _, x := range l {
			if !strings.Contains(strings.ToLower(x), needle) {
				t.Errorf("filter %q shows %q", needle, x)
			}
		}
	}

	// Esc clears the instance filter; the selection stays on VI_200.
	m = update(t, m, press("esc"))
	if m.dash.Filter() != "" || len(listLines(t, m.View())) < 10 || m.dash.Selection().Instance != "VI_200" {
		t.Fatalf("esc: filter %q, selection %+v\n%s", m.dash.Filter(), m.dash.Selection(), m.View())
	}
	// A filter that matches nothing leaves nothing to act on.
	m = update(t, m, press("/"))
	for _, k := range typeKeys("nosuch") {
		m = update(t, m, k)
	}
	m = update(t, m, press("enter"))
	m = update(t, m, press("f"))
	if m.dialog.Open() || len(r.failover) != 1 || !strings.Contains(m.View(), "no instance matches the filter") {
		t.Fatalf("f with an empty list: dialog %v, calls %v\n%s", m.dialog.Open(), r.failover, m.View())
	}
}

// TestQuietTimingEventsDrawnAtTheTick: advert-timing events (hundreds a second at 255
// instances from an agent that does not batch them) are folded in without a redraw; the tick draws them; a transition is drawn
// at once.
func TestQuietTimingEventsDrawnAtTheTick(t *testing.T) {
	t.Parallel()
	var r recorder
	m := model(t, r.options(), 120, 40, healthyMsgs()...)
	before := m.View()
	timing := ev("cenvm72", 3, t0.Add(3*time.Minute+20*time.Second), &hactlv1.WatchResponse_AdvertTiming{AdvertTiming: &hactlv1.AdvertTimingEvent{
		Instance: "VI_1", AdvertsSent: 180, AdvertsReceived: 290, Master: &hactlv1.Master{Address: "192.168.188.71", Priority: 100}}})
	m = update(t, m, timing)
	if m.View() != before {
		t.Fatal("a quiet advert-timing event redrew the screen")
	}
	m = update(t, m, tickMsg(now))
	if v := m.View(); v == before || !strings.Contains(v, "rx 10.0/s") {
		t.Fatalf("the tick did not draw the new rate:\n%s", v)
	}
	m = update(t, m, ev("cenvm72", 4, t0.Add(3*time.Minute+21*time.Second), transition("VI_1", backup, fault, "chk_nginx: nginx down")))
	if got := tuiState(m.View(), "cenvm72"); got != "FAULT" {
		t.Fatalf("a transition was not drawn at once: cenvm72 shows %q", got)
	}
}

// TestQuietTimingBatch: a batch of advert timings (one event for all of an agent's
// instances) is quiet too, drawn at the tick, unless one of its instances now believes
// in another master, which is drawn at once.
func TestQuietTimingBatch(t *testing.T) {
	t.Parallel()
	var r recorder
	m := model(t, r.options(), 120, 40, scaleHealthyMsgs()...)
	batch := func(seq uint64, master200 *hactlv1.Master) AgentEventMsg {
		b := &hactlv1.AdvertTimingBatchEvent{}
		for k := 1; k <= scaleN; k++ {
			master := &hactlv1.Master{Address: addrOf["cenvm71"], Priority: 100}
			if k == 200 && master200 != nil {
				master = master200
			}
			b.Timings = append(b.Timings, &hactlv1.AdvertTimingEvent{
				Instance: fmt.Sprintf("VI_%d", k), AdvertsSent: 180, AdvertsReceived: 280, Master: master,
			})
		}
		return ev("cenvm72", seq, t0.Add(3*time.Minute+10*time.Second), &hactlv1.WatchResponse_AdvertTimingBatch{AdvertTimingBatch: b})
	}
	quiet := batch(2, nil)
	if !m.quiet(quiet.Msg) {
		t.Fatal("a batch that changes no master is not quiet")
	}
	before := m.View()
	if strings.Contains(before, "rx 10.0/s") {
		t.Fatalf("the rate is on the screen before the batch:\n%s", before)
	}
	m = update(t, m, quiet)
	if m.View() != before {
		t.Fatal("a quiet batch redrew the screen")
	}
	m = update(t, m, tickMsg(now))
	if v := m.View(); !strings.Contains(v, "rx 10.0/s") {
		t.Fatalf("the tick did not draw the selected instance's new rate from the batch:\n%s", v)
	}
	if m.quiet(batch(3, &hactlv1.Master{Address: addrOf["cenvm72"], Priority: 90, IsSelf: true}).Msg) {
		t.Fatal("a batch in which VI_200 changed master is quiet")
	}
}

// tuiState is the state badge of node's first row on the screen.
func tuiState(view, node string) string {
	for _, l := range strings.Split(ansi.Strip(view), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "▸"))
		if len(f) >= 2 && f[0] == node {
			return f[1]
		}
	}
	return ""
}

// TestLintFindingsHook: lint findings (issue 15) make an instance a problem, listed
// first, and are counted in the summary. Here cenvm72 runs VI_9 at advert_int 2.
func TestLintFindingsHook(t *testing.T) {
	t.Parallel()
	var r recorder
	msgs := []tea.Msg{scaleSnap("cenvm71", nil), scaleSnap("cenvm72", func(k int) *hactlv1.Instance {
		if k != 9 {
			return nil
		}
		in := scaleInstance("cenvm72", 9, backup, "cenvm71")
		in.Timing.Configured = durationpb.New(2 * time.Second)
		return in
	})}
	m := model(t, r.options(), 120, 40, msgs...)
	v := m.View()
	if l := listLines(t, v); !strings.HasPrefix(l[0], "  VI_9 ") || !strings.Contains(l[0], "lint ") {
		t.Fatalf("VI_9 with findings not first: %q\n%s", l[0], v)
	}
	if !strings.Contains(v, "lint finding") {
		t.Fatalf("summary does not count the findings:\n%s", v)
	}
	if got := findingsByInstance([]lint.Finding{{Instance: "VI_1/VI_2"}, {Instance: "VI_1"}, {}}); got["VI_1"] != 2 || got["VI_2"] != 1 || got[""] != 1 {
		t.Fatalf("findingsByInstance = %v", got)
	}
}

// TestSelectedBlockHeightMatchesRender: the compact layout counts the selected block's
// lines without rendering it; the count must match what is drawn (FAULT rows have a
// detail line, unreachable nodes too).
func TestSelectedBlockHeightMatchesRender(t *testing.T) {
	t.Parallel()
	var r recorder
	for name, msgs := range map[string][]tea.Msg{
		"healthy": scaleHealthyMsgs(),
		"fault":   scaleFaultMsgs(),
		"down":    append(scaleHealthyMsgs(), AgentEventMsg{Msg: cluster.Down{Agent: "cenvm72", Err: errors.New("connection refused"), Since: now}}),
	} {
		m := model(t, r.options(), 120, 40, msgs...)
		for range 3 {
			if got, want := m.dash.SelectedBlockHeight(), m.dash.SelectedBlockLen(); got != want {
				t.Errorf("%s, %s: counted %d block lines, rendered %d", name, m.dash.Selection().Instance, got, want)
			}
			m = update(t, m, press("n"))
		}
	}
}

// TestQueuedEventsFoldedInOneUpdate: messages already queued are read as one batch (one
// wake-up of the console), every one is applied, and a close behind them is still seen.
func TestQueuedEventsFoldedInOneUpdate(t *testing.T) {
	t.Parallel()
	events := make(chan cluster.Msg, 8)
	for _, msg := range healthyMsgs() {
		events <- msg.(AgentEventMsg).Msg
	}
	close(events)
	batch, ok := waitEventCmd(events)().(agentEventsMsg)
	if !ok || len(batch) != len(healthyMsgs()) {
		t.Fatalf("first read: %T of %d, want agentEventsMsg of %d", batch, len(batch), len(healthyMsgs()))
	}
	if _, ok := waitEventCmd(events)().(eventsClosedMsg); !ok {
		t.Fatal("the close behind the batch was not reported")
	}
	var r recorder
	m := model(t, r.options(), 100, 30, batch)
	want := model(t, r.options(), 100, 30, healthyMsgs()...)
	if m.View() != want.View() {
		t.Fatalf("a batch draws differently from the same messages one by one:\n%s\nwant:\n%s", m.View(), want.View())
	}
}

// TestTickAfterQuietDrawsAsAFullRefresh: a tick after only quiet advert timing keeps the
// classification, order and widths and redoes the ages alone (tickRefresh); what it
// draws must be what a full refresh draws, also when the clock moves the ages past a
// minute (a wider AGE column) and with a problem listed first or a filter in force.
func TestTickAfterQuietDrawsAsAFullRefresh(t *testing.T) {
	t.Parallel()
	for name, msgs := range map[string][]tea.Msg{
		"healthy":  scaleHealthyMsgs(),
		"fault":    scaleFaultMsgs(),
		"filtered": scaleFilteredMsgs(),
	} {
		var r recorder
		clock := now
		opts := r.options()
		opts.Now = func() time.Time { return clock }
		m := model(t, opts, 120, 40, msgs...)
		for i, step := range []time.Duration{250 * time.Millisecond, 70 * time.Second, time.Hour} {
			b := &hactlv1.AdvertTimingBatchEvent{}
			for k := 1; k <= scaleN; k++ {
				b.Timings = append(b.Timings, &hactlv1.AdvertTimingEvent{Instance: fmt.Sprintf("VI_%d", k), AdvertsSent: uint64(180 + i), AdvertsReceived: uint64(280 + 10*i)})
			}
			quiet := ev("cenvm72", uint64(10+i), t0.Add(3*time.Minute+time.Duration(i+1)*time.Second), &hactlv1.WatchResponse_AdvertTimingBatch{AdvertTimingBatch: b})
			if !m.quiet(quiet.Msg) {
				t.Fatalf("%s: the batch is not quiet", name)
			}
			m = update(t, m, quiet)
			clock = clock.Add(step)
			before := m.View()
			m = update(t, m, tickMsg(clock))
			full := m
			full.frame = &frameCache{}
			full.refresh()
			if got, want := m.View(), full.View(); got != want {
				t.Fatalf("%s, +%v: the tick draws\n%s\na full refresh draws\n%s", name, step, got, want)
			}
			if i > 0 && m.View() == before {
				t.Fatalf("%s, +%v: the tick drew nothing new (ages, rates):\n%s", name, step, before)
			}
		}
	}
}

// TestTimingThatChangesConfigIsLinted: the console lints only after a message that may
// change a finding, and a quiet one may not; advert timing that carries another
// configured interval (what lint compares across nodes) is news, drawn and linted at
// once, with no tick.
func TestTimingThatChangesConfigIsLinted(t *testing.T) {
	t.Parallel()
	var r recorder
	m := model(t, r.options(), 120, 40, scaleHealthyMsgs()...)
	if strings.Contains(m.View(), "lint finding") {
		t.Fatalf("findings before the change:\n%s", m.View())
	}
	timing := func(seq uint64, configured time.Duration) AgentEventMsg {
		return ev("cenvm72", seq, t0.Add(3*time.Minute+time.Duration(seq)*time.Second), &hactlv1.WatchResponse_AdvertTiming{AdvertTiming: &hactlv1.AdvertTimingEvent{
			Instance: "VI_9", AdvertsReceived: 300 + seq, Master: &hactlv1.Master{Address: addrOf["cenvm71"], Priority: 100},
			Timing: &hactlv1.AdvertTiming{Configured: durationpb.New(configured)}}})
	}
	same := timing(2, time.Second)
	if !m.quiet(same.Msg) {
		t.Fatal("timing with the same configured interval is not quiet")
	}
	m = update(t, m, same)
	if m.lintDirty {
		t.Fatal("a quiet message asked for a lint")
	}
	changed := timing(3, 2*time.Second)
	if m.quiet(changed.Msg) {
		t.Fatal("timing with another configured interval is quiet")
	}
	m = update(t, m, changed)
	if v := m.View(); !strings.Contains(v, "lint finding") {
		t.Fatalf("the new configured interval was not linted at once:\n%s", v)
	}
}

// The console tells the watchers which instance's advert timing it shows in detail:
// the selected one, following the selection.
func TestFocusTimingFollowsTheSelection(t *testing.T) {
	t.Parallel()
	var r recorder
	opts := r.options()
	var told []string
	opts.FocusTiming = func(instance string) {
		if len(told) == 0 || told[len(told)-1] != instance {
			told = append(told, instance)
		}
	}
	m := model(t, opts, 120, 40, scaleHealthyMsgs()...)
	first := m.dash.Selection().Instance
	m = update(t, m, press("down"))
	second := m.dash.Selection().Instance
	if first == second || first == "" {
		t.Fatalf("selection %q then %q: want two instances", first, second)
	}
	if len(told) < 2 || told[len(told)-2] != first || told[len(told)-1] != second {
		t.Fatalf("focus told %v, want it to end with %s, %s", told, first, second)
	}
}

// A transition or a priority change moves nothing lint compares (the state and the
// effective priority; lint reads the configured ones), so it is drawn without a lint.
func TestTransitionIsNotLinted(t *testing.T) {
	t.Parallel()
	var r recorder
	m := model(t, r.options(), 120, 40, scaleHealthyMsgs()...)
	_ = m.View()
	if m.lintDirty {
		t.Fatal("lint pending after the seed")
	}
	M, B := hactlv1.State_STATE_MASTER, hactlv1.State_STATE_BACKUP
	m = update(t, m, ev("cenvm71", 1000, t0.Add(3*time.Minute), transition("VI_1", M, B, "failover")))
	m = update(t, m, ev("cenvm71", 1001, t0.Add(3*time.Minute), &hactlv1.WatchResponse_PriorityChange{PriorityChange: &hactlv1.PriorityChangeEvent{Instance: "VI_1", From: 100, To: 80}}))
	if m.lintDirty {
		t.Fatal("a transition or a priority change asked for a lint")
	}
	if v := m.View(); !strings.Contains(v, "cenvm71 254 MASTER 1 BACKUP") {
		t.Fatalf("the transition is not drawn:\n%s", v)
	}
}

// When the focus moves (cluster.Focused), the timing pane says the selected
// instance's timing is on its way instead of drawing what it holds (old), until the
// agent's timing for it arrives.
func TestTimingPaneWaitsForFocusedTiming(t *testing.T) {
	t.Parallel()
	var r recorder
	m := model(t, r.options(), 120, 40, scaleHealthyMsgs()...)
	m = update(t, m, AgentEventMsg{Msg: cluster.Focused{Agent: "cenvm72", Instance: "VI_1"}})
	if v := m.View(); !strings.Contains(v, "cenvm72 BACKUP waiting for advert timing…") {
		t.Fatalf("no waiting line for cenvm72:\n%s", v)
	}
	m = update(t, m, ev("cenvm72", 900, t0.Add(3*time.Minute), &hactlv1.WatchResponse_AdvertTiming{AdvertTiming: &hactlv1.AdvertTimingEvent{
		Instance: "VI_1", AdvertsReceived: 500, Master: &hactlv1.Master{Address: addrOf["cenvm71"], Priority: 100},
		Timing: &hactlv1.AdvertTiming{Configured: durationpb.New(time.Second), MasterAdverInterval: durationpb.New(time.Second)}}}))
	m = update(t, m, tickMsg(now))
	if v := m.View(); strings.Contains(v, "waiting for advert timing") {
		t.Fatalf("still waiting after VI_1's timing arrived:\n%s", v)
	}
}
