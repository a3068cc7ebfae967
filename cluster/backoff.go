package cluster

import (
	"math/rand/v2"
	"time"
)

// Backoff is capped exponential backoff with jitter for reconnecting to an agent: the
// n-th delay is drawn from [base/2, base] with base = Min·2ⁿ capped at Max, so a cluster
// of consoles does not reconnect in lockstep after an agent restarts.
type Backoff struct {
	Min, Max time.Duration
	// Rand returns a number in [0,1); nil uses math/rand/v2.
	Rand    func() float64
	attempt int
}

// NewBackoff returns the reconnect backoff used by Watch: 100 ms .. 5 s.
func NewBackoff() *Backoff {
	return &Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}
}

// Next returns the delay before the next attempt and advances.
func (b *Backoff) Next() time.Duration {
	base := b.Min
	for i := 0; i < b.attempt && base < b.Max; i++ {
		base *= 2
	}
	base = min(base, b.Max)
	b.attempt++
	r := b.Rand
	if r == nil {
		r = rand.Float64
	}
	return base/2 + time.Duration(r()*float64(base/2))
}

// Reset starts over after a connection worked.
func (b *Backoff) Reset() { b.attempt = 0 }
