package agent

import (
	"container/heap"
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"
	"unsafe"

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
// advert in twenty to its luck, and the intervals' 99th percentile with it). Only
// sub-second instances have a lead (precise slots); whole-second ones are run at their
// deadline's expiry.
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
//
// Whole-second instances run on the wake-ups alone, with no runtime timer (issue 14):
// a pending runtime timer wakes the runtime's sysmon thread at its expiry and again 10 ms
// later, and the timer's AfterFunc goroutine wakes a second thread to run it; with the
// timerfd the one thread waiting in epoll wakes, runs the deadline and waits again: one
// wake-up per advert instead of four, as keepalived's one thread. The timerfd is read and
// set with raw system calls: a system call made the usual way wakes a sleeping sysmon.
// While every P is busy the netpoller is polled by sysmon at least every 10 ms, nothing
// at a whole second.
type wakeups struct {
	tfd *os.File        // the timerfd, non-blocking: reads park in the netpoller
	rc  syscall.RawConn // tfd's, for the raw reads and settimes

	mu     sync.Mutex
	closed bool      // serve has ended: set arms nothing (end)
	slots  wakeHeap  // the armed slots, earliest first
	armed  time.Time // the wakeAt the timerfd expires at; zero when disarmed
	woke   time.Time // when the last expiration was read, for tests

	// rt runs the earliest slot when it is precise, as the timerfd does, from the
	// runtime's timers: while every P is busy (API clients) the runtime does not poll the
	// netpoller, so the timerfd's expiry waits, but it runs due timers between goroutines.
	// Armed for wakeAt, it keeps the lead's head start there too (the instance's own
	// runtime timer is for the deadline itself). rtAt is when it is armed for, zero when
	// not; nil until a precise slot comes.
	rt   *time.Timer
	rtAt time.Time

	lead    time.Duration // how long before a precise slot's deadline it is woken
	expiry  time.Time     // when it expires; zero when disarmed
	latency [leadSamples]time.Duration
	nlat    int // wake-ups recorded in latency (a ring once full)
}

// wakeMode is how a slot's deadline is run.
type wakeMode uint8

const (
	// wakeWhole: at the deadline's expiry, on the wake-ups' goroutine (a whole-second
	// instance's advert: a sendto, cheaper than a goroutine's start).
	wakeWhole wakeMode = iota
	// wakePrecise: woken the lead early and waited for on CPU until the deadline
	// (sub-second instances).
	wakePrecise
	// wakeTakeover: as wakeWhole, but on a goroutine of its own when other slots are due
	// with it. A whole-second Master_Down_Timer: when a link goes, every backup's expires
	// at once, and each takeover makes its system calls (advert, VIPs, announcements); a
	// few at a time (eight helpers) 1 000 took 335 to 610 ms from the first VIP to the
	// last, side by side 235 to 330 (issue 14; BENCHMARKS.md, 2026-12-01 morning).
	wakeTakeover
)

// wakeSlot is one instance's next deadline in wakeups. The zero value is unarmed.
type wakeSlot struct {
	at     time.Time
	mode   wakeMode
	wakeAt time.Time // when serve takes it: at, less the lead if wakePrecise
	idx    int       // index in wakeups.slots while in it
	in     bool      // in wakeups.slots
	fire   func()    // runs the instance's due deadlines; set before the slot is first used
}

// startWakeups opens the timerfd and serves it until ctx ends.
func startWakeups(ctx context.Context) (*wakeups, error) {
	w, err := openWakeups()
	if err != nil {
		return nil, err
	}
	go w.serve()
	context.AfterFunc(ctx, func() { w.tfd.Close() })
	return w, nil
}

// openWakeups opens the timerfd; serve serves it.
func openWakeups() (*wakeups, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	w := &wakeups{tfd: os.NewFile(uintptr(fd), "hagent-wakeups"), lead: initialLead}
	rc, err := w.tfd.SyscallConn()
	if err != nil {
		w.tfd.Close()
		return nil, fmt.Errorf("timerfd: %w", err)
	}
	w.rc = rc
	return w, nil
}

// set arms s for at, moves it, or (at zero) disarms it; a deadline that has already
// passed is run at once, as mode says. It says whether s is armed: not when at is zero,
// w is nil or the wake-ups have ended, and the instance must then run its deadline on a
// runtime timer.
func (w *wakeups) set(s *wakeSlot, at time.Time, mode wakeMode) bool {
	if w == nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	if s.in && s.at.Equal(at) && s.mode == mode {
		return true
	}
	if at.IsZero() {
		if s.in {
			heap.Remove(&w.slots, s.idx)
		}
		s.at = time.Time{}
		w.rearmLocked()
		return false
	}
	s.at, s.mode, s.wakeAt = at, mode, at
	if mode == wakePrecise {
		s.wakeAt = at.Add(-w.lead)
	}
	if s.in {
		heap.Fix(&w.slots, s.idx)
	} else {
		heap.Push(&w.slots, s)
	}
	w.rearmLocked()
	return true
}

// rearmLocked points the timerfd at the earliest slot's wakeAt when that is earlier
// than what it is armed for. A slot that moved later, or went, leaves the
// timerfd as it is: it then expires early, serve finds nothing due and re-arms. A
// backup pushes its Master_Down_Timer back with every advert it hears, so this is one
// timerfd_settime per Master_Down_Interval instead of one per advert (at 255 instances
// and advert_int 0.01, 25 500 a second). Called with mu held.
func (w *wakeups) rearmLocked() {
	if len(w.slots) == 0 {
		return
	}
	if first := w.slots[0]; first.mode == wakePrecise && (w.rtAt.IsZero() || first.wakeAt.Before(w.rtAt)) {
		w.rtAt = first.wakeAt
		if d := time.Until(first.wakeAt); w.rt == nil {
			w.rt = time.AfterFunc(d, w.onRuntimeTimer)
		} else {
			w.rt.Reset(d)
		}
	}
	next := w.slots[0].wakeAt
	if !w.armed.IsZero() && !next.Before(w.armed) {
		return
	}
	w.armed = next
	// Relative to a clock read before the call: the expiry is never early (a zero
	// it_value would disarm the timerfd, hence the microsecond).
	now := time.Now()
	d := max(next.Sub(now), time.Microsecond)
	w.expiry = now.Add(d)
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if err := w.settime(&spec); err != nil {
		// Closed at shutdown; otherwise the instances' own timers still fire, late.
		w.armed, w.expiry = time.Time{}, time.Time{}
	}
}

// settime is timerfd_settime, raw: it never blocks, and a system call made the usual
// way would wake the runtime's sysmon thread from its sleep (see wakeups).
func (w *wakeups) settime(spec *unix.ItimerSpec) error {
	var serr error
	err := w.rc.Control(func(fd uintptr) {
		_, _, e := unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(spec)), 0, 0, 0)
		if e != 0 {
			serr = e
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// read waits for the timerfd's next expiry in the netpoller and reads its count, raw
// (as settime).
func (w *wakeups) read(b *[8]byte) error {
	var rerr error
	err := w.rc.Read(func(fd uintptr) bool {
		_, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch e {
		case 0:
		case unix.EAGAIN:
			return false // not expired yet: park in the netpoller
		default:
			rerr = e
		}
		return true
	})
	if err != nil {
		return err
	}
	return rerr
}

// serve reads the timerfd's expirations until it is closed: each read parks in the
// netpoller, and the expiry is what wakes the runtime. Every slot due within the lead is
// taken out, waited for on CPU until its deadline and fired, earliest first; then the
// timerfd is re-armed for what is left (a fired instance has set its next deadline).
func (w *wakeups) serve() {
	defer w.end()
	var b [8]byte
	for {
		if err := w.read(&b); err != nil {
			return // closed at shutdown; end hands the slots to the instances' runtime timers
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

// onRuntimeTimer is rt's expiry: it fires what is due, as serve does for the timerfd.
func (w *wakeups) onRuntimeTimer() {
	w.mu.Lock()
	w.rtAt = time.Time{}
	w.mu.Unlock()
	for w.fireNext() {
	}
}

// end stops the wake-ups for good when serve returns (the agent has stopped, or the
// timerfd failed): set arms nothing more, and every armed slot is fired once, so that
// its instance finds set refused and runs its deadline on a runtime timer instead. A
// whole-second instance has no other timer: without this it would never wake again.
func (w *wakeups) end() {
	w.mu.Lock()
	w.closed = true
	if w.rt != nil {
		w.rt.Stop()
		w.rtAt = time.Time{}
	}
	slots := w.slots
	w.slots = nil
	for _, s := range slots {
		s.in, s.at = false, time.Time{}
	}
	w.mu.Unlock()
	for _, s := range slots {
		if s.fire != nil {
			go s.fire()
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

// fireNext fires the earliest slot if it is due (within the lead, if precise), after
// waiting for its deadline, and says whether it did; otherwise it re-arms the timerfd
// for that slot.
func (w *wakeups) fireNext() bool {
	w.mu.Lock()
	now := time.Now()
	if len(w.slots) == 0 || w.slots[0].wakeAt.After(now) {
		w.armed = time.Time{}
		w.rearmLocked()
		w.mu.Unlock()
		return false
	}
	s := heap.Pop(&w.slots).(*wakeSlot)
	at, fire, precise := s.at, s.fire, s.mode == wakePrecise
	if w.rt != nil && s.wakeAt.Equal(w.rtAt) {
		// Taken by the timerfd first: rt would only wake to find it gone.
		w.rt.Stop()
		w.rtAt = time.Time{}
	}
	s.at = time.Time{}
	// Takeovers due together (a lost link) run side by side (wakeTakeover); one alone
	// runs here, with no goroutine to start and no second thread to wake.
	together := s.mode == wakeTakeover && len(w.slots) > 0 && !w.slots[0].wakeAt.After(now)
	w.mu.Unlock()
	for precise && time.Now().Before(at) {
		// At most the lead: the wait that puts the advert on its deadline.
	}
	switch {
	case fire == nil:
	case together:
		go fire()
	default:
		fire()
	}
	return true
}

// wakeHeap is a min-heap of slots by deadline (container/heap).
type wakeHeap []*wakeSlot

func (h wakeHeap) Len() int           { return len(h) }
func (h wakeHeap) Less(i, j int) bool { return h[i].wakeAt.Before(h[j].wakeAt) }
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
