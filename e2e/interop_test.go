package e2e

// Issue 3, acceptance: a mixed cluster of hagent and real keepalived 2.2.7 (Debian's
// package) in one VRRP group, with VRRPv2 PASS auth as in the seed and with VRRPv3.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
	"github.com/hagent-dev/hagent/lab"
)

// interopVersions are the VRRP versions of the mixed cluster: the seed's configs (v2,
// auth PASS "hell>com"), and their VRRPv3 variants in testdata/interop.
var interopVersions = []struct {
	name    string
	configs map[string]string // nil: the seed's
}{
	{"v2-pass", nil},
	{"v3", map[string]string{
		"cenvm71": "testdata/interop/cenvm71-v3.conf",
		"cenvm72": "testdata/interop/cenvm72-v3.conf",
	}},
}

// keepalived 2.2.7's state lines, e.g. "Wed Nov 25 18:52:03 2026: (VI_1) Entering MASTER STATE".
var interopKeepalivedState = regexp.MustCompile(`\(VI_1\) Entering (\w+) STATE`)

// interopKeepalivedRecvError matches every line keepalived 2.2.7's VRRP receive path
// logs when it rejects or distrusts an advert (vrrp.c: vrrp_in_chk, vrrp_state_*),
// taken from the strings of /usr/sbin/keepalived 2.2.7.
var interopKeepalivedRecvError = regexp.MustCompile(strings.Join([]string{
	`vrrp packet too (short|long)`,
	`invalid TTL/HL`,
	`TTL/HL \d+ not in range`,
	`wrong version`,
	`received a \d+ auth, expecting`,
	`received an invalid passwd`,
	`Invalid auth type`,
	`IPSEC-AH`,
	`AH header`,
	`Invalid VRRPv[23] checksum`,
	`Invalid packet type`,
	`advertisement interval mismatch`,
	`advertisement interval updated from`,
	`unexpected ip number count`,
	`ip_tot_len mismatch`,
	`Expected \w+icast packet but received`,
	`discarding \w+icast packet`,
	`expected \d+ VIPs but received`,
	`not present in MASTER advert`,
	`equal priority advert received from remote host with our IP`,
	`bogus VRRP packet`,
}, "|"))

// TestInteropKeepalived runs hagent and keepalived as the two hosts of the seed, each
// way round and in both VRRP versions: roles agree, the master's SIGTERM moves the VIP
// to the other daemon, the master started again preempts, and neither side logs or
// counts a receive error.
func TestInteropKeepalived(t *testing.T) {
	t.Parallel()
	for _, v := range interopVersions {
		for _, order := range [][2]lab.Daemon{{lab.Hagent, lab.Keepalived}, {lab.Keepalived, lab.Hagent}} {
			name := v.name + "/" + string(order[0]) + "-master-" + string(order[1]) + "-backup"
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				c := interopStart(t, order, v.configs)
				c.waitRoles("cenvm71", "cenvm72")

				c.l.StopAgent("cenvm71")
				if issue3VIPOn(t, c.l, "cenvm71") {
					t.Errorf("%s on cenvm71 stopped and left the VIP", c.daemon["cenvm71"])
				}
				c.waitRoles("cenvm72", "")

				c.l.StartAgent("cenvm71")
				c.waitRoles("cenvm71", "cenvm72")

				c.checkNoReceiveErrors()
			})
		}
	}
}

// TestInteropWrongPassword gives one side of a mixed v2 cluster auth_pass "wrongpw1":
// each side must reject the other's adverts, so both become MASTER; hagent counts the
// rejections under cause "auth" and keepalived logs its invalid-password line. The
// lower-priority host is the one whose MASTER state proves the rejection, so both
// daemons get to be it.
//
// hagent is asked for one rejection, not a steady stream: keepalived 2.2.7 re-arms a
// master's advert timer after every packet it reads, even one it rejects
// (vrrp_scheduler.c vrrp_dispatcher_read: "If we have sent an advert, reset the timer"
// runs for every packet), so a keepalived master that hears adverts at most advert_int
// apart sends none of its own. hagent keeps its adverts exactly advert_int apart (on
// its grid, woken on time), so after the first seconds keepalived falls silent while it
// keeps its MASTER state and the VIP; against a keepalived peer whose intervals drift
// longer, the faster of the two silences the other just the same.
func TestInteropWrongPassword(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		order   [2]lab.Daemon
		wrongOn string
	}{
		{[2]lab.Daemon{lab.Hagent, lab.Keepalived}, "cenvm72"},
		{[2]lab.Daemon{lab.Keepalived, lab.Hagent}, "cenvm72"},
	} {
		name := string(tc.order[0]) + "71-" + string(tc.order[1]) + "72-wrongpw-on-" + tc.wrongOn
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			conf := interopWrongPasswordConfig(t, tc.wrongOn)
			c := interopStart(t, tc.order, map[string]string{tc.wrongOn: conf})
			hagentHost, kaHost := "cenvm71", "cenvm72"
			if tc.order[0] == lab.Keepalived {
				hagentHost, kaHost = kaHost, hagentHost
			}
			var authErrs uint64
			c.l.WaitFor(func() bool {
				authErrs = interopReceiveErrors(c.l, hagentHost)["auth"]
				return c.role("cenvm71") == "MASTER" && c.role("cenvm72") == "MASTER" &&
					authErrs >= 1 && strings.Contains(c.l.AgentLog(kaHost), "(VI_1) received an invalid passwd!")
			}, issue3SettleTimeout, "both sides MASTER, hagent on %s counting an auth error and keepalived on %s logging an invalid password", hagentHost, kaHost)
			// Rejected for seconds now, and still both MASTER, each with the VIP.
			if got := c.l.VIPHolders(); len(got) != 2 {
				t.Errorf("VIP holders %v, want both hosts (each ignores the other)", got)
			}
			if r1, r2 := c.role("cenvm71"), c.role("cenvm72"); r1 != "MASTER" || r2 != "MASTER" {
				t.Errorf("roles cenvm71 %s, cenvm72 %s after %d rejected adverts, want both MASTER", r1, r2, authErrs)
			}
		})
	}
}

