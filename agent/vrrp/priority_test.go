package vrrp

import (
	"testing"
	"time"
)

// keepalived's effective_priority: base plus contributions clamped to 1..254; the
// owner's 255 ignores them.
func TestKeepalived_EffectivePriorityIsClamped(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		base   uint8
		deltas map[string]int
		want   uint8
	}{
		{100, nil, 100},
		{100, map[string]int{"a": 20, "b": -30}, 90},
		{100, map[string]int{"a": 200}, 254},
		{100, map[string]int{"a": -150}, 1},
		{254, map[string]int{"a": 1}, 254},
		{1, map[string]int{"a": -1}, 1},
		{255, map[string]int{"a": -50}, 255},
	} {
		c := v2Config()
		c.Priority = tc.base
		i := started(t, c)
		for s, d := range tc.deltas {
			i.Step(t0, PriorityDelta{Source: s, Delta: d})
		}
		st := i.Status(t0)
		if st.EffectivePriority != tc.want || st.BasePriority != tc.base || len(st.Contributions) != len(tc.deltas) {
			t.Errorf("base %d deltas %v: status %+v, want effective %d", tc.base, tc.deltas, st, tc.want)
		}
	}
}

// Skew_Time follows the effective priority.
func TestEffectivePriorityDrivesSkewTime(t *testing.T) {
	t.Parallel()
	i := started(t, v2Config())
	i.Step(t0, PriorityDelta{Source: "chk", Delta: -10})
	acts := recv(t, i, t0.Add(time.Second), highPeer, advertFor(v2Config(), 0))
	if got, want := armed(t, acts, TimerMasterDown), t0.Add(time.Second+648437500*time.Nanosecond); !got.Equal(want) {
		t.Fatalf("Skew_Time at priority 90: deadline %v, want %v", got, want)
	}
}

// A master advertises a priority change at once, so that a backup with preempt sees it
// drop below its own without waiting for the Adver_Timer.
func TestPriorityChangeWhileMasterIsAdvertisedAtOnce(t *testing.T) {
	t.Parallel()
	i, at := masterAt(t, v2Config())
	now := at.Add(300 * time.Millisecond)
	acts := i.Step(now, PriorityDelta{Source: "chk_nginx", Delta: -20})
	if pc := actionsOf[PriorityChanged](acts); len(pc) != 1 || pc[0] != (PriorityChanged{From: 100, To: 80}) {
		t.Fatalf("PriorityChanged: %#v", acts)
	}
	if p := sentPriorities(acts); !eqU8(p, []uint8{80}) {
		t.Fatalf("sent %v", p)
	}
	if got := armed(t, acts, TimerAdver); !got.Equal(now.Add(time.Second)) {
		t.Fatalf("Adver_Timer %v", got)
	}
	if st := i.Status(now); st.MasterPriority != 80 {
		t.Fatalf("master priority %d", st.MasterPriority)
	}
	// Same value again: nothing.
	if acts := i.Step(now, PriorityDelta{Source: "chk_nginx", Delta: -20}); len(acts) != 0 {
		t.Fatalf("unchanged priority: %#v", acts)
	}
	// Removing it restores 100; the next advert carries it.
	acts = i.Step(now.Add(time.Second), PriorityDelta{Source: "chk_nginx"})
	if p := sentPriorities(acts); !eqU8(p, []uint8{100}) {
		t.Fatalf("sent %v", p)
	}
	// A backup's change is reported but sends nothing.
	j := started(t, v2Config())
	acts = j.Step(t0, PriorityDelta{Source: "chk", Delta: 5})
	if len(acts) != 1 || acts[0] != (PriorityChanged{From: 100, To: 105}) {
		t.Fatalf("backup priority change: %#v", acts)
	}
}
