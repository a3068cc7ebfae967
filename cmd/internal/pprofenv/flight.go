//go:build pprof

package pprofenv

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/trace"
	"strings"
	"sync/atomic"
	"time"
)

// flightAfter is how long after a late advert the trace is written: the window then
// holds the stall, what led to it and how the agent came out of it.
const flightAfter = 500 * time.Millisecond

// FlightRecorder keeps the runtime's execution trace of the last seconds in memory when
// $env names a directory, and returns a hook (agent.WithLateAdvertHook) that writes it
// there, as late-<time>-<late>.trace, after an advert at least $env_LATE late (default
// 20ms), one at a time (nil when $env is unset). For hunting a master's stalls (issue
// 16): go tool trace shows whether the agent's goroutines waited for a P, a lock or a
// syscall, or the whole process for the kernel.
func FlightRecorder(env string) func(instance string, late time.Duration) {
	dir := os.Getenv(env)
	if dir == "" {
		return nil
	}
	minLate := 20 * time.Millisecond
	if s := os.Getenv(env + "_LATE"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			slog.Error("flight recorder: bad minimum lateness", "env", env+"_LATE", "value", s, "err", err)
			return nil
		}
		minLate = d
	}
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: 5 * time.Second, MaxBytes: 64 << 20})
	if err := fr.Start(); err != nil {
		slog.Error("flight recorder", "err", err)
		return nil
	}
	slog.Info("flight recorder on", "dir", dir, "min_late", minLate)
	var writing atomic.Bool
	return func(instance string, late time.Duration) {
		if late < minLate || !writing.CompareAndSwap(false, true) {
			return
		}
		at := time.Now()
		go func() {
			defer writing.Store(false)
			time.Sleep(flightAfter)
			name := filepath.Join(dir, fmt.Sprintf("late-%s-%s-%s.trace", at.Format("150405.000000"), strings.ReplaceAll(instance, "/", "_"), late.Round(time.Microsecond)))
			f, err := os.Create(name)
			if err != nil {
				slog.Error("flight recorder", "err", err)
				return
			}
			defer f.Close()
			if _, err := fr.WriteTo(f); err != nil {
				slog.Error("flight recorder", "file", name, "err", err)
				return
			}
			slog.Info("flight recorder: trace written", "file", name, "instance", instance, "late", late)
		}()
	}
}
