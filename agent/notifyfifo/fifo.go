// Package notifyfifo writes keepalived's notify FIFO lines (global_defs
// notify_fifo and vrrp_notify_fifo) and runs the FIFO's reader script, the
// way keepalived 2.2.7 does (lib/notify.c fifo_open, fifo_close;
// keepalived/vrrp/vrrp_notify.c notify_fifo):
//
//   - the FIFO is created with mode 0644 when it does not exist, and given to
//     the configured owner; only a FIFO the agent created is removed at close;
//   - the script, if any, is started once, before the FIFO is opened, with the
//     FIFO's name as its last argument, as its run-as user, and kept running
//     until the FIFO closes;
//   - the FIFO is opened O_RDWR|O_NONBLOCK: opening never waits for a reader,
//     and a reader that goes away never breaks a write (no EPIPE, no SIGPIPE).
//
// Unlike keepalived, which writes from its one thread and drops a line the
// full pipe refuses, Write only queues: a writer goroutine retries while the
// pipe is full, so an instance loop never waits, and only a queue full of
// lines nobody reads loses lines (counted in Dropped).
package notifyfifo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hagent-dev/hagent/agent/script"
)

const (
	// queueLen bounds the lines waiting for a full pipe.
	queueLen = 1024
	// retryEvery is how often a full pipe is tried again.
	retryEvery = 10 * time.Millisecond
	// drainWait bounds how long Close waits for queued lines to reach the pipe
	// and for the script to end once the FIFO is closed, before it kills it.
	drainWait = time.Second
	// forever is the script's timeout: it runs until Close.
	forever = 100 * 365 * 24 * time.Hour
)

// Config is one FIFO to open.
type Config struct {
	Kind  string // "notify_fifo" or "vrrp_notify_fifo", for logs
	Path  string
	Owner script.Identity // who a created FIFO belongs to
	// Script reads the FIFO; nil for none. Its argv already ends with Path.
	Script *script.Command
}

// FIFO is an open notify FIFO.
type FIFO struct {
	cfg     Config
	log     *slog.Logger
	fd      int
	created bool

	mu     sync.Mutex // guards closed and sends on lines
	closed bool
	lines  chan []byte

	dropped atomic.Uint64
	stop    chan struct{} // closed when the writer must give up on a full pipe
	written chan struct{} // closed when the writer ended

	scriptCancel context.CancelFunc
	scriptDone   chan struct{}
}

// Open creates the FIFO if needed, starts its script and opens it for writing.
// keepalived logs and goes on without the FIFO when this fails; so does the
// caller.
func Open(cfg Config, log *slog.Logger) (*FIFO, error) {
	log = log.With("fifo", cfg.Path, "kind", cfg.Kind)
	f := &FIFO{cfg: cfg, log: log, fd: -1, lines: make(chan []byte, queueLen),
		stop: make(chan struct{}), written: make(chan struct{})}
	err := syscall.Mkfifo(cfg.Path, 0o644)
	switch {
	case err == nil:
		f.created = true
		own := script.Own()
		if cfg.Owner.UID != own.UID || cfg.Owner.GID != own.GID {
			if err := os.Lchown(cfg.Path, int(cfg.Owner.UID), int(cfg.Owner.GID)); err != nil {
				log.Warn("notify fifo: cannot give it to its owner", "owner", cfg.Owner.String(), "err", err)
			}
		}
	case errors.Is(err, syscall.EEXIST):
	default:
		return nil, fmt.Errorf("create %s %s: %w", cfg.Kind, cfg.Path, err)
	}
	if cfg.Script != nil {
		f.startScript()
	}
	fd, err := syscall.Open(cfg.Path, syscall.O_RDWR|syscall.O_NONBLOCK|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
	if err == nil {
		var st syscall.Stat_t
		if err = syscall.Fstat(fd, &st); err == nil && st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
			// keepalived would write into whatever it is; a regular file would
			// grow for ever, so hagent refuses it.
			err = errors.New("not a FIFO")
		}
		if err != nil {
			_ = syscall.Close(fd)
		}
	}
	if err != nil {
		f.closeFile()
		f.stopScript()
		return nil, fmt.Errorf("open %s %s: %w", cfg.Kind, cfg.Path, err)
	}
	f.fd = fd
	go f.writer()
	log.Info("notify fifo open", "created", f.created)
	return f, nil
}

// Path is the FIFO's file name.
func (f *FIFO) Path() string { return f.cfg.Path }

// Write queues one line (with its "\n") without ever waiting; a line the
// queue has no room for is dropped and counted, and a closed FIFO takes none.
func (f *FIFO) Write(line string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	select {
	case f.lines <- []byte(line):
	default:
		if f.dropped.Add(1) == 1 {
			f.log.Warn("notify fifo full: nobody reads it; dropping lines")
		}
	}
}

// Dropped is how many lines a full queue refused.
func (f *FIFO) Dropped() uint64 { return f.dropped.Load() }

// writer moves the queued lines into the pipe. A line is at most a few hundred
// bytes, under PIPE_BUF, so each write is atomic: whole or EAGAIN.
func (f *FIFO) writer() {
	defer close(f.written)
	for b := range f.lines {
		f.write(b)
	}
}

// write puts one line into the pipe, trying again while it is full, until
// Close gives up on it.
func (f *FIFO) write(b []byte) {
	for {
		_, err := syscall.Write(f.fd, b)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
		case err != nil:
			f.log.Warn("notify fifo write", "err", err)
			return
		default:
			return
		}
		select {
		case <-f.stop:
			f.dropped.Add(1)
			return
		case <-time.After(retryEvery):
		}
	}
}

// Close writes what is queued (waiting at most drainWait for a full pipe),
// removes the FIFO if it was created here (first, as keepalived's fifo_close,
// so that a script reopening it in a loop cannot find it again), closes it,
// and stops the script: it sees the end of the FIFO once it read everything
// and may end by itself within drainWait; then its process group is killed.
func (f *FIFO) Close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	close(f.lines)
	f.mu.Unlock()
	select {
	case <-f.written:
	case <-time.After(drainWait):
		close(f.stop)
		<-f.written
	}
	f.closeFile()
	f.stopScript()
}

func (f *FIFO) closeFile() {
	if f.created {
		if err := os.Remove(f.cfg.Path); err != nil {
			f.log.Warn("notify fifo: remove", "err", err)
		}
		f.created = false
	}
	if f.fd >= 0 {
		_ = syscall.Close(f.fd)
		f.fd = -1
	}
}

// startScript runs the FIFO's script for as long as the FIFO is open. It is
// not restarted if it ends (keepalived only logs "notify fifo script
// terminated").
func (f *FIFO) startScript() {
	ctx, cancel := context.WithCancel(context.Background())
	f.scriptCancel, f.scriptDone = cancel, make(chan struct{})
	cmd := *f.cfg.Script
	cmd.DieWithAgent = true
	log := f.log.With("script", cmd.Argv(), "user", cmd.As().Name)
	log.Info("notify fifo script started")
	go func() {
		defer close(f.scriptDone)
		out, failure := cmd.Run(ctx, forever)
		if ctx.Err() != nil {
			return
		}
		log.Warn("notify fifo script terminated", "reason", failure, "output", out)
	}()
}

func (f *FIFO) stopScript() {
	if f.scriptCancel == nil {
		return
	}
	select {
	case <-f.scriptDone:
	case <-time.After(drainWait):
	}
	f.scriptCancel()
	<-f.scriptDone
	f.scriptCancel = nil
}
