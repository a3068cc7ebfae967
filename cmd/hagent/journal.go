package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// newLogHandler is the agent's slog handler: text lines on stderr, each prefixed with
// its sd-daemon priority ("<4>" for a warning) when stderr is systemd's journal stream,
// so that `journalctl -u hagent -p warning` shows warnings and errors only (journald
// strips the prefix: SyslogLevelPrefix= defaults to yes). Anywhere else, plain lines.
func newLogHandler(stderr io.Writer, level slog.Level) slog.Handler {
	opts := &slog.HandlerOptions{Level: level}
	if f, ok := stderr.(*os.File); !ok || !isJournalStream(f, os.Getenv("JOURNAL_STREAM")) {
		return slog.NewTextHandler(stderr, opts)
	}
	out := &prefixedOut{w: stderr}
	return &priorityHandler{out: out, inner: slog.NewTextHandler(&out.buf, opts)}
}

// isJournalStream reports whether f is the stream systemd connected to the journal:
// JOURNAL_STREAM is "DEVICE:INODE" of that stream, and only counts when f is still it
// (a child whose stderr was redirected inherits the variable but not the stream).
func isJournalStream(f *os.File, env string) bool {
	if env == "" {
		return false
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return env == fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}

// syslogPriority maps slog levels to syslog priorities (sd-daemon(3)).
func syslogPriority(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3 // err
	case l >= slog.LevelWarn:
		return 4 // warning
	case l >= slog.LevelInfo:
		return 6 // info
	default:
		return 7 // debug
	}
}

// prefixedOut is shared by a handler and those derived from it: one record is formatted
// into buf and written with its prefix in one write, so lines never interleave.
type prefixedOut struct {
	mu  sync.Mutex
	buf bytes.Buffer
	w   io.Writer
}

type priorityHandler struct {
	out   *prefixedOut
	inner slog.Handler // writes into out.buf
}

func (h *priorityHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *priorityHandler) Handle(ctx context.Context, r slog.Record) error {
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	h.out.buf.Reset()
	fmt.Fprintf(&h.out.buf, "<%d>", syslogPriority(r.Level))
	if err := h.inner.Handle(ctx, r); err != nil {
		return err
	}
	_, err := h.out.w.Write(h.out.buf.Bytes())
	return err
}

func (h *priorityHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &priorityHandler{out: h.out, inner: h.inner.WithAttrs(attrs)}
}

func (h *priorityHandler) WithGroup(name string) slog.Handler {
	return &priorityHandler{out: h.out, inner: h.inner.WithGroup(name)}
}
