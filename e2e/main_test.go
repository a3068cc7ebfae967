// Package e2e runs the real binaries in the lab (lab/): network namespaces, real nginx,
// real keepalived 2.2.7, real sockets. It needs root; CI runs it as root.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// hactlBin is the hactl binary built for this run.
var hactlBin string

// TestMain builds hagent and hactl from this tree, so that the lab never runs a stale
// binary, and points the lab at them. With HAGENT_RACE=1 hagent is built with the race
// detector (cgo), and the lab fails a test whose agents reported a data race. With
// HACTL_TAGS=pprof hactl is the profiling build (cmd/hactl/pprof.go: $HACTL_PPROF).
// With hostStallEnv set the binary is a host-stall meter (hoststall_test.go), not tests.
func TestMain(m *testing.M) {
	if p := os.Getenv(hostStallEnv); p != "" {
		prio, err := strconv.Atoi(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s=%q: %v\n", hostStallEnv, p, err)
			os.Exit(2)
		}
		os.Exit(runHostStallMeter(prio))
	}
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
		args := []string{"build", "-o", out}
		race := name == "hagent" && os.Getenv("HAGENT_RACE") == "1"
		if race {
			args = append(args, "-race")
		}
		if tags := os.Getenv("HACTL_TAGS"); name == "hactl" && tags != "" {
			args = append(args, "-tags", tags)
		}
		cmd := exec.Command("go", append(args, "./cmd/"+name)...)
		cmd.Dir = ".."
		if race {
			cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		}
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
