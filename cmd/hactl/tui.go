package main

import (
	"context"
	"errors"
	"fmt"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/hagent-dev/hagent/cluster"
	"github.com/hagent-dev/hagent/drill"
	"github.com/hagent-dev/hagent/tui"
)

// runTUI starts the live console: one Watch stream per agent feeding the model, and
// the cluster's controls injected.
func runTUI(ctx context.Context, g *globals) error {
	cfg, err := g.config()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan cluster.Msg, 256)
	// The agents send the selected instance's advert timing in full and the others'
	// brief (issue 18: the console's cost at 255 instances).
	focus := cluster.NewTimingFocus()
	go cluster.WatchFocused(ctx, cfg, events, focus)

	opts := tui.ClusterActions(cfg, events)
	opts.FocusTiming = focus.Set
	opts.Context = ctx
	opts.RunDrill = func(ctx context.Context, instance string) (string, error) {
		// From the console the test puts things back as they were: failback included.
		rep, err := drill.RunCluster(ctx, cfg, drill.ClusterOptions{Instance: instance, Failback: true})
		if rep.Instance == "" {
			return "", err
		}
		return rep.String(), err
	}
	_, err = tea.NewProgram(tui.New(opts), tea.WithAltScreen(), tea.WithContext(ctx)).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil // interrupted
	}
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}