// interopCluster is a lab with one hagent and one keepalived.
type interopCluster struct {
	t      *testing.T
	l      *lab.Lab
	daemon map[string]lab.Daemon
}

func interopStart(t *testing.T, order [2]lab.Daemon, configs map[string]string) *interopCluster {
	t.Helper()
	daemons := map[string]lab.Daemon{"cenvm71": order[0], "cenvm72": order[1]}
	l := lab.Start(t, lab.Options{Daemons: daemons, Configs: configs})
	return &interopCluster{t: t, l: l, daemon: daemons}
}

// role is host's VI_1 state as its daemon reports it: hagent's status, or the last
// "Entering X STATE" line keepalived logged since it was last started. "" when the
// daemon is not running or has not said.
func (c *interopCluster) role(host string) string {
	if c.daemon[host] == lab.Hagent {
		st := issue3State(c.l, host)
		if st == hactlv1.State_STATE_UNSPECIFIED {
			return ""
		}
		return strings.TrimPrefix(st.String(), "STATE_")
	}
	if c.l.AgentPID(host) == 0 {
		return ""
	}
	m := interopKeepalivedState.FindAllStringSubmatch(interopCurrentRun(c.l.AgentLog(host)), -1)
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1][1]
}

// waitRoles waits until master alone holds the VIP and serves the client, its daemon
// says MASTER, and backup's (if any) says BACKUP; a hagent backup must also know the
// master's address from its adverts.
func (c *interopCluster) waitRoles(master, backup string) {
	c.t.Helper()
	c.l.WaitFor(func() bool {
		if !c.l.Serves(master) || c.role(master) != "MASTER" {
			return false
		}
		if backup == "" {
			return true
		}
		if c.role(backup) != "BACKUP" {
			return false
		}
		if c.daemon[backup] == lab.Hagent {
			in, err := issue3Instance(c.l, backup)
			return err == nil && in.GetMaster().GetAddress() == interopAddr(master)
		}
		return true
	}, issue3SettleTimeout, "%s (%s) MASTER serving the client, %s (%s) BACKUP", master, c.daemon[master], backup, c.daemon[backup])
}

// checkNoReceiveErrors: keepalived logged no receive error and hagent counted none.
func (c *interopCluster) checkNoReceiveErrors() {
	c.t.Helper()
	for host, d := range c.daemon {
		switch d {
		case lab.Keepalived:
			for line := range strings.SplitSeq(c.l.AgentLog(host), "\n") {
				if interopKeepalivedRecvError.MatchString(line) {
					c.t.Errorf("keepalived on %s logged a receive error: %s", host, line)
				}
			}
		case lab.Hagent:
			if errs := interopReceiveErrors(c.l, host); len(errs) > 0 {
				c.t.Errorf("hagent on %s counted receive errors %v, want none", host, errs)
			}
		}
	}
}

// interopReceiveErrors is hagent's receive error counters on host, by cause.
func interopReceiveErrors(l *lab.Lab, host string) map[string]uint64 {
	in, err := issue3Instance(l, host)
	if err != nil {
		return nil
	}
	out := map[string]uint64{}
	for _, e := range in.GetReceiveErrors() {
		out[e.GetCause()] += e.GetCount()
	}
	return out
}

// interopCurrentRun is the part of a lab agent.log written since the daemon's last
// start (lab.sh marks each start with a "=== " line).
func interopCurrentRun(log string) string {
	if i := strings.LastIndex(log, "\n=== "); i >= 0 {
		return log[i+1:]
	}
	return log
}

func interopAddr(host string) string {
	if host == "cenvm72" {
		return issue3AddrCenvm72
	}
	return issue3AddrCenvm71
}

// interopWrongPasswordConfig is the seed's config for host with auth_pass "wrongpw1".
func interopWrongPasswordConfig(t *testing.T, host string) string {
	t.Helper()
	seed := filepath.Join("..", "agent", "config", "testdata", "seed", host+"-keepalived.conf")
	b, err := os.ReadFile(seed)
	if err != nil {
		t.Fatal(err)
	}
	const right = "auth_pass hell>com"
	if !strings.Contains(string(b), right) {
		t.Fatalf("%s has no %q", seed, right)
	}
	path := filepath.Join(t.TempDir(), host+"-wrongpw.conf")
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), right, "auth_pass wrongpw1", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
