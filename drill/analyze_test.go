package drill

import (
	"strings"
	"testing"
	"time"
)

// at builds times as milliseconds after a fixed origin.
var origin = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return origin.Add(time.Duration(ms) * time.Millisecond) }

func ok(start, end int, server string) Sample {
	return Sample{Start: at(start), End: at(end), OK: true, Status: 200, Server: server}
}

func fail(start, end int, kind string) Sample {
	return Sample{Start: at(start), End: at(end), Kind: kind}
}

func TestAnalyzeServerSwitch(t *testing.T) {
	t.Parallel()
	samples := []Sample{
		ok(0, 2, "A"),
		ok(10, 12, "A"),
		ok(20, 23, "A"), // last answer from A: ends at 23
		fail(30, 230, KindTimeout),
		fail(40, 41, KindRefused),
		fail(50, 51, KindRefused),
		ok(60, 64, "B"), // first answer from B: ends at 64
		ok(70, 72, "B"),
	}
	// Completion order differs from start order; Analyze must not care.
	v := Analyze(samples, at(25))
	if v.OldServer != "A" || v.NewServer != "B" {
		t.Fatalf("servers = %q → %q, want A → B", v.OldServer, v.NewServer)
	}
	if v.GapBasis != GapServerSwitch || !v.GapKnown {
		t.Fatalf("basis = %q known=%v, want %q", v.GapBasis, v.GapKnown, GapServerSwitch)
	}
	if want := 41 * time.Millisecond; v.Gap != want {
		t.Errorf("gap = %v, want %v", v.Gap, want)
	}
	if v.Sent != 8 || v.Failed != 3 {
		t.Errorf("sent/failed = %d/%d, want 8/3", v.Sent, v.Failed)
	}
	if v.FailedByKind[KindTimeout] != 1 || v.FailedByKind[KindRefused] != 2 {
		t.Errorf("by kind = %v, want timeout 1, refused 2", v.FailedByKind)
	}
	// The timeout ends at 230, after the last success at 72: the longest time
	// without an answer is 72 → 230.
	if want := 158 * time.Millisecond; v.LongestOutage != want {
		t.Errorf("longest outage = %v, want %v", v.LongestOutage, want)
	}
}

func TestAnalyzeOldServerStillAnswersAfterTrigger(t *testing.T) {
	t.Parallel()
	// A graceful handover: A keeps answering after the trigger until B takes
	// over; the gap runs from A's last answer, not from the trigger.
	samples := []Sample{
		ok(0, 1, "A"),
		ok(10, 11, "A"), // trigger at 12
		ok(20, 21, "A"),
		ok(30, 31, "A"),
		fail(40, 41, KindRefused),
		ok(50, 53, "B"),
	}
	v := Analyze(samples, at(12))
	if want := 22 * time.Millisecond; v.Gap != want || v.GapBasis != GapServerSwitch {
		t.Errorf("gap = %v (%s), want %v (%s)", v.Gap, v.GapBasis, want, GapServerSwitch)
	}
}

func TestAnalyzeIdenticalBodiesUsesLongestOutage(t *testing.T) {
	t.Parallel()
	samples := []Sample{
		ok(0, 1, "same"),
		ok(10, 11, "same"),
		fail(20, 21, KindRefused),
		fail(30, 31, KindRefused),
		ok(40, 45, "same"), // 11 → 45
		ok(50, 51, "same"),
	}
	v := Analyze(samples, at(15))
	if v.GapBasis != GapLongestOutage || !v.GapKnown {
		t.Fatalf("basis = %q known=%v, want %q", v.GapBasis, v.GapKnown, GapLongestOutage)
	}
	if want := 34 * time.Millisecond; v.Gap != want {
		t.Errorf("gap = %v, want %v", v.Gap, want)
	}
	if v.NewServer != "" {
		t.Errorf("new server = %q, want none", v.NewServer)
	}
}

func TestAnalyzeNoRecovery(t *testing.T) {
	t.Parallel()
	samples := []Sample{
		ok(0, 1, "A"),
		fail(10, 210, KindTimeout),
		fail(20, 220, KindTimeout),
	}
	v := Analyze(samples, at(5))
	if v.GapKnown {
		t.Errorf("gap known = true with no success after the trigger")
	}
	if want := 219 * time.Millisecond; v.LongestOutage != want {
		t.Errorf("longest outage = %v, want %v", v.LongestOutage, want)
	}
}

func TestAnalyzeEmpty(t *testing.T) {
	t.Parallel()
	v := Analyze(nil, at(0))
	if v.Sent != 0 || v.GapKnown || v.LongestOutage != 0 {
		t.Errorf("empty = %+v", v)
	}
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
