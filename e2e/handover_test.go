package e2e

// Issue 10, "Decisions that change who is master", in the lab: a preemption is one
// failover, not three; and a handover leaves no client pinned to the old master's MAC.

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
	"github.com/hagent-dev/hagent/lab"
)

// handoverMasterLines returns the lines of host's agent log where its instance became
// MASTER.
func handoverMasterLines(l *lab.Lab, host string) []string {
	var out []string
	for _, line := range strings.Split(l.AgentLog(host), "\n") {
		if strings.Contains(line, "state change") && strings.Contains(line, "to=MASTER") {
			out = append(out, line)
		}
	}
	return out
}

// Three nodes: A (100) is master, B (90) a nopreempt or preempt_delay backup, then C
// (110) starts and preempts A. A steps down without a priority-0 advert (RFC 5798 6.4.3,
// keepalived's vrrp_state_master_rx), so B never starts a Skew_Time and is never pulled
// into a third failover: B's only transition is INIT -> BACKUP, A's are BACKUP ->
// MASTER -> BACKUP, C's BACKUP -> MASTER. The transitions are counted from each agent's
// status and log.
func TestHandoverPreemptionIsNotAThirdFailover(t *testing.T) {
	t.Parallel()
	for _, b := range []string{"b-90-nopreempt.conf", "b-90-preempt-delay.conf"} {
		t.Run(strings.TrimSuffix(b, ".conf"), func(t *testing.T) {
			t.Parallel()
			hosts := []string{"cenvm71", "cenvm72", "cenvm73"}
			l := lab.Start(t, lab.Options{
				Hosts: hosts,
				Configs: map[string]string{
					"cenvm71": "testdata/handover/a-100.conf",
					"cenvm72": "testdata/handover/" + b,
					"cenvm73": "testdata/handover/c-110.conf",
				},
				Deferred: []string{"cenvm73"},
			})
			stressWaitRoles(t, l, hosts[:2], "VI_1", "cenvm71")
			before := stressInstance(t, l, "cenvm72", "VI_1").GetTransitions()

			l.StartAgent("cenvm73")
			stressWaitRoles(t, l, hosts, "VI_1", "cenvm73")
			l.WaitFor(func() bool { return l.Serves("cenvm73") }, 10*time.Second, "the VIP on cenvm73 alone and the client served by it")
			// Nothing to await: B must stay BACKUP through C's first adverts, A's
			// handover and, for preempt_delay, beyond its delay (2 s).
			time.Sleep(3 * time.Second)
			stressWaitRoles(t, l, hosts, "VI_1", "cenvm73")

			for host, want := range map[string]int{"cenvm71": 1, "cenvm72": 0, "cenvm73": 1} {
				if got := handoverMasterLines(l, host); len(got) != want {
					t.Errorf("%s became MASTER %d times, want %d:\n%s", host, len(got), want, strings.Join(got, "\n"))
				}
			}
			if after := stressInstance(t, l, "cenvm72", "VI_1").GetTransitions(); after != before {
				t.Errorf("B (cenvm72) made %d transitions while C preempted A, want none", after-before)
			}
			if got := stressInstance(t, l, "cenvm71", "VI_1").GetTransitions(); got != 3 {
				t.Errorf("A (cenvm71) made %d transitions, want 3 (INIT->BACKUP->MASTER->BACKUP)", got)
			}
		})
	}
}

// handoverMAC is host's (or the client's) eth0 hardware address.
func handoverMAC(t *testing.T, l *lab.Lab, host string) string {
	t.Helper()
	out, err := exec.Command("ip", "-n", l.NetNS(host), "-j", "link", "show", "eth0").Output()
	if err != nil {
		t.Fatalf("ip link in %s: %v", host, err)
	}
	var links []struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		t.Fatalf("ip link in %s: %v %s", host, err, out)
	}
	return links[0].Address
}

// handoverClientNeigh is the client's neighbour entry for the VIP: its MAC and state.
func handoverClientNeigh(l *lab.Lab) (mac, state string, err error) {
	out, err := exec.Command("ip", "-n", l.NetNS("client"), "-j", "neigh", "show", lab.VIP, "dev", "eth0").Output()
	if err != nil {
		return "", "", fmt.Errorf("ip neigh in the client: %w", err)
	}
	var n []struct {
		Lladdr string   `json:"lladdr"`
		State  []string `json:"state"`
	}
	if err := json.Unmarshal(out, &n); err != nil {
		return "", "", fmt.Errorf("ip neigh in the client: %w: %s", err, out)
	}
	if len(n) == 0 {
		return "", "", nil
	}
	return n[0].Lladdr, strings.Join(n[0].State, ","), nil
}

