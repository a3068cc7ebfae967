package tui

import (
	"time"

	"github.com/hagent-dev/hagent/cluster"
)

// AgentEventMsg carries one message of cluster.Watch: a snapshot, an event, or a Down
// (the agent's stream broke; Watch reconnects with backoff).
type AgentEventMsg struct{ Msg cluster.Msg }

// agentEventsMsg is several messages of cluster.Watch that were queued together: one
// Update folds them all in (one wake-up and at most one redraw for the lot).
type agentEventsMsg []cluster.Msg

// eventsClosedMsg says the event channel was closed (Watch stopped).
type eventsClosedMsg struct{}

// tickMsg redraws ages and bars.
type tickMsg time.Time

// failoverConfirmedMsg, maintenanceConfirmedMsg and drillConfirmedMsg are what the
// confirmation dialogs send on yes.
type (
	failoverConfirmedMsg    struct{ instance, target string }
	maintenanceConfirmedMsg struct {
		node string
		on   bool
	}
	drillConfirmedMsg struct{ instance string }
)

// actionDoneMsg is the result of a control action.
type actionDoneMsg struct {
	what string
	text string
	err  error
}

// drillDoneMsg is the failover test's report.
type drillDoneMsg struct {
	instance string
	report   string
	err      error
}
