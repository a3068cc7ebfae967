package e2e

// Issue 11 in the lab, with real processes: one keepalived.conf serves both hosts
// (@host lines, $PARAMETERS, ~SEQ); scripts run as keepalived runs them (a check
// as `user nobody`, a notify script without "#!" through /bin/sh, a notify script
// run as nobody, a root-run check in a world-writable directory disabled by
// enable_script_security); and a check printing invalid UTF-8 and a 5 KB
// multibyte message never blinds the API.

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hagent-dev/hagent/cluster"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
	"github.com/hagent-dev/hagent/lab"
)

// scriptsConf is shared by cenvm71 and cenvm72 unchanged. @BIN@ holds root's
// scripts (a root-only path), @WW@ is writable by everyone (no sticky bit), @PUB@
// is where scripts of any user write (sticky, like /tmp).
const scriptsConf = `$VIP=192.168.188.109
@cenvm71 $PRIO=100
@^cenvm71 $PRIO=90
global_defs {
    router_id LVS_DEVEL
    enable_script_security
    script_user root
}
vrrp_script chk_nobody {
    script "/usr/bin/id -u"
    user nobody
    interval 1
    weight 2
}
vrrp_script chk_insecure {
    script @WW@/fail.sh
    interval 1
    weight 0
}
vrrp_script chk_utf8 {
    script @BIN@/utf8.sh
    interval 1
    weight 2
}
vrrp_instance VI_1 {
    @cenvm71 state MASTER
    @^cenvm71 state BACKUP
    interface eth0
    virtual_router_id 51
    priority $PRIO
    advert_int 1
    virtual_ipaddress {
        $VIP
        ~SEQ(N, 1, 2) 192.168.188.20${N}
    }
    track_script {
        chk_nobody
        chk_insecure
        chk_utf8
    }
    notify_master "@BIN@/notify-nosb.sh master"
    notify @BIN@/notify.sh nobody
}
`

