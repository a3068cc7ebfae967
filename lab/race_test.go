package lab

import (
	"strings"
	"testing"
)

func TestRaceReportsFindsEachReport(t *testing.T) {
	log := `time=1 level=INFO msg=start
==================
WARNING: DATA RACE
Read at 0x00c000 by goroutine 7:
  agent.(*Agent).watchKernel()
==================
time=2 level=INFO msg="config reloaded"
==================
WARNING: DATA RACE
Write at 0x00c008 by goroutine 9:
==================
`
	got := RaceReports(log)
	if len(got) != 2 || !strings.Contains(got[0], "watchKernel") || !strings.Contains(got[1], "Write at") || strings.Contains(got[0], "config reloaded") {
		t.Fatalf("RaceReports = %q, want the two reports, each on its own", got)
	}
	if got := RaceReports("time=1 level=INFO msg=start\n"); len(got) != 0 {
		t.Fatalf("RaceReports of a clean log = %q", got)
	}
}
