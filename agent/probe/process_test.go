package probe

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func newProcessProbe(t *testing.T, hub *ProcHub, spec ProcessSpec) *running {
	t.Helper()
	if spec.Name == "" {
		spec.Name = "nginx"
	}
	p, err := NewProcess(hub, spec)
	if err != nil {
		t.Fatal(err)
	}
	return start(t, p)
}

// TestProcessProbeSeesStartAndKill is the point of vrrp_track_process: a
// dying nginx is seen in milliseconds.
func TestProcessProbeSeesStartAndKill(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	hub := NewProcHub(nil)
	sleep, comm := sleepCopy(t)
	r := newProcessProbe(t, hub, ProcessSpec{Process: comm})
	r.change(false, 2*time.Second) // nothing runs yet

	cmd := startProc(t, sleep, "1000")
	c := r.change(true, 2*time.Second)
	if !strings.Contains(r.lastOutput(), strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("output %q does not name pid %d", r.lastOutput(), cmd.Process.Pid)
	}
	_ = c

	killed := time.Now()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c = r.change(false, 2*time.Second)
	latency := c.At.Sub(killed)
	t.Logf("kill seen after %v (hub mode %s)", latency, hub.Mode())
	waitMode(t, hub, "connector")
	if latency > 500*time.Millisecond {
		t.Errorf("kill seen after %v, want well under a second", latency)
	}
	if !strings.Contains(c.Reason, "no "+comm+" process running") {
		t.Errorf("reason = %q", c.Reason)
	}
}

func TestProcessProbeQuorum(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	hub := NewProcHub(nil)
	sleep, comm := sleepCopy(t)
	r := newProcessProbe(t, hub, ProcessSpec{Process: comm, Quorum: 2, QuorumMax: 2})
	r.change(false, 2*time.Second)
	a := startProc(t, sleep, "1000")
	r.next(2*time.Second, "count 1", func(ev Event) bool { return strings.HasPrefix(ev.Result.Output, "1 matching") })
	startProc(t, sleep, "1000")
	r.change(true, 2*time.Second)
	c := startProc(t, sleep, "1000")
	if ch := r.change(false, 2*time.Second); !strings.Contains(ch.Reason, "quorum_max 2") {
		t.Errorf("reason = %q, want quorum_max", ch.Reason)
	}
	_ = c.Process.Kill()
	r.change(true, 2*time.Second)
	_ = a.Process.Kill()
	if ch := r.change(false, 2*time.Second); !strings.Contains(ch.Reason, "quorum 2") {
		t.Errorf("reason = %q, want quorum 2", ch.Reason)
	}
}

func TestProcessProbeParamMatch(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	hub := NewProcHub(nil)
	sleep, _ := sleepCopy(t)
	cmd := startProc(t, sleep, "1000", "1")
	for _, tc := range []struct {
		match  string
		params []string
		want   bool
	}{
		{"", []string{"1000", "1"}, true},
		{"", []string{"1000"}, false},
		{"exact", nil, false},
		{"partial", []string{"1000"}, true},
		{"partial", []string{"10"}, false},
		{"initial", []string{"1000", ""}, true},
		{"initial", []string{"10"}, true},
		{"initial", []string{"2"}, false},
	} {
		t.Run(fmt.Sprintf("%s/%q", tc.match, tc.params), func(t *testing.T) {
			t.Parallel()
			r := newProcessProbe(t, hub, ProcessSpec{Process: sleep, Params: tc.params, ParamMatch: tc.match})
			res := r.result(2 * time.Second)
			if res.OK != tc.want {
				t.Fatalf("matched=%v (%s), want %v for pid %d", res.OK, res.Output, tc.want, cmd.Process.Pid)
			}
		})
	}
}

