package lab

import (
	"strings"
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

// jitterAcceptance is issue 16's bar per loaded condition: each of its three parts
// fails the condition on its own, in one window of several.
func TestJitterAcceptance(t *testing.T) {
	ms := func(v ...float64) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x*float64(time.Millisecond)))
		}
		return out
	}
	steady := ms(10, 10, 10, 10.1, 10.2)
	win := func(cond string, h, k []time.Duration, backup int) jitterWindow {
		return jitterWindow{condition: cond, res: []jitterResult{
			{daemon: Keepalived, gaps: k},
			{daemon: Hagent, gaps: h, backupAdv: backup},
		}}
	}
	for _, tc := range []struct {
		name string
		bad  jitterWindow
		want string
	}{
		{"met", win(condHogs, steady, steady, 0), "met"},
		{"a takeover", win(condHogs, steady, steady, 2), "hagent backup adverts 2"},
		{"max over 30 ms", win(condHogs, ms(10, 10, 10, 10, 30), ms(10, 10, 10, 10, 30), 0), "windows with max >= 30 ms 1"},
		{"p99 above keepalived's", win(condHogs, ms(10, 10, 10, 10, 10.3), ms(10, 10, 10, 10, 10.2), 0), "p99 above keepalived's 1 of 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := jitterAcceptance([]jitterWindow{win(condHogs, steady, steady, 0), tc.bad, win(condHogsWatch, steady, steady, 0)},
				[]Daemon{Keepalived, Hagent})
			var hogs, watch string
			for line := range strings.SplitSeq(got, "\n") {
				switch {
				case strings.HasPrefix(line, "- hogs:"):
					hogs = line
				case strings.HasPrefix(line, "- hogs+watch:"):
					watch = line
				}
			}
			if !strings.Contains(hogs, tc.want) || strings.HasSuffix(hogs, ": NOT met") != (tc.want != "met") {
				t.Errorf("hogs line %q: want %q and met only if nothing failed", hogs, tc.want)
			}
			if !strings.HasSuffix(watch, ": met") {
				t.Errorf("hogs+watch line %q: want met (its window is clean)", watch)
			}
		})
	}
}
