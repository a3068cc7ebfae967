package probe

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"testing"
	"time"
)

func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// settle waits (bounded) for goroutines and fds to come back to a baseline.
func settle(t *testing.T, goroutines, fds int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		g, f := runtime.NumGoroutine(), openFDs(t)
		if g <= goroutines && f <= fds {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("leak: %d goroutines (baseline %d), %d fds (baseline %d)\n%s", g, goroutines, f, fds, buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNoLeakOverStartCancel starts and cancels every kind of probe many
// times, mid-check included, and requires goroutines and file descriptors
// to return to where they were. Not parallel: it counts the whole process.
func TestNoLeakOverStartCancel(t *testing.T) {
	requireRoot(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ok") }))
	defer srv.Close()
	ns := netnsAdd(t)
	run(t, "ip", "-n", ns, "link", "add", "l0", "type", "veth", "peer", "name", "l1")
	sleep, comm := sleepCopy(t)
	startProc(t, sleep, "1000")
	hang := writeScript(t, "hang.sh", "#!/bin/sh\nsleep 100 &\nwait\n")
	hub := NewProcHub(nil)

	newProbes := func() []Probe {
		var ps []Probe
		add := func(p Probe, err error) {
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
		}
		add(NewScript(ScriptSpec{Name: "s", Script: "/bin/true", Interval: 100 * time.Millisecond}))
		add(NewScript(ScriptSpec{Name: "hang", Script: hang, Interval: time.Second}))
		add(NewHTTP(HTTPSpec{Name: "h", URL: srv.URL, Interval: 100 * time.Millisecond}))
		add(NewProcess(hub, ProcessSpec{Name: "p", Process: comm}))
		add(NewProcess(hub, ProcessSpec{Name: "q", Process: comm + "-none", Restart: Restart{Command: hang, Timeout: time.Minute}}))
		add(NewInterface(InterfaceSpec{Name: "i", Ifname: "l0", NetNSPath: "/run/netns/" + ns}))
		return ps
	}
	cycle := func() {
		ctx, cancel := context.WithCancel(context.Background())
		out := make(chan Event) // unbuffered and read only once: probes must not block past ctx
		done := make(chan struct{})
		ps := newProbes()
		for _, p := range ps {
			go func() {
				defer func() { done <- struct{}{} }()
				p.Run(ctx, out)
			}()
		}
		<-out
		time.Sleep(30 * time.Millisecond) // let checks and restarts be in flight
		cancel()
		for range ps {
			select {
			case <-done:
			case <-time.After(3 * time.Second):
				t.Fatal("a probe's Run did not return after cancel")
			}
		}
	}
	cycle() // warm up: lazily created runtime and library goroutines
	settle(t, 1<<20, 1<<20)
	time.Sleep(100 * time.Millisecond)
	baseG, baseF := runtime.NumGoroutine(), openFDs(t)
	for range 15 {
		cycle()
	}
	settle(t, baseG, baseF)
	if hub.Mode() != "" {
		t.Errorf("hub still %q with no subscriber", hub.Mode())
	}
}
