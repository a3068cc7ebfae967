package agent

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/agent/netio"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// heldSegment is a segment whose "kernel" holds packets the agent's reader has not
// taken yet, as when the agent was not scheduled: they reach the reader only when the
// agent asks whether anything is pending (if the conn can tell: canTell).
type heldSegment struct {
	*segment
	held    chan netio.Packet
	asked   atomic.Int32
	canTell bool
}

func (s *heldSegment) Pending() bool {
	if !s.canTell {
		return false
	}
	s.asked.Add(1)
	select {
	case p := <-s.held:
		p.At = time.Now() // netio stamps a packet when it is read
		s.in <- p         // the reader takes it now
		return true
	default:
	}
	return len(s.in) > 0
}

// plainConn hides Pending: a conn that cannot tell.
type plainConn struct{ *heldSegment }

func (p plainConn) Pending() {}

// A backup whose Master_Down_Timer expires while its master's advert is still in the
// kernel's queue (the agent was not scheduled, its reader did not run) takes the advert
// first and stays BACKUP, as keepalived's scheduler does. A conn that cannot tell what
// is pending shows the takeover this prevents.
func TestMasterDownTakesAdvertsStillInTheKernelFirst(t *testing.T) {
	t.Parallel()
	for _, canTell := range []bool{true, false} {
		t.Run(map[bool]string{true: "pending", false: "cannot tell"}[canTell], func(t *testing.T) {
			t.Parallel()
			var seg *heldSegment
			h := startWith(t, seedConf(90), func(a *Agent) {
				seg = &heldSegment{segment: newSegment(), held: make(chan netio.Packet, 4), canTell: canTell}
				a.openConn = func(string, netio.Family, netip.Addr) (packetConn, error) {
					if canTell {
						return seg, nil
					}
					return plainConn{seg}, nil
				}
				a.pendingWait = 2 * time.Second // generous for a loaded test machine
			})
			h.seg = seg.segment
			seg.in <- advertPacket(t, 100)
			waitFor(t, 2*time.Second, "the master's advert counted", func() bool { return h.instanceState(t).GetAdvertsReceived() == 1 })
			downAt := h.instanceState(t).GetTiming().GetMasterDownAt().AsTime()
			seg.held <- advertPacket(t, 100) // arrived, but the reader did not run
			if !canTell {
				a := seg.nextSent(t, time.Until(downAt)+5*time.Second)
				if a.Priority != 90 {
					t.Fatalf("advert at priority %d, want the takeover's 90", a.Priority)
				}
				return
			}
			waitFor(t, time.Until(downAt)+5*time.Second, "the expired Master_Down_Timer to ask what is pending", func() bool { return seg.asked.Load() > 0 })
			waitFor(t, 2*time.Second, "the held advert counted", func() bool { return h.instanceState(t).GetAdvertsReceived() == 2 })
			if st := h.instanceState(t); st.GetState() != hactlv1.State_STATE_BACKUP {
				t.Fatalf("state %v, want BACKUP: the advert in the kernel's queue came first", st.GetState())
			}
			select {
			case a := <-seg.sent:
				t.Fatalf("the backup sent an advert (priority %d): it took over", a.Priority)
			default:
			}
		})
	}
}
