package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// gcPercent is the agent's GOGC unless the environment sets one: the heap may grow
// half its live size between collections instead of all of it. The agent's live heap
// is a few megabytes and it allocates little per advert, so collecting more often
// costs little CPU, and the resident memory stays near what is live.
const gcPercent = 50

// tuneGC applies gcPercent unless GOGC is set.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// trimEvery is how often freed heap goes back to the kernel, and the executable's
// pages to the page cache; trimFirst is the first time, once the instances started.
const (
	trimEvery = 30 * time.Second
	trimFirst = 5 * time.Second
)

// trimMemory returns freed heap to the kernel every trimEvery until ctx ends. The Go
// runtime gives memory back only gradually after a burst (a failover binding VIPs, a
// check script's output, many API clients), so a long-lived agent would otherwise keep
// its peak resident; one forced collection of a few-megabyte heap costs about a
// millisecond. Like malloc_trim in a C daemon. It also trims the executable's resident
// pages (trimText).
//
// The forced collection runs only when there is heap to give back (trimHeapMin): in a
// quiet steady state it was a good part of what an idle one-instance agent cost
// (runtime.GC sweeps span by span, yielding between them).
func trimMemory(ctx context.Context, log *slog.Logger) {
	t := time.NewTimer(trimFirst)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if heapFree() >= trimHeapMin {
				debug.FreeOSMemory()
			}
			if _, err := trimText(); err != nil {
				log.Debug("trim resident code", "err", err)
			}
			t.Reset(trimEvery)
		}
	}
}

// trimHeapMin is how much heap, freed and not yet returned to the kernel, makes a
// forced collection worth it.
const trimHeapMin = 1 << 20

// heapFree is the heap the runtime has free and not yet returned to the kernel.
func heapFree() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return trimHeapMin // unknown: collect as before
	}
	return s[0].Value.Uint64()
}

// trimText unmaps the resident pages of the executable's read-only mappings (code and
// read-only data) from this process. They stay in the page cache, shared and clean;
// what the agent runs afterwards faults back in. Without it the whole 16 MB binary
// stays resident: the kernel maps 64 kB around every page fault ("fault-around") from
// a file that is entirely in the page cache, so starting once touches nearly all of it,
// although the steady state runs a few hundred kilobytes of code. Writable mappings
// are never touched (their pages may hold data).
func trimText() (int, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, fmt.Errorf("trim text: %w", err)
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, fmt.Errorf("trim text: %w", err)
	}
	defer f.Close()
	trimmed := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00400000-00b44000 r-xp 00000000 fe:00 9978692    /usr/sbin/hagent
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || len(fields[1]) < 2 || fields[1][1] != '-' {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), unix.MADV_DONTNEED); errno != 0 {
			return trimmed, fmt.Errorf("trim text: madvise %s: %w", fields[0], errno)
		}
		trimmed += int(end - start)
	}
	return trimmed, sc.Err()
}
