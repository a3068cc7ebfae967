package api

import (
	"slices"
	"strings"
	"time"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// timingShaper applies a stream's WatchTiming (issue 18): the advert timing of the
// instances not named in detail goes without its recent intervals and, with
// brief_every, is held and sent at most once a period, the latest of each instance in
// one event. Everything else passes at once; held timing is sent before it, so the
// stream's order is the published order with some timing merged. A stream without the
// option gets a shaper that passes everything (nil opts), exactly as before.
//
// It belongs to one stream's goroutine (Hub.watch) and is not safe for concurrent use.
type timingShaper struct {
	send   func(*hactlv1.WatchResponse) error
	on     bool
	detail map[string]bool
	every  time.Duration
	// onChange sends brief timing only when its listKey changed; sentKey is what the
	// stream last sent of each instance.
	onChange bool
	sentKey  map[string]listKey

	held   map[string]*hactlv1.AdvertTimingEvent // timing waiting, the latest by instance
	heldAt *hactlv1.WatchResponse                // the last event merged into held (its seq and time)
	timer  *time.Timer                           // armed while something is held
}

func newTimingShaper(opts *hactlv1.WatchTiming, send func(*hactlv1.WatchResponse) error) *timingShaper {
	sh := &timingShaper{send: send}
	if opts == nil {
		return sh
	}
	sh.on = true
	sh.detail = make(map[string]bool, len(opts.GetDetail()))
	for _, name := range opts.GetDetail() {
		sh.detail[name] = true
	}
	sh.every = max(opts.GetBriefEvery().AsDuration(), 0)
	if opts.GetBriefOnChange() {
		sh.onChange = true
		sh.sentKey = map[string]listKey{}
	}
	return sh
}

// listKey is what a list of instances shows of an instance's timing (brief_on_change).
type listKey struct {
	master            string
	priority          uint32
	self              bool
	configured, inUse time.Duration
}

func keyOf(t *hactlv1.AdvertTimingEvent) listKey {
	return listKey{
		master:     t.GetMaster().GetAddress(),
		priority:   t.GetMaster().GetPriority(),
		self:       t.GetMaster().GetIsSelf(),
		configured: t.GetTiming().GetConfigured().AsDuration(),
		inUse:      t.GetTiming().GetMasterAdverInterval().AsDuration(),
	}
}

// due fires when held timing is to be sent (flush); nil, which never fires, while
// nothing is held.
func (sh *timingShaper) due() <-chan time.Time {
	if sh.timer == nil {
		return nil
	}
	return sh.timer.C
}

// out sends ev as the option says: at once, thinned, or held for the next flush.
// Whatever is held goes out before (or with) the next event sent, so every message
// stands for all the events up to its sequence number, which keeps increasing: a
// client that resumes after it misses nothing.
func (sh *timingShaper) out(ev *hactlv1.WatchResponse) error {
	if !sh.on {
		return sh.send(ev)
	}
	var timings []*hactlv1.AdvertTimingEvent
	switch e := ev.GetEvent().(type) {
	case *hactlv1.WatchResponse_AdvertTiming:
		timings = []*hactlv1.AdvertTimingEvent{e.AdvertTiming}
	case *hactlv1.WatchResponse_AdvertTimingBatch:
		timings = e.AdvertTimingBatch.GetTimings()
	default:
		if err := sh.flush(); err != nil {
			return err
		}
		return sh.send(ev)
	}
	full, brief := false, false
	if sh.held == nil {
		sh.held = map[string]*hactlv1.AdvertTimingEvent{}
	}
	for _, t := range timings {
		name := t.GetInstance()
		switch {
		case sh.detail[name]:
			full = true
			sh.held[name] = t
		case sh.onChange:
			k := keyOf(t)
			if was, ok := sh.sentKey[name]; ok && was == k {
				if _, held := sh.held[name]; !held {
					continue // nothing a list shows changed: not sent
				}
			}
			sh.sentKey[name] = k
			brief = true
			sh.held[name] = briefTiming(t)
		default:
			brief = true
			sh.held[name] = briefTiming(t)
		}
	}
	if !full && !brief {
		return nil // stands for nothing the client needs; the next message covers its seq
	}
	sh.heldAt = ev
	if full || sh.every <= 0 {
		// A detailed instance's timing goes at once, with what was held.
		return sh.flush()
	}
	if sh.timer == nil {
		sh.timer = time.NewTimer(sh.every)
	}
	return nil
}

// flush sends the held timing, if any, as one event with the sequence number and time
// of the last event merged into it.
func (sh *timingShaper) flush() error {
	if sh.timer != nil {
		sh.timer.Stop()
		sh.timer = nil
	}
	if len(sh.held) == 0 {
		return nil
	}
	evs := make([]*hactlv1.AdvertTimingEvent, 0, len(sh.held))
	for _, t := range sh.held {
		evs = append(evs, t)
	}
	slices.SortFunc(evs, func(x, y *hactlv1.AdvertTimingEvent) int {
		return strings.Compare(x.GetInstance(), y.GetInstance())
	})
	clear(sh.held)
	return sh.send(timingResponse(sh.heldAt, evs))
}

// reset forgets what is held and what was sent: a snapshot that supersedes it follows.
func (sh *timingShaper) reset() {
	if sh.timer != nil {
		sh.timer.Stop()
		sh.timer = nil
	}
	clear(sh.held)
	clear(sh.sentKey)
}

// timingResponse is ev (seq and time kept) carrying timings: alone when there is one,
// as the agent sends a single timing, or in a batch. ev itself is shared with the
// other streams and the ring, so it is never modified.
func timingResponse(ev *hactlv1.WatchResponse, timings []*hactlv1.AdvertTimingEvent) *hactlv1.WatchResponse {
	out := &hactlv1.WatchResponse{Seq: ev.GetSeq(), Time: ev.GetTime()}
	if len(timings) == 1 {
		out.Event = &hactlv1.WatchResponse_AdvertTiming{AdvertTiming: timings[0]}
	} else {
		out.Event = &hactlv1.WatchResponse_AdvertTimingBatch{AdvertTimingBatch: &hactlv1.AdvertTimingBatchEvent{Timings: timings}}
	}
	return out
}

// briefTiming is t without its recent intervals: a copy, since t is shared.
func briefTiming(t *hactlv1.AdvertTimingEvent) *hactlv1.AdvertTimingEvent {
	if len(t.GetTiming().GetRecent()) == 0 {
		return t
	}
	b := &hactlv1.AdvertTimingEvent{
		Instance:        t.GetInstance(),
		AdvertsSent:     t.GetAdvertsSent(),
		AdvertsReceived: t.GetAdvertsReceived(),
		ReceiveErrors:   t.GetReceiveErrors(),
		Master:          t.GetMaster(),
	}
	// The sub-messages are shared too: nothing modifies a published event.
	x := t.GetTiming()
	b.Timing = &hactlv1.AdvertTiming{
		Configured:          x.GetConfigured(),
		MasterAdverInterval: x.GetMasterAdverInterval(),
		Min:                 x.GetMin(),
		Mean:                x.GetMean(),
		Max:                 x.GetMax(),
		Jitter:              x.GetJitter(),
		LastAdvertAt:        x.GetLastAdvertAt(),
		LastAdvertAge:       x.GetLastAdvertAge(),
		MasterDownAt:        x.GetMasterDownAt(),
		MasterDownInterval:  x.GetMasterDownInterval(),
	}
	return b
}
