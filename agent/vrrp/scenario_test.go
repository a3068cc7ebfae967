package vrrp

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// A tiny discrete-event simulation: instances wired through a fake network (zero
// latency, optionally cut) and driven by a fake clock that jumps from one deadline to the
// next. The driver side of the contract — carry out actions, deliver TimerFired at the
// deadline — is what the agent loop does for real.

type simNode struct {
	name    string
	addr    netip.Addr
	inst    *Instance
	timers  map[TimerKind]time.Time
	changes []simChange
}

type simChange struct {
	at       time.Time
	from, to State
	reason   string
}

type simPacket struct {
	at  time.Time
	seq int
	to  *simNode
	src netip.Addr
	b   []byte
}

type sim struct {
	t       *testing.T
	now     time.Time
	nodes   []*simNode
	packets []simPacket
	seq     int
	cut     bool // partition: every packet is lost
}

func newSim(t *testing.T, cfgs ...Config) *sim {
	s := &sim{t: t, now: t0}
	for _, c := range cfgs {
		s.nodes = append(s.nodes, &simNode{name: c.PrimaryAddr.String(), addr: c.PrimaryAddr, inst: mustNew(t, c), timers: map[TimerKind]time.Time{}})
	}
	return s
}

func (s *sim) step(n *simNode, ev Event) {
	for _, a := range n.inst.Step(s.now, ev) {
		switch a := a.(type) {
		case SendAdvert:
			b, err := a.Advert.Marshal(n.addr, group4, ChecksumPseudoHeader)
			if err != nil {
				s.t.Fatalf("%s: marshal: %v", n.name, err)
			}
			for _, to := range s.nodes {
				if to != n && !s.cut {
					s.seq++
					s.packets = append(s.packets, simPacket{at: s.now, seq: s.seq, to: to, src: n.addr, b: b})
				}
			}
		case ArmTimer:
			if a.At.IsZero() {
				delete(n.timers, a.Kind)
			} else {
				n.timers[a.Kind] = a.At
			}
		case Transition:
			n.changes = append(n.changes, simChange{at: s.now, from: a.From, to: a.To, reason: a.Reason})
		}
	}
}

// runUntil processes every packet and timer due up to end, in time order (packets before
// timers at the same instant), then sets the clock to end.
func (s *sim) runUntil(end time.Time) {
	for steps := 0; ; steps++ {
		if steps > 100000 {
			s.t.Fatal("simulation does not settle")
		}
		var (
			next  time.Time
			node  *simNode
			kind  TimerKind
			pkt   = -1
			found bool
		)
		for n, p := range s.packets {
			if !found || p.at.Before(next) {
				next, pkt, found = p.at, n, true
			}
		}
		for _, nd := range s.nodes {
			for k, at := range nd.timers {
				if !found || at.Before(next) {
					next, node, kind, pkt, found = at, nd, k, -1, true
				}
			}
		}
		if !found || next.After(end) {
			s.now = end
			return
		}
		s.now = next
		if pkt >= 0 {
			p := s.packets[pkt]
			s.packets = slices.Delete(s.packets, pkt, pkt+1)
			s.step(p.to, AdvertReceived{Src: p.src, Dst: group4, TTL: 255, Packet: p.b})
			continue
		}
		delete(node.timers, kind)
		s.step(node, TimerFired{Kind: kind})
	}
}

func (s *sim) masters() []string {
	var out []string
	for _, n := range s.nodes {
		if n.inst.State() == StateMaster {
			out = append(out, n.name)
		}
	}
	return out
}

// lastChange returns the node's last transition to state to.
func (n *simNode) lastChange(to State) (simChange, bool) {
	for k := len(n.changes) - 1; k >= 0; k-- {
		if n.changes[k].to == to {
			return n.changes[k], true
		}
	}
	return simChange{}, false
}

func (s *sim) wantMasters(when string, want ...string) {
	s.t.Helper()
	if got := s.masters(); !slices.Equal(got, want) {
		s.t.Fatalf("%s (t=%s): masters %v, want %v\n%s", when, s.now.Sub(t0), got, want, s.history())
	}
}

