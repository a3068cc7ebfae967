package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// rssFileKB reads this process's resident file-backed memory.
func rssFileKB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// trimProbe lives in the executable's writable data mapping (initialised, so it is in
// the file): a trim that dropped writable pages would bring back the file's 1.
var trimProbe = [2]int{1, 2}

// TestTrimTextDropsResidentCode: the test binary's read-only mappings stop being
// resident (what runs next faults back in), and the process goes on working — writable
// mappings were left alone.
func TestTrimTextDropsResidentCode(t *testing.T) {
	trimProbe[0] = 42
	before := rssFileKB(t)
	n, err := trimText()
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("trimText found no read-only mapping of the executable")
	}
	after := rssFileKB(t)
	t.Logf("RssFile %d kB -> %d kB (%d kB of mappings trimmed)", before, after, n/1024)
	if after >= before {
		t.Errorf("RssFile %d kB after the trim, %d kB before: nothing was released", after, before)
	}
	if trimProbe[0] != 42 {
		t.Errorf("a variable written before the trim reads %d after it: a writable mapping was dropped", trimProbe[0])
	}
}