func TestProcessProbeNetNSFilter(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	ns := netnsAdd(t)
	ino, err := NetNSInode(0)
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/run/netns/"+ns, &st); err != nil {
		t.Fatal(err)
	}
	if st.Ino == ino {
		t.Fatal("test namespace has our inode")
	}
	sleep, comm := sleepCopy(t)
	here := startProc(t, sleep, "1000")
	there := startProc(t, "ip", "netns", "exec", ns, sleep, "1000") // ip execs: same PID

	hub := NewProcHub(nil)
	for _, tc := range []struct {
		ino  uint64
		want int
	}{{st.Ino, there.Process.Pid}, {ino, here.Process.Pid}} {
		r := newProcessProbe(t, hub, ProcessSpec{Process: comm, NetNSInode: tc.ino})
		ev := r.next(2*time.Second, "exactly one match", func(ev Event) bool { return strings.HasPrefix(ev.Result.Output, "1 matching") })
		if want := fmt.Sprintf("1 matching process: %d", tc.want); ev.Result.Output != want {
			t.Errorf("netns %d: output %q, want %q", tc.ino, ev.Result.Output, want)
		}
	}
}

func TestProcessProbePIDFileFilter(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	sleep, comm := sleepCopy(t)
	startProc(t, sleep, "1000")
	mine := startProc(t, sleep, "1000")
	pidFile := filepath.Join(t.TempDir(), "nginx.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(mine.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newProcessProbe(t, NewProcHub(nil), ProcessSpec{Process: comm, PIDFile: pidFile})
	res := r.result(2 * time.Second)
	if want := fmt.Sprintf("1 matching process: %d", mine.Process.Pid); res.Output != want {
		t.Fatalf("output %q, want %q", res.Output, want)
	}
}

func TestProcessProbeDelay(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	sleep, comm := sleepCopy(t)
	first := startProc(t, sleep, "1000")
	r := newProcessProbe(t, NewProcHub(nil), ProcessSpec{Process: comm, TerminateDelay: 300 * time.Millisecond})
	if res := r.result(2 * time.Second); !res.OK {
		t.Fatalf("first result %+v", res)
	}
	// A restart within the delay is no failure.
	_ = first.Process.Kill()
	startProc(t, sleep, "1000")
	r.quiet(500*time.Millisecond, "state change", func(ev Event) bool { return ev.Change != nil })
}

func TestProcessProbePollingFallback(t *testing.T) {
	t.Parallel()
	hub := NewProcHub(nil)
	hub.forcePoll = true
	sleep, comm := sleepCopy(t)
	cmd := startProc(t, sleep, "1000")
	r := newProcessProbe(t, hub, ProcessSpec{Process: comm})
	r.next(2*time.Second, "healthy result", func(ev Event) bool { return ev.Result.OK && ev.Result.Output != "initial state" })
	waitMode(t, hub, "polling")
	killed := time.Now()
	_ = cmd.Process.Kill()
	c := r.change(false, 2*time.Second)
	if d := c.At.Sub(killed); d > 3*PollInterval {
		t.Errorf("polling saw the kill after %v", d)
	}
}

func TestParseProcEventDropsThreads(t *testing.T) {
	t.Parallel()
	msg := func(what uint32, words ...uint32) []byte {
		b := make([]byte, cnMsgLen+procEventHdr+4*len(words))
		le := func(off int, v uint32) {
			b[off], b[off+1], b[off+2], b[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		}
		le(0, cnIdxProc)
		le(4, cnValProc)
		le(cnMsgLen, what)
		for i, w := range words {
			le(cnMsgLen+procEventHdr+4*i, w)
		}
		return b
	}
	for _, tc := range []struct {
		b    []byte
		want procEvent
		ok   bool
	}{
		{msg(procEventFork, 1, 1, 42, 42), procEvent{procFork, 42}, true},
		{msg(procEventFork, 1, 1, 43, 42), procEvent{}, false},
		{msg(procEventExec, 42, 42), procEvent{procExec, 42}, true},
		{msg(procEventExit, 42, 42, 0, 9, 1, 1), procEvent{procExit, 42}, true},
		{msg(procEventExit, 43, 42, 0, 9, 1, 1), procEvent{}, false},
		{msg(procEventComm, 42, 42, 0, 0, 0, 0), procEvent{procComm, 42}, true},
		{msg(procEventExec, 42), procEvent{}, false},
	} {
		got, ok := parseProcEvent(tc.b)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parse(%x) = %+v, %v; want %+v, %v", tc.b, got, ok, tc.want, tc.ok)
		}
	}
}

func waitMode(t *testing.T, hub *ProcHub, want string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for hub.Mode() != want {
		if time.Now().After(deadline) {
			t.Fatalf("hub mode %q, want %q", hub.Mode(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
