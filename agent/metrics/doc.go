// Package metrics exports hagent's state to Prometheus. Every scrape reads a fresh
// status snapshot (the same one the API serves), so the metrics never disagree with
// `hactl status` and the agent keeps no second set of counters.
package metrics
