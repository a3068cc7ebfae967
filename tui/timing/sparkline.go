package timing

import (
	"strings"
	"time"
)

var ticks = []rune("▁▂▃▄▅▆▇█")

// sparkline draws the last width inter-arrival times. The scale spans the samples' range
// but at least 1% of the interval, so sub-millisecond noise stays flat.
func sparkline(samples []time.Duration, interval time.Duration, width int) string {
	if len(samples) > width {
		samples = samples[len(samples)-width:]
	}
	if len(samples) == 0 {
		return ""
	}
	lo, hi := samples[0], samples[0]
	for _, s := range samples {
		lo, hi = min(lo, s), max(hi, s)
	}
	if span := interval / 100; hi-lo < span {
		mid := lo + (hi-lo)/2
		lo, hi = mid-span/2, mid+span/2
	}
	var b strings.Builder
	for _, s := range samples {
		i := int(float64(s-lo) / float64(hi-lo) * float64(len(ticks)-1))
		b.WriteRune(ticks[min(max(i, 0), len(ticks)-1)])
	}
	return b.String()
}

// bar draws fraction (0..1+) of width cells, filled then empty.
func bar(fraction float64, width int) string {
	n := min(max(int(fraction*float64(width)+0.5), 0), width)
	return strings.Repeat("█", n) + strings.Repeat("░", width-n)
}
