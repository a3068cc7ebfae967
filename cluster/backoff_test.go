package cluster

import (
	"testing"
	"time"
)

func TestBackoffGrowsCapsAndResets(t *testing.T) {
	t.Parallel()
	hi := &Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second, Rand: func() float64 { return 0.999999 }}
	lo := &Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second, Rand: func() float64 { return 0 }}
	wantBase := []time.Duration{100, 200, 400, 800, 1600, 3200, 5000, 5000}
	for i, b := range wantBase {
		b *= time.Millisecond
		h, l := hi.Next(), lo.Next()
		if l != b/2 || h > b || h < b-time.Millisecond {
			t.Fatalf("attempt %d: delays %v..%v, want [%v, %v]", i, l, h, b/2, b)
		}
	}
	hi.Reset()
	if d := hi.Next(); d > 100*time.Millisecond {
		t.Fatalf("after Reset: %v, want <= 100ms", d)
	}
}

func TestBackoffDefaultJitterInRange(t *testing.T) {
	t.Parallel()
	b := NewBackoff()
	for range 100 {
		b.Reset()
		if d := b.Next(); d < 50*time.Millisecond || d > 100*time.Millisecond {
			t.Fatalf("first delay %v outside [50ms, 100ms]", d)
		}
	}
}
