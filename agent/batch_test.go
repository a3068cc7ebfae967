package agent

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/agent/netio"
	"github.com/hagent-dev/hagent/agent/vrrp"
)

// batchSegment is a segment whose socket reads in batches (netio.Conn.ReadBatch): each
// ReadBatch hands over one injected batch, its data copied into buffers the next
// ReadBatch overwrites, as recvmmsg's are.
type batchSegment struct {
	*segment
	batches chan []netio.Packet
	calls   chan int // the number of each ReadBatch call, when it starts
	n       int
	bufs    [netio.BatchSize][256]byte
}

func newBatchSegment() *batchSegment {
	return &batchSegment{segment: newSegment(), batches: make(chan []netio.Packet, 8), calls: make(chan int, 64)}
}

func (s *batchSegment) ReadBatch(ps []netio.Packet) (int, error) {
	s.n++
	s.calls <- s.n
	select {
	case b := <-s.batches:
		for k, p := range b {
			p.Data = s.bufs[k][:copy(s.bufs[k][:], p.Data)]
			ps[k] = p
		}
		return len(b), nil
	case <-s.done:
		return 0, net.ErrClosed
	}
}

// waitCall waits until the reader has called ReadBatch for the n-th time: it has handed
// over every batch before.
func (s *batchSegment) waitCall(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(3 * time.Second)
	for {
		select {
		case got := <-s.calls:
			if got >= n {
				return
			}
		case <-deadline:
			t.Fatalf("the socket reader did not come back for batch %d within 3s", n)
		}
	}
}

// advertOf is an advert of instanceConf's instance vrid from the peer, read at at.
func advertOf(t *testing.T, vrid, prio int, at time.Time) netio.Packet {
	t.Helper()
	a := vrrp.Advert{Version: 2, VRID: uint8(vrid), Priority: uint8(prio), AdverInt: 1,
		Addrs: []netip.Addr{netip.MustParseAddr(fmt.Sprintf("192.168.188.%d", 100+vrid))}}
	b, err := a.Marshal(peer, group, vrrp.ChecksumPseudoHeader)
	if err != nil {
		t.Fatal(err)
	}
	return netio.Packet{Src: peer, Dst: group, TTL: 255, Data: b, At: at}
}

func startBatch(t *testing.T, conf string) (*harness, *batchSegment) {
	t.Helper()
	seg := newBatchSegment()
	h := startWith(t, conf, func(a *Agent) {
		a.openConn = func(string, netio.Family, netip.Addr) (packetConn, error) { return seg, nil }
	})
	return h, seg
}

// checkMaster fails unless the instance heard n adverts, the last of priority prio,
// none rejected, and its Master_Down_Timer runs from the last one's read time.
func checkMaster(t *testing.T, in *instance, n uint64, prio uint8, lastAt time.Time) {
	t.Helper()
	st := loopStatus(t, in)
	var errs uint64
	for _, c := range st.Errors {
		errs += c
	}
	if st.AdvertsReceived != n || st.MasterPriority != prio || errs != 0 {
		t.Errorf("%s: %d adverts received, master priority %d, %d rejected; want %d, %d, 0",
			in.name, st.AdvertsReceived, st.MasterPriority, errs, n, prio)
	}
	if want := lastAt.Add(st.MasterDown); !st.MasterDownAt.Equal(want) {
		t.Errorf("%s: master down at %v, want the last advert's read time + %v = %v", in.name, st.MasterDownAt, st.MasterDown, want)
	}
}

// A batch holding the adverts of several instances hands each instance its own, every
// one and in the order read: the last one read decides the master's priority.
func TestBatchReadHandsEachInstanceItsAdvertsInOrder(t *testing.T) {
	t.Parallel()
	h, seg := startBatch(t, instanceConf("VI_1", "eth0", 51, 90, "")+instanceConf("VI_2", "eth0", 52, 90, ""))
	at := time.Now()
	seg.batches <- []netio.Packet{
		advertOf(t, 51, 100, at), advertOf(t, 52, 150, at), advertOf(t, 51, 120, at),
		advertOf(t, 52, 160, at), advertOf(t, 51, 110, at),
	}
	later := at.Add(time.Millisecond)
	seg.batches <- []netio.Packet{advertOf(t, 52, 170, later)}
	seg.waitCall(t, 3)
	checkMaster(t, h.a.instance("VI_1"), 3, 110, at)
	checkMaster(t, h.a.instance("VI_2"), 3, 170, later)
}

// An instance that is busy when its adverts are read gets them queued; the reader's
// buffers are overwritten by the next batch meanwhile, so the queue must hold copies.
func TestBatchReadQueuedAdvertsSurviveTheNextBatch(t *testing.T) {
	t.Parallel()
	h, seg := startBatch(t, instanceConf("VI_1", "eth0", 51, 90, "")+instanceConf("VI_2", "eth0", 52, 90, ""))
	busy := h.a.instance("VI_1")
	release := blockLoop(t, busy)
	at := time.Now()
	seg.batches <- []netio.Packet{advertOf(t, 51, 100, at), advertOf(t, 51, 130, at)}
	seg.batches <- []netio.Packet{advertOf(t, 52, 200, at), advertOf(t, 52, 210, at)}
	seg.waitCall(t, 3) // both batches handed over: VI_1's are queued, VI_2's stepped
	release()
	checkMaster(t, busy, 2, 130, at)
	checkMaster(t, h.a.instance("VI_2"), 2, 210, at)
}
