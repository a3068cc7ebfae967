package format

import (
	"fmt"
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

// TestAgeMatchesPrintf pins the strconv Age to the Printf forms it replaced, across the
// unit boundaries and sub-second remainders.
func TestAgeMatchesPrintf(t *testing.T) {
	t.Parallel()
	printf := func(d time.Duration) string {
		switch {
		case d < time.Minute:
			return fmt.Sprintf("%ds", int(d.Seconds()))
		case d < time.Hour:
			return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
		case d < 24*time.Hour:
			return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
		default:
			return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
		}
	}
	for _, d := range []time.Duration{0, 999 * time.Millisecond, 59*time.Second + 999*time.Millisecond, time.Minute,
		61*time.Second + 500*time.Millisecond, 59*time.Minute + 59*time.Second, time.Hour, 23*time.Hour + 59*time.Minute + 59*time.Second,
		24 * time.Hour, 400*24*time.Hour + 23*time.Hour + 30*time.Minute} {
		if got, want := Age(d), printf(d); got != want {
			t.Errorf("Age(%v) = %q, Printf gave %q", d, got, want)
		}
	}
}
