package agent

import (
	"container/heap"
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The lead is how long before an instance's deadline the timerfd wakes serve, which
// then waits on CPU until the deadline and runs the instance's timer itself. Waking a
// thread and getting it through the Go scheduler to serve takes tens of microseconds
// and now and then a few hundred (about 90 µs at the median and 170 to 260 µs at the
// 99th percentile in the lab's VM, idle or under CPU hogs): woken that much early, an
// advert leaves at its deadline all the same (issue 16; BENCHMARKS.md, jitter). The
// price is the wait, lead minus the wake-up's latency, on CPU for every deadline: so the
// lead follows the latency this host shows, the 99th percentile of the last
// leadSamples wake-ups plus leadMargin, between minLead and maxLead (the 95th left one
// advert in twenty to its luck, and the intervals' 99th percentile with it). Whole-second
// intervals do not use wakeups at all.
const (
	minLead     = 50 * time.Microsecond
	maxLead     = 400 * time.Microsecond
	initialLead = 200 * time.Microsecond
	leadMargin  = 20 * time.Microsecond
	leadSamples = 256
	leadEvery   = 64 // wake-ups between two computations of the lead
)

// wakeups runs the instances' sub-second deadlines on time.
//
// Why: when every P is idle, the runtime waits for its next timer in epoll_wait, whose
// timeout is in whole milliseconds: it sleeps the whole milliseconds of the wait, then
// a full millisecond for what is left. An instance's runtime timer therefore fires up
// to 1 ms late, so at advert_int 0.01 a master's adverts were 10.16 ms apart at the
// median and 10.4 ms at p99 where keepalived (a timerfd in its epoll set) keeps 10.07 /
// 10.2 ms. wakeups keeps one timerfd in the runtime's netpoller armed a lead before
// the earliest deadline of every instance: it expires with the kernel's high-resolution
// timers (no timer slack for a SCHED_RR thread), the epoll_wait returns, and serve
// waits out the rest of the lead and runs the instance's timer (instance.onTimer) at
// its deadline. The instances keep their own runtime timers for the same deadlines:
// while the Ps are busy (a flood of API clients) the runtime runs due timers between
// goroutines and does not poll the netpoller, so then the runtime timer is the one on
// time, and whichever runs the deadline second finds nothing due.
//
// One timerfd and one goroutine serve every instance: each instance owns one wakeSlot,
// set to its next deadline wherever its timer is reset (instance.resetTimer).
type wakeups struct {
	tfd *os.File // the timerfd, non-blocking: reads park in the netpoller

	mu    sync.Mutex
	slots wakeHeap  // the armed slots, earliest first
	armed time.Time // the deadline the timerfd is set for (it expires lead before); zero when disarmed
	woke  time.Time // when the last expiration was read, for tests

	lead    time.Duration // how long before armed the timerfd expires
	expiry  time.Time     // when it expires; zero when disarmed
	latency [leadSamples]time.Duration
	nlat    int // wake-ups recorded in latency (a ring once full)
}

// wakeSlot is one instance's next deadline in wakeups. The zero value is unarmed.
type wakeSlot struct {
	at   time.Time
	idx  int    // index in wakeups.slots while in it
	in   bool   // in wakeups.slots
	fire func() // runs the instance's due deadlines; set before the slot is first used
}

// startWakeups opens the timerfd and serves it until ctx ends.
func startWakeups(ctx context.Context) (*wakeups, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	w := &wakeups{tfd: os.NewFile(uintptr(fd), "hagent-wakeups"), lead: initialLead}
	go w.serve()
	context.AfterFunc(ctx, func() { w.tfd.Close() })
	return w, nil
}

// set arms s for at, moves it, or (at zero) disarms it; a deadline that has already
// passed is run at once. Safe on a nil wakeups.
func (w *wakeups) set(s *wakeSlot, at time.Time) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if s.in && s.at.Equal(at) {
		return
	}
	if at.IsZero() {
		if s.in {
			heap.Remove(&w.slots, s.idx)
		}
		s.at = time.Time{}
		w.rearmLocked()
		return
	}
	s.at = at
	if s.in {
		heap.Fix(&w.slots, s.idx)
	} else {
		heap.Push(&w.slots, s)
	}
	w.rearmLocked()
}

