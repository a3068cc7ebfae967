package e2e

// Issue 15: hactl lint and hactl explain against real agents in the lab. Helpers are
// prefixed with "lint".

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/agent/netio"
	"github.com/hagent-dev/hagent/agent/vrrp"
	"github.com/hagent-dev/hagent/cluster/lint"
	"github.com/hagent-dev/hagent/lab"
)

// lintHactl runs hactl with the lab's agents and returns stdout and the exit code.
func lintHactl(t *testing.T, l *lab.Lab, args ...string) (string, int) {
	t.Helper()
	for _, h := range l.Hosts {
		args = append(args, "--agent", h+"=unix://"+l.APISocket(h))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, hactlBin, args...).Output()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	t.Fatalf("hactl %v: %v", args, err)
	return "", -1
}

// lintFindings runs hactl lint --json.
func lintFindings(t *testing.T, l *lab.Lab) ([]lint.Finding, int) {
	t.Helper()
	out, code := lintHactl(t, l, "lint", "--json")
	var doc struct {
		Findings []lint.Finding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("hactl lint --json (exit %d): %v\n%s", code, err, out)
	}
	return doc.Findings, code
}

// lintWait polls hactl lint until cond holds of its findings, and returns them.
func lintWait(t *testing.T, l *lab.Lab, what string, cond func([]lint.Finding) bool) ([]lint.Finding, int) {
	t.Helper()
	var fs []lint.Finding
	var code int
	if err := lab.Poll(func() bool {
		fs, code = lintFindings(t, l)
		return cond(fs)
	}, 15*time.Second); err != nil {
		t.Fatalf("%v waiting for %s; last findings (exit %d): %v", err, what, code, fs)
	}
	return fs, code
}

func lintFind(fs []lint.Finding, check string) *lint.Finding {
	for i := range fs {
		if fs[i].Check == check {
			return &fs[i]
		}
	}
	return nil
}