func (s *sim) history() string {
	out := ""
	for _, n := range s.nodes {
		for _, c := range n.changes {
			out += fmt.Sprintf("  %s t=%s %s->%s %s\n", n.name, c.at.Sub(t0), c.from, c.to, c.reason)
		}
	}
	return out
}

// Start both -> one master; master stops -> backup master after exactly Skew_Time;
// restart -> preempt; partition -> both MASTER; heal -> one MASTER within one interval.
func TestScenarioTwoNodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		base     Config
		interval time.Duration
		fast     bool
	}{
		{"v2 1s FastPreempt", v2Config(), time.Second, true},
		{"v2 1s RFC preempt", v2Config(), time.Second, false},
		{"v3 100ms FastPreempt", v3Config(), 100 * time.Millisecond, true},
		{"v3 10ms RFC preempt", v3Config(), 10 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ai := tc.interval
			a := tc.base
			a.AdverInt, a.Priority, a.InitialState, a.FastPreempt, a.PrimaryAddr = ai, 100, StateMaster, tc.fast, lowPeer
			b := tc.base
			b.AdverInt, b.Priority, b.InitialState, b.FastPreempt, b.PrimaryAddr = ai, 90, StateBackup, tc.fast, highPeer
			s := newSim(t, a, b)
			A, B := s.nodes[0], s.nodes[1]
			v := tc.base.Version

			// Start both: A's shorter Master_Down_Interval makes it master first.
			s.step(A, Start{})
			s.step(B, Start{})
			s.runUntil(t0.Add(10 * ai))
			s.wantMasters("after start", A.name)
			if c, _ := A.lastChange(StateMaster); !c.at.Equal(t0.Add(MasterDownInterval(v, 100, ai))) {
				t.Fatalf("A master at %s, want Master_Down_Interval %s", c.at.Sub(t0), MasterDownInterval(v, 100, ai))
			}
			if len(B.changes) != 1 {
				t.Fatalf("B changed state:\n%s", s.history())
			}

			// A stops: its priority-0 advert makes B master after exactly Skew_Time.
			t1 := s.now
			s.step(A, Stop{})
			s.runUntil(t1.Add(5 * ai))
			s.wantMasters("after stop", B.name)
			if c, _ := B.lastChange(StateMaster); !c.at.Equal(t1.Add(SkewTime(v, 90, ai))) {
				t.Fatalf("B master %s after stop, want Skew_Time %s\n%s", c.at.Sub(t1), SkewTime(v, 90, ai), s.history())
			}

			// A restarts and preempts B: at B's next advert with FastPreempt, after its
			// Master_Down_Interval (lower adverts do not reset it) without.
			t2 := s.now
			s.step(A, Start{})
			s.runUntil(t2.Add(10 * ai))
			s.wantMasters("after restart", A.name)
			c, _ := A.lastChange(StateMaster)
			took := c.at.Sub(t2)
			if tc.fast && took > ai {
				t.Fatalf("FastPreempt took %s, more than one interval\n%s", took, s.history())
			}
			if !tc.fast && took != MasterDownInterval(v, 100, ai) {
				t.Fatalf("RFC preempt took %s, want Master_Down_Interval %s\n%s", took, MasterDownInterval(v, 100, ai), s.history())
			}
			if c, _ := B.lastChange(StateBackup); c.at.Before(t2) {
				t.Fatalf("B never stepped down\n%s", s.history())
			}

			// Partition: both become master.
			t3 := s.now
			s.cut = true
			s.runUntil(t3.Add(5 * ai))
			s.wantMasters("partitioned", A.name, B.name)

			// Heal: exactly one master within one advert interval, and it stays so.
			t4 := s.now
			s.cut = false
			s.runUntil(t4.Add(ai))
			s.wantMasters("one interval after heal", A.name)
			if c, _ := B.lastChange(StateBackup); c.at.Before(t4) || c.at.After(t4.Add(ai)) {
				t.Fatalf("B stepped down at %s after heal\n%s", c.at.Sub(t4), s.history())
			}
			n := len(A.changes) + len(B.changes)
			s.runUntil(t4.Add(20 * ai))
			s.wantMasters("long after heal", A.name)
			if len(A.changes)+len(B.changes) != n {
				t.Fatalf("flapping after heal\n%s", s.history())
			}
		})
	}
}
