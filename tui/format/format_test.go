package format

import (
	"testing"
	"time"
)

func TestAgeAndDur(t *testing.T) {
	t.Parallel()
	ages := map[time.Duration]string{12 * time.Second: "12s", 192 * time.Second: "3m12s", 2*time.Hour + 5*time.Minute: "2h05m", 76 * time.Hour: "3d4h", -time.Second: "0s"}
	for d, want := range ages {
		if got := Age(d); got != want {
			t.Errorf("Age(%v) = %q, want %q", d, got, want)
		}
	}
	durs := map[time.Duration]string{400 * time.Millisecond: "400ms", 3609 * time.Millisecond: "3.61s", 250 * time.Microsecond: "250µs", 0: "0"}
	for d, want := range durs {
		if got := Dur(d); got != want {
			t.Errorf("Dur(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestFitNeverWraps(t *testing.T) {
	t.Parallel()
	if got := Fit("abc\ndef", 10); got != "abc def" {
		t.Errorf("Fit = %q", got)
	}
	if got := Fit("abcdefgh", 5); Width(got) != 5 {
		t.Errorf("Fit to 5 = %q (width %d)", got, Width(got))
	}
}
