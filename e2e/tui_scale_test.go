package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
	"github.com/hagent-dev/hagent/lab"
)

// tuiScaleFault is the instance whose failure the console must put on top: far down
// the VRID order, so only the problem sort brings it up.
const tuiScaleFault = 137

// TestTUIConsoleScale255 is issue 18's end-to-end acceptance: hactl in tmux at 120×40
// against two agents with the 255-instance profile. The summary shows 255 MASTER on
// cenvm71; a FAULT injected on one instance (its nginx killed, tracked by that instance
// only) is the top line of the list within a second of the agent reporting it; the
// filter finds VI_200; f + y on it moves that one VIP and no other.
//
// Not parallel, like the other 255-instance tests: 510 instances on this 2-core machine.
func TestTUIConsoleScale255(t *testing.T) {
	dir := t.TempDir()
	l := lab.Start(t, lab.Options{APITCP: true, Configs: map[string]string{
		"cenvm71": tuiScaleConfig(t, dir, "cenvm71", "MASTER", 100),
		"cenvm72": tuiScaleConfig(t, dir, "cenvm72", "BACKUP", 90),
	}})
	l.WaitFor(func() bool {
		return scaleVIPCount(t, l, "cenvm71") == scaleInstances && scaleVIPCount(t, l, "cenvm72") == 0
	}, 60*time.Second, "cenvm71 to hold all %d VIPs and cenvm72 none", scaleInstances)

	c := tuiStart(t, l, 120, 40)
	c.waitScreen("the summary: 255 MASTER on cenvm71, 255 BACKUP on cenvm72, no problems", 30*time.Second, func(s string) bool {
		return strings.Contains(s, "cenvm71 255 MASTER · cenvm72 255 BACKUP") && strings.Contains(s, "✓ no problems")
	})
	if first := tuiListFirst(c.capture()); !strings.HasPrefix(first, "▸ VI_1 ") {
		t.Fatalf("the healthy list does not start with VI_1 selected: %q\n%s", first, c.capture())
	}

	// The failure: VI_137 tracks nginx, the other 254 do not. Detection is the agent's
	// business (bounded generously); the console then has one second to put it on top.
	name := fmt.Sprintf("VI_%d", tuiScaleFault)
	l.KillNginx("cenvm71")
	l.WaitFor(func() bool { return stressInstance(t, l, "cenvm71", name).GetState() == hactlv1.State_STATE_FAULT },
		10*time.Second, "cenvm71 to report %s FAULT after its nginx was killed", name)
	screen := c.waitScreen(name+" FAULT as the first line of the list", time.Second, func(s string) bool {
		first := tuiListFirst(s)
		return strings.HasPrefix(first, "  "+name+" ") && strings.Contains(first, "FAULT cenvm71")
	})
	t.Logf("screen with %s FAULT:\n%s", name, screen)
	if !strings.Contains(screen, "1 FAULT") {
		t.Errorf("the summary does not count the FAULT:\n%s", screen)
	}
	for _, in := range stressNode(t, l, "cenvm71").GetInstances() {
		if in.GetName() != name && in.GetState() != hactlv1.State_STATE_MASTER {
			t.Errorf("%s on cenvm71 is %v: the failure was meant for %s only", in.GetName(), in.GetState(), name)
		}
	}

	// cenvm72 takes VI_137 over (Skew_Time after cenvm71's priority-0 advert).
	vip137 := fmt.Sprintf("%s%d", scaleNet, tuiScaleFault)
	l.WaitFor(func() bool { return tuiHasAddr(t, l, "cenvm72", vip137) && !tuiHasAddr(t, l, "cenvm71", vip137) }, 10*time.Second,
		"%s's VIP %s on cenvm72 only", name, vip137)

	// The filter finds VI_200 and selects it.
	// The prompt first: keys that reach hactl in one read are one key message (as a
	// paste), and "/VI_200" is not "/".
	c.send("/")
	c.waitScreen("the instance filter prompt", 5*time.Second, func(s string) bool {
		return strings.Contains(s, "enter keeps · esc clears")
	})
	c.tmux("send-keys", "-t", c.target, "-l", "VI_200")
	c.send("Enter")
	c.waitScreen("the list filtered to VI_200, selected", 5*time.Second, func(s string) bool {
		return strings.Contains(s, `filter "VI_200"  1 of 255 instances`) && tuiListFirst(s) != "" &&
			strings.HasPrefix(tuiListFirst(s), "▸ VI_200 ")
	})

	// f + y moves VI_200's VIP, and only it.
	c.send("f")
	c.waitScreen("the failover dialog naming VI_200", 5*time.Second, func(s string) bool {
		return strings.Contains(s, "Forced failover") && strings.Contains(s, "VI_200: cenvm71 → cenvm72")
	})
	c.send("y")
	vip200, vip199 := scaleNet+"200", scaleNet+"199"
	l.WaitFor(func() bool { return tuiHasAddr(t, l, "cenvm72", vip200) && !tuiHasAddr(t, l, "cenvm71", vip200) }, 10*time.Second,
		"VI_200's VIP %s on cenvm72 only (ip -n)", vip200)
	screen = c.waitScreen("VI_200 MASTER on cenvm72 in the list, with its override", 5*time.Second, func(s string) bool {
		return regexp.MustCompile(`▸ VI_200 .*BACKUP \d+\s+MASTER \d+ .*override`).MatchString(s)
	})
	t.Logf("screen after f + y on VI_200:\n%s", screen)
	if !tuiHasAddr(t, l, "cenvm71", vip199) || tuiHasAddr(t, l, "cenvm72", vip199) {
		t.Errorf("VI_199's VIP %s moved too: f on a filtered list must act on the selected instance only", vip199)
	}
	// The two instances that moved: the FAULT one and VI_200.
	if n71, n72 := scaleVIPCount(t, l, "cenvm71"), scaleVIPCount(t, l, "cenvm72"); n71 != scaleInstances-2 || n72 != 2 {
		t.Errorf("VIPs: cenvm71 %d, cenvm72 %d; want %d and 2 (%s failed, VI_200 forced)", n71, n72, scaleInstances-2, name)
	}
	c.quit()
}

