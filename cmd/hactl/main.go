// Command hactl is the operator's console for a cluster of hagent agents: a live TUI
// by default, and plain subcommands for scripts.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hagent-dev/hagent/agent/sanitize"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

const usage = `usage: hactl [flags] [command]

commands:
  (none)                         the live console (TUI)
  status [--json]                every node's instances, once
  watch [--json]                 stream events from every agent until interrupted
  failover INSTANCE [--node NAME] [--for DURATION] [--clear]
  maintenance NODE on|off
  lint [--json]                  compare the instances across nodes (exit 1: an error, 2: an agent not asked)
  explain INSTANCE [--json]      why the master is master and what would happen next
  test failover INSTANCE [--url URL] [--json] [--mode handover|stop] [--failback] [--timeout D]
  certs --dir DIR --server NAME=IP[,IP...] ... --client NAME ... --reader NAME ...

flags (before or after the command):
`

// command runs one subcommand with its arguments after its name.
type command func(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error

var commands = map[string]command{
	"status":      runStatus,
	"watch":       runWatch,
	"failover":    runFailover,
	"maintenance": runMaintenance,
	"test":        runTest,
	"lint":        runLint,
	"explain":     runExplain,
	"certs":       runCerts,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses the global flags up to the command name, runs the command and maps its
// error to an exit code: 0 success, 1 failure, 2 command line error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var g globals
	fs := flag.NewFlagSet("hactl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	g.register(fs)
	fs.BoolVar(&g.version, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest := fs.Args()
	var err error
	switch {
	case g.version:
		fmt.Fprintln(stdout, "hactl", version)
		return 0
	case len(rest) == 0:
		err = runTUI(ctx, &g)
	default:
		cmd, ok := commands[rest[0]]
		if !ok {
			fmt.Fprintf(stderr, "hactl: unknown command %q\n", rest[0])
			fs.Usage()
			return 2
		}
		err = cmd(ctx, &g, rest[1:], stdout, stderr)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case exitCode(err) != 0:
		fmt.Fprintln(stderr, "hactl:", sanitize.Printable(err.Error()))
		return exitCode(err)
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "hactl:", sanitize.Printable(err.Error()))
		return 2
	default:
		fmt.Fprintln(stderr, "hactl:", sanitize.Printable(err.Error()))
		return 1
	}
}
