package lab

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// procMem is a process's memory in kB: VmRSS and its split from /proc/PID/status
// (RssAnon: heap, stacks; RssFile: mapped files such as the binary's text;
// RssShmem), and PSS from /proc/PID/smaps_rollup (shared pages divided among the
// processes that map them).
type procMem struct {
	RSS, Anon, File, Shmem, PSS int
}

func (m procMem) add(o procMem) procMem {
	return procMem{m.RSS + o.RSS, m.Anon + o.Anon, m.File + o.File, m.Shmem + o.Shmem, m.PSS + o.PSS}
}

// readProcMem reads pid's procMem. A process without smaps_rollup (kernel < 4.14)
// gets PSS 0.
func readProcMem(pid int) (procMem, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procMem{}, err
	}
	kb, err := parseKBFields(string(b), "VmRSS", "RssAnon", "RssFile", "RssShmem")
	if err != nil {
		return procMem{}, fmt.Errorf("/proc/%d/status: %w", pid, err)
	}
	m := procMem{RSS: kb[0], Anon: kb[1], File: kb[2], Shmem: kb[3]}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid)); err == nil {
		if kb, err := parseKBFields(string(b), "Pss"); err == nil {
			m.PSS = kb[0]
		}
	}
	return m, nil
}

// parseKBFields returns the values of the "Key:   123 kB" lines named by keys, in
// order, from a /proc status or smaps_rollup text; every key must be present.
func parseKBFields(text string, keys ...string) ([]int, error) {
	out := make([]int, len(keys))
	found := make([]bool, len(keys))
	for line := range strings.SplitSeq(text, "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		for i, k := range keys {
			if name != k || found[i] {
				continue
			}
			f := strings.Fields(rest)
			if len(f) == 0 || (len(f) > 1 && f[1] != "kB") {
				return nil, fmt.Errorf("%s: unexpected value %q", k, strings.TrimSpace(rest))
			}
			n, err := strconv.Atoi(f[0])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[i], found[i] = n, true
		}
	}
	for i, k := range keys {
		if !found[i] {
			return nil, fmt.Errorf("no %s line", k)
		}
	}
	return out, nil
}

// readOnCPU is the time pid's threads have run, summed over /proc/PID/task/*/schedstat
// (the first field, nanoseconds): exact where /proc/PID/stat's utime+stime counts whole
// 10 ms clock ticks, which at a few milliseconds a minute is mostly sampling noise. The
// threads alive at the reading count (a daemon's threads live as long as it does).
func readOnCPU(pid int) (time.Duration, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue // the thread ended meanwhile
		}
		f := strings.Fields(string(b))
		if len(f) < 1 {
			return 0, fmt.Errorf("/proc/%d/task/%s/schedstat: empty", pid, t.Name())
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/task/%s/schedstat: %w", pid, t.Name(), err)
		}
		sum += time.Duration(ns)
	}
	return sum, nil
}
