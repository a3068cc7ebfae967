package lab

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// EnsureCommands makes sure each command (key) exists, installing the Debian package
// that provides it (value) with apt-get when it does not: on a fresh machine, `make
// test` is all the set-up there is (lab.sh installs nginx and keepalived the same way).
// It needs root; without it, it reports what is missing.
func EnsureCommands(cmds map[string]string) error {
	var pkgs []string
	seen := map[string]bool{}
	for cmd, pkg := range cmds {
		if _, err := exec.LookPath(cmd); err != nil && !seen[pkg] {
			seen[pkg] = true
			pkgs = append(pkgs, pkg)
		}
	}
	if len(pkgs) == 0 {
		return nil
	}
	sort.Strings(pkgs)
	if os.Geteuid() != 0 {
		return fmt.Errorf("not installed, and installing needs root: %s", strings.Join(pkgs, " "))
	}
	install := func() ([]byte, error) {
		args := append([]string{"install", "-y", "-q", "--no-install-recommends"}, pkgs...)
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	if _, err := install(); err != nil {
		// A fresh machine may have no package lists yet.
		if out, err := exec.Command("apt-get", "update", "-q").CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get update: %v: %s", err, outputTail(out))
		}
		if out, err := install(); err != nil {
			return fmt.Errorf("apt-get install %s: %v: %s", strings.Join(pkgs, " "), err, outputTail(out))
		}
	}
	for cmd := range cmds {
		if _, err := exec.LookPath(cmd); err != nil {
			return fmt.Errorf("%s still missing after apt-get install %s", cmd, strings.Join(pkgs, " "))
		}
	}
	return nil
}

// outputTail is the end of a command's output, for an error message.
func outputTail(out []byte) string {
	s := strings.TrimSpace(string(out))
	if len(s) > 500 {
		s = "…" + s[len(s)-500:]
	}
	return s
}
