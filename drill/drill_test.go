package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestRunFailoverAndFailback runs a whole drill against a loopback server: the
// failover makes requests hang until node n2 "takes over" and answers B; the
// failback makes them fail with 503 until n1 answers A again.
func TestRunFailoverAndFailback(t *testing.T) {
	t.Parallel()
	f := newFakeVIP(t, func(int) mode { return mode{server: "A"} })
	agentClock := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)

	// switchAfter waits for n more requests in the current (broken) mode, then
	// puts next in force and reports the move as the agents would.
	switchAfter := func(n int, next mode, from, to string, moved time.Duration) func(context.Context, time.Time) (Handover, error) {
		return func(ctx context.Context, _ time.Time) (Handover, error) {
			if err := f.awaitRequests(ctx, f.count()+n); err != nil {
				return Handover{}, err
			}
			f.setMode(next)
			return Handover{From: from, To: to, Start: agentClock, MasterAt: agentClock.Add(moved)}, nil
		}
	}
	o := Options{
		Instance: "VI_1",
		URL:      f.srv.URL,
		Settle:   100 * time.Millisecond,
		Tail:     100 * time.Millisecond,
		Trigger: func(context.Context) error {
			f.setMode(mode{hang: true})
			return nil
		},
		WaitNewMaster: switchAfter(8, mode{server: "B"}, "n1", "n2", 42*time.Millisecond),
		Failback: func(context.Context) error {
			f.setMode(mode{status: 503})
			return nil
		},
		WaitFailback: switchAfter(5, mode{server: "A"}, "n2", "n1", 7*time.Millisecond),
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	rep, err := Run(ctx, o)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, rep)
	}

	fo := rep.Failover
	if fo.From != "n1" || fo.To != "n2" || !fo.VIPMovedKnown || fo.VIPMoved != 42*time.Millisecond {
		t.Errorf("failover = %s → %s moved %v (known %v), want n1 → n2 in 42ms", fo.From, fo.To, fo.VIPMoved, fo.VIPMovedKnown)
	}
	c := fo.Client
	if c.OldServer != "A" || c.NewServer != "B" || c.GapBasis != GapServerSwitch {
		t.Errorf("failover client = %s → %s (%s), want A → B", c.OldServer, c.NewServer, c.GapBasis)
	}
	// At least the 8 requests the wait let hang timed out, and nothing else failed.
	if c.FailedByKind[KindTimeout] < 8 || c.Failed != c.FailedByKind[KindTimeout] {
		t.Errorf("failover failures = %d %v, want >= 8, all timeouts", c.Failed, c.FailedByKind)
	}
	// 8+ hanging requests 10 ms apart: a gap of at least 80 ms, well under the
	// 8 × 200 ms a serial prober would show.
	if c.Gap < 80*time.Millisecond || c.Gap > time.Second {
		t.Errorf("failover gap = %v, want between 80ms and 1s", c.Gap)
	}
	if c.Sent < 20 {
		t.Errorf("failover sent %d requests, want a baseline, the outage and a tail", c.Sent)
	}

	fb := rep.Failback
	if fb == nil {
		t.Fatal("no failback phase")
	}
	if fb.From != "n2" || fb.To != "n1" || fb.VIPMoved != 7*time.Millisecond {
		t.Errorf("failback = %s → %s moved %v, want n2 → n1 in 7ms", fb.From, fb.To, fb.VIPMoved)
	}
	if fb.Client.OldServer != "B" || fb.Client.NewServer != "A" {
		t.Errorf("failback client = %s → %s, want B → A", fb.Client.OldServer, fb.Client.NewServer)
	}
	if fb.Client.FailedByKind["http_503"] < 5 || fb.Client.Failed != fb.Client.FailedByKind["http_503"] {
		t.Errorf("failback failures = %d %v, want >= 5, all http_503", fb.Client.Failed, fb.Client.FailedByKind)
	}

	text := rep.String()
	for _, want := range []string{"VI_1", "n1 → n2: VIP moved after 42 ms", "last answer from A → first from B", "n2 → n1: VIP moved after 7 ms", "timeout "} {
		if !strings.Contains(text, want) {
			t.Errorf("text report lacks %q:\n%s", want, text)
		}
	}

	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var j struct {
		Instance string
		Failover struct {
			From         string
			To           string
			VIPMovedMS   *float64       `json:"vip_moved_ms"`
			ClientGapMS  *float64       `json:"client_gap_ms"`
			Sent         int            `json:"requests_sent"`
			FailedByKind map[string]int `json:"failed_by_kind"`
		}
		Failback *struct {
			NewServer string `json:"new_server"`
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &j); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, buf.String())
	}
	if j.Instance != "VI_1" || j.Failover.VIPMovedMS == nil || *j.Failover.VIPMovedMS != 42 ||
		j.Failover.ClientGapMS == nil || *j.Failover.ClientGapMS < 80 || j.Failover.Sent != c.Sent ||
		j.Failback == nil || j.Failback.NewServer != "A" {
		t.Errorf("JSON report does not match:\n%s", buf.String())
	}
}

func TestRunFailsWithoutBaseline(t *testing.T) {
	t.Parallel()
	f := newFakeVIP(t, func(int) mode { return mode{status: 500} })
	triggered := false
	_, err := Run(t.Context(), Options{
		URL:     f.srv.URL,
		Settle:  50 * time.Millisecond,
		Recover: 100 * time.Millisecond,
		Trigger: func(context.Context) error { triggered = true; return nil },
		WaitNewMaster: func(context.Context, time.Time) (Handover, error) {
			return Handover{}, nil
		},
	})
	if err == nil || !strings.Contains(err.Error(), "http_500") {
		t.Errorf("err = %v, want no baseline with last failure http_500", err)
	}
	if triggered {
		t.Error("the failover was triggered without a working baseline")
	}
}

func TestRunReportsTriggerError(t *testing.T) {
	t.Parallel()
	f := newFakeVIP(t, func(int) mode { return mode{server: "A"} })
	refused := errors.New("refused: n2 is in maintenance")
	rep, err := Run(t.Context(), Options{
		URL:     f.srv.URL,
		Settle:  30 * time.Millisecond,
		Trigger: func(context.Context) error { return refused },
		WaitNewMaster: func(context.Context, time.Time) (Handover, error) {
			t.Error("WaitNewMaster called after the trigger failed")
			return Handover{}, nil
		},
	})
	if !errors.Is(err, refused) {
		t.Errorf("err = %v, want the trigger's error", err)
	}
	if rep.Failover.Client.Sent == 0 {
		t.Error("report of a failed drill lacks the baseline samples")
	}
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	if _, err := Run(t.Context(), Options{URL: "http://x"}); err == nil {
		t.Error("Run without Trigger succeeded")
	}
	if _, err := Run(t.Context(), Options{Trigger: func(context.Context) error { return nil }}); err == nil {
		t.Error("Run without URL succeeded")
	}
}
