package main

import (
	"context"
	"runtime/debug"
	"time"
)

// trimEvery is how often freed heap goes back to the kernel.
const trimEvery = 30 * time.Second

// trimMemory returns freed heap to the kernel every trimEvery until ctx ends. The Go
// runtime gives memory back only gradually after a burst (a failover binding VIPs, a
// check script's output, many API clients), so a long-lived agent would otherwise keep
// its peak resident; one forced collection of a few-megabyte heap costs about a
// millisecond. Like malloc_trim in a C daemon.
func trimMemory(ctx context.Context) {
	t := time.NewTicker(trimEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			debug.FreeOSMemory()
		}
	}
}
