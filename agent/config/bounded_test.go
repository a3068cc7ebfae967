package config

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIncludeOnlyRegularFiles: an include of a FIFO, /dev/zero or a directory is an
// error naming the file, returned at once (a FIFO nobody writes would block a plain
// open forever; /dev/zero would never end).
func TestIncludeOnlyRegularFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.conf")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ include, want string }{
		{fifo, "is not a regular file (a FIFO)"},
		{"/dev/zero", "is not a regular file (a character device)"},
		{filepath.Join(dir, "sub.conf"), "is not a regular file (a directory)"},
	} {
		main := filepath.Join(dir, "main-"+filepath.Base(c.include)+".conf")
		writeFiles(t, dir, map[string]string{filepath.Base(main): "include " + c.include + "\n"})
		done := make(chan error, 1)
		go func() {
			_, err := Load(main, CheckFiles(false))
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), main+":1:") {
				t.Errorf("include %s: error %v, want %s:1: ... %q", c.include, err, main, c.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("include %s: Load still reading after 10s", c.include)
		}
	}
	// The main file too.
	if _, err := Load(fifo); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Load of a FIFO: %v", err)
	}
}

// TestConfigSizeBudget: a file larger than the budget is refused before it is read.
func TestConfigSizeBudget(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := filepath.Join(dir, "big.conf")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxConfigBytes + 1); err != nil { // sparse: nothing written
		t.Fatal(err)
	}
	f.Close()
	writeFiles(t, dir, map[string]string{"keepalived.conf": "include big.conf\n"})
	_, err = Load(filepath.Join(dir, "keepalived.conf"), CheckFiles(false))
	if err == nil || !strings.Contains(err.Error(), "more than the 16777216 a configuration may have") {
		t.Errorf("include of a file over the budget: %v", err)
	}
}

// TestConfigSizeBudgetAcrossIncludes: files each within the budget but together over
// it stop the reading with an error at the include that crosses the line.
func TestConfigSizeBudgetAcrossIncludes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	part := strings.Repeat("# filler comment line\n", maxConfigBytes/22/2+1000)
	writeFiles(t, dir, map[string]string{
		"keepalived.conf": "include parts/*.conf\n",
		"parts/a.conf":    part,
		"parts/b.conf":    part,
		"parts/c.conf":    part,
	})
	_, err := Load(filepath.Join(dir, "keepalived.conf"), CheckFiles(false))
	if err == nil || !strings.Contains(err.Error(), "include "+filepath.Join(dir, "parts/b.conf")+": the configuration would exceed") {
		t.Errorf("includes over the budget together: %v", err)
	}
}

// TestConfigTokenBudget: within the byte budget, more words than the token budget
// across the includes stop the reading with an error at the word that crosses it.
func TestConfigTokenBudget(t *testing.T) {
	t.Parallel()
	diags := &diagnostics{}
	r := newReader(mapSource{
		"/etc/k.conf": "include a.conf\ninclude b.conf\n",
		"/etc/a.conf": "a b c d e f g h\n",
		"/etc/b.conf": "a b c d\ne f g h\n",
	}, diags)
	r.maxTokens = 12
	r.addFile("/etc/k.conf", []byte(r.src.(mapSource)["/etc/k.conf"]))
	if len(diags.errs) != 1 || !strings.Contains(diags.errs[0].Error(), "/etc/b.conf:2: the configuration has more than 12 words") {
		t.Errorf("errors %v, want one at /etc/b.conf:2 for more than 12 words", diags.errs)
	}
	if len(r.toks) != 0 {
		t.Errorf("%d tokens kept after the budget was spent", len(r.toks))
	}
}
