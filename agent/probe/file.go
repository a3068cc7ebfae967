package probe

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// FileSpec is a keepalived track_file block.
type FileSpec struct {
	Name string
	Path string
	// Init writes InitValue to the file before watching it when the file does not
	// exist, or always with Overwrite (keepalived's init_file [VALUE] [overwrite]).
	Init      bool
	InitValue int
	Overwrite bool
}

// FileProbe follows the integer in a file, as keepalived 2.2.7's track_file
// (trackers/track_file.c): the directory is watched with inotify for a file closed
// after writing, moved in, moved away or deleted, and the file is read again; a
// missing or empty file counts as 0, text that is not a number as 0, and a number
// out of the 32-bit range is ignored (process_track_file). Events carry the value in
// StateChange.Value; a change is sent only when the value changes.
type FileProbe struct {
	spec FileSpec
	// retry is how often a watch on a missing directory is tried again.
	retry time.Duration

	mu      sync.Mutex
	value   int64
	history []Result
}

// NewFile validates spec.
func NewFile(spec FileSpec) (*FileProbe, error) {
	if spec.Path == "" {
		return nil, errors.New("track_file probe: empty file name")
	}
	if spec.Name == "" {
		spec.Name = spec.Path
	}
	abs, err := filepath.Abs(spec.Path)
	if err != nil {
		return nil, fmt.Errorf("track_file %s: %w", spec.Name, err)
	}
	spec.Path = abs
	return &FileProbe{spec: spec, retry: time.Second}, nil
}

// Name is the probe's name.
func (p *FileProbe) Name() string { return p.spec.Name }

// Healthy reports whether the file holds 0.
func (p *FileProbe) Healthy() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.value == 0
}

// Value is the last value read.
func (p *FileProbe) Value() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.value
}

// History returns the last results, oldest first.
func (p *FileProbe) History() []Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Result(nil), p.history...)
}

// InitFile writes init_file's value when asked (track_file_end_handler): when the file
// does not exist, or with overwrite when it is a regular file and this is not a reload.
func (p *FileProbe) InitFile(reload bool) error {
	if !p.spec.Init {
		return nil
	}
	st, err := os.Stat(p.spec.Path)
	switch {
	case err == nil && !p.spec.Overwrite:
		return nil
	case err == nil && !st.Mode().IsRegular():
		return fmt.Errorf("cannot initialise track_file %s: %s is not a regular file", p.spec.Name, p.spec.Path)
	case err == nil && reload:
		return nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("initialise track_file %s: %w", p.spec.Name, err)
	}
	if err := os.WriteFile(p.spec.Path, []byte(strconv.Itoa(p.spec.InitValue)+"\n"), 0o644); err != nil {
		return fmt.Errorf("initialise track_file %s: %w", p.spec.Name, err)
	}
	return nil
}

// Run reports the file's value at once, then every change, until ctx ends.
func (p *FileProbe) Run(ctx context.Context, out chan<- Event) {
	log := slog.Default().With("probe", p.spec.Name, "kind", "file")
	dir, base := filepath.Split(p.spec.Path)
	first := true
	for ctx.Err() == nil {
		w, err := newDirWatch(dir)
		if err != nil {
			// keepalived drops a track file whose directory does not exist; hagent
			// keeps the value 0 and tries again, so that a directory created later
			// (a tmpfs mounted after start) works.
			if first {
				log.Warn("cannot watch track file directory; the value is 0 until it can", "dir", dir, "err", err)
				if !p.report(ctx, out, 0, fmt.Sprintf("cannot watch %s: %v", dir, err), true) {
					return
				}
				first = false
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(p.retry):
			}
			continue
		}
		ok := p.follow(ctx, out, w, base, first, log)
		w.close()
		if !ok {
			return
		}
		first = false
	}
}

// follow reads the file now and after each event for it; false when ctx ended.
func (p *FileProbe) follow(ctx context.Context, out chan<- Event, w *dirWatch, base string, first bool, log *slog.Logger) bool {
	stop := context.AfterFunc(ctx, w.close)
	defer stop()
	read := func() bool {
		v, why, ok := readTrackFile(p.spec.Path)
		if !ok {
			log.Info("invalid number in track file; ignored (as keepalived)", "file", p.spec.Path, "why", why)
			return true
		}
		return p.report(ctx, out, v, why, first)
	}
	if !read() {
		return false
	}
	first = false
	for {
		names, err := w.next()
		if err != nil {
			return ctx.Err() == nil
		}
		for _, n := range names {
			if n == base && !read() {
				return false
			}
		}
	}
}

