package timing

import (
	"testing"
	"time"
)

func TestSparkline(t *testing.T) {
	t.Parallel()
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	tests := []struct {
		name    string
		samples []time.Duration
		width   int
		want    string
	}{
		{"range spans the ticks", ms(1000, 1100, 1050), 10, "▁█▄"},
		{"noise below 1% stays flat", ms(1000, 1001, 1000), 10, "▄▄▄"},
		{"keeps the newest", ms(1000, 2000, 1000, 2000), 2, "▁█"},
		{"empty", nil, 10, ""},
	}
	for _, tc := range tests {
		if got := sparkline(tc.samples, time.Second, tc.width); got != tc.want {
			t.Errorf("%s: sparkline = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestBar(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		f    float64
		want string
	}{{0, "░░░░"}, {0.5, "██░░"}, {1, "████"}, {3, "████"}, {-1, "░░░░"}} {
		if got := bar(tc.f, 4); got != tc.want {
			t.Errorf("bar(%v) = %q, want %q", tc.f, got, tc.want)
		}
	}
}
