package lab

import (
	"runtime"
	"testing"
	"time"
)

// Within takes the samples that enclose the span, so steal that straddles its ends
// counts; Total is first to last; CPUs are summed.
func TestStealSamplerWithin(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	s := &StealSampler{samples: []stealSample{
		{ms(0), []uint64{10, 20}},
		{ms(5), []uint64{10, 20}},
		{ms(10), []uint64{12, 21}}, // 30 ms stolen between 5 and 10
		{ms(15), []uint64{12, 21}},
		{ms(20), []uint64{13, 21}}, // 10 ms more
	}}
	for _, c := range []struct {
		from, to time.Time
		want     time.Duration
	}{
		{ms(6), ms(9), 30 * time.Millisecond},   // inside the interval that had it
		{ms(10), ms(15), 0},                     // none between those samples
		{ms(11), ms(16), 10 * time.Millisecond}, // reaches the sample at 20
		{ms(-5), ms(9), 30 * time.Millisecond},  // from the first sample
		{ms(1), ms(25), 40 * time.Millisecond},  // to the last
	} {
		if got := s.Within(c.from, c.to); got != c.want {
			t.Errorf("Within(%v, %v) = %v, want %v", c.from.Sub(t0), c.to.Sub(t0), got, c.want)
		}
	}
	if got := s.Total(); got != 40*time.Millisecond {
		t.Errorf("Total = %v, want 40ms", got)
	}
}

// readSteal finds a steal counter for every CPU of this machine.
func TestReadSteal(t *testing.T) {
	ticks, err := readSteal()
	if err != nil {
		t.Fatal(err)
	}
	if len(ticks) < runtime.NumCPU() {
		t.Fatalf("steal of %d CPUs, want at least %d", len(ticks), runtime.NumCPU())
	}
}