// report records a value and sends it when it changed (or always when force).
func (p *FileProbe) report(ctx context.Context, out chan<- Event, v int64, why string, force bool) bool {
	now := time.Now()
	p.mu.Lock()
	changed := force || v != p.value
	p.value = v
	r := Result{Probe: p.spec.Name, Kind: KindFile, OK: v == 0, Output: strconv.FormatInt(v, 10), Err: why, Started: now}
	p.history = append(p.history, r)
	if len(p.history) > HistorySize {
		p.history = p.history[len(p.history)-HistorySize:]
	}
	p.mu.Unlock()
	if !changed {
		return true
	}
	reason := "value " + strconv.FormatInt(v, 10)
	if why != "" {
		reason += " (" + why + ")"
	}
	return send(ctx, out, Event{Result: r.safe(), Change: &StateChange{Probe: p.spec.Name, Healthy: v == 0, Reason: reason, At: now, Value: v}})
}

// readTrackFile is process_track_file: the number at the start of the file (C's
// strtol with base 0: decimal, 0x hex or 0 octal), 0 when the file is missing, empty or
// does not start with a number; ok is false for a number out of range, which keepalived
// ignores (the last value stays).
func readTrackFile(path string) (v int64, why string, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, "file missing", true
		}
		return 0, err.Error(), true
	}
	if len(b) > 127 {
		b = b[:127] // keepalived reads at most 127 bytes
	}
	n, ok := strtol(string(bytes.TrimLeft(b, " \t\n\v\f\r")))
	if !ok {
		return 0, "", false
	}
	if n < math.MinInt32 || n > math.MaxInt32+1 {
		return 0, "", false
	}
	return n, "", true
}

// strtol is C's strtol(s, NULL, 0) over a string without leading blanks: an optional
// sign, then 0x and hex digits, 0 and octal digits, or decimal digits, stopping at the
// first other byte; no digits is 0. ok is false when the number overflows int64.
func strtol(s string) (n int64, ok bool) {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && digitValue(s[2]) < 16:
		base, s = 16, s[2:]
	case len(s) > 0 && s[0] == '0':
		base = 8
	}
	end := 0
	for end < len(s) && digitValue(s[end]) < base {
		end++
	}
	if end == 0 {
		return 0, true
	}
	u, err := strconv.ParseInt(s[:end], base, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		u = -u
	}
	return u, true
}

func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return 99
}

// dirWatch is an inotify watch on one directory for the events keepalived's
// init_track_files asks for.
type dirWatch struct {
	f    *os.File
	once sync.Once
}

func newDirWatch(dir string) (*dirWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify_init1: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CLOSE_WRITE|unix.IN_DELETE|unix.IN_MOVE); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inotify_add_watch %s: %w", dir, err)
	}
	// A non-blocking fd goes to Go's poller, so Close wakes a pending Read.
	return &dirWatch{f: os.NewFile(uintptr(fd), "inotify:"+dir)}, nil
}

// next waits for events and returns the names they concern.
func (w *dirWatch) next() ([]string, error) {
	buf := make([]byte, 16*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	n, err := w.f.Read(buf)
	if err != nil {
		return nil, err
	}
	var names []string
	for off := 0; off+unix.SizeofInotifyEvent <= n; {
		// struct inotify_event: wd, mask, cookie, len, then the name (NUL padded).
		mask := binary.NativeEndian.Uint32(buf[off+4:])
		nameLen := int(binary.NativeEndian.Uint32(buf[off+12:]))
		start := off + unix.SizeofInotifyEvent
		if start+nameLen > n {
			break
		}
		if mask&unix.IN_ISDIR == 0 {
			names = append(names, string(bytes.TrimRight(buf[start:start+nameLen], "\x00")))
		}
		if mask&unix.IN_IGNORED != 0 {
			return names, errors.New("watched directory removed")
		}
		off = start + nameLen
	}
	return names, nil
}

func (w *dirWatch) close() { w.once.Do(func() { w.f.Close() }) }
