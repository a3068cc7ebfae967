package agent

import "testing"

// trackers/track_file.c update_track_file_status + process_update_vrrp_track_file_status.
func TestUpdateTrackFileStatus_Weighting(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		value   int64
		weight  int
		reverse bool
		fault   bool
		delta   int
	}{
		{0, 0, false, false, 0},
		{3, 0, false, true, 0},    // unweighted: non-zero is a FAULT
		{0, 0, true, true, 0},     // reverse: zero is
		{3, 0, true, false, 0},    //
		{5, 10, false, false, 50}, // value × weight
		{5, 10, true, false, -50}, // reverse negates
		{-5, 10, false, false, -50},
		{30, 10, false, false, 253},   // capped at 253
		{-26, 10, false, true, 0},     // -260 <= -254: FAULT
		{-254, 1, false, true, 0},     // exactly -254: FAULT
		{-253, 1, false, false, -253}, //
		{2147483648, -254, false, true, 0},
	} {
		fault, delta := trackFileStatus(c.value, c.weight, c.reverse)
		if fault != c.fault || delta != c.delta {
			t.Errorf("value %d weight %d reverse %v: fault %v delta %d, want %v %d",
				c.value, c.weight, c.reverse, fault, delta, c.fault, c.delta)
		}
	}
}
