// Package e2e runs the real binaries in the lab (lab/): network namespaces, real nginx,
// real keepalived 2.2.7, real sockets. It needs root; CI runs it as root.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// hactlBin is the hactl binary built for this run.
var hactlBin string

// TestMain builds hagent and hactl from this tree, so that the lab never runs a stale
// binary, and points the lab at them.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hagent-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for _, name := range []string{"hagent", "hactl"} {
		out := filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-o", out, "./cmd/"+name)
		cmd.Dir = ".."
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n", name, err)
			return 1
		}
	}
	os.Setenv("HAGENT", filepath.Join(dir, "hagent"))
	hactlBin = filepath.Join(dir, "hactl")
	return m.Run()
}
