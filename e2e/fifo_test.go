package e2e

// Issue 11, notify FIFOs: global_defs notify_fifo and vrrp_notify_fifo, each with a
// notify_fifo_script run as nobody that appends what it reads to a log. On cenvm71 a
// sync group G (VI_1, VI_2) goes through MASTER, a priority change of VI_1
// (notify_priority_changes), BACKUP, back to MASTER, FAULT and the agent's stop; the
// lines must be keepalived 2.2.7's (vrrp_notify.c notify_fifo), on both FIFOs, and
// the FIFOs the daemon created must be gone after it stopped. keepalived 2.2.7 runs
// through the same steps as the reference.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/lab"
)

// fifoConf is host's config; @BASE@ and @BIN@ are the test's directories.
func fifoConf(host string) string {
	prio, global, tracks, npc := 90, "", "", ""
	if host == "cenvm71" {
		prio = 100
		global = `global_defs {
    notify_fifo @BASE@/global.fifo nobody
    notify_fifo_script @BIN@/fifo.sh nobody
    vrrp_notify_fifo @BASE@/vrrp.fifo nobody
    vrrp_notify_fifo_script @BIN@/fifo.sh nobody
}
vrrp_script chk_lower {
    script "/usr/bin/test ! -e @BASE@/lower"
    interval 1
    fall 1
    rise 1
    weight -20
}
vrrp_script chk_fault {
    script "/usr/bin/test ! -e @BASE@/fault"
    interval 1
    fall 1
    rise 1
}
`
		tracks = "    track_script {\n        chk_lower\n        chk_fault\n    }\n"
		npc = "    notify_priority_changes\n"
	}
	inst := func(name string, vrid int, vip, extra string) string {
		return fmt.Sprintf(`vrrp_instance %s {
    state BACKUP
    interface eth0
    virtual_router_id %d
    priority %d
    advert_int 1
    virtual_ipaddress {
        %s
    }
%s}
`, name, vrid, prio, vip, extra)
	}
	return global + inst("VI_1", 51, lab.VIP, tracks+npc) + inst("VI_2", 52, inplaceVIP2, "") + `vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    sync_group_tracking_weight
}
`
}

type fifoLab struct {
	l          *lab.Lab
	n          *faultsNet
	base, pub  string
	logs       []string // the scripts' logs, one per FIFO
	fifos      []string
	seenBefore map[string]int // per log, lines already matched by earlier steps
}

func fifoStart(t *testing.T, d lab.Daemon) *fifoLab {
	t.Helper()
	// Not t.TempDir: its parent is 0700, and nobody must reach the script and FIFOs.
	base, err := os.MkdirTemp("", "hagent-e2e-fifo-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	bin, pub := filepath.Join(base, "bin"), filepath.Join(base, "pub")
	for dir, mode := range map[string]os.FileMode{base: 0o755, bin: 0o755, pub: 0o777 | os.ModeSticky} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
	}
	// The FIFO's name is the script's last argument (keepalived's add_script_param).
	reader := "#!/bin/sh\nfifo=\"$1\"\nlog=" + pub + "/$(basename \"$fifo\").log\necho \"UID $(id -u)\" >>\"$log\"\n" +
		"while read -r line; do echo \"$line\" >>\"$log\"; done <\"$fifo\"\n"
	if err := os.WriteFile(filepath.Join(bin, "fifo.sh"), []byte(reader), 0o755); err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer("@BASE@", base, "@BIN@", bin)
	confs := map[string]string{}
	for _, h := range []string{"cenvm71", "cenvm72"} {
		p := filepath.Join(base, h+".conf")
		if err := os.WriteFile(p, []byte(r.Replace(fifoConf(h))), 0o644); err != nil {
			t.Fatal(err)
		}
		confs[h] = p
	}
	l := lab.Start(t, lab.Options{Daemon: d, Configs: confs})
	f := &fifoLab{l: l, n: faultsOpenNet(t, l), base: base, pub: pub, seenBefore: map[string]int{}}
	for _, name := range []string{"global.fifo", "vrrp.fifo"} {
		f.fifos = append(f.fifos, filepath.Join(base, name))
		f.logs = append(f.logs, filepath.Join(pub, name+".log"))
	}
	return f
}

