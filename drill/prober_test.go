package drill

import (
	"context"
	"testing"
	"time"
)

// TestProberOverlapsAndMeasuresGap drives the prober against a server that
// answers "A" to the first 10 requests, hangs on the next 10 and answers "B"
// afterwards. A prober that waited for each request before starting the next
// would see a gap of 10 timeouts (2 s) instead of about 10 intervals.
func TestProberOverlapsAndMeasuresGap(t *testing.T) {
	t.Parallel()
	f := newFakeVIP(t, func(n int) mode {
		switch {
		case n < 10:
			return mode{server: "A"}
		case n < 20:
			return mode{hang: true}
		default:
			return mode{server: "B"}
		}
	})
	const interval, timeout = 10 * time.Millisecond, 200 * time.Millisecond
	p := newProber(newClient(), f.srv.URL, interval, timeout, 10000)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.run(ctx, stop)
	}()
	begin := time.Now()
	// Run until B has answered 5 times after the hanging requests timed out.
	bs := 0
	if _, found := p.waitFor(ctx, begin, func(s Sample) bool {
		if s.Server == "B" {
			bs++
		}
		return bs >= 5
	}); !found {
		t.Fatalf("B never answered 5 times: %v", ctx.Err())
	}
	// Let the hanging requests time out; they end 200 ms after they started.
	timeouts := 0
	if _, found := p.waitFor(ctx, begin, func(s Sample) bool {
		if s.Kind == KindTimeout {
			timeouts++
		}
		return timeouts >= 10
	}); !found {
		t.Fatalf("only %d of 10 hanging requests timed out: %v", timeouts, ctx.Err())
	}
	close(stop)
	<-done

	samples, dropped := p.snapshot()
	if dropped != 0 {
		t.Fatalf("dropped %d samples", dropped)
	}
	if got, want := len(samples), f.count(); got != want {
		t.Errorf("recorded %d samples for %d requests the server saw", got, want)
	}
	if got := f.conns.Load(); got != int64(f.count()) {
		t.Errorf("%d TCP connections for %d requests: connections were reused", got, f.count())
	}
	// The trigger is any time between A's last and B's first answer.
	var trigger time.Time
	for _, s := range samples {
		if s.Server == "A" && s.End.After(trigger) {
			trigger = s.End
		}
	}
	v := Analyze(samples, trigger.Add(time.Microsecond))
	if v.OldServer != "A" || v.NewServer != "B" || v.GapBasis != GapServerSwitch {
		t.Fatalf("view = %s → %s (%s), want A → B (%s)", v.OldServer, v.NewServer, v.GapBasis, GapServerSwitch)
	}
	if v.Failed != 10 || v.FailedByKind[KindTimeout] != 10 {
		t.Errorf("failed = %d %v, want exactly 10 timeouts", v.Failed, v.FailedByKind)
	}
	// Ten hanging requests started 10 ms apart: about 110 ms from A's last to
	// B's first answer. Allow for a busy machine, but not for serialisation.
	if v.Gap < 80*time.Millisecond || v.Gap > 400*time.Millisecond {
		t.Errorf("gap = %v, want about 110 ms", v.Gap)
	}
	for _, s := range samples {
		if s.Kind == KindTimeout {
			if d := s.End.Sub(s.Start); d < timeout-10*time.Millisecond || d > timeout+150*time.Millisecond {
				t.Errorf("timed-out request took %v, want about %v", d, timeout)
			}
		}
	}
}

// TestProberClassifiesFailures checks the failure kinds of a status error and a
// refused connection.
func TestProberClassifiesFailures(t *testing.T) {
	t.Parallel()
	f := newFakeVIP(t, func(int) mode { return mode{status: 503} })
	p := newProber(newClient(), f.srv.URL, 10*time.Millisecond, 200*time.Millisecond, 10)
	if s := p.probe(t.Context()); s.OK || s.Kind != "http_503" || s.Status != 503 {
		t.Errorf("503: %+v, want kind http_503", s)
	}

	// A port nobody listens on: take one from the kernel, then close it.
	closed := newFakeVIP(t, func(int) mode { return mode{server: "x"} })
	url := closed.srv.URL
	closed.srv.Close()
	p = newProber(newClient(), url, 10*time.Millisecond, 200*time.Millisecond, 10)
	if s := p.probe(t.Context()); s.OK || s.Kind != KindRefused {
		t.Errorf("closed port: %+v, want kind %s", s, KindRefused)
	}
}

// TestProberBoundsSamples checks that MaxSamples caps memory and counts the rest.
func TestProberBoundsSamples(t *testing.T) {
	t.Parallel()
	p := newProber(newClient(), "http://unused", time.Millisecond, time.Millisecond, 3)
	for range 5 {
		p.add(Sample{OK: true})
	}
	samples, dropped := p.snapshot()
	if len(samples) != 3 || dropped != 2 {
		t.Errorf("kept %d dropped %d, want 3 and 2", len(samples), dropped)
	}
}

func TestFirstLine(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		"cenvm71":                 "cenvm71",
		"\n  cenvm72 \nmore":      "cenvm72",
		"":                        "",
		string(make([]byte, 100)): string(make([]byte, maxServerLen)),
	} {
		got, err := firstLine(stringsReader(body))
		if err != nil || got != want {
			t.Errorf("firstLine(%q) = %q, %v; want %q", body, got, err, want)
		}
	}
}
