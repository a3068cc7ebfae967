package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procStat is the part of /proc/PID/stat the lab needs.
type procStat struct {
	Comm  string
	State byte
	PPID  int
	// CPU time in clock ticks: the process's own, and that of its reaped children.
	UTime, STime, CUTime, CSTime uint64
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// comm is in parentheses and may itself contain spaces or ')'.
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat: no comm", pid)
	}
	f := strings.Fields(s[end+1:])
	// f[0] is field 3 (state); utime..cstime are fields 14..17.
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f))
	}
	st := procStat{Comm: s[open+1 : end], State: f[0][0]}
	st.PPID, _ = strconv.Atoi(f[1])
	for i, dst := range []*uint64{&st.UTime, &st.STime, &st.CUTime, &st.CSTime} {
		if *dst, err = strconv.ParseUint(f[11+i], 10, 64); err != nil {
			return procStat{}, fmt.Errorf("parse /proc/%d/stat field %d: %w", pid, 14+i, err)
		}
	}
	return st, nil
}

// alive reports whether pid exists and is not a zombie. PID 1 of the lab VM does
// not reap orphans, so a daemon that exited can stay around as a zombie.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	st, err := readProcStat(pid)
	return err == nil && st.State != 'Z' && st.State != 'X'
}

// children returns the live direct children of pid.
func children(pid int) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []int
	for _, d := range dirs {
		c, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		if st, err := readProcStat(c); err == nil && st.PPID == pid && st.State != 'Z' {
			out = append(out, c)
		}
	}
	return out
}

// readPIDFile returns the pid in path, or 0 when there is none.
func readPIDFile(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}

// vmRSS returns VmRSS of pid in kB.
func vmRSS(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				return strconv.Atoi(f[0])
			}
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// CPUTicks is the CPU time pid has used, utime+stime of all its threads, in clock ticks
// (USER_HZ, 100 a second on Linux).
func CPUTicks(pid int) (uint64, error) {
	st, err := readProcStat(pid)
	if err != nil {
		return 0, err
	}
	return st.UTime + st.STime, nil
}

// VmRSS is pid's resident set size in kB.
func VmRSS(pid int) (int, error) { return vmRSS(pid) }
