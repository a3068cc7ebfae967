package api

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// advertTiming is an instance's advert timing with recent intervals, as the agent makes it.
func advertTiming(instance string, sent uint64) *hactlv1.AdvertTimingEvent {
	var recent []*durationpb.Duration
	for range 16 {
		recent = append(recent, durationpb.New(time.Second))
	}
	return &hactlv1.AdvertTimingEvent{
		Instance:    instance,
		AdvertsSent: sent,
		Master:      &hactlv1.Master{Address: "192.168.188.71"},
		Timing: &hactlv1.AdvertTiming{
			Configured: durationpb.New(time.Second),
			Mean:       durationpb.New(time.Second),
			Recent:     recent,
		},
	}
}

func timingBatchEvent(seq uint64, timings ...*hactlv1.AdvertTimingEvent) *hactlv1.WatchResponse {
	return &hactlv1.WatchResponse{Seq: seq, Event: &hactlv1.WatchResponse_AdvertTimingBatch{
		AdvertTimingBatch: &hactlv1.AdvertTimingBatchEvent{Timings: timings},
	}}
}

// shaperSent collects what a shaper sends.
type shaperSent []*hactlv1.WatchResponse

func (s *shaperSent) send(ev *hactlv1.WatchResponse) error { *s = append(*s, ev); return nil }

// sentTimings is every timing of a sent event, alone or batched.
func sentTimings(ev *hactlv1.WatchResponse) []*hactlv1.AdvertTimingEvent {
	if a := ev.GetAdvertTiming(); a != nil {
		return []*hactlv1.AdvertTimingEvent{a}
	}
	return ev.GetAdvertTimingBatch().GetTimings()
}

// An old client sends no option: it gets the very events published, untouched.
func TestTimingShaperWithoutOptionPassesEverything(t *testing.T) {
	var sent shaperSent
	sh := newTimingShaper(nil, sent.send)
	evs := []*hactlv1.WatchResponse{
		timingBatchEvent(1, advertTiming("VI_1", 1), advertTiming("VI_2", 1)),
		transition("VI_1"),
		{Seq: 3, Event: &hactlv1.WatchResponse_AdvertTiming{AdvertTiming: advertTiming("VI_2", 2)}},
	}
	for _, ev := range evs {
		if err := sh.out(ev); err != nil {
			t.Fatal(err)
		}
	}
	if sh.due() != nil {
		t.Error("a stream without the option armed a timer")
	}
	if len(sent) != len(evs) {
		t.Fatalf("sent %d events, want %d", len(sent), len(evs))
	}
	for i := range evs {
		if sent[i] != evs[i] {
			t.Errorf("event %d: sent %v, want the published event itself", i, sent[i])
		}
	}
}

// The detailed instance's timing goes at once and in full, the others' without their
// recent intervals, held until the next event sent, which they precede or join; the
// published events are not modified (other streams share them).
func TestTimingShaperDetailAtOnceBriefHeld(t *testing.T) {
	var sent shaperSent
	sh := newTimingShaper(&hactlv1.WatchTiming{Detail: []string{"VI_1"}, BriefEvery: durationpb.New(time.Hour)}, sent.send)

	first := timingBatchEvent(10, advertTiming("VI_2", 1), advertTiming("VI_3", 1))
	orig := proto.Clone(first)
	if err := sh.out(first); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 0 || sh.due() == nil {
		t.Fatalf("brief timing: sent %d events, timer armed %v; want it held with a timer", len(sent), sh.due() != nil)
	}
	if err := sh.out(timingBatchEvent(11, advertTiming("VI_2", 2))); err != nil {
		t.Fatal(err)
	}
	// A transition: the held timing goes first, as one event standing for seq 11.
	tr := transition("VI_3")
	tr.Seq = 12
	if err := sh.out(tr); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 || sent[1] != tr {
		t.Fatalf("sent %v, want the held timing then the transition", sent)
	}
	if sent[0].GetSeq() != 11 {
		t.Errorf("held timing sent with seq %d, want 11 (the last event it stands for)", sent[0].GetSeq())
	}
	got := sentTimings(sent[0])
	if len(got) != 2 || got[0].GetInstance() != "VI_2" || got[0].GetAdvertsSent() != 2 || got[1].GetInstance() != "VI_3" {
		t.Fatalf("held timing %v, want the latest of VI_2 (sent 2) and VI_3", got)
	}
	for _, a := range got {
		if len(a.GetTiming().GetRecent()) != 0 || a.GetTiming().GetMean().AsDuration() != time.Second || a.GetMaster().GetAddress() == "" {
			t.Errorf("%s: brief timing %v, want every number but the recent intervals", a.GetInstance(), a)
		}
	}
	if sh.due() != nil {
		t.Error("the timer stayed armed with nothing held")
	}

	// The detailed instance in a batch: it goes at once, in full, with the brief ones.
	if err := sh.out(timingBatchEvent(13, advertTiming("VI_2", 3))); err != nil {
		t.Fatal(err)
	}
	if err := sh.out(timingBatchEvent(14, advertTiming("VI_1", 1), advertTiming("VI_3", 2))); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 3 || sent[2].GetSeq() != 14 {
		t.Fatalf("sent %d events (last seq %d), want the detailed timing at once with seq 14", len(sent), sent[len(sent)-1].GetSeq())
	}
	got = sentTimings(sent[2])
	if len(got) != 3 || got[0].GetInstance() != "VI_1" || len(got[0].GetTiming().GetRecent()) != 16 ||
		got[1].GetInstance() != "VI_2" || got[2].GetInstance() != "VI_3" || len(got[2].GetTiming().GetRecent()) != 0 {
		t.Fatalf("sent %v, want VI_1 in full and VI_2, VI_3 brief", got)
	}
	if !proto.Equal(first, orig) {
		t.Error("the shaper modified a published event")
	}
}

