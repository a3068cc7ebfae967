package drill

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Report is the outcome of a drill.
type Report struct {
	Instance string    `json:"instance"`
	URL      string    `json:"url"`
	Started  time.Time `json:"started"`
	Failover Phase     `json:"failover"`
	Failback *Phase    `json:"failback,omitempty"`
	// Dropped counts samples not kept because MaxSamples was reached.
	Dropped int `json:"dropped_samples,omitempty"`
	// Notes are remarks for the operator, such as an override left in force.
	Notes []string `json:"notes,omitempty"`
}

// Phase is one measured handover.
type Phase struct {
	Name        string
	From        string
	To          string
	TriggeredAt time.Time
	// VIPMoved is the time from the old master letting go to the new master's
	// MASTER transition, by the agents' clocks; VIPMovedKnown is false when the
	// agents did not say.
	VIPMoved      time.Duration
	VIPMovedKnown bool
	Client        ClientView
}

// phaseJSON is Phase on the wire: durations in milliseconds.
type phaseJSON struct {
	Name            string         `json:"name"`
	From            string         `json:"from"`
	To              string         `json:"to"`
	TriggeredAt     time.Time      `json:"triggered_at"`
	VIPMovedMS      *float64       `json:"vip_moved_ms"`
	OldServer       string         `json:"old_server"`
	NewServer       string         `json:"new_server"`
	ClientGapMS     *float64       `json:"client_gap_ms"`
	GapBasis        string         `json:"gap_basis"`
	LongestOutageMS float64        `json:"longest_outage_ms"`
	Sent            int            `json:"requests_sent"`
	Failed          int            `json:"requests_failed"`
	FailedByKind    map[string]int `json:"failed_by_kind"`
}

// MarshalJSON renders durations as milliseconds and unknown ones as null.
func (p Phase) MarshalJSON() ([]byte, error) {
	j := phaseJSON{
		Name:            p.Name,
		From:            p.From,
		To:              p.To,
		TriggeredAt:     p.TriggeredAt,
		OldServer:       p.Client.OldServer,
		NewServer:       p.Client.NewServer,
		GapBasis:        p.Client.GapBasis,
		LongestOutageMS: ms(p.Client.LongestOutage),
		Sent:            p.Client.Sent,
		Failed:          p.Client.Failed,
		FailedByKind:    p.Client.FailedByKind,
	}
	if p.VIPMovedKnown {
		v := ms(p.VIPMoved)
		j.VIPMovedMS = &v
	}
	if p.Client.GapKnown {
		v := ms(p.Client.Gap)
		j.ClientGapMS = &v
	}
	if j.FailedByKind == nil {
		j.FailedByKind = map[string]int{}
	}
	return json.Marshal(j)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// WriteJSON writes the report as one indented JSON object.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode drill report: %w", err)
	}
	return nil
}

// String renders the report for a terminal, a few lines.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "failover test of %s via %s\n", r.Instance, r.URL)
	r.Failover.write(&b)
	if r.Failback != nil {
		r.Failback.write(&b)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	if r.Dropped > 0 {
		fmt.Fprintf(&b, "  (%d samples dropped: sample limit reached)\n", r.Dropped)
	}
	return b.String()
}

func (p Phase) write(b *strings.Builder) {
	from, to := orUnknown(p.From), orUnknown(p.To)
	moved := "unknown"
	if p.VIPMovedKnown {
		moved = fmtMS(p.VIPMoved)
	}
	fmt.Fprintf(b, "  %-8s %s → %s: VIP moved after %s\n", p.Name, from, to, moved)
	c := p.Client
	switch {
	case !c.GapKnown:
		fmt.Fprintf(b, "  %-8s client: no successful answer after the trigger\n", "")
	case c.GapBasis == GapServerSwitch:
		fmt.Fprintf(b, "  %-8s client gap %s (last answer from %s → first from %s)\n", "", fmtMS(c.Gap), c.OldServer, c.NewServer)
	default:
		fmt.Fprintf(b, "  %-8s client gap %s (longest time without an answer; servers not told apart)\n", "", fmtMS(c.Gap))
	}
	fmt.Fprintf(b, "  %-8s requests %d sent, %d failed%s\n", "", c.Sent, c.Failed, kinds(c.FailedByKind))
}

func kinds(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func fmtMS(d time.Duration) string {
	return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds())
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}
