package tui

import (
	"context"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/hagent-dev/hagent/cluster"
)

// Options configure the console. Every field but Cluster and Events may be left zero.
type Options struct {
	Cluster cluster.Config
	// Events is fed by cluster.Watch; the console reads one message at a time.
	Events <-chan cluster.Msg

	// Failover forces a failover of instance to target ("" lets the cluster decide) and
	// returns what happened.
	Failover func(ctx context.Context, instance, target string) (string, error)
	// Clear removes the failover overrides of instance on every node.
	Clear func(ctx context.Context, instance string) (string, error)
	// Maintenance puts node into maintenance or takes it out.
	Maintenance func(ctx context.Context, node string, on bool) (string, error)
	// RunDrill runs the failover test on instance and returns its report.
	RunDrill func(ctx context.Context, instance string) (string, error)

	// FocusTiming, when set, is told the selected instance ("" for none) whenever the
	// console refreshes: the only one whose advert timing it shows in detail
	// (cluster.TimingFocus.Set).
	FocusTiming func(instance string)

	// Now is the clock (tests fix it); default time.Now.
	Now func() time.Time
	// Location is the zone of the event log's timestamps; default time.Local.
	Location *time.Location
	// Renderer decides the colour profile; default lipgloss.DefaultRenderer().
	Renderer *lipgloss.Renderer
	// Context bounds the actions; default context.Background().
	Context context.Context
}

// ClusterActions returns Options with Failover, Clear and Maintenance doing the real
// calls of the cluster package against cfg. RunDrill is left to the caller.
func ClusterActions(cfg cluster.Config, events <-chan cluster.Msg) Options {
	return Options{
		Cluster: cfg,
		Events:  events,
		Failover: func(ctx context.Context, instance, target string) (string, error) {
			r, err := cluster.Failover(ctx, cfg, nil, instance, target)
			return r.String(), err
		},
		Clear: func(ctx context.Context, instance string) (string, error) {
			return cluster.Clear(ctx, cfg, instance)
		},
		Maintenance: func(ctx context.Context, node string, on bool) (string, error) {
			return cluster.SetMaintenance(ctx, cfg, node, on)
		},
	}
}
