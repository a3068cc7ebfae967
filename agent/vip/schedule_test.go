package vip

import (
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 17, 29, 30, 0, time.UTC)

func at(offsets ...time.Duration) []time.Time {
	out := make([]time.Time, len(offsets))
	for i, d := range offsets {
		out[i] = t0.Add(d)
	}
	return out
}

func TestDefaultScheduleIsKeepalivedsFiveNowFiveAfterFiveSeconds(t *testing.T) {
	t.Parallel()
	s := DefaultSchedule()
	want := at(0, 0, 0, 0, 0, 5*time.Second, 5*time.Second, 5*time.Second, 5*time.Second, 5*time.Second)
	if got := s.OnMaster(t0); !slices.Equal(got, want) {
		t.Errorf("OnMaster = %v, want %v", got, want)
	}
	if got := s.NextRefresh(t0); got != nil {
		t.Errorf("NextRefresh with refresh off = %v, want nil", got)
	}
}

func TestScheduleSpacingDelayAndRefresh(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	s := Schedule{Repeat: 3, Interval: 10 * ms, Delay: 0, Refresh: 60 * time.Second, RefreshRepeat: 2}
	if got, want := s.OnMaster(t0), at(0, 10*ms, 20*ms); !slices.Equal(got, want) {
		t.Errorf("OnMaster without delay = %v, want %v", got, want)
	}
	if got, want := s.NextRefresh(t0), at(60*time.Second, 60*time.Second+10*ms); !slices.Equal(got, want) {
		t.Errorf("NextRefresh = %v, want %v", got, want)
	}
	if got := (Schedule{Repeat: 0, Delay: time.Second}).OnMaster(t0); len(got) != 0 {
		t.Errorf("repeat 0 = %v, want no announcement", got)
	}
}
