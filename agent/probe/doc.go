// Package probe implements hagent's health checks: keepalived's vrrp_script
// (fork/exec with fall/rise), vrrp_track_process (event-driven through the
// kernel's process events connector), an in-process HTTP check
// (vrrp_http_check, our extension) and track_interface (netlink link state).
//
// Every probe runs in its own goroutine, started by Probe.Run, and reports on
// one channel of Event values:
//
//   - Event.Result is always set: one observation (a check run, a change in
//     the set of matching processes, a link update) or one restart attempt
//     (Kind == KindRestart, which never changes the probe's state).
//   - Event.Change is non-nil when that observation moved the probe between
//     healthy and FAILED under keepalived's fall/rise rules. The first event
//     of every Run carries a Change with the initial state (Reason
//     "initial state"), so the consumer never has to guess it.
//
// A probe never blocks on its output channel beyond the lifetime of the
// context passed to Run; when the context ends, Run returns after releasing
// every goroutine, process and file descriptor it started.
//
// History (the last HistorySize results, with timings) is kept by the probe
// itself and may be read from any goroutine with Probe.History.
//
// Restart (Spec.Restart on every kind) replaces the seed's "systemctl start
// nginx; if still down stop keepalived": when the probe goes FAILED the
// command is run up to Attempts times, Backoff apart, re-checking after each.
// The probe stays FAILED until it recovers by itself under its rise rule, so
// failover is never delayed by a restart.
package probe
