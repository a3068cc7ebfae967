package probe

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// process_track_file: strtol(buf, NULL, 0) of the first 127 bytes; a missing, empty or
// non-numeric file is 0; a number outside the 32-bit range is ignored.
func TestProcessTrackFile_ReadsLikeStrtol(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, c := range []struct {
		body string
		want int64
		ok   bool
	}{
		{"5\n", 5, true},
		{"  -12 apples\n", -12, true},
		{"0x10", 16, true},
		{"010", 8, true},
		{"", 0, true},
		{"abc", 0, true},
		{"2147483648", 2147483648, true}, // keepalived allows INT32_MAX + 1
		{"99999999999", 0, false},
	} {
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, []byte(c.body), 0o644); err != nil {
			t.Fatal(err)
		}
		v, _, ok := readTrackFile(p)
		if v != c.want || ok != c.ok {
			t.Errorf("%q: got %d ok=%v, want %d ok=%v", c.body, v, ok, c.want, c.ok)
		}
	}
	if v, why, ok := readTrackFile(filepath.Join(dir, "missing")); v != 0 || !ok || why != "file missing" {
		t.Errorf("missing file: %d %q %v, want 0 \"file missing\" true", v, why, ok)
	}
}

func valueChange(r *running, want int64) *StateChange {
	r.t.Helper()
	return r.next(2*time.Second, "value change", func(ev Event) bool {
		return ev.Change != nil && ev.Change.Value == want
	}).Change
}

// init_track_files / process_inotify: the directory is watched for a file written and
// closed, moved in, or deleted (then 0), and every change of value is reported.
func TestFileProbe_FollowsWritesMovesAndDeletes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "prio")
	p, err := NewFile(FileSpec{Name: "prio", Path: path})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, p)
	if c := valueChange(r, 0); !c.Healthy {
		t.Fatalf("missing file: %+v, want healthy value 0", c)
	}
	if err := os.WriteFile(path, []byte("5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c := valueChange(r, 5); c.Healthy {
		t.Errorf("value 5 reported healthy")
	}
	// The same value again is not a change.
	if err := os.WriteFile(path, []byte("5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, ".prio.tmp")
	if err := os.WriteFile(tmp, []byte("-300\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	// The next change reported is the move, not the rewrite of 5.
	if c := r.next(2*time.Second, "change", func(ev Event) bool { return ev.Change != nil }).Change; c.Value != -300 {
		t.Fatalf("after rewrite of 5 and a move of -300: change %+v, want value -300", c)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	valueChange(r, 0)
	if got := p.Value(); got != 0 {
		t.Errorf("Value() = %d after delete, want 0", got)
	}
}

// track_file_end_handler: init_file writes the value when the file does not exist, or
// with overwrite when it does, except on a reload.
func TestTrackFileEndHandler_InitFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			return "<" + err.Error() + ">"
		}
		return string(b)
	}
	path := filepath.Join(dir, "a")
	p, _ := NewFile(FileSpec{Name: "a", Path: path, Init: true, InitValue: 7})
	if err := p.InitFile(false); err != nil || read(path) != "7\n" {
		t.Fatalf("create: %v, file %q, want 7", err, read(path))
	}
	os.WriteFile(path, []byte("3\n"), 0o644)
	if err := p.InitFile(false); err != nil || read(path) != "3\n" {
		t.Fatalf("without overwrite: %v, file %q, want 3 kept", err, read(path))
	}
	o, _ := NewFile(FileSpec{Name: "a", Path: path, Init: true, InitValue: -2, Overwrite: true})
	if err := o.InitFile(true); err != nil || read(path) != "3\n" {
		t.Fatalf("overwrite on reload: %v, file %q, want 3 kept", err, read(path))
	}
	if err := o.InitFile(false); err != nil || read(path) != "-2\n" {
		t.Fatalf("overwrite: %v, file %q, want -2", err, read(path))
	}
	n, _ := NewFile(FileSpec{Name: "b", Path: filepath.Join(dir, "b")})
	if err := n.InitFile(false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); err == nil {
		t.Errorf("file written without init_file")
	}
}
