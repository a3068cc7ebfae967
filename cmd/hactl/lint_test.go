package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// lintNode is testNode with the addresses and config lint compares.
func lintNode(name, addr string, state hactlv1.State, prio uint32, fingerprint string) *hactlv1.Node {
	n := testNode(name, state, prio, "192.0.2.71")
	in := n.Instances[0]
	in.PrimaryAddress = addr
	in.Config = &hactlv1.InstanceConfig{AuthType: "PASS", AuthFingerprint: fingerprint}
	in.Probes = []*hactlv1.Probe{{Name: "chk_nginx", Healthy: true}}
	return n
}

// TestLintExitCodes: 0 clean, 1 with an error (named with both nodes' values, also in
// JSON), 2 when an agent could not be asked.
func TestLintExitCodes(t *testing.T) {
	t.Parallel()
	n1 := startFakeAgent(t, lintNode("n1", "192.0.2.71", hactlv1.State_STATE_MASTER, 100, "aaaa"))
	n2 := startFakeAgent(t, lintNode("n2", "192.0.2.72", hactlv1.State_STATE_BACKUP, 90, "aaaa"))
	out, errOut, code := hactl(t, "lint", n1.flag(), n2.flag())
	if code != 0 || !strings.Contains(out, "no findings") {
		t.Fatalf("clean cluster: exit %d\n%s%s", code, out, errOut)
	}

	n3 := startFakeAgent(t, lintNode("n3", "192.0.2.72", hactlv1.State_STATE_BACKUP, 90, "bbbb"))
	out, errOut, code = hactl(t, "lint", n1.flag(), n3.flag())
	if code != 1 || !strings.Contains(out, "error   VI_1: auth_pass differs") || !strings.Contains(out, "n1 aaaa; n3 bbbb") {
		t.Fatalf("auth_pass differs: exit %d, want 1 and the finding\n%s%s", code, out, errOut)
	}
	out, _, code = hactl(t, "lint", "--json", n1.flag(), n3.flag())
	var doc struct {
		Findings []struct {
			Severity, Instance, Check string
			Values                    []struct{ Node, Value string }
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 1 || len(doc.Findings) != 1 ||
		doc.Findings[0].Check != "auth_pass" || doc.Findings[0].Severity != "error" || len(doc.Findings[0].Values) != 2 {
		t.Fatalf("--json: exit %d, err %v\n%s", code, err, out)
	}

	gone := "--agent=n9=unix://" + filepath.Join(t.TempDir(), "nobody.sock")
	_, errOut, code = hactl(t, "lint", n1.flag(), gone)
	if code != 2 || !strings.Contains(errOut, "n9") {
		t.Fatalf("unreachable agent: exit %d, want 2 naming n9\n%s", code, errOut)
	}
}

func TestExplain(t *testing.T) {
	t.Parallel()
	n1 := startFakeAgent(t, lintNode("n1", "192.0.2.71", hactlv1.State_STATE_MASTER, 100, "aaaa"))
	n2 := startFakeAgent(t, lintNode("n2", "192.0.2.72", hactlv1.State_STATE_BACKUP, 90, "aaaa"))
	out, errOut, code := hactl(t, "explain", "VI_1", n1.flag(), n2.flag())
	if code != 0 || !strings.Contains(out, "If chk_nginx fails on n1 (no weight: FAULT), n2 becomes master after about 0.65 s") {
		t.Fatalf("explain: exit %d\n%s%s", code, out, errOut)
	}
	if _, _, code := hactl(t, "explain", "VI_9", n1.flag()); code != 1 {
		t.Errorf("unknown instance: exit %d, want 1", code)
	}
}
