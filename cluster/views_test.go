package cluster

import (
	"errors"
	"testing"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

func TestSplitBrainAndNoMaster(t *testing.T) {
	t.Parallel()
	master, backup, fault := hactlv1.State_STATE_MASTER, hactlv1.State_STATE_BACKUP, hactlv1.State_STATE_FAULT
	tests := []struct {
		name       string
		s71, s72   hactlv1.State
		down71     bool
		splitBrain int
		noMaster   int
	}{
		{name: "healthy", s71: master, s72: backup},
		{name: "two masters", s71: master, s72: master, splitBrain: 1},
		{name: "stale master does not count as split brain", s71: master, s72: master, down71: true},
		{name: "backup and fault", s71: fault, s72: backup, noMaster: 1},
		{name: "master unreachable, backup live", s71: master, s72: backup, down71: true, noMaster: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := NewState(twoNodeConfig())
			s.Apply(snapshot("cenvm71", 1, t0, vi1(tc.s71, tc.s71 == master)))
			s.Apply(snapshot("cenvm72", 1, t0, vi1(tc.s72, tc.s72 == master)))
			if tc.down71 {
				s.Apply(Down{Agent: "cenvm71", Err: errors.New("refused"), Since: t0})
			}
			sb, nm := s.SplitBrain(), s.NoMaster()
			if len(sb) != tc.splitBrain || len(nm) != tc.noMaster {
				t.Fatalf("split brain %v, no master %v; want %d, %d", sb, nm, tc.splitBrain, tc.noMaster)
			}
			if tc.splitBrain > 0 && sb[0].String() != "VI_1 (VRID 51): cenvm71, cenvm72" {
				t.Fatalf("alarm = %q", sb[0])
			}
		})
	}
}

func TestNoMasterNeedsALiveReport(t *testing.T) {
	t.Parallel()
	s := healthy()
	s.Apply(Down{Agent: "cenvm71", Err: errors.New("x"), Since: t0})
	s.Apply(Down{Agent: "cenvm72", Err: errors.New("x"), Since: t0})
	if nm := s.NoMaster(); len(nm) != 0 {
		t.Fatalf("NoMaster = %v with every agent unreachable; want unknown, not masterless", nm)
	}
}

func TestInstancesMatrix(t *testing.T) {
	t.Parallel()
	s := healthy()
	rows := s.Instances()
	if len(rows) != 1 || rows[0].Name != "VI_1" || rows[0].VRID != 51 || len(rows[0].Cells) != 2 {
		t.Fatalf("rows = %+v", rows)
	}
	if rows[0].Cells[0].Node.Name != "cenvm71" || !rows[0].Cells[0].Live() {
		t.Fatalf("first cell = %+v", rows[0].Cells[0])
	}
}
