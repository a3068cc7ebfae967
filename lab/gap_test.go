package lab

import (
	"testing"
	"time"
)

// series builds one sample every 10 ms from t0, each taking dur, with the given
// body ("" means a failure).
func series(t0 time.Time, dur time.Duration, bodies ...string) []Sample {
	var out []Sample
	for i, b := range bodies {
		s := Sample{Start: t0.Add(time.Duration(i) * 10 * time.Millisecond)}
		s.End = s.Start.Add(dur)
		if b == "" {
			s.Err = "timeout"
			s.End = s.Start.Add(200 * time.Millisecond)
		} else {
			s.OK, s.Body = true, b
		}
		out = append(out, s)
	}
	return out
}

func TestAnalyzeGapWithFailures(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a, b := "cenvm71", "cenvm72"
	s := series(t0, time.Millisecond, a, a, a, "", "", "", "", b, b)
	event := t0.Add(25 * time.Millisecond) // between sample 2 and 3
	g, err := Analyze(s, event, a, b)
	if err != nil {
		t.Fatal(err)
	}
	// last old ends at 20+1 ms; first new (sample 7) ends at 70+1 ms.
	if g.Gap != 50*time.Millisecond {
		t.Errorf("gap = %v, want 50ms", g.Gap)
	}
	if g.EventToServe != 46*time.Millisecond {
		t.Errorf("event->serves = %v, want 46ms", g.EventToServe)
	}
	if g.Failed != 4 || g.Probes != 5 {
		t.Errorf("failed = %d of %d, want 4 of 5", g.Failed, g.Probes)
	}
	if g.MaxSpacing != 10*time.Millisecond {
		t.Errorf("max probe spacing = %v, want 10ms", g.MaxSpacing)
	}
}

func TestAnalyzeGapWithoutFailuresIsOneInterval(t *testing.T) {
	t0 := time.Unix(1000, 0)
	a, b := "cenvm72", "cenvm71"
	s := series(t0, 2*time.Millisecond, a, a, a, a, b, b)
	g, err := Analyze(s, t0, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if g.Gap != 10*time.Millisecond || g.Failed != 0 {
		t.Errorf("got %v, want a 10ms gap and no failure", g)
	}
}

func TestAnalyzeNeedsBothServers(t *testing.T) {
	t0 := time.Unix(1000, 0)
	if _, err := Analyze(series(t0, time.Millisecond, "x", "x"), t0, "x", "y"); err == nil {
		t.Error("no sample from the new server: want an error")
	}
	if _, err := Analyze(series(t0, time.Millisecond, "", "y"), t0, "x", "y"); err == nil {
		t.Error("no sample from the old server: want an error")
	}
}