// rearmLocked points the timerfd at the earliest slot (plus wakeLate) when that is
// earlier than what it is armed for. A slot that moved later, or went, leaves the
// timerfd as it is: it then expires early, serve finds nothing due and re-arms. A
// backup pushes its Master_Down_Timer back with every advert it hears, so this is one
// timerfd_settime per Master_Down_Interval instead of one per advert (at 255 instances
// and advert_int 0.01, 25 500 a second). Called with mu held.
func (w *wakeups) rearmLocked() {
	if len(w.slots) == 0 {
		return
	}
	next := w.slots[0].at
	if !w.armed.IsZero() && !next.Before(w.armed) {
		return
	}
	w.armed = next
	// Relative to a clock read before the call: the expiry is never more than the lead
	// early (a zero it_value would disarm the timerfd, hence the microsecond).
	now := time.Now()
	d := max(next.Sub(now)-w.lead, time.Microsecond)
	w.expiry = now.Add(d)
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if err := w.settime(&spec); err != nil {
		// Closed at shutdown; otherwise the instances' own timers still fire, late.
		w.armed, w.expiry = time.Time{}, time.Time{}
	}
}

func (w *wakeups) settime(spec *unix.ItimerSpec) error {
	rc, err := w.tfd.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.TimerfdSettime(int(fd), 0, spec, nil) }); err != nil {
		return err
	}
	return serr
}

// serve reads the timerfd's expirations until it is closed: each read parks in the
// netpoller, and the expiry is what wakes the runtime. Every slot due within the lead is
// taken out, waited for on CPU until its deadline and fired, earliest first; then the
// timerfd is re-armed for what is left (a fired instance has set its next deadline).
func (w *wakeups) serve() {
	var b [8]byte
	for {
		if _, err := w.tfd.Read(b[:]); err != nil {
			return // closed at shutdown; otherwise the instances' timers fire, late
		}
		w.mu.Lock()
		w.woke = time.Now()
		if !w.expiry.IsZero() {
			w.recordLatency(w.woke.Sub(w.expiry))
			w.expiry = time.Time{}
		}
		w.mu.Unlock()
		for w.fireNext() {
		}
	}
}

// recordLatency keeps how long after its expiry the timerfd's reader ran, and every
// leadEvery wake-ups sets the lead from the latest leadSamples. Called with mu held.
func (w *wakeups) recordLatency(d time.Duration) {
	w.latency[w.nlat%leadSamples] = d
	w.nlat++
	if w.nlat < leadEvery || w.nlat%leadEvery != 0 {
		return
	}
	recent := slices.Clone(w.latency[:min(w.nlat, leadSamples)])
	slices.Sort(recent)
	w.lead = min(max(recent[len(recent)*99/100]+leadMargin, minLead), maxLead)
}

// fireNext fires the earliest slot if it is due within the lead, after waiting for its
// deadline, and says whether it did; otherwise it re-arms the timerfd for that slot.
func (w *wakeups) fireNext() bool {
	w.mu.Lock()
	if len(w.slots) == 0 || w.slots[0].at.After(time.Now().Add(w.lead)) {
		w.armed = time.Time{}
		w.rearmLocked()
		w.mu.Unlock()
		return false
	}
	s := heap.Pop(&w.slots).(*wakeSlot)
	at, fire := s.at, s.fire
	s.at = time.Time{}
	w.mu.Unlock()
	for time.Now().Before(at) {
		// At most the lead: the wait that puts the advert on its deadline.
	}
	if fire != nil {
		fire()
	}
	return true
}

// wakeHeap is a min-heap of slots by deadline (container/heap).
type wakeHeap []*wakeSlot

func (h wakeHeap) Len() int           { return len(h) }
func (h wakeHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h wakeHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}

func (h *wakeHeap) Push(x any) {
	s := x.(*wakeSlot)
	s.idx, s.in = len(*h), true
	*h = append(*h, s)
}

func (h *wakeHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	s.idx, s.in = -1, false
	return s
}
