package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hagent-dev/hagent/cluster"
)

// errUsage marks a command line error: exit code 2 after the message.
var errUsage = errors.New("usage")

// usageError wraps a message as a command line error.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// globals are the flags every subcommand accepts, before or after its name.
type globals struct {
	agents      []string
	clusterFile string
	tls         cluster.TLSFiles
	version     bool
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.Func("agent", "agent `NAME=ADDR` (unix:///path or tcp://host:port); repeatable", func(s string) error {
		g.agents = append(g.agents, s)
		return nil
	})
	fs.StringVar(&g.clusterFile, "cluster", g.clusterFile, "cluster `FILE` (YAML: agents with name and address, tls paths)")
	fs.StringVar(&g.tls.Cert, "tls-cert", g.tls.Cert, "client certificate `FILE` for tcp:// agents")
	fs.StringVar(&g.tls.Key, "tls-key", g.tls.Key, "client key `FILE` for tcp:// agents")
	fs.StringVar(&g.tls.CA, "tls-ca", g.tls.CA, "cluster CA `FILE` for tcp:// agents")
}

// config builds the cluster from the cluster file and --agent flags; --tls-* flags
// override the file's TLS paths.
func (g *globals) config() (cluster.Config, error) {
	var cfg cluster.Config
	if g.clusterFile != "" {
		c, err := cluster.LoadClusterFile(g.clusterFile)
		if err != nil {
			return cluster.Config{}, err
		}
		cfg = c
	}
	for _, s := range g.agents {
		a, err := cluster.ParseAgentFlag(s)
		if err != nil {
			return cluster.Config{}, usageError("%v", err)
		}
		cfg.Agents = append(cfg.Agents, a)
	}
	if g.tls.Cert != "" {
		cfg.TLS.Cert = g.tls.Cert
	}
	if g.tls.Key != "" {
		cfg.TLS.Key = g.tls.Key
	}
	if g.tls.CA != "" {
		cfg.TLS.CA = g.tls.CA
	}
	if err := cfg.Validate(); err != nil {
		return cluster.Config{}, usageError("%v", err)
	}
	return cfg, nil
}

// newFlagSet returns a subcommand's flag set with the global flags registered.
func newFlagSet(name string, g *globals, stderr io.Writer, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: hactl %s\n", usage)
		fs.PrintDefaults()
	}
	g.register(fs)
	return fs
}

// parse parses args with flags and positional arguments interleaved, as in
// `hactl failover VI_1 --node cenvm72`.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// wantArgs checks the number of positional arguments.
func wantArgs(pos []string, n int, what string) error {
	if len(pos) != n {
		return usageError("want %s, got %q", what, strings.Join(pos, " "))
	}
	return nil
}

// jsonOnlyCommand parses the flags of a subcommand that takes no argument and only
// --json (status, watch, lint), and loads the cluster config.
func jsonOnlyCommand(name string, g *globals, args []string, stderr io.Writer, jsonHelp string) (asJSON bool, cfg cluster.Config, err error) {
	fs := newFlagSet(name, g, stderr, name+" [--json]")
	j := fs.Bool("json", false, jsonHelp)
	pos, err := parse(fs, args)
	if err != nil {
		return false, cfg, err
	}
	if err := wantArgs(pos, 0, "no arguments"); err != nil {
		return false, cfg, err
	}
	cfg, err = g.config()
	return *j, cfg, err
}
