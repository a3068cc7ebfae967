package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hagent-dev/hagent/cluster"
)

// errNoneReachable makes status fail when no agent answered.
var errNoneReachable = errors.New("no agent is reachable")

func runStatus(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	asJSON, cfg, err := jsonOnlyCommand("status", g, args, stderr, "print JSON")
	if err != nil {
		return err
	}
	nodes := cluster.Status(ctx, cfg)
	if asJSON {
		b, err := cluster.StatusJSON(nodes)
		if err != nil {
			return fmt.Errorf("encode status: %w", err)
		}
		if _, err := fmt.Fprintf(stdout, "%s\n", b); err != nil {
			return err
		}
	} else if err := writeStatusTable(stdout, cluster.NewStatusDoc(nodes)); err != nil {
		return err
	}
	if !cluster.NewStatusDoc(nodes).AnyReachable() {
		return errNoneReachable
	}
	return nil
}

// writeStatusTable prints one line per node and instance; a FAULT instance says why
// after its master column:
//
//	NODE     INSTANCE  VRID  STATE   PRIO  EFF  VIPS             MASTER
//	cenvm71  VI_1      51    MASTER  100   100  192.168.188.109* 192.168.188.71
//	cenvm72  VI_1      51    FAULT   90    90   192.168.188.109  -  interface eth0: does not exist
func writeStatusTable(w io.Writer, doc cluster.StatusDoc) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tINSTANCE\tVRID\tSTATE\tPRIO\tEFF\tVIPS\tMASTER")
	for _, n := range doc.Nodes {
		name := n.Name
		if n.Maintenance {
			name += " (maintenance)"
		}
		if !n.Reachable {
			fmt.Fprintf(tw, "%s\tunreachable: %s\n", name, n.Error)
			continue
		}
		if len(n.Instances) == 0 {
			fmt.Fprintf(tw, "%s\t(no instances)\n", name)
		}
		for _, in := range n.Instances {
			inst := in.Name
			if in.SyncGroup != "" {
				// The vrrp_sync_group and its state: "VI_1 [G MASTER]".
				inst += " [" + in.SyncGroup + " " + in.SyncGroupState + "]"
			}
			why := ""
			if in.State == "FAULT" {
				why = "\t" + faultText(in)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%s\t%s%s\n", name, inst, in.VRID, in.State,
				in.Priority, in.EffectivePriority, vipList(in), orDash(in.Master), why)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// The API certificates, and a warning for any close to its expiry.
	for _, n := range doc.Nodes {
		text, warn := n.CertExpiry(time.Now())
		switch {
		case text == "":
		case warn:
			fmt.Fprintf(w, "warning: %s: %s\n", n.Name, text)
		default:
			fmt.Fprintf(w, "%s: %s\n", n.Name, text)
		}
	}
	return nil
}

// faultText is why an instance is FAULT: its fault sources, else its state reason.
func faultText(in cluster.InstanceDoc) string {
	parts := make([]string, 0, len(in.Faults))
	for _, f := range in.Faults {
		parts = append(parts, f.Source+": "+f.Reason)
	}
	if len(parts) == 0 {
		return in.StateReason
	}
	return strings.Join(parts, "; ")
}

// vipList marks the VIPs the node has bound with "*".
func vipList(in cluster.InstanceDoc) string {
	bound := map[string]bool{}
	for _, v := range in.BoundVIPs {
		bound[v] = true
	}
	parts := make([]string, 0, len(in.VIPs))
	for _, v := range in.VIPs {
		if bound[v] {
			v += "*"
		}
		parts = append(parts, v)
	}
	return orDash(strings.Join(parts, ","))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
