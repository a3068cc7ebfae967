package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/hagent-dev/hagent/cluster"
)

func runFailover(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("failover", g, stderr, "failover INSTANCE [--node NAME] [--for DURATION] [--clear]")
	node := fs.String("node", "", "target `NAME` (default: the other node of a two-node cluster)")
	forD := fs.Duration("for", 0, "bound the override to `DURATION` (default: until cleared)")
	clear := fs.Bool("clear", false, "clear the instance's failover overrides on every node instead")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "one INSTANCE"); err != nil {
		return err
	}
	instance := pos[0]
	cfg, err := g.config()
	if err != nil {
		return err
	}
	if *clear {
		if *node != "" || *forD != 0 {
			return usageError("--clear takes neither --node nor --for")
		}
		msg, err := cluster.Clear(ctx, cfg, instance)
		if msg != "" {
			fmt.Fprintln(stdout, msg)
		}
		return err
	}
	if *forD != 0 {
		// cluster.Failover has no duration yet; refuse rather than set an unbounded override.
		return usageError("--for is not supported yet")
	}
	res, err := cluster.Failover(ctx, cfg, nil, instance, *node)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, failoverText(res))
	return nil
}

// failoverText says what happened: "VI_1: cenvm71 → cenvm72 (takeover on cenvm72): message".
func failoverText(r cluster.Result) string {
	mode := strings.ToLower(strings.TrimPrefix(r.Mode.String(), "OVERRIDE_MODE_"))
	s := fmt.Sprintf("%s (%s on %s)", r.Plan, mode, r.Call)
	if r.Message != "" {
		s += ": " + r.Message
	}
	return s
}

func runMaintenance(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("maintenance", g, stderr, "maintenance NODE on|off")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 2, "NODE on|off"); err != nil {
		return err
	}
	var on bool
	switch pos[1] {
	case "on":
		on = true
	case "off":
	default:
		return usageError("maintenance %s %q: want on or off", pos[0], pos[1])
	}
	cfg, err := g.config()
	if err != nil {
		return err
	}
	msg, err := cluster.SetMaintenance(ctx, cfg, pos[0], on)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, msg)
	return nil
}
