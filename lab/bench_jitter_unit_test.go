package lab

import (
	"testing"
	"time"
)

// sharedLong tells a gap both labs' masters had at the same moment (the machine's)
// from one daemon's own: overlap, not mere proximity, counts, and each gap once.
func TestSharedLong(t *testing.T) {
	at := func(ms int) time.Time { return time.Unix(1000, 0).Add(time.Duration(ms) * time.Millisecond) }
	a := []span{{at(0), at(40)}, {at(100), at(130)}, {at(200), at(225)}}
	b := []span{{at(30), at(60)}, {at(35), at(70)}, {at(130), at(160)}, {at(210), at(220)}}
	// a[0] overlaps b[0] and b[1] (counted once); a[1] only touches b[2] at 130 ms;
	// a[2] contains b[3].
	if got := sharedLong(a, b); got != 2 {
		t.Fatalf("sharedLong = %d, want 2", got)
	}
	if got := sharedLong(a, nil); got != 0 {
		t.Fatalf("sharedLong with no other gaps = %d, want 0", got)
	}
}
