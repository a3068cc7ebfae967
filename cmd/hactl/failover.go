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
	if *forD < 0 {
		return usageError("--for must be positive")
	}
	nodes := cluster.Status(ctx, cfg)
	if !cluster.NewStatusDoc(nodes).AnyReachable() {
		// Say why rather than "instance unknown": nobody could be asked.
		var why []string
		for _, n := range nodes {
			why = append(why, n.Name+": "+n.Err)
		}
		return fmt.Errorf("%w: %s", errNoneReachable, strings.Join(why, "; "))
	}
	if err := refuseUnreachableTarget(nodes, instance, *node); err != nil {
		return err
	}
	res, err := cluster.FailoverFor(ctx, cfg, nodes, instance, *node, *forD)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, failoverText(res))
	return nil
}

// refuseUnreachableTarget refuses a failover whose target node's agent does not answer.
// The plan would fall back to the master relinquishing, but nothing then says the
// target is alive: if it is down, the instance has no master for a Master_Down_Interval
// until the old master takes back over — a gap, not a handover.
func refuseUnreachableTarget(nodes []cluster.NodeStatus, instance, target string) error {
	p, err := cluster.PlanFailover(nodes, instance, target)
	if err != nil || p.To == "" {
		return nil // cluster.Failover reports the planning error itself
	}
	for _, n := range nodes {
		if n.Name == p.To && !n.Reachable {
			return fmt.Errorf("failover %s: target %s is unreachable (%s); refusing to make %s relinquish without a live successor",
				p, p.To, n.Err, p.From)
		}
	}
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