func (f *fifoLab) lines(log string) []string {
	b, _ := os.ReadFile(log)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// expect waits until every log has, after what earlier steps matched, the wanted
// lines in this order (other lines may come between them); a want ending in a space
// matches any line it starts.
func (f *fifoLab) expect(t *testing.T, timeout time.Duration, what string, want ...string) {
	t.Helper()
	for _, log := range f.logs {
		var at int
		ok := func() bool {
			lines := f.lines(log)
			i := f.seenBefore[log]
			for _, w := range want {
				for i < len(lines) && !(lines[i] == w || strings.HasSuffix(w, " ") && strings.HasPrefix(lines[i], w)) {
					i++
				}
				if i == len(lines) {
					return false
				}
				i++
			}
			at = i
			return true
		}
		if err := lab.Poll(ok, timeout); err != nil {
			t.Fatalf("%s: %v waiting for %q in %s, which has:\n%s", what, err, want, log, strings.Join(f.lines(log), "\n"))
		}
		f.seenBefore[log] = at
	}
}

func (f *fifoLab) touch(t *testing.T, name string, on bool) {
	t.Helper()
	p := filepath.Join(f.base, name)
	if on {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

// fifoSteps runs the scenario; hagent and keepalived must pass the same checks.
func fifoSteps(t *testing.T, d lab.Daemon) {
	f := fifoStart(t, d)
	syncBothOn(t, f.n, "cenvm71", 15*time.Second, "start")
	// The script runs as nobody; the group and both members reach MASTER.
	f.expect(t, 5*time.Second, "start", "UID 65534")
	f.expect(t, 5*time.Second, "start", `GROUP "G" MASTER 0`)
	for _, log := range f.logs {
		lines := strings.Join(f.lines(log), "\n")
		for _, w := range []string{`INSTANCE "VI_1" MASTER 100`, `INSTANCE "VI_2" MASTER 100`} {
			if !strings.Contains(lines, w) {
				t.Errorf("%s lacks %q:\n%s", log, w, lines)
			}
		}
	}
	for _, p := range f.fifos {
		if st, err := os.Stat(p); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
			t.Fatalf("%s: %v, %v; want the FIFO the daemon created", p, st, err)
		}
	}

	// VI_1's priority drops to 80 (notify_priority_changes: MASTER_PRIORITY). It
	// stays MASTER: cenvm72's VI_2 still hears cenvm71, so its group cannot take
	// over (keepalived and hagent alike), which the VIPs show.
	f.touch(t, "lower", true)
	f.expect(t, syncMoveTimeout, "priority 80", `INSTANCE "VI_1" MASTER_PRIORITY 80`)
	syncStaysOn(t, f.n, "cenvm71", 2*time.Second, "VI_1 at priority 80 in group G")
	f.touch(t, "lower", false)
	f.expect(t, syncMoveTimeout, "priority 100", `INSTANCE "VI_1" MASTER_PRIORITY 100`)

	// A failing weight-0 check: FAULT, and the group with it.
	f.touch(t, "fault", true)
	syncBothOn(t, f.n, "cenvm72", syncMoveTimeout, "VI_1 FAULT")
	f.expect(t, 5*time.Second, "fault", `INSTANCE "VI_1" FAULT `)
	f.expect(t, 5*time.Second, "fault", `GROUP "G" FAULT 0`)
	if all := strings.Join(f.lines(f.logs[1]), "\n"); !strings.Contains(all, `INSTANCE "VI_2" FAULT 100`) {
		t.Errorf("after the fault, %s lacks VI_2's FAULT:\n%s", f.logs[1], all)
	}

	// Recovered: BACKUP, then MASTER again (preempt).
	f.touch(t, "fault", false)
	f.expect(t, syncMoveTimeout, "recovery", `GROUP "G" BACKUP 0`, `GROUP "G" MASTER 0`)
	syncBothOn(t, f.n, "cenvm71", syncMoveTimeout, "VI_1 recovered")

	// Stopping: the FIFOs the daemon created are removed.
	f.l.StopAgent("cenvm71")
	for _, p := range f.fifos {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s after the daemon stopped: %v; want it removed", p, err)
		}
	}
	// hagent closes its end only after the STOP lines (vrrp_notify.c
	// notify_shutdown), so the script reads them before the end of the FIFO;
	// keepalived kills its children at shutdown, and its script never sees them.
	if d == lab.Hagent {
		f.expect(t, 5*time.Second, "stop", `INSTANCE "VI_1" STOP 100`)
		f.expect(t, 5*time.Second, "stop", `GROUP "G" STOP 0`)
	}
	for _, log := range f.logs {
		t.Logf("%s:\n%s", log, strings.Join(f.lines(log), "\n"))
	}
}

func TestNotifyFIFO(t *testing.T) {
	t.Parallel()
	fifoSteps(t, lab.Hagent)
}

func TestNotifyFIFOKeepalivedReference(t *testing.T) {
	t.Parallel()
	fifoSteps(t, lab.Keepalived)
}
