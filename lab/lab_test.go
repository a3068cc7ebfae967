package lab

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestLabUpDown proves the lab and the harness with the real thing: keepalived
// 2.2.7 on both hosts with the seed's configs behaves as in the seed article.
func TestLabUpDown(t *testing.T) {
	t.Parallel()
	// lab.sh installs keepalived (and nginx) with apt-get if they are missing.
	l := Start(t, Options{Daemon: Keepalived})

	for _, h := range l.Hosts {
		if out, err := l.Exec(h, "hostname"); err != nil || strings.TrimSpace(out) != h {
			t.Errorf("hostname in %s = %q, %v", h, out, err)
		}
	}
	// keepalived 2.2.7 waits for the first script result, then a master-down
	// interval in BACKUP (~3.9 s) before 71 takes the VIP.
	l.WaitFor(func() bool { return l.Serves("cenvm71") }, 10*time.Second, "cenvm71 to hold the VIP and serve the client")

	p := l.StartProber()
	if _, err := p.WaitServed("cenvm71", time.Now(), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	ev := l.StopAgent("cenvm71")
	l.WaitFor(func() bool { return l.Serves("cenvm72") }, 5*time.Second, "cenvm72 to serve after keepalived on cenvm71 stopped")
	if _, err := p.WaitServed("cenvm72", ev, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	g, err := p.GapAround(ev, "cenvm71", "cenvm72")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("graceful stop of keepalived on cenvm71: %v", g)
	// The backup takes over after Skew_Time = (256-90)/256 s = 648 ms; the
	// baseline measured 659-670 ms. Allow for a loaded machine.
	if g.Gap < 500*time.Millisecond || g.Gap > 2*time.Second {
		t.Errorf("client-visible gap %v, want about 660 ms", g.Gap)
	}
	if g.Failed == 0 {
		t.Error("no failed request during a 0.6 s outage: the prober does not see the outage")
	}

	// Everything the lab started, to check that down stops it.
	var pids []int
	for _, h := range l.Hosts {
		pids = append(pids, l.NginxPIDs(h)...)
		if pid := l.AgentPID(h); pid != 0 {
			pids = append(pids, append([]int{pid}, children(pid)...)...)
		}
	}
	if len(pids) < 5 { // 2×nginx master+worker, keepalived on 72 (+ VRRP child)
		t.Fatalf("lab processes before down: %v, want at least 5", pids)
	}
	p.Stop()
	if err := l.Down(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, l, pids)
}

// TestLabDownAfterFailedUp: down removes a lab whose up failed half way.
func TestLabDownAfterFailedUp(t *testing.T) {
	t.Parallel()
	l := New(t, Options{Daemon: NoDaemon, Env: []string{"LAB_FAIL_AT=nginx"}})
	err := l.Up()
	if err == nil {
		t.Fatal("up with LAB_FAIL_AT=nginx succeeded")
	}
	if !strings.Contains(err.Error(), "LAB_FAIL_AT=nginx") {
		t.Fatalf("up failed for another reason: %v", err)
	}
	var pids []int
	for _, h := range l.Hosts {
		pids = append(pids, l.NginxPIDs(h)...)
	}
	if len(pids) != 4 {
		t.Fatalf("nginx pids after the failed up: %v, want master+worker on 2 hosts", pids)
	}
	if err := l.Down(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, l, pids)
	if err := l.Down(); err != nil {
		t.Errorf("second down: %v", err)
	}
}

func assertGone(t *testing.T, l *Lab, pids []int) {
	t.Helper()
	for _, p := range pids {
		if alive(p) {
			t.Errorf("pid %d is still alive after down", p)
		}
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, l.Prefix) {
			t.Errorf("namespace left after down: %s", line)
		}
	}
	if _, err := os.Stat(l.State); !os.IsNotExist(err) {
		t.Errorf("state dir %s left after down (%v)", l.State, err)
	}
}

// TestLabEth1: with Options.Eth1 each host's second interface reaches the client
// over its own bridge, and `lab.sh link HOST down eth1` cuts that path only.
func TestLabEth1(t *testing.T) {
	t.Parallel()
	l := Start(t, Options{Daemon: NoDaemon, Eth1: true})
	get := func(addr string) (string, error) {
		return l.Exec("client", "curl", "-s", "-m", "1", "http://"+addr+"/")
	}
	for _, h := range l.Hosts {
		addr := "192.168.190." + hostNum(h)
		if body, err := get(addr); err != nil || body != h {
			t.Fatalf("GET %s (%s's eth1) from the client = %q, %v; want %q", addr, h, body, err, h)
		}
	}
	l.must("link", master, "down", "eth1")
	if body, err := get("192.168.190.71"); err == nil {
		t.Fatalf("cenvm71's eth1 is down, yet GET 192.168.190.71 = %q", body)
	}
	if body, err := get("192.168.188.71"); err != nil || body != master {
		t.Fatalf("eth1 down took eth0 with it: GET 192.168.188.71 = %q, %v", body, err)
	}
}
