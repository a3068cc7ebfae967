package notifyfifo

import (
	"bufio"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/agent/script"
)

// The line formats of keepalived 2.2.7's vrrp_notify.c notify_fifo:
// "%s \"%s\" %s %d\n" with TYPE, NAME, STATE, PRIORITY.
func TestLinesAsKeepalivedNotifyFifo(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		// notify_instance_fifo from send_instance_notifies.
		{InstanceLine("VI_1", "MASTER", 100), "INSTANCE \"VI_1\" MASTER 100\n"},
		{InstanceLine("VI_1", "BACKUP", 90), "INSTANCE \"VI_1\" BACKUP 90\n"},
		{InstanceLine("VI_1", "FAULT", 0), "INSTANCE \"VI_1\" FAULT 0\n"},
		{InstanceLine("VI_1", "STOP", 255), "INSTANCE \"VI_1\" STOP 255\n"},
		// notify_group_fifo from send_group_notifies: priority always 0.
		{GroupLine("G", "MASTER"), "GROUP \"G\" MASTER 0\n"},
		{GroupLine("G", "FAULT"), "GROUP \"G\" FAULT 0\n"},
		// send_instance_priority_notifies: MASTER_PRIORITY as master, else BACKUP_PRIORITY.
		{PriorityLine("VI_1", true, 80), "INSTANCE \"VI_1\" MASTER_PRIORITY 80\n"},
		{PriorityLine("VI_1", false, 100), "INSTANCE \"VI_1\" BACKUP_PRIORITY 100\n"},
		// send_event_notify(VRRP_EVENT_MASTER_RX_LOWER_PRI).
		{RxLowerPriLine("VI_1", 100), "INSTANCE \"VI_1\" MASTER_RX_LOWER_PRI 100\n"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestCreateWriteRemove follows lib/notify.c fifo_open and fifo_close: a missing
// FIFO is created 0644 (less the umask), lines written reach a reader in order,
// and the FIFO is removed at Close because the agent created it.
func TestCreateWriteRemove(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n.fifo")
	f, err := Open(Config{Kind: "notify_fifo", Path: path, Owner: script.Own()}, discard())
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	umask := syscall.Umask(0)
	syscall.Umask(umask)
	if st.Mode()&os.ModeNamedPipe == 0 || st.Mode().Perm() != os.FileMode(0o644&^umask) {
		t.Errorf("mode %v, want a FIFO with 0644 less umask %o", st.Mode(), umask)
	}
	r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f.Write(InstanceLine("VI_1", "MASTER", 100))
	f.Write(GroupLine("G", "MASTER"))
	sc := bufio.NewScanner(r)
	var got []string
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < 2 && time.Now().Before(deadline) {
		if sc.Scan() {
			got = append(got, sc.Text())
			continue
		}
		sc = bufio.NewScanner(r)         // EAGAIN: nothing yet
		time.Sleep(5 * time.Millisecond) // polling a non-blocking reader
	}
	if strings.Join(got, "|") != `INSTANCE "VI_1" MASTER 100|GROUP "G" MASTER 0` {
		t.Errorf("read %q", got)
	}
	f.Close()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("created FIFO still there after Close: %v", err)
	}
}

// TestExistingFIFOKept: a FIFO that was there is used and left in place.
func TestExistingFIFOKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n.fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Open(Config{Kind: "vrrp_notify_fifo", Path: path, Owner: script.Own()}, discard())
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if st, err := os.Lstat(path); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("existing FIFO after Close: %v %v", st, err)
	}
}

// TestRegularFileRefused: hagent writes only into a FIFO.
func TestRegularFileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Config{Kind: "notify_fifo", Path: path, Owner: script.Own()}, discard()); err == nil || !strings.Contains(err.Error(), "not a FIFO") {
		t.Errorf("Open of a regular file: %v", err)
	}
}

// TestNobodyReadsNeverBlocks: with no reader, Write returns at once however many
// lines are written (O_RDWR|O_NONBLOCK and a bounded queue); what the pipe and the
// queue cannot hold is dropped and counted, and Close returns within its bound.
func TestNobodyReadsNeverBlocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "n.fifo")
	f, err := Open(Config{Kind: "notify_fifo", Path: path, Owner: script.Own()}, discard())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20000 { // 20000 lines of 27 bytes: far more than a 64 KiB pipe and the queue
			f.Write(InstanceLine("VI_1", "MASTER", 100))
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Write blocked with nobody reading")
	}
	if f.Dropped() == 0 {
		t.Error("no line dropped although nobody read 540 KB")
	}
	closed := make(chan struct{})
	go func() { f.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * drainWait):
		t.Fatal("Close did not return with a full pipe")
	}
}

// TestScriptGetsPathAndEOF: the script runs once with the FIFO's name as its last
// argument (vrrp.c add_script_param), reads the lines, and ends by itself at Close,
// when the agent's end of the FIFO closes.
func TestScriptGetsPathAndEOF(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "n.fifo")
	out := filepath.Join(dir, "out")
	sh := filepath.Join(dir, "reader.sh")
	body := "#!/bin/sh\necho \"ARGS $*\" >>" + out + "\nwhile read -r l; do echo \"$l\" >>" + out + "; done <\"$2\"\necho EOF >>" + out + "\n"
	if err := os.WriteFile(sh, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd, err := script.ParseArgv([]string{sh, "first", path}, script.Own())
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(Config{Kind: "notify_fifo", Path: path, Owner: script.Own(), Script: &cmd}, discard())
	if err != nil {
		t.Fatal(err)
	}
	f.Write(InstanceLine("VI_1", "BACKUP", 100))
	f.Write(InstanceLine("VI_1", "MASTER", 100))
	want := "ARGS first " + path + "\nINSTANCE \"VI_1\" BACKUP 100\nINSTANCE \"VI_1\" MASTER 100\n"
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(out)
		if string(b) == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("script wrote %q, want %q", b, want)
		}
		time.Sleep(10 * time.Millisecond) // polling a file another process writes
	}
	f.Close()
	// Close waited for the script: it saw the end of the FIFO and said so.
	if b, _ := os.ReadFile(out); string(b) != want+"EOF\n" {
		t.Errorf("after Close the script wrote %q, want it to end on EOF", b)
	}
}
