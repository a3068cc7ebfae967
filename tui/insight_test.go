package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hagent-dev/hagent/cluster"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// misconfiguredMsgs: cenvm72 advertises every 2 s and carries a second VIP, and a
// foreign router 192.168.188.10 advertises VRID 51 with another address.
func misconfiguredMsgs() []tea.Msg {
	m1 := seedInstance("cenvm71", master, "cenvm71")
	m2 := seedInstance("cenvm72", backup, "cenvm71")
	m2.Timing.Configured = durationpb.New(2 * time.Second)
	m2.Vips = append(m2.Vips, &hactlv1.Vip{Address: "192.168.188.110", Dev: "eth0"})
	m1.ForeignSenders = []*hactlv1.ForeignSender{{Address: "192.168.188.10", Cause: "addr_list",
		Reason: "advert carries [192.168.188.200], we have [192.168.188.109]", Count: 12, Addresses: []string{"192.168.188.200"}}}
	return []tea.Msg{snap("cenvm71", m1), snap("cenvm72", m2)}
}

// TestGoldenInsight pins the lint banners, the ? findings list and the e explain pane
// at 100×30 and 80×24 (go test -update).
func TestGoldenInsight(t *testing.T) {
	scenarios := []struct {
		name string
		msgs func() []tea.Msg
	}{
		{"lint_banner", misconfiguredMsgs},
		{"lint_findings", func() []tea.Msg { return append(misconfiguredMsgs(), press("?")) }},
		{"explain", func() []tea.Msg { return append(healthyMsgs(), press("e")) }},
	}
	for _, size := range [][2]int{{100, 30}, {80, 24}} {
		for _, sc := range scenarios {
			t.Run(fmt.Sprintf("%s_%dx%d", sc.name, size[0], size[1]), func(t *testing.T) {
				t.Parallel()
				var r recorder
				m := model(t, r.options(), size[0], size[1], sc.msgs()...)
				view := m.View()
				assertFits(t, view, size[0], size[1])
				golden.RequireEqual(t, []byte(view))
			})
		}
	}
}

// TestLintBannerLive: a finding appears with the event that causes it and goes with
// the snapshot that fixes it.
func TestLintBannerLive(t *testing.T) {
	t.Parallel()
	var r recorder
	m := model(t, r.options(), 100, 30, healthyMsgs()...)
	if v := m.View(); strings.Contains(v, "LINT") {
		t.Fatalf("seed shows a lint banner:\n%s", v)
	}
	rx := &hactlv1.WatchResponse{Seq: 9, Time: timestamppb.New(now), Event: &hactlv1.WatchResponse_ReceiveError{ReceiveError: &hactlv1.ReceiveErrorEvent{
		Instance: "VI_1", Cause: "interval", Source: "192.168.188.10",
		Sender: &hactlv1.ForeignSender{Address: "192.168.188.10", Cause: "interval", Count: 1, AdvertInt: durationpb.New(2 * time.Second)}}}}
	m = update(t, m, AgentEventMsg{Msg: cluster.Event{Agent: "cenvm72", Resp: rx, Received: now}})
	if v := m.View(); !strings.Contains(v, "LINT VI_1: error router 192.168.188.10 outside the cluster advertises VRID 51 every 2s (ours 1s)") {
		t.Fatalf("no banner for the foreign router:\n%s", v)
	}
	m = update(t, m, healthyMsgs()[1])
	if v := m.View(); strings.Contains(v, "LINT") {
		t.Fatalf("banner stays after a clean snapshot:\n%s", v)
	}
}

// TestPaneKeys: e opens the explanation of the selected instance, Esc closes it, ?
// toggles the findings with the full help.
func TestPaneKeys(t *testing.T) {
	t.Parallel()
	var r recorder
	m := model(t, r.options(), 100, 30, healthyMsgs()...)
	m = update(t, m, press("e"))
	if v := m.View(); !strings.Contains(v, "Explain VI_1") || !strings.Contains(v, "cenvm72 becomes master after about 0.65 s") {
		t.Fatalf("e did not explain VI_1:\n%s", v)
	}
	m = update(t, m, press("esc"))
	if v := m.View(); strings.Contains(v, "Explain VI_1") || !strings.Contains(v, "Events") {
		t.Fatalf("esc did not close the pane:\n%s", v)
	}
	m = update(t, m, press("?"))
	if v := m.View(); !strings.Contains(v, "Lint findings (0)") || !m.help.ShowAll {
		t.Fatalf("? did not list the findings with the full help:\n%s", v)
	}
	m = update(t, m, press("?"))
	if v := m.View(); strings.Contains(v, "Lint findings") || m.help.ShowAll {
		t.Fatalf("? again did not close:\n%s", v)
	}
}
