package tui

import (
	"fmt"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
)

// TestGoldenViews pins the console's screens at 100×30 and 80×24 (go test -update).
func TestGoldenViews(t *testing.T) {
	scenarios := []struct {
		name string
		msgs func() []tea.Msg
	}{
		{"healthy", healthyMsgs},
		{"failover_dialog", func() []tea.Msg { return append(healthyMsgs(), press("f")) }},
		{"fault", faultMsgs},
		{"unreachable", unreachableMsgs},
		{"split_brain", splitBrainMsgs},
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

// TestGoldenViewsScale pins the compact view at 255 instances (issue 18) at 80×24 and
// 120×40: healthy, one FAULT (listed first), split brain in one, and filtered to VI_200.
func TestGoldenViewsScale(t *testing.T) {
	scenarios := []struct {
		name string
		msgs func() []tea.Msg
	}{
		{"healthy", scaleHealthyMsgs},
		{"fault", scaleFaultMsgs},
		{"split_brain", scaleSplitBrainMsgs},
		{"filtered", scaleFilteredMsgs},
	}
	for _, size := range [][2]int{{120, 40}, {80, 24}} {
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