// Make before break without pinning: after a graceful stop of the master (priority 0,
// the VIP kept until the successor claims it) and after the old master's return (it
// preempts; the loser keeps the VIP until the winner's gratuitous ARP), the client's
// neighbour entry for the VIP points at the new master's MAC, the old master no longer
// holds the VIP, and every request from then on is served by the new master.
func TestHandoverClientFollowsTheNewMasterMAC(t *testing.T) {
	t.Parallel()
	l := lab.Start(t, lab.Options{Configs: map[string]string{
		"cenvm71": "testdata/faults/vrrp-cenvm71.conf",
		"cenvm72": "testdata/faults/vrrp-cenvm72.conf",
	}})
	hosts := []string{"cenvm71", "cenvm72"}
	stressWaitRoles(t, l, hosts, "VI_1", "cenvm71")
	l.WaitFor(func() bool { return l.Serves("cenvm71") }, 10*time.Second, "the client served by cenvm71")
	p := l.StartProber()
	if _, err := p.WaitServed("cenvm71", time.Now(), 5*time.Second); err != nil {
		t.Fatal(err)
	}

	for _, step := range []struct {
		what     string
		do       func() time.Time
		from, to string
	}{
		{"graceful stop of cenvm71", func() time.Time { return l.StopAgent("cenvm71") }, "cenvm71", "cenvm72"},
		{"cenvm71 back, preempting", func() time.Time { return l.StartAgent("cenvm71") }, "cenvm72", "cenvm71"},
	} {
		ev := step.do()
		first, err := p.WaitServed(step.to, ev, 15*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", step.what, err)
		}
		want := handoverMAC(t, l, step.to)
		var mac, state string
		l.WaitFor(func() bool {
			mac, state, err = handoverClientNeigh(l)
			return err == nil && mac == want && !slices.Contains(l.VIPHolders(), step.from)
		}, 5*time.Second, "%s: the client's neighbour entry for the VIP on %s's MAC %s and the VIP off %s", step.what, step.to, want, step.from)
		// The old master let go when it saw the new master's gratuitous ARP on the wire,
		// not on its fallback timer (vrrp.HandoverLinger).
		if !strings.Contains(l.AgentLog(step.from), "successor announced a VIP; releasing") {
			t.Errorf("%s: %s did not release the VIP on the successor's gratuitous ARP", step.what, step.from)
		}
		settled := time.Now()
		// Requests keep succeeding, all served by the new master (none pinned to the old
		// MAC, where the VIP is gone): one second of the 10 ms prober.
		time.Sleep(time.Second)
		var n int
		for _, s := range p.Samples() {
			if s.Start.Before(settled) {
				continue
			}
			n++
			if !s.OK || s.Body != step.to {
				t.Errorf("%s: request at %s after the handover: ok=%v body=%q err=%q", step.what, s.Start.Format("15:04:05.000"), s.OK, s.Body, s.Err)
			}
		}
		if n == 0 {
			t.Fatalf("%s: no request after the handover", step.what)
		}
		if mac2, _, err := handoverClientNeigh(l); err != nil || mac2 != want {
			t.Errorf("%s: the client's neighbour entry moved to %s (%v), want %s", step.what, mac2, err, want)
		}
		g, _ := p.GapAround(ev, step.from, step.to)
		t.Logf("%s: client on %s (%s), first served by %s %v after the event; %s", step.what, mac, state, step.to,
			first.End.Sub(ev).Round(time.Millisecond), g)
		if step.to == "cenvm72" {
			stressWaitRoles(t, l, []string{"cenvm72"}, "VI_1", "cenvm72")
		} else {
			stressWaitRoles(t, l, hosts, "VI_1", "cenvm71")
		}
	}
}

// A node that boots with nginx down does not preempt and then fail back: cenvm71 (100,
// an HTTP check of nginx at weight -20, fall 3) starts while cenvm72 (90) is master and
// its own nginx is dead. Its check counts from the first result (which decides, as
// keepalived's first script run), and until then it may not preempt; so it comes up at
// 80 and stays BACKUP. With nginx back it preempts, so the check was not blind.
func TestHandoverBootWithNginxDownDoesNotPreempt(t *testing.T) {
	t.Parallel()
	l := lab.Start(t, lab.Options{
		Configs: map[string]string{
			"cenvm71": "testdata/handover/http-weight-71.conf",
			"cenvm72": "testdata/faults/vrrp-cenvm72.conf",
		},
		Deferred: []string{"cenvm71"},
	})
	stressWaitRoles(t, l, []string{"cenvm72"}, "VI_1", "cenvm72")
	l.KillNginx("cenvm71")
	before := stressInstance(t, l, "cenvm72", "VI_1").GetTransitions()

	l.StartAgent("cenvm71")
	l.WaitFor(func() bool {
		in, err := l.Instance("cenvm71", "VI_1")
		return err == nil && in.GetEffectivePriority() == 80 && in.GetState() == hactlv1.State_STATE_BACKUP
	}, 10*time.Second, "cenvm71 BACKUP at effective priority 80")
	// Nothing to await: past fall x interval (3 s), when a check that started healthy
	// would only now have seen nginx dead.
	time.Sleep(4 * time.Second)
	if got := handoverMasterLines(l, "cenvm71"); len(got) != 0 {
		t.Fatalf("cenvm71 became MASTER with nginx down:\n%s", strings.Join(got, "\n"))
	}
	if after := stressInstance(t, l, "cenvm72", "VI_1").GetTransitions(); after != before {
		t.Fatalf("cenvm72 made %d transitions while cenvm71 booted with nginx down", after-before)
	}

	l.StartNginx("cenvm71")
	stressWaitRoles(t, l, []string{"cenvm71", "cenvm72"}, "VI_1", "cenvm71")
}
