// Command hagent is the VRRP agent: it reads keepalived.conf, runs every vrrp_instance,
// and serves the hactl API. This file only wires flags, signals and systemd together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/hagent-dev/hagent/agent"
	"github.com/hagent-dev/hagent/agent/api"
	"github.com/hagent-dev/hagent/agent/config"
	"github.com/hagent-dev/hagent/agent/metrics"
	"github.com/hagent-dev/hagent/agent/sanitize"
	"github.com/hagent-dev/hagent/agent/vip"
	"golang.org/x/sys/unix"
)

// version is set by the Makefile (-ldflags -X main.version=...).
var version = "dev"

const defaultAPI = "unix:///run/hagent/hagent.sock"

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type options struct {
	file        string
	test        bool
	cleanup     bool
	name        string
	apis        listFlag
	operators   listFlag
	tls         api.TLSFiles
	metricsAddr string
	logLevel    string
	showVersion bool
	rtPriority  int
	rtFromFlag  bool // --rt-priority was given: it wins over max_auto_priority
	configID    string
}

// loadOpts are the config.Load options every load of this process uses (start, -t,
// --cleanup, reload): the config id of "@ID" lines.
var loadOpts []config.Option

// lateAdvertHook is what a profiling build does with a late advert (pprof.go); nil in a
// release build.
var lateAdvertHook func(instance string, late time.Duration)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("hagent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.file, "f", "/etc/keepalived/keepalived.conf", "keepalived.conf to run")
	fs.BoolVar(&o.test, "t", false, "check the config and exit: 0 when good, else FILE:LINE: message per problem")
	fs.BoolVar(&o.cleanup, "cleanup", false, "remove every VIP of the config from this host and exit (ExecStopPost)")
	fs.StringVar(&o.name, "name", "", "node name (default: the hostname)")
	fs.Var(&o.apis, "api", "API listener, unix:///path or tcp://host:port; repeatable (default "+defaultAPI+")")
	fs.StringVar(&o.tls.Cert, "tls-cert", "", "server certificate for tcp:// listeners")
	fs.StringVar(&o.tls.Key, "tls-key", "", "server key for tcp:// listeners")
	fs.StringVar(&o.tls.CA, "tls-ca", "", "CA that signs client certificates (mutual TLS)")
	fs.Var(&o.operators, "operator", "`NAME` whose client certificate (CN or a DNS/URI SAN) may call Failover and SetMaintenance over tcp://; repeatable. Other certificates of the CA may only read; without --operator the TCP API is read-only (the unix socket always has full control)")
	fs.StringVar(&o.metricsAddr, "metrics", "", "serve Prometheus /metrics on host:port")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&o.showVersion, "version", false, "print the version and exit")
	// keepalived's -i / --config-id: "@ID" lines of the config apply when ID matches.
	fs.StringVar(&o.configID, "i", "", "config id for @ID conditional lines (default: --name, else the host name, up to its first dot)")
	fs.StringVar(&o.configID, "config-id", "", "same as -i")
	fs.IntVar(&o.rtPriority, "rt-priority", defaultRTPriority,
		"SCHED_RR priority (1-99) of the agent's threads, so that busy neighbours cannot delay adverts at a short advert_int; 0 keeps normal scheduling (default: global_defs max_auto_priority if set, else 0)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if o.rtPriority < 0 || o.rtPriority > 99 {
		return nil, fmt.Errorf("--rt-priority %d: want 0 (off) or 1-99", o.rtPriority)
	}
	fs.Visit(func(f *flag.Flag) { o.rtFromFlag = o.rtFromFlag || f.Name == "rt-priority" })
	if len(o.apis) == 0 {
		o.apis = listFlag{defaultAPI}
	}
	if o.configID == "" && o.name != "" {
		// keepalived's config id defaults to the node name; hagent's node name is --name.
		o.configID, _, _ = strings.Cut(o.name, ".")
	}
	loadOpts = []config.Option{config.ConfigID(o.configID)}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "hagent:", err)
		return 2
	}
	if o.showVersion {
		fmt.Fprintln(stdout, "hagent", version)
		return 0
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		fmt.Fprintln(stderr, "hagent: --log-level:", err)
		return 2
	}
	log := slog.New(newLogHandler(stderr, level))
	slog.SetDefault(log)

	switch {
	case o.test:
		return checkConfig(o.file, stdout, stderr)
	case o.cleanup:
		return cleanup(o.file, log, stderr)
	}
	return serve(o, log, stderr)
}

// checkConfig is `hagent -t`. It loads the config exactly as the run does, so that
// what it accepts, hagent starts: a script that does not exist on this host, or an
// instance's interface that does not exist yet, is a warning that says what the run
// does about it (the config may be checked away from the host that runs it, and
// hosts boot in any order).
func checkConfig(path string, stdout, stderr io.Writer) int {
	cfg, err := config.Load(path, loadOpts...)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	for _, ic := range cfg.Instances {
		if _, err := net.InterfaceByName(ic.Interface); err != nil {
			// The names are the file's own bytes: made valid UTF-8 like config's warnings.
			fmt.Fprintln(stderr, "warning:", sanitize.UTF8(fmt.Sprintf(
				"%s: vrrp_instance %s: interface %s does not exist on this host; the instance is FAULT until it appears",
				ic.Pos, ic.Name, ic.Interface)))
		}
	}
	for _, line := range cfg.Summary() {
		fmt.Fprintln(stdout, line)
	}
	fmt.Fprintf(stdout, "%s: OK\n", path)
	return 0
}

