package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestJournalPriorityPrefixes: on the journal stream every line carries its level's
// syslog priority, derived loggers included, one record per line.
func TestJournalPriorityPrefixes(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "journal"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))

	log := slog.New(newLogHandler(f, slog.LevelDebug))
	log.Debug("d")
	log.Info("i")
	log.With("instance", "VI_1").Warn("w")
	log.WithGroup("g").Error("e", "k", 1)

	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	want := []struct{ prefix, msg string }{{"<7>", "msg=d"}, {"<6>", "msg=i"}, {"<4>", "msg=w instance=VI_1"}, {"<3>", "msg=e g.k=1"}}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), b)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w.prefix) || !strings.Contains(lines[i], w.msg) {
			t.Errorf("line %d = %q, want prefix %s and %q", i, lines[i], w.prefix, w.msg)
		}
	}
}

// TestNoPrefixesOffTheJournal: a terminal or a file that is not the journal stream (a
// stale JOURNAL_STREAM inherited by a redirected child) gets plain lines.
func TestNoPrefixesOffTheJournal(t *testing.T) {
	t.Setenv("JOURNAL_STREAM", "1:1")
	var buf bytes.Buffer
	slog.New(newLogHandler(&buf, slog.LevelInfo)).Warn("w")
	if strings.HasPrefix(buf.String(), "<") {
		t.Errorf("bytes.Buffer got %q", buf.String())
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	slog.New(newLogHandler(f, slog.LevelInfo)).Warn("w")
	b, _ := os.ReadFile(f.Name())
	if strings.HasPrefix(string(b), "<") {
		t.Errorf("a file that is not the journal stream got %q", b)
	}
}
