package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Hosts is the hosts lab (lab/hosts.sh): cenvm71 and cenvm72 as Debian 12 machines
// booted with systemd-nspawn, running the project's .deb as README deploys it, and the
// client namespace. Unlike Lab, every command on a host runs inside the machine (its
// mount, PID and network namespaces), so systemctl, journalctl, ps and the seed's
// check_ng.sh see that host only.
type Hosts struct {
	Prefix string // of namespace and machine names
	State  string // hosts.sh's HOSTS_STATE
	Script string // lab/hosts.sh
	t      testing.TB
}

// NeedHosts skips a test that cannot boot the hosts lab (not root), and installs what
// the lab needs where it is missing (systemd-nspawn, debootstrap, nsenter); a failed
// install fails the test rather than skipping it.
func NeedHosts(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("hosts lab: needs root")
	}
	err := EnsureCommands(map[string]string{
		"systemd-nspawn": "systemd-container",
		"debootstrap":    "debootstrap",
		"nsenter":        "util-linux",
	})
	if err != nil {
		t.Fatalf("hosts lab: %v", err)
	}
}

// StartHosts brings the hosts lab up with deb installed (hosts.sh up) and tears it
// down at cleanup.
func StartHosts(t testing.TB, prefix, deb, hactl string) *Hosts {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	h := &Hosts{
		Prefix: prefix,
		State:  filepath.Join("/var/tmp/hagent-hosts", prefix),
		Script: filepath.Join(root, "lab", "hosts.sh"),
		t:      t,
	}
	// A lab left over by a killed run would make up fail.
	_, _ = h.run(2*time.Minute, nil, "down")
	t.Cleanup(func() {
		if out, err := h.run(2*time.Minute, nil, "down"); err != nil {
			t.Errorf("hosts.sh down: %v\n%s", err, out)
		}
	})
	env := []string{"HOSTS_DEB=" + deb, "HACTL=" + hactl}
	if out, err := h.run(15*time.Minute, env, "up"); err != nil {
		t.Fatalf("hosts.sh up: %v\n%s", err, out)
	}
	return h
}

func (h *Hosts) run(timeout time.Duration, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.Script, args...)
	cmd.Env = append(os.Environ(), append(env, "HOSTS_PREFIX="+h.Prefix, "HOSTS_STATE="+h.State)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Exec runs a command on host (cenvm71, cenvm72 or client) and returns its combined
// output.
func (h *Hosts) Exec(host string, args ...string) (string, error) {
	out, err := h.run(time.Minute, nil, append([]string{"exec", host}, args...)...)
	if err != nil {
		return out, fmt.Errorf("%s: %s: %w\n%s", host, strings.Join(args, " "), err, out)
	}
	return out, nil
}

// Must is Exec failing t on error.
func (h *Hosts) Must(t testing.TB, host string, args ...string) string {
	t.Helper()
	out, err := h.Exec(host, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ClientNS is the client's network namespace (for a Prober).
func (h *Hosts) ClientNS() string { return h.Prefix + "client" }

// PKIDir holds the certificates `hactl certs` made (ops.pem is the client's).
func (h *Hosts) PKIDir() string { return filepath.Join(h.State, "pki") }

// HoldsVIP reports whether host has the VIP bound on its interface. It reads the
// machine's network namespace from outside (cheap enough to sample often).
func (h *Hosts) HoldsVIP(host string) bool {
	out, err := exec.Command("ip", "-n", h.Prefix+host, "-brief", "-4", "addr", "show", "dev", "eno16777736").Output()
	return err == nil && strings.Contains(string(out), VIP+"/")
}

// VIPHolders lists the hosts that have the VIP bound.
func (h *Hosts) VIPHolders() []string {
	var out []string
	for _, host := range []string{"cenvm71", "cenvm72"} {
		if h.HoldsVIP(host) {
			out = append(out, host)
		}
	}
	return out
}