// Held timing goes out when brief_every has passed, even if nothing else is published.
func TestTimingShaperFlushesAfterBriefEvery(t *testing.T) {
	var sent shaperSent
	sh := newTimingShaper(&hactlv1.WatchTiming{BriefEvery: durationpb.New(time.Millisecond)}, sent.send)
	if err := sh.out(timingBatchEvent(5, advertTiming("VI_2", 1))); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sh.due():
	case <-time.After(10 * time.Second):
		t.Fatal("the held timing's timer did not fire within 10s")
	}
	if err := sh.flush(); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 1 || sent[0].GetSeq() != 5 || sent[0].GetAdvertTiming().GetInstance() != "VI_2" {
		t.Fatalf("sent %v, want VI_2's timing alone with seq 5", sent)
	}
}

// Without brief_every the brief timing is thinned but not held.
func TestTimingShaperBriefWithoutHolding(t *testing.T) {
	var sent shaperSent
	sh := newTimingShaper(&hactlv1.WatchTiming{}, sent.send)
	if err := sh.out(timingBatchEvent(7, advertTiming("VI_1", 1), advertTiming("VI_2", 1))); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 1 || sh.due() != nil {
		t.Fatalf("sent %d events, timer armed %v; want one at once", len(sent), sh.due() != nil)
	}
	for _, a := range sentTimings(sent[0]) {
		if len(a.GetTiming().GetRecent()) != 0 {
			t.Errorf("%s carries its recent intervals; no instance was asked in detail", a.GetInstance())
		}
	}
}

// Over the API: a client asking for the option gets it, and the stream's sequence
// numbers keep increasing.
func TestWatchTimingOption(t *testing.T) {
	t.Parallel()
	ts, addr := unixServer(t, 16)
	c := dial(t, addr, nil)
	ctx := callCtx(t)
	stream, err := c.Watch(ctx, &hactlv1.WatchRequest{Timing: &hactlv1.WatchTiming{Detail: []string{"VI_1"}, BriefEvery: durationpb.New(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	wantSnapshot(t, recv(t, stream), 0)
	ts.hub.Publish(timingBatchEvent(0, advertTiming("VI_2", 1), advertTiming("VI_3", 1)))
	ts.hub.Publish(transition("VI_2"))
	ev := recv(t, stream)
	if ev.GetSeq() != 1 || len(ev.GetAdvertTimingBatch().GetTimings()) != 2 {
		t.Fatalf("got seq %d %v, want the held batch at seq 1 before the transition", ev.GetSeq(), ev)
	}
	if r := ev.GetAdvertTimingBatch().GetTimings()[0].GetTiming().GetRecent(); len(r) != 0 {
		t.Errorf("VI_2 came with %d recent intervals, want none (not in detail)", len(r))
	}
	if ev := recv(t, stream); ev.GetSeq() != 2 || ev.GetTransition() == nil {
		t.Fatalf("got seq %d %T, want the transition at seq 2", ev.GetSeq(), ev.GetEvent())
	}
}

// With brief_on_change an instance's brief timing goes only when its master or
// interval differs from what the stream last sent of it; the detailed one always.
func TestTimingShaperBriefOnChange(t *testing.T) {
	var sent shaperSent
	sh := newTimingShaper(&hactlv1.WatchTiming{Detail: []string{"VI_1"}, BriefOnChange: true}, sent.send)
	out := func(seq uint64, timings ...*hactlv1.AdvertTimingEvent) {
		t.Helper()
		if err := sh.out(timingBatchEvent(seq, timings...)); err != nil {
			t.Fatal(err)
		}
	}
	out(1, advertTiming("VI_2", 1), advertTiming("VI_3", 1)) // first seen: sent
	out(2, advertTiming("VI_2", 2), advertTiming("VI_3", 2)) // counters only: not sent
	if len(sent) != 1 || len(sentTimings(sent[0])) != 2 {
		t.Fatalf("sent %v, want one event with VI_2 and VI_3 (first seen), then nothing", sent)
	}
	moved := advertTiming("VI_3", 3)
	moved.Master = &hactlv1.Master{Address: "192.168.188.72"}
	out(3, advertTiming("VI_2", 3), moved)
	if len(sent) != 2 || sent[1].GetSeq() != 3 {
		t.Fatalf("sent %d events, want the new master at seq 3", len(sent))
	}
	if got := sentTimings(sent[1]); len(got) != 1 || got[0].GetInstance() != "VI_3" || got[0].GetMaster().GetAddress() != "192.168.188.72" {
		t.Fatalf("sent %v, want VI_3's new master alone", got)
	}
	out(4, advertTiming("VI_1", 4)) // the detailed one: every time
	out(5, advertTiming("VI_1", 5))
	if len(sent) != 4 || len(sentTimings(sent[3])[0].GetTiming().GetRecent()) != 16 {
		t.Fatalf("sent %d events, want VI_1's two in full", len(sent))
	}
	sh.reset() // a snapshot follows: everything is sent again once
	out(6, advertTiming("VI_2", 6))
	if len(sent) != 5 {
		t.Fatalf("after a reset VI_2 was not sent again (%d events)", len(sent))
	}
}
