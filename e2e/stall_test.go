package e2e

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/lab"
)

// stallMasterLine matches a line of either daemon saying cenvm72 became MASTER:
// keepalived 2.2.7's "(VI_1) Entering MASTER STATE", hagent's state change record.
var stallMasterLine = regexp.MustCompile(`\(VI_1\) Entering MASTER STATE|msg="state change".*to=MASTER`)

func stallMasterLines(l *lab.Lab, host string) []string {
	return stallMasterLine.FindAllString(l.AgentLog(host), -1)
}

// TestStallOfBothHosts stops both hosts' daemons together for longer than
// Master_Down_Interval, as a hypervisor stopping the vCPUs of both VMs (or of the one
// VM both run in) does, and resumes the backup 5 ms before the master: both wake with
// their timers long run out. keepalived 2.2.7's backup takes over in that instant
// (vrrp_dispatcher_read_timeout runs the expired Master_Down_Timer before the master's
// overdue advert exists) and the VIP moves away from a live master and back; hagent's
// backup, whose timer ran late, waits as long again for that advert (vrrp.Config
// StallGrace) and the VIP stays (issue 16: no stall may let the backup take over).
// A master stopped alone, the backup running on time, still fails over.
func TestStallOfBothHosts(t *testing.T) {
	t.Parallel()
	const pauses = 6
	var mu sync.Mutex
	took := map[lab.Daemon]int{}
	t.Run("daemons", func(t *testing.T) {
		for _, d := range []lab.Daemon{lab.Hagent, lab.Keepalived} {
			t.Run(string(d), func(t *testing.T) {
				t.Parallel()
				l := lab.Start(t, lab.Options{Daemon: d, Configs: map[string]string{
					"cenvm71": "testdata/stall/cenvm71.conf",
					"cenvm72": "testdata/stall/cenvm72.conf",
				}})
				onMaster := func() bool { return slices.Equal(l.VIPHolders(), []string{"cenvm71"}) }
				l.WaitFor(onMaster, 30*time.Second, "the VIP on cenvm71 alone")
				before := len(stallMasterLines(l, "cenvm72"))
				for i := range pauses {
					l.Pause("cenvm71", "cenvm72")
					// 500 ms stopped: Master_Down_Interval is 364.8 ms at priority 90.
					time.Sleep(500 * time.Millisecond)
					l.Resume("cenvm72")
					time.Sleep(5 * time.Millisecond)
					l.Resume("cenvm71")
					// Whatever the backup does, it has done it and undone it (the master
					// preempts back) well within a second.
					l.WaitFor(onMaster, 10*time.Second, "the VIP back on cenvm71 alone after stall %d", i+1)
					time.Sleep(300 * time.Millisecond)
				}
				n := len(stallMasterLines(l, "cenvm72")) - before
				t.Logf("%s: cenvm72 became MASTER %d times in %d stalls of both hosts", d, n, pauses)
				if d == lab.Hagent {
					if n != 0 {
						t.Errorf("hagent's backup took over %d times in %d stalls of both hosts; log:\n%s", n, pauses, lastLines(l.AgentLog("cenvm72"), 30))
					}
					if g := strings.Count(l.AgentLog("cenvm72"), "Master_Down_Timer handled late"); g == 0 {
						t.Errorf("hagent's backup stayed BACKUP but logged no stall grace: the stalls did not test it")
					}
					// A real failure: the master alone stopped, the backup running on
					// time, takes over as the RFC says, without a grace.
					l.Pause("cenvm71")
					l.WaitFor(func() bool { return slices.Contains(l.VIPHolders(), "cenvm72") }, 10*time.Second, "the VIP on cenvm72 with cenvm71 stopped")
					l.Resume("cenvm71")
					lines := stallMasterLines(l, "cenvm72")
					if len(lines) == before {
						t.Fatalf("cenvm72 holds the VIP but logged no MASTER transition")
					}
					if last := lastLine(l.AgentLog("cenvm72"), "to=MASTER"); strings.Contains(last, "held up") {
						t.Errorf("cenvm72 ran on time but took over after a stall grace: %s", last)
					}
					l.WaitFor(onMaster, 10*time.Second, "the VIP back on cenvm71 after it resumed")
				}
				mu.Lock()
				took[d] = n
				mu.Unlock()
			})
		}
	})
	// Both ran (a -run pattern may pick one daemon) and neither failed.
	if len(took) == 2 && !t.Failed() {
		t.Logf("takeovers in %d stalls of both hosts: hagent %d, keepalived 2.2.7 %d", pauses, took[lab.Hagent], took[lab.Keepalived])
	}
}

// lastLine is the last line of log that contains sub.
func lastLine(log, sub string) string {
	lines := strings.Split(log, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], sub) {
			return lines[i]
		}
	}
	return ""
}

// lastLines is the last n lines of log.
func lastLines(log string, n int) string {
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
