package probe

import (
	"testing"
	"time"
)

// keepalived vrrp_scheduler.c: vrrp_init_script sets a new script's result to rise - 1
// ("one success is enough"), and vrrp_script_child_thread reports the first failure of a
// script in SCRIPT_INIT_STATE_INIT at once: the first result decides, whatever fall and
// rise are. Until then the probe is pending. init_fail (SCRIPT_INIT_STATE_FAILED) starts
// known FAILED and needs rise successes.
func TestTrackerFirstResultDecides(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for _, ok := range []bool{true, false} {
		tr := NewTracker("chk", 3, 2, false)
		if c := tr.Initial(now); !c.Pending {
			t.Fatalf("initial %+v, want pending", c)
		}
		c := tr.Observe(Result{OK: ok, Started: now})
		if c == nil || c.Pending || c.Healthy != ok {
			t.Fatalf("first result ok=%v: change %+v", ok, c)
		}
		// From then on fall and rise count.
		if c := tr.Observe(Result{OK: !ok, Started: now}); c != nil {
			t.Fatalf("second result changed at once: %+v", c)
		}
	}
	tr := NewTracker("chk", 3, 2, true)
	if c := tr.Initial(now); c.Pending || c.Healthy {
		t.Fatalf("init_fail initial %+v, want FAILED", c)
	}
	if c := tr.Observe(Result{OK: true, Started: now}); c != nil {
		t.Fatalf("init_fail: one success changed it: %+v", c)
	}
	if c := tr.Observe(Result{OK: true, Started: now}); c == nil || !c.Healthy {
		t.Fatalf("init_fail: rise=2 successes: %+v", c)
	}
	// A restart attempt is not a result.
	tr = NewTracker("chk", 1, 1, false)
	if c := tr.Observe(Result{Kind: KindRestart, OK: false}); c != nil {
		t.Fatalf("restart counted: %+v", c)
	}
	if c := tr.Initial(now); !c.Pending {
		t.Fatal("restart attempt ended pending")
	}
}