// tuiScaleConfig is the scale255 profile for host with instance tuiScaleFault tracking
// this host's nginx (no weight: nginx gone means FAULT).
func tuiScaleConfig(t *testing.T, dir, host, state string, prio int) string {
	t.Helper()
	b, err := os.ReadFile(scale255Config(t, dir, host, state, prio))
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.Replace(string(b), "vrrp_instance VI_1 {", "vrrp_track_process track_nginx {\n    process nginx\n    quorum 1\n    same_netns\n}\nvrrp_instance VI_1 {", 1)
	anchor := fmt.Sprintf("    virtual_router_id %d\n", tuiScaleFault)
	if !strings.Contains(conf, anchor) {
		t.Fatalf("scale255 profile has no %q", anchor)
	}
	conf = strings.Replace(conf, anchor, anchor+"    track_process {\n        track_nginx\n    }\n", 1)
	path := filepath.Join(dir, host+"-tui-scale255.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// tuiListFirst is the first instance line of the compact list ("" if none is shown).
func tuiListFirst(screen string) string {
	in := false
	for _, l := range strings.Split(screen, "\n") {
		switch {
		case strings.HasPrefix(l, "  NAME "):
			in = true
		case in:
			if strings.HasPrefix(l, "▸ VI_") || strings.HasPrefix(l, "  VI_") {
				return l
			}
			return ""
		}
	}
	return ""
}

// tuiHasAddr reports whether `ip -n` shows addr on host's eth0.
func tuiHasAddr(t *testing.T, l *lab.Lab, host, addr string) bool {
	t.Helper()
	out, err := exec.Command("ip", "-n", l.NetNS(host), "-4", "-o", "addr", "show", "dev", "eth0").CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s addr: %v: %s", l.NetNS(host), err, out)
	}
	return strings.Contains(string(out), " "+addr+"/")
}
