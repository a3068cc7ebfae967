package tui

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/hagent-dev/hagent/cluster"
)

const (
	tickInterval  = 250 * time.Millisecond
	actionTimeout = 30 * time.Second
)

// maxEventBatch bounds how many queued messages one Update folds in.
const maxEventBatch = 256

// waitEventCmd returns the next message of events, with any others already queued
// behind it (up to maxEventBatch); Update issues it again after each.
func waitEventCmd(events <-chan cluster.Msg) tea.Cmd {
	if events == nil {
		return nil
	}
	return func() tea.Msg {
		m, ok := <-events
		if !ok {
			return eventsClosedMsg{}
		}
		batch := agentEventsMsg{m}
		for len(batch) < maxEventBatch {
			select {
			case m, ok := <-events:
				if !ok {
					return batch // the next wait reports the close
				}
				batch = append(batch, m)
			default:
				if len(batch) == 1 {
					return AgentEventMsg{Msg: m}
				}
				return batch
			}
		}
		return batch
	}
}

func tickCmd() tea.Cmd {
	return tea.Tick(tickInterval, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// The action commands capture values, never the model.

func failoverCmd(ctx context.Context, fn func(context.Context, string, string) (string, error), instance, target string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		text, err := fn(ctx, instance, target)
		return actionDoneMsg{what: "failover " + instance, text: text, err: err}
	}
}

func clearCmd(ctx context.Context, fn func(context.Context, string) (string, error), instance string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		text, err := fn(ctx, instance)
		return actionDoneMsg{what: "clear " + instance, text: text, err: err}
	}
}

func maintenanceCmd(ctx context.Context, fn func(context.Context, string, bool) (string, error), node string, on bool) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		text, err := fn(ctx, node, on)
		what := "maintenance off " + node
		if on {
			what = "maintenance on " + node
		}
		return actionDoneMsg{what: what, text: text, err: err}
	}
}

func drillCmd(ctx context.Context, fn func(context.Context, string) (string, error), instance string) tea.Cmd {
	return func() tea.Msg {
		report, err := fn(ctx, instance)
		return drillDoneMsg{instance: instance, report: report, err: err}
	}
}
