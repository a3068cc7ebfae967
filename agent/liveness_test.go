package agent

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestAliveFailsWhileAnInstanceLoopIsStuck: the watchdog's liveness check must see a
// stuck instance loop (here held inside a call), and recover once it moves again.
func TestAliveFailsWhileAnInstanceLoopIsStuck(t *testing.T) {
	h := start(t, seedConf(100))
	if err := h.a.Alive(context.Background(), time.Second); err != nil {
		t.Fatalf("Alive with every loop running: %v", err)
	}

	in := h.a.instance("VI_1")
	release := make(chan struct{})
	held := make(chan struct{})
	go func() {
		_ = in.call(context.Background(), func(time.Time) { close(held); <-release })
	}()
	<-held

	err := h.a.Alive(context.Background(), 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "VI_1") {
		t.Errorf("Alive with VI_1's loop stuck = %v, want an error naming VI_1", err)
	}

	close(release)
	if err := h.a.Alive(context.Background(), time.Second); err != nil {
		t.Errorf("Alive once the loop moves again: %v", err)
	}
}
