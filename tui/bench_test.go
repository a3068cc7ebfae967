package tui

import (
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// BenchmarkTickRedraw255 is one tick's redraw of the compact view at 255 instances
// (refresh + View): the console does it four times a second. The clock moves 250 ms a
// tick, so the ages (and the lines that show them) change every fourth tick, and the
// lint runs every fourth, as in the console.
func BenchmarkTickRedraw255(b *testing.B) {
	var r recorder
	clock := now
	opts := r.options()
	opts.Now = func() time.Time { return clock }
	m := New(opts)
	for _, msg := range append(scaleHealthyMsgs(), teaSize(120, 40)) {
		next, _ := m.Update(msg)
		m = next.(Model)
	}
	b.ResetTimer()
	for range b.N {
		clock = clock.Add(250 * time.Millisecond)
		next, _ := m.Update(tickMsg(clock))
		m = next.(Model)
		_ = m.View()
	}
}

// BenchmarkAdvertTimingEvent255 is one advert-timing event at 255 instances (folded in,
// not drawn) and the View bubbletea asks for after it: 510 of them a second at
// advert_int 1 with two agents that send them one by one (before the batch).
func BenchmarkAdvertTimingEvent255(b *testing.B) {
	var r recorder
	m := New(r.options())
	for _, msg := range append(scaleHealthyMsgs(), teaSize(120, 40)) {
		next, _ := m.Update(msg)
		m = next.(Model)
	}
	_ = m.View()
	evs := make([]AgentEventMsg, scaleN)
	for k := range evs {
		evs[k] = ev("cenvm72", uint64(k+2), t0.Add(3*time.Minute+time.Duration(k)*time.Millisecond), &hactlv1.WatchResponse_AdvertTiming{AdvertTiming: &hactlv1.AdvertTimingEvent{
			Instance: fmt.Sprintf("VI_%d", k+1), AdvertsSent: 0, AdvertsReceived: uint64(200 + k)}})
	}
	b.ResetTimer()
	for i := range b.N {
		next, _ := m.Update(evs[i%scaleN])
		m = next.(Model)
		_ = m.View()
	}
}

// BenchmarkAdvertTimingBatch255 is one agent's batch of advert timings at 255 instances
// (50 ms worth at advert_int 1: 13), folded in, not drawn, and the View bubbletea asks
// for after it: 40 a second with two agents.
func BenchmarkAdvertTimingBatch255(b *testing.B) {
	var r recorder
	m := New(r.options())
	for _, msg := range append(scaleHealthyMsgs(), teaSize(120, 40)) {
		next, _ := m.Update(msg)
		m = next.(Model)
	}
	_ = m.View()
	const per = 13
	batches := make([]AgentEventMsg, 0, scaleN/per+1)
	for i := 0; i*per < scaleN; i++ {
		bt := &hactlv1.AdvertTimingBatchEvent{}
		for k := i * per; k < min((i+1)*per, scaleN); k++ {
			bt.Timings = append(bt.Timings, &hactlv1.AdvertTimingEvent{
				Instance: fmt.Sprintf("VI_%d", k+1), AdvertsSent: 0, AdvertsReceived: uint64(200 + k)})
		}
		batches = append(batches, ev("cenvm72", uint64(i+2), t0.Add(3*time.Minute+time.Duration(i)*50*time.Millisecond), &hactlv1.WatchResponse_AdvertTimingBatch{AdvertTimingBatch: bt}))
	}
	b.ResetTimer()
	for i := range b.N {
		next, _ := m.Update(batches[i%len(batches)])
		m = next.(Model)
		_ = m.View()
	}
}

// benchTransitions is the transition → screen path the lab measures (e2e TestTUIBench):
// VI_1 on cenvm71 goes BACKUP and back, each event folded in and drawn.
func benchTransitions(b *testing.B, msgs []tea.Msg) {
	var r recorder
	m := New(r.options())
	for _, msg := range append(msgs, teaSize(120, 40)) {
		next, _ := m.Update(msg)
		m = next.(Model)
	}
	_ = m.View()
	M, B := hactlv1.State_STATE_MASTER, hactlv1.State_STATE_BACKUP
	evs := []AgentEventMsg{
		ev("cenvm71", 1000, t0.Add(3*time.Minute), transition("VI_1", M, B, "failover")),
		ev("cenvm71", 1001, t0.Add(3*time.Minute+time.Second), transition("VI_1", B, M, "failover cleared")),
	}
	b.ResetTimer()
	for i := range b.N {
		next, _ := m.Update(evs[i%2])
		m = next.(Model)
		_ = m.View()
	}
}

// BenchmarkTransition1 and BenchmarkTransition255: one transition drawn, one instance
// against 255 (issue 18: the latency to the screen should not grow with the count).
func BenchmarkTransition1(b *testing.B)   { benchTransitions(b, healthyMsgs()) }
func BenchmarkTransition255(b *testing.B) { benchTransitions(b, scaleHealthyMsgs()) }
