package e2e

// Issue 3, acceptance: `hagent -t` (config check) and `hagent --cleanup` (ExecStopPost)
// as the built binary does them. No lab: the cleanup test makes its own namespace.

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// checkSeedDir holds the seed's two keepalived.conf files, unchanged.
const checkSeedDir = "../agent/config/testdata/seed"

// checkRun runs the built hagent with args and returns stdout, stderr and the exit code.
func checkRun(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return checkRunCmd(t, exec.Command(checkHagent(t), args...))
}

func checkRunCmd(t *testing.T, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("run %v: %v", cmd.Args, err)
	}
	return out.String(), errb.String(), code
}

// checkHagent is the binary TestMain built.
func checkHagent(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("HAGENT")
	if bin == "" {
		t.Fatal("HAGENT is not set: TestMain builds hagent and sets it")
	}
	return bin
}

// TestCheckAcceptsSeedConfigs: `hagent -t` accepts both seed configs as they are, exit 0,
// one summary line per vrrp_instance.
func TestCheckAcceptsSeedConfigs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file, summary string
	}{
		{"cenvm71-keepalived.conf", "VI_1: vrid 51 on eno16777736, v2, priority 100, state MASTER, advert 1s, auth PASS, 1 VIP (192.168.188.109/32), tracks chk_nginx"},
		{"cenvm72-keepalived.conf", "VI_1: vrid 51 on eno16777736, v2, priority 90, state BACKUP, advert 1s, auth PASS, 1 VIP (192.168.188.109/32), tracks chk_nginx"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(checkSeedDir, tc.file)
			stdout, stderr, code := checkRun(t, "-t", "-f", path)
			if code != 0 {
				t.Fatalf("hagent -t -f %s: exit %d, want 0\nstderr: %s", path, code, stderr)
			}
			var summaries []string
			for line := range strings.SplitSeq(strings.TrimSpace(stdout), "\n") {
				if strings.HasPrefix(line, "VI_") {
					summaries = append(summaries, line)
				}
			}
			if len(summaries) != 1 || summaries[0] != tc.summary {
				t.Errorf("hagent -t -f %s summary lines:\n%s\nwant exactly one per instance:\n%s", path, strings.Join(summaries, "\n"), tc.summary)
			}
			// The seed's check script and interface live on the seed's hosts: warnings that
			// say what the run does (issue 17). The only other warnings at a line of the file
			// are keepalived's about script security (the seed runs its check as root without
			// enable_script_security). Anything else is a config problem.
			for line := range strings.SplitSeq(strings.TrimSpace(stderr), "\n") {
				if !strings.Contains(line, path+":") {
					continue
				}
				expected := strings.HasPrefix(line, "warning: ") &&
					(strings.Contains(line, "does not exist") || strings.Contains(line, "enable_script_security") ||
						strings.Contains(line, "scripts run as root"))
				if !expected {
					t.Errorf("hagent -t -f %s reported a config problem on stderr: %s", path, line)
				}
			}
			if !strings.Contains(stderr, "enable_script_security is not set") {
				t.Errorf("hagent -t -f %s: no warning that scripts run without enable_script_security:\n%s", path, stderr)
			}
		})
	}
}

// TestCheckRejectsBadConfigs: a bad config exits non-zero with FILE:LINE: message.
func TestCheckRejectsBadConfigs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		conf   string
		line   int
		reason string // part of the message
	}{
		{
			name: "vrid-300",
			conf: `vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 300
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.168.188.109
    }
}
`,
			line: 4, reason: "virtual_router_id 300",
		},
		{
			// The block that is never closed is reported where it opens.
			name: "missing-brace",
			conf: `global_defs {
   router_id LVS_DEVEL
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.168.188.109
    }
`,
			line: 4, reason: "not closed",
		},
		{
			name: "unknown-block",
			conf: `global_defs {
   router_id LVS_DEVEL
}
vrrp_scirpt chk_nginx {
    script "/bin/true"
    interval 3
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.168.188.109
    }
}
`,
			line: 4, reason: "vrrp_scirpt",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "keepalived.conf")
			if err := os.WriteFile(path, []byte(tc.conf), 0o644); err != nil {
				t.Fatal(err)
			}
			stdout, stderr, code := checkRun(t, "-t", "-f", path)
			if code == 0 {
				t.Fatalf("hagent -t accepted %s (exit 0)\nstdout: %s", tc.name, stdout)
			}
			want := fmt.Sprintf("%s:%d: ", path, tc.line)
			var found string
			for line := range strings.SplitSeq(stderr, "\n") {
				if strings.HasPrefix(line, want) {
					found = line
					break
				}
			}
			if found == "" {
				t.Fatalf("hagent -t: stderr has no line starting %q:\n%s", want, stderr)
			}
			if !strings.Contains(found, tc.reason) {
				t.Errorf("hagent -t: %q does not say %q", found, tc.reason)
			}
		})
	}
}

// TestCleanupRemovesConfigVIPs: `hagent --cleanup -f FILE` removes the config's VIPs from
// the interface and leaves the host's own address alone, in a namespace of its own
// with a link named as in the seed config.
func TestCleanupRemovesConfigVIPs(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	ns := fmt.Sprintf("e2echk-%d-%04x", os.Getpid(), rand.IntN(1<<16))
	checkIP(t, "netns", "add", ns)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns, err, out)
		}
	})
	const dev = "eno16777736" // the seed's interface
	// A veth pair with both ends in the namespace (this kernel has no dummy driver).
	checkIP(t, "-n", ns, "link", "add", dev, "type", "veth", "peer", "name", "peer0")
	checkIP(t, "-n", ns, "link", "set", dev, "up")
	checkIP(t, "-n", ns, "link", "set", "peer0", "up")
	checkIP(t, "-n", ns, "addr", "add", "192.168.188.71/24", "dev", dev)
	checkIP(t, "-n", ns, "addr", "add", "192.168.188.109/32", "dev", dev)

	conf := filepath.Join(checkSeedDir, "cenvm71-keepalived.conf")
	for run := 1; run <= 2; run++ { // the second run has nothing to remove: still exit 0
		_, stderr, code := checkRunCmd(t, exec.Command("ip", "netns", "exec", ns, checkHagent(t), "--cleanup", "-f", conf))
		if code != 0 {
			t.Fatalf("hagent --cleanup -f %s (run %d): exit %d\nstderr: %s", conf, run, code, stderr)
		}
		addrs := checkIP(t, "-n", ns, "-4", "-o", "addr", "show", "dev", dev)
		if strings.Contains(addrs, " 192.168.188.109/") {
			t.Errorf("run %d: the VIP is still on %s after --cleanup:\n%s", run, dev, addrs)
		}
		if !strings.Contains(addrs, " 192.168.188.71/24 ") {
			t.Errorf("run %d: --cleanup removed the host's own address from %s:\n%s", run, dev, addrs)
		}
	}
}

// checkIP runs ip(8) and returns its output.
func checkIP(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
