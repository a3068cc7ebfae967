package agent

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/hagent-dev/hagent/agent/config"
)

// TestRefifo: a reload with the same notify FIFOs keeps them open (the lines of
// the instances that stay go on to the same reader); a changed one is closed,
// removed since the agent created it, and the new one created.
func TestRefifo(t *testing.T) {
	dir := t.TempDir()
	a := &Agent{log: slog.New(slog.DiscardHandler)}
	g := config.Global{NotifyFIFO: config.NotifyFIFO{Path: filepath.Join(dir, "a.fifo")}}
	a.fifos.Store(a.openFIFOs(g))
	first := a.fifos.Load()
	if len(first.fifos) != 1 {
		t.Fatalf("%d FIFOs open, want 1", len(first.fifos))
	}
	a.refifo(g)
	if a.fifos.Load() != first {
		t.Error("an unchanged notify_fifo was reopened")
	}
	g2 := g
	g2.VRRPNotifyFIFO = config.NotifyFIFO{Path: filepath.Join(dir, "b.fifo")}
	g2.NotifyFIFO.Path = filepath.Join(dir, "c.fifo")
	a.refifo(g2)
	if _, err := os.Lstat(filepath.Join(dir, "a.fifo")); !os.IsNotExist(err) {
		t.Errorf("the old FIFO is still there: %v", err)
	}
	for _, n := range []string{"b.fifo", "c.fifo"} {
		if st, err := os.Lstat(filepath.Join(dir, n)); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
			t.Errorf("%s: %v %v, want a FIFO", n, st, err)
		}
	}
	a.closeFIFOs()
	if a.fifos.Load() != nil {
		t.Error("FIFOs still set after closeFIFOs")
	}
	for _, n := range []string{"b.fifo", "c.fifo"} {
		if _, err := os.Lstat(filepath.Join(dir, n)); !os.IsNotExist(err) {
			t.Errorf("%s still there after closeFIFOs: %v", n, err)
		}
	}
	a.fifoWrite("INSTANCE \"VI_1\" MASTER 100\n") // no FIFO: a no-op, no panic
}
