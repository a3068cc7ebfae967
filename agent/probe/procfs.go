package probe

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// taskCommLen is the kernel's TASK_COMM_LEN - 1: /proc/PID/comm holds at
// most this many bytes, so a longer process name is compared by its prefix,
// as keepalived does.
const taskCommLen = 15

// procMatcher decides whether a PID is one of the processes a
// vrrp_track_process counts.
type procMatcher struct {
	name       string
	full       bool
	params     []string
	paramMatch string
	netnsIno   uint64
	pidFile    string
	match      func(pid int) bool
}

// procStat is what we use of /proc/PID/stat.
type procStat struct {
	comm  string
	state byte
	ppid  int
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	// "pid (comm) S ppid ..."; comm may itself contain ") ".
	open, close := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || close < open || len(b) < close+4 {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	st := procStat{comm: string(b[open+1 : close]), state: b[close+2]}
	rest := strings.Fields(string(b[close+4:]))
	if len(rest) > 0 {
		st.ppid, _ = strconv.Atoi(rest[0])
	}
	return st, nil
}

func readCmdline(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSuffix(b, []byte{0})
	if len(b) == 0 {
		return nil, nil // a kernel thread, or a process that is exiting
	}
	return strings.Split(string(b), "\x00"), nil
}

// NetNSInode returns the inode of the network namespace of pid (0: this
// process), the value ProcessSpec.NetNSInode compares against.
func NetNSInode(pid int) (uint64, error) {
	path := "/proc/self/ns/net"
	if pid > 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/ns/net"
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("stat %s: %w", path, err)
	}
	return st.Ino, nil
}

func readPIDFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: no PID in %q", path, b)
	}
	return pid, nil
}

// matches reports whether pid is a live process that fits every filter.
func (m *procMatcher) matches(pid int) bool {
	st, err := readProcStat(pid)
	if err != nil || st.state == 'Z' || st.state == 'X' {
		return false // gone, or dead and waiting to be reaped
	}
	if !m.full {
		if st.comm != truncateComm(m.name) {
			return false
		}
	} else {
		argv, err := readCmdline(pid)
		if err != nil || len(argv) == 0 || argv[0] != m.name {
			return false
		}
		if !m.paramsMatch(argv[1:]) {
			return false
		}
	}
	if m.netnsIno != 0 {
		ino, err := NetNSInode(pid)
		if err != nil || ino != m.netnsIno {
			return false
		}
	}
	if m.pidFile != "" {
		want, err := readPIDFile(m.pidFile)
		if err != nil || (pid != want && st.ppid != want) {
			return false
		}
	}
	if m.match != nil && !m.match(pid) {
		return false
	}
	return true
}

func truncateComm(name string) string {
	if len(name) > taskCommLen {
		return name[:taskCommLen]
	}
	return name
}

// paramsMatch applies keepalived 2.2.7's check_params (vrrp_track.c) to the
// process's arguments (argv[1:]).
//
// The code, which we follow, differs from the names' documentation: with
// "initial" the configured parameters must begin the process's, and the last
// configured one may be just the beginning of the process's parameter; with
// "partial" the configured parameters must be the process's first complete
// parameters. With neither, they must be equal.
func (m *procMatcher) paramsMatch(args []string) bool {
	switch m.paramMatch {
	case "", "exact":
		if len(m.params) == 0 && m.paramMatch == "" {
			return true // full_command without parameters: any
		}
		return slices.Equal(args, m.params)
	case "partial":
		return len(args) >= len(m.params) && slices.Equal(args[:len(m.params)], m.params)
	case "initial":
		n := len(m.params)
		if n == 0 {
			return true
		}
		if len(args) < n || !slices.Equal(args[:n-1], m.params[:n-1]) {
			return false
		}
		return strings.HasPrefix(args[n-1], m.params[n-1])
	}
	return false
}

// scan returns every matching PID in /proc.
func (m *procMatcher) scan() (map[int]struct{}, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("read /proc: %w", err)
	}
	pids := map[int]struct{}{}
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if m.matches(pid) {
			pids[pid] = struct{}{}
		}
	}
	return pids, nil
}

var errNoProcessName = errors.New("empty process name")
