package script

import (
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"
)

// waitExit returns once the child has exited, not while it runs, and leaves it to
// exec.Cmd.Wait to reap, with its exit status.
func TestWaitExitWaitsAndLeavesTheReaping(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cmd := exec.Command("/bin/sh", "-c", "read x; exit 3")
	cmd.Stdin = r
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	done := make(chan error, 1)
	go func() { done <- waitExit(cmd.Process.Pid) }()
	// The child waits for its stdin: nothing can end it before the close below, so a
	// return within this bounded look is the bug.
	select {
	case err := <-done:
		t.Fatalf("waitExit returned (%v) while the child was still running", err)
	case <-time.After(100 * time.Millisecond):
	}
	w.Close() // the child reads end-of-file and exits 3
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("waitExit: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waitExit did not return within 5 s of the child's exit")
	}
	var exit *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("Wait after waitExit: %v, want exit status 3 (the child must be left to reap)", err)
	}
}