// scriptsLab writes the scripts and the shared config; it returns the config's
// path and the directory scripts report to.
func scriptsLab(t *testing.T) (conf, pub string) {
	t.Helper()
	// Not t.TempDir: its parent is 0700, and nobody must reach the scripts.
	base, err := os.MkdirTemp("", "hagent-e2e-scripts-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	bin, ww := filepath.Join(base, "bin"), filepath.Join(base, "ww")
	pub = filepath.Join(base, "pub")
	for dir, mode := range map[string]os.FileMode{base: 0o755, bin: 0o755, ww: 0o777, pub: 0o777 | os.ModeSticky} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		filepath.Join(ww, "fail.sh"): "#!/bin/sh\necho should never run >> " + pub + "/insecure.log\nexit 1\n",
		// A GBK "错误" (not UTF-8), then 1700 × "错" (5100 bytes of UTF-8): more than
		// the 4096 bytes kept, so the cut falls inside a character.
		filepath.Join(bin, "utf8.sh"): "#!/bin/sh\nprintf 'GBK \\264\\355\\316\\363 '\nhead -c 1700 /dev/zero | tr '\\000' x | sed 's/x/错/g'\nexit 0\n",
		// No "#!": keepalived (and hagent) run it with /bin/sh.
		filepath.Join(bin, "notify-nosb.sh"): "echo \"$(id -u) $*\" >> " + pub + "/notify.log\n",
		filepath.Join(bin, "notify.sh"):      "#!/bin/sh\necho \"$(id -u) $*\" >> " + pub + "/notify.log\n",
	}
	for path, body := range files {
		if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r := strings.NewReplacer("@BIN@", bin, "@WW@", ww, "@PUB@", pub)
	conf = filepath.Join(base, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(r.Replace(scriptsConf)), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf, pub
}

func TestScriptsRunAsKeepalivedRunsThem(t *testing.T) {
	t.Parallel()
	conf, pub := scriptsLab(t)

	// hagent -t reads the shared file as cenvm71 and names the insecure check.
	out, err := exec.Command(checkHagent(t), "-t", "-f", conf, "-i", "cenvm71").CombinedOutput()
	if err != nil {
		t.Fatalf("hagent -t: %v\n%s", err, out)
	}
	for _, want := range []string{
		"priority 100", "3 VIPs (192.168.188.109/32, 192.168.188.201/32, 192.168.188.202/32)",
		"vrrp_script chk_insecure: script disabled by enable_script_security",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("hagent -t -i cenvm71: no %q in\n%s", want, out)
		}
	}

	l := lab.Start(t, lab.Options{Configs: map[string]string{probeMaster: conf, probeBackup: conf}})
	probeWaitSteady(t, l)

	// One file, two hosts: the @host lines and $PRIO gave each its priority, ~SEQ
	// the extra VIPs.
	m := probeWaitState(t, l, probeMaster, hactlv1.State_STATE_MASTER, 5*time.Second)
	b := probeWaitState(t, l, probeBackup, hactlv1.State_STATE_BACKUP, 5*time.Second)
	if m.GetBasePriority() != 100 || b.GetBasePriority() != 90 {
		t.Errorf("priorities %d and %d, want 100 on cenvm71 and 90 on cenvm72 from @host lines", m.GetBasePriority(), b.GetBasePriority())
	}
	var vips []string
	for _, v := range m.GetVips() {
		vips = append(vips, v.GetAddress())
	}
	if want := []string{"192.168.188.109/32", "192.168.188.201/32", "192.168.188.202/32"}; !slices.Equal(vips, want) {
		t.Errorf("cenvm71 VIPs %v, want %v", vips, want)
	}

	// Wait until every tracked check has reported at least once.
	var in *hactlv1.Instance
	l.WaitFor(func() bool {
		in, err = probeStatus(l, probeMaster)
		if err != nil {
			return false
		}
		for _, p := range in.GetProbes() {
			if len(p.GetResults()) == 0 {
				return false
			}
		}
		return len(in.GetProbes()) > 0
	}, 10*time.Second, "cenvm71's checks to report")
	probes := map[string]*hactlv1.Probe{}
	for _, p := range in.GetProbes() {
		probes[p.GetName()] = p
	}
	// enable_script_security: the root-run check in a world-writable directory is
	// disabled (keepalived removes it from the instance): never run, no FAULT.
	if _, ok := probes["chk_insecure"]; ok {
		t.Errorf("chk_insecure is tracked; enable_script_security must disable it")
	}
	if _, err := os.Stat(filepath.Join(pub, "insecure.log")); err == nil {
		t.Error("the insecure script ran")
	}
	if in.GetState() != hactlv1.State_STATE_MASTER {
		t.Errorf("cenvm71 is %v, want MASTER (the failing insecure check must not count)", in.GetState())
	}
	// user nobody: the check runs with nobody's uid.
	if p := probes["chk_nobody"]; p == nil || !p.GetHealthy() || lastOutput(p) != "65534" {
		t.Errorf("chk_nobody = %v, want healthy with output 65534 (nobody's uid)", p)
	}
	// Invalid UTF-8 and a cut multibyte message: the API answers, with U+FFFD.
	p := probes["chk_utf8"]
	utf := lastOutput(p)
	if !utf8.ValidString(utf) || !strings.HasPrefix(utf, "GBK \uFFFD 错") || !strings.HasSuffix(utf, "错") || len(utf) > 4096 {
		t.Errorf("chk_utf8 output: %d bytes, valid %v, starts %q, ends %q; want valid UTF-8 with U+FFFD, cut on a character",
			len(utf), utf8.ValidString(utf), utf[:min(len(utf), 12)], utf[max(0, len(utf)-6):])
	}
	doc := probeHactlStatus(t, l)
	for _, n := range doc.Nodes {
		if !n.Reachable {
			t.Errorf("hactl status --json: %s unreachable: %s", n.Name, n.Error)
		}
	}
	st := probeDocInstance(t, doc, probeMaster)
	i := slices.IndexFunc(st.Probes, func(p cluster.ProbeDoc) bool { return p.Name == "chk_utf8" })
	if i < 0 || !strings.Contains(st.Probes[i].Output, "GBK \uFFFD 错") {
		t.Errorf("hactl status --json: probes %+v, want chk_utf8 with its output and U+FFFD", st.Probes)
	}

	// Notify scripts: notify_master without "#!" ran through /bin/sh as root, then
	// `notify` as nobody with keepalived's arguments.
	l.WaitFor(func() bool {
		b, _ := os.ReadFile(filepath.Join(pub, "notify.log"))
		return strings.Contains(string(b), "0 master\n") && strings.Contains(string(b), "65534 INSTANCE VI_1 MASTER")
	}, 10*time.Second, "notify_master (root, via /bin/sh) and notify (nobody) in %s", filepath.Join(pub, "notify.log"))
}

func lastOutput(p *hactlv1.Probe) string {
	rs := p.GetResults()
	if len(rs) == 0 {
		return ""
	}
	return rs[len(rs)-1].GetOutput()
}

// TestScriptsKeepalivedReference runs real keepalived 2.2.7 on cenvm72 with the same
// shared file (its config id is this machine's name, so the @^cenvm71 lines apply to
// it as they do to hagent's cenvm72): it must read the parameters and the ~SEQ VIPs
// as hagent does, disable the insecure check under enable_script_security as hagent
// does, and run `notify` as nobody.
func TestScriptsKeepalivedReference(t *testing.T) {
	t.Parallel()
	conf, pub := scriptsLab(t)
	l := lab.Start(t, lab.Options{
		Daemons: map[string]lab.Daemon{probeBackup: lab.Keepalived},
		Configs: map[string]string{probeMaster: conf, probeBackup: conf},
	})
	probeWaitState(t, l, probeMaster, hactlv1.State_STATE_MASTER, probeSettle)
	l.WaitFor(func() bool { return strings.Contains(l.AgentLog(probeBackup), "Entering BACKUP STATE") },
		probeSettle, "keepalived on cenvm72 to enter BACKUP")

	l.StopAgent(probeMaster)
	l.WaitFor(func() bool { return slices.Equal(l.VIPHolders(), []string{probeBackup}) },
		10*time.Second, "keepalived on cenvm72 to take the VIP")
	addrs, err := l.Exec(probeBackup, "ip", "-o", "addr", "show", "dev", "eth0")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"192.168.188.109/32", "192.168.188.201/32", "192.168.188.202/32"} {
		if !strings.Contains(addrs, a) {
			t.Errorf("keepalived's cenvm72 lacks %s (from $VIP and ~SEQ):\n%s", a, addrs)
		}
	}
	log := l.AgentLog(probeBackup)
	for line := range strings.SplitSeq(log, "\n") {
		if strings.Contains(strings.ToLower(line), "script") {
			t.Logf("keepalived: %s", line)
		}
	}
	if !strings.Contains(log, "Disabling track script chk_insecure due to insecure") {
		t.Errorf("keepalived did not disable chk_insecure; its log:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(pub, "insecure.log")); err == nil {
		t.Error("the insecure script ran")
	}
	l.WaitFor(func() bool {
		b, _ := os.ReadFile(filepath.Join(pub, "notify.log"))
		return strings.Contains(string(b), "65534 INSTANCE VI_1 MASTER")
	}, 10*time.Second, "keepalived's notify as nobody in %s", filepath.Join(pub, "notify.log"))
}