// lintReconfigure writes cenvm72's config with old replaced by new and reloads it.
func lintReconfigure(t *testing.T, l *lab.Lab, base, old, new string) {
	t.Helper()
	next := strings.Replace(base, old, new, 1)
	if old != "" && next == base {
		t.Fatalf("no %q in cenvm72's config", old)
	}
	if err := os.WriteFile(filepath.Join(l.HostDir("cenvm72"), "keepalived.conf"), []byte(next), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(l.AgentPID("cenvm72"), syscall.SIGHUP); err != nil {
		t.Fatalf("SIGHUP cenvm72: %v", err)
	}
}

// TestLintAndExplainLab: the seed lints clean and explain names chk_nginx and the 0.65 s
// takeover; each misconfiguration of the issue, made on cenvm72 by a reload, is found
// and named with both nodes' values, and goes when the config is put back; a foreign
// router in the client namespace advertising VRID 51 with another VIP is named with its
// address and what both agents saw.
func TestLintAndExplainLab(t *testing.T) {
	t.Parallel()
	l := lab.Start(t, lab.Options{})
	faultsPoll(t, 20*time.Second, "cenvm71 MASTER and cenvm72 BACKUP", func() bool {
		doc, err := faultsStatus(l)
		st := faultsStates(doc)
		return err == nil && st["cenvm71"] == "MASTER" && st["cenvm72"] == "BACKUP"
	})

	out, code := lintHactl(t, l, "lint")
	if code != 0 || !strings.Contains(out, "no findings") {
		t.Fatalf("seed: hactl lint exit %d, want 0 and no findings:\n%s", code, out)
	}
	out, code = lintHactl(t, l, "explain", "VI_1")
	if code != 0 || !strings.Contains(out, "If chk_nginx fails on cenvm71 (no weight: FAULT), cenvm72 becomes master after about 0.65 s") ||
		!strings.Contains(out, "If cenvm71 is lost, cenvm72 becomes master after about 3.65 s") {
		t.Fatalf("seed: hactl explain VI_1 exit %d, want chk_nginx and the 0.65 s takeover:\n%s", code, out)
	}

	base, err := os.ReadFile(filepath.Join(l.HostDir("cenvm72"), "keepalived.conf"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, old, new, check string
		sev                   lint.Severity
		values                []string // cenvm71's then cenvm72's value
		msg                   string   // in the finding's line
	}{
		{"advert_int", "advert_int 1", "advert_int 2", "advert_int", lint.Error, []string{"1s", "2s"}, "advert_int differs"},
		{"auth_pass", "auth_pass hell>com", "auth_pass hell>cow", "auth_pass", lint.Error, nil, "auth_pass differs"},
		{"vip_only_on_72", lab.VIP, lab.VIP + "\n        192.168.188.110", "vips", lint.Error,
			[]string{lab.VIP, lab.VIP + ",192.168.188.110"}, "192.168.188.110 only on cenvm72"},
		// An equal priority names the tie-break address; here the tie goes to cenvm72,
		// not to cenvm71 whose state is MASTER: an error (exit 1).
		{"equal_priority", "priority 90", "priority 100", "priority", lint.Error, nil,
			"equal priority 100 (cenvm71 priority 100, state MASTER, address 192.168.188.71; cenvm72 priority 100, state BACKUP, address 192.168.188.72): a tie goes to the higher address 192.168.188.72 (cenvm72) when both claim master, not the node with state MASTER"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lintReconfigure(t, l, string(base), c.old, c.new)
			fs, code := lintWait(t, l, c.check+" finding", func(fs []lint.Finding) bool { return lintFind(fs, c.check) != nil })
			f := lintFind(fs, c.check)
			wantCode := 1
			if c.sev == lint.Warning {
				wantCode = 0
			}
			if code != wantCode || f.Severity != c.sev || f.Instance != "VI_1" || !strings.Contains(f.String(), c.msg) {
				t.Errorf("exit %d, finding %s; want exit %d, %s naming %q", code, f, wantCode, c.sev, c.msg)
			}
			if len(f.Values) != 2 || f.Values[0].Node != "cenvm71" || f.Values[1].Node != "cenvm72" ||
				f.Values[0].Value == f.Values[1].Value {
				t.Errorf("values %v: want both nodes' values, differing", f.Values)
			}
			if c.values != nil && (f.Values[0].Value != c.values[0] || f.Values[1].Value != c.values[1]) {
				t.Errorf("values %v: want cenvm71 %s, cenvm72 %s", f.Values, c.values[0], c.values[1])
			}
			out, _ := lintHactl(t, l, "lint")
			if !strings.Contains(out, f.String()) {
				t.Errorf("hactl lint does not print the finding %q:\n%s", f, out)
			}
			lintReconfigure(t, l, string(base), "", "")
			lintWait(t, l, "a clean lint after the seed config is back", func(fs []lint.Finding) bool { return len(fs) == 0 })
		})
	}

	t.Run("foreign_router", func(t *testing.T) {
		foreign := netip.MustParseAddr("192.168.188.10") // the client's address
		adv := vrrp.Advert{Version: 2, VRID: 51, Priority: 254, AdverInt: 1, AuthType: vrrp.AuthPass,
			AuthData: vrrp.PassAuthData("hell>com"), Addrs: []netip.Addr{netip.MustParseAddr("192.168.188.200")}}
		data, err := adv.Marshal(foreign, netio.GroupIPv4, vrrp.ChecksumPseudoHeader)
		if err != nil {
			t.Fatal(err)
		}
		s := newCraftedSender(t, l.NetNS("client"))
		c := craftedCase{name: "foreign", src: foreign, data: data}
		fs, code := lintWait(t, l, "a foreign_router finding seen by both nodes", func(fs []lint.Finding) bool {
			s.send(t, c)
			f := lintFind(fs, "foreign_router")
			return f != nil && len(f.Values) == 2
		})
		f := lintFind(fs, "foreign_router")
		if code != 1 || f.Severity != lint.Error ||
			!strings.Contains(f.Message, "router 192.168.188.10 outside the cluster advertises VRID 51 with 192.168.188.200 (ours 192.168.188.109)") {
			t.Errorf("exit %d, finding %s; want exit 1 naming 192.168.188.10 and its VIP", code, f)
		}
		for i, node := range []string{"cenvm71", "cenvm72"} {
			if f.Values[i].Node != node || !strings.HasPrefix(f.Values[i].Value, "addr_list:") {
				t.Errorf("value %d = %+v, want %s's addr_list drops", i, f.Values[i], node)
			}
		}
		doc, err := faultsStatus(l)
		if st := faultsStates(doc); err != nil || st["cenvm71"] != "MASTER" || st["cenvm72"] != "BACKUP" {
			t.Errorf("the foreign router moved mastership: %v %v", st, err)
		}
	})
}