func cleanup(path string, log *slog.Logger, stderr io.Writer) int {
	cfg, err := config.Load(path, append(loadOpts, config.CheckFiles(false))...)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	n, err := agent.Cleanup(cfg, vip.NewBinder(nil), log)
	if err != nil {
		fmt.Fprintln(stderr, "hagent --cleanup:", err)
		return 1
	}
	log.Info("cleanup done", "removed", n)
	return 0
}

func serve(o *options, log *slog.Logger, stderr io.Writer) int {
	cfg, err := config.Load(o.file, loadOpts...)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	// One TLS store for every tcp:// listener, reloaded on SIGHUP.
	var certs *api.TLSStore
	for _, addr := range o.apis {
		if a, err := api.ParseAddr(addr); err == nil && !a.Unix && certs == nil {
			if certs, err = api.LoadTLS(o.tls); err != nil {
				fmt.Fprintf(stderr, "hagent: tcp listener %s: %v\n", addr, err)
				return 1
			}
		}
	}
	for _, addr := range o.apis {
		ln, err := api.ListenWith(addr, certs)
		if err != nil {
			closeAll()
			fmt.Fprintln(stderr, "hagent:", err)
			return 1
		}
		lns = append(lns, ln)
	}

	hub := api.NewHub(4096)
	a, err := agent.New(cfg,
		agent.WithName(o.name), agent.WithVersion(version), agent.WithConfigPath(o.file),
		agent.WithListeners(o.apis), agent.WithLogger(log), agent.WithHub(hub), agent.WithLateAdvertHook(lateAdvertHook))
	if err != nil {
		closeAll()
		fmt.Fprintln(stderr, "hagent:", err)
		return 1
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	rt := o.rtPriority
	if !o.rtFromFlag && cfg.Global.MaxAutoPriority > 0 {
		rt = cfg.Global.MaxAutoPriority
	}
	runRealtime(ctx, rt, log)
	tuneGC()
	go trimMemory(ctx, log)

	srvOpts := []api.Option{api.WithOperators(o.operators...)}
	if certs != nil {
		srvOpts = append(srvOpts, api.WithTLS(certs))
		if len(o.operators) == 0 {
			log.Info("tcp api is read-only: no --operator")
		}
	}
	srv := api.NewServer(a, hub, log, srvOpts...)
	apiDone := make(chan error, 1)
	go func() { apiDone <- srv.Serve(ctx, lns...) }()
	if o.metricsAddr != "" {
		go func() {
			if err := metrics.Serve(ctx, o.metricsAddr, srv.Status); err != nil {
				log.Error("metrics", "err", err)
			}
		}()
	}

	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() {
		for sig := range signals {
			if sig == syscall.SIGHUP {
				reload(ctx, a, o.file, log)
				reloadTLS(certs, log)
				continue
			}
			log.Info("stopping", "signal", sig.String())
			_, _ = daemon.SdNotify(false, daemon.SdNotifyStopping)
			stop()
			return
		}
	}()

	runErr := a.Run(ctx, func() {
		_, _ = daemon.SdNotify(false, daemon.SdNotifyReady)
		go watchdog(ctx, a, log)
		log.Info("hagent running", "name", a.Name(), "version", version, "config", o.file, "api", o.apis.String())
	})
	stop()
	if err := <-apiDone; err != nil {
		log.Warn("api", "err", err)
	}
	if runErr != nil {
		fmt.Fprintln(stderr, "hagent:", runErr)
		return 1
	}
	log.Info("stopped")
	return 0
}

// reload is SIGHUP: a config that does not load leaves the running one in place.
func reload(ctx context.Context, a *agent.Agent, path string, log *slog.Logger) {
	_, _ = daemon.SdNotify(false, fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", monotonicUsec()))
	defer func() { _, _ = daemon.SdNotify(false, daemon.SdNotifyReady) }()
	cfg, err := config.Load(path, loadOpts...)
	if err != nil {
		a.ReloadFailed(err)
		return
	}
	if _, err := a.Reload(ctx, cfg); err != nil {
		log.Error("reload", "err", err)
	}
}

// reloadTLS is SIGHUP for the API's certificate, key and CA: a set that does not load
// is refused and the running one kept.
func reloadTLS(certs *api.TLSStore, log *slog.Logger) {
	if certs == nil {
		return
	}
	if err := certs.Reload(); err != nil {
		log.Error("tls reload", "err", err)
		return
	}
	log.Info("tls reloaded", "subject", certs.Subject(), "not_after", certs.NotAfter().UTC().Format(time.RFC3339))
}

// watchdog feeds systemd's watchdog only while every instance loop answers: it asks
// them all every quarter of WatchdogSec, and pings when all answered within that quarter.
// A stuck loop thus stops the pings and systemd restarts the agent (SIGABRT, then
// ExecStopPost's cleanup removes the VIPs it held).
func watchdog(ctx context.Context, a *agent.Agent, log *slog.Logger) {
	every, err := daemon.SdWatchdogEnabled(false)
	if err != nil || every == 0 {
		return
	}
	t := time.NewTicker(every / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.Alive(ctx, every/4); err != nil {
				if ctx.Err() == nil {
					log.Error("watchdog not fed", "err", err)
				}
				continue
			}
			_, _ = daemon.SdNotify(false, daemon.SdNotifyWatchdog)
		}
	}
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, as systemd's RELOADING=1 wants.
func monotonicUsec() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Sec*1e6 + ts.Nsec/1e3
}
