package tui

import (
	"bytes"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"

	"github.com/hagent-dev/hagent/cluster"
)

// TestProgramShowsLiveEvents runs the real bubbletea program fed by a fake Watch channel.
func TestProgramShowsLiveEvents(t *testing.T) {
	t.Parallel()
	events := make(chan cluster.Msg, 4)
	var r recorder
	opts := r.options()
	opts.Events = events
	tm := teatest.NewTestModel(t, New(opts), teatest.WithInitialTermSize(100, 30))

	events <- snap("cenvm71", seedInstance("cenvm71", master, "cenvm71")).Msg
	events <- snap("cenvm72", seedInstance("cenvm72", backup, "cenvm71")).Msg
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte("MASTER")) && bytes.Contains(b, []byte("BACKUP"))
	}, teatest.WithDuration(5*time.Second))

	tm.Send(press("q"))
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(Model)
	if got := final.State().Node("cenvm71").Instance("VI_1").GetState(); got != hactlv1.State_STATE_MASTER {
		t.Fatalf("final state of cenvm71 = %v, want MASTER", got)
	}
}
