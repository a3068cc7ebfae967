package probe

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// PollInterval is how often process probes rescan /proc when the process
// events connector is not available.
const PollInterval = 100 * time.Millisecond

const (
	subscriptionBuffer = 1024
	cnProcAckTimeout   = time.Second
)

// ProcHub shares one process events connector socket among all process
// probes of the agent: each socket makes the kernel copy every fork, exec
// and exit to it. The socket is opened with the first subscription and
// closed with the last.
//
// When the connector cannot be used (not root, not in the initial PID
// namespace), the hub logs it once and tells its subscribers to rescan /proc
// every PollInterval instead.
type ProcHub struct {
	log *slog.Logger

	mu         sync.Mutex
	subs       map[*procSubscription]struct{}
	stop       func() // stops the running source; nil when none
	mode       string
	loggedFall bool
	forcePoll  bool // tests
}

// NewProcHub returns an idle hub. A nil logger means slog.Default().
func NewProcHub(log *slog.Logger) *ProcHub {
	if log == nil {
		log = slog.Default()
	}
	return &ProcHub{log: log.With("component", "prochub"), subs: map[*procSubscription]struct{}{}}
}

// Mode says where events come from: "connector", "polling", "opening" while
// the connector is being set up, or "" when nobody subscribes.
func (h *ProcHub) Mode() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mode
}

// procSubscription is one probe's view of the hub. events carries process
// events; rescan (capacity 1) says "your picture may be stale, rescan /proc"
// (overrun, polling tick, or start-up).
type procSubscription struct {
	hub    *ProcHub
	events chan procEvent
	rescan chan struct{}
}

func (h *ProcHub) subscribe() *procSubscription {
	s := &procSubscription{
		hub:    h,
		events: make(chan procEvent, subscriptionBuffer),
		rescan: make(chan struct{}, 1),
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs[s] = struct{}{}
	if h.stop == nil {
		h.startLocked()
	}
	return s
}

// close unsubscribes; the last one out stops the source and waits for it.
func (s *procSubscription) close() {
	h := s.hub
	h.mu.Lock()
	delete(h.subs, s)
	var stop func()
	if len(h.subs) == 0 && h.stop != nil {
		stop, h.stop, h.mode = h.stop, nil, ""
	}
	h.mu.Unlock()
	if stop != nil {
		stop()
	}
}

func (h *ProcHub) startLocked() {
	done := make(chan struct{})
	ended := make(chan struct{})
	var once sync.Once
	var sock *cnProcSocket
	var sockMu sync.Mutex
	h.stop = func() {
		once.Do(func() {
			close(done)
			sockMu.Lock()
			if sock != nil {
				sock.close() // unblocks the reader
			}
			sockMu.Unlock()
		})
		<-ended
	}
	h.mode = "opening"
	go func() {
		defer close(ended)
		var s *cnProcSocket
		err := errors.New("polling forced")
		if !h.forcePoll {
			s, err = openCnProc(cnProcAckTimeout)
		}
		sockMu.Lock()
		select {
		case <-done:
			if s != nil {
				s.close()
			}
			sockMu.Unlock()
			return
		default:
		}
		sock = s
		sockMu.Unlock()
		if err == nil {
			h.setMode("connector", done)
		}
		// Whatever happened before the socket listened is unknown.
		h.broadcastRescan()
		if err != nil {
			h.poll(err, done)
			return
		}
		h.read(s, done)
	}()
}

// read dispatches connector events until the socket is closed.
func (h *ProcHub) read(s *cnProcSocket, done <-chan struct{}) {
	var batch []procEvent
	for {
		var err error
		batch, err = s.receive(batch[:0])
		select {
		case <-done:
			return
		default:
		}
		if errors.Is(err, unix.ENOBUFS) {
			h.log.Warn("process events overrun, rescanning /proc")
			h.broadcastRescan()
			continue
		}
		if err != nil {
			h.log.Error("process events connector failed, falling back to polling /proc", "err", err)
			h.poll(err, done)
			return
		}
		h.dispatch(batch)
	}
}

// setMode records the running source's mode; done is closed, and the mode
// left alone, once the source was stopped.
func (h *ProcHub) setMode(mode string, done <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-done:
	default:
		h.mode = mode
	}
}

// poll replaces the connector by a rescan tick.
func (h *ProcHub) poll(cause error, done <-chan struct{}) {
	h.setMode("polling", done)
	h.mu.Lock()
	if !h.loggedFall {
		h.loggedFall = true
		// A warning, not an error: process tracking works, only slower (the kernel does
		// not deliver process events into a container's own PID or network namespace:
		// nspawn, docker). Measured in a systemd-nspawn host: a killed nginx is seen
		// after 12-220 ms, median about 70 ms, instead of at once.
		h.log.Warn("process events connector unavailable (own PID or network namespace?); process probes poll /proc instead",
			"err", cause, "interval", PollInterval)
	}
	h.mu.Unlock()
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			h.broadcastRescan()
		}
	}
}

func (h *ProcHub) dispatch(batch []procEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		for _, ev := range batch {
			select {
			case s.events <- ev:
			default:
				// A slow probe must not stall the others: it loses
				// events and rebuilds its picture from /proc.
				s.requestRescan()
			}
		}
	}
}

func (h *ProcHub) broadcastRescan() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.requestRescan()
	}
}

func (s *procSubscription) requestRescan() {
	select {
	case s.rescan <- struct{}{}:
	default:
	}
}
