package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/hagent-dev/hagent/drill"
)

func runTest(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	usage := "test failover INSTANCE [--url URL] [--json] [--mode handover|stop] [--failback] [--timeout D]"
	fs := newFlagSet("test", g, stderr, usage)
	url := fs.String("url", "", "`URL` to probe (default http://VIP/)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	mode := fs.String("mode", drill.ModeHandover, "how to fail over: handover (graceful) or stop (stop the master's instance)")
	failback := fs.Bool("failback", false, "move mastership back afterwards and measure that too")
	timeout := fs.Duration("timeout", 15*time.Second, "how long to wait for the new master, per move")
	node := fs.String("node", "", "target `NAME` (default: the other node)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || pos[0] != "failover" {
		return usageError("want %s", usage)
	}
	if err := wantArgs(pos[1:], 1, "test failover INSTANCE"); err != nil {
		return err
	}
	cfg, err := g.config()
	if err != nil {
		return err
	}
	rep, err := drill.RunCluster(ctx, cfg, drill.ClusterOptions{
		Instance: pos[1],
		URL:      *url,
		Mode:     *mode,
		Target:   *node,
		Failback: *failback,
		Probe:    drill.Options{WaitTimeout: *timeout},
	})
	if rep.Instance != "" {
		if *asJSON {
			if werr := rep.WriteJSON(stdout); werr != nil {
				return werr
			}
		} else {
			fmt.Fprint(stdout, rep)
		}
	}
	return err
}
