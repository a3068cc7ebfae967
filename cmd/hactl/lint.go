package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hagent-dev/hagent/cluster"
	"github.com/hagent-dev/hagent/cluster/explain"
	"github.com/hagent-dev/hagent/cluster/lint"
)

// exitError ends hactl with its code after its message (lint: 1 an error found, 2 an
// agent could not be asked).
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

// lintDoc is `hactl lint --json`.
type lintDoc struct {
	Findings    []lint.Finding `json:"findings"`
	Unreachable []unreachable  `json:"unreachable"`
}

type unreachable struct {
	Node  string `json:"node"`
	Error string `json:"error"`
}

func runLint(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	asJSON, cfg, err := jsonOnlyCommand("lint", g, args, stderr, "print JSON: an object with a findings list")
	if err != nil {
		return err
	}
	nodes := cluster.Status(ctx, cfg)
	doc := lintDoc{Findings: lint.Check(nodes), Unreachable: []unreachable{}}
	if doc.Findings == nil {
		doc.Findings = []lint.Finding{}
	}
	for _, n := range nodes {
		if !n.Reachable {
			doc.Unreachable = append(doc.Unreachable, unreachable{Node: n.Name, Error: n.Err})
		}
	}
	if asJSON {
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return fmt.Errorf("encode findings: %w", err)
		}
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		for _, f := range doc.Findings {
			fmt.Fprintln(stdout, f.String())
		}
		if len(doc.Findings) == 0 && len(doc.Unreachable) == 0 {
			fmt.Fprintf(stdout, "no findings (%d nodes)\n", len(nodes))
		}
	}
	switch {
	case len(doc.Unreachable) > 0:
		return exitError{code: 2, msg: fmt.Sprintf("%d of %d agents could not be asked (first: %s: %s)",
			len(doc.Unreachable), len(nodes), doc.Unreachable[0].Node, doc.Unreachable[0].Error)}
	case lint.HasError(doc.Findings):
		return exitError{code: 1, msg: "lint found errors"}
	}
	return nil
}

func runExplain(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("explain", g, stderr, "explain INSTANCE [--json]")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(pos, 1, "one INSTANCE"); err != nil {
		return err
	}
	cfg, err := g.config()
	if err != nil {
		return err
	}
	nodes := cluster.Status(ctx, cfg)
	for _, n := range nodes {
		if !n.Reachable {
			fmt.Fprintf(stderr, "hactl: %s unreachable, left out: %s\n", n.Name, n.Err)
		}
	}
	r, err := explain.Explain(pos[0], nodes)
	if err != nil {
		return err
	}
	if *asJSON {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return fmt.Errorf("encode explanation: %w", err)
		}
		fmt.Fprintf(stdout, "%s\n", b)
		return nil
	}
	for _, l := range r.Lines() {
		fmt.Fprintln(stdout, l)
	}
	return nil
}

// exitCode is the code of an exitError, else 0.
func exitCode(err error) int {
	var e exitError
	if errors.As(err, &e) {
		return e.code
	}
	return 0
}
