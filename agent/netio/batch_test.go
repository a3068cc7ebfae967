package netio

import (
	"fmt"
	"testing"
	"time"
)

// ReadBatch hands over every queued packet once, in the order sent, with the source,
// destination, TTL / hop limit and interface of each (IPv6: from the control messages
// recvmmsg fills per message), more than one batch's worth and with a short ps.
func TestReadBatchDeliversEveryPacketInOrder(t *testing.T) {
	t.Parallel()
	for _, family := range []Family{IPv4, IPv6} {
		t.Run(family.String(), func(t *testing.T) {
			t.Parallel()
			a, b := pair(t)
			ca, cb := listen(t, a, family), listen(t, b, family)
			src := primary(t, a, family)
			const total = 2*BatchSize + 5
			var want []string
			for k := range total {
				p := fmt.Sprintf("advert %02d", k)
				want = append(want, p)
				send(t, ca, p, src, family.Group())
			}
			if err := cb.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
				t.Fatal(err)
			}
			var got []string
			ps := make([]Packet, BatchSize+4) // longer than a batch: at most BatchSize a call
			for len(got) < total {
				short := len(got) == 0
				buf := ps
				if short {
					buf = ps[:3]
				}
				n, err := cb.ReadBatch(buf)
				if err != nil {
					t.Fatalf("after %d of %d packets: %v", len(got), total, err)
				}
				if n < 1 || n > len(buf) || n > BatchSize {
					t.Fatalf("ReadBatch returned %d packets for room for %d", n, len(buf))
				}
				for _, p := range ps[:n] {
					checkPacket(t, p, src, family.Group(), b.ifindex, string(p.Data))
					got = append(got, string(p.Data))
				}
			}
			for k := range want {
				if got[k] != want[k] {
					t.Fatalf("packet %d is %q, want %q (all: %q)", k, got[k], want[k], got)
				}
			}
			if cb.Pending() {
				t.Error("a packet is still pending after all were read")
			}
		})
	}
}

// The Data of a packet stays as read until the next ReadBatch, although later packets of
// the same batch were read after it (one buffer each).
func TestReadBatchBuffersAreDistinct(t *testing.T) {
	t.Parallel()
	a, b := pair(t)
	ca, cb := listen(t, a, IPv4), listen(t, b, IPv4)
	src := primary(t, a, IPv4)
	send(t, ca, "first", src, GroupIPv4)
	send(t, ca, "second, longer", src, GroupIPv4)
	if err := cb.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
		t.Fatal(err)
	}
	ps := make([]Packet, BatchSize)
	var got []Packet
	for len(got) < 2 {
		n, err := cb.ReadBatch(ps[len(got):])
		if err != nil {
			t.Fatal(err)
		}
		got = ps[:len(got)+n]
	}
	if string(got[0].Data) != "first" || string(got[1].Data) != "second, longer" {
		t.Fatalf("got %q and %q", got[0].Data, got[1].Data)
	}
	var zero Conn
	if _, err := zero.ReadBatch(ps); err == nil {
		t.Error("ReadBatch on a Conn without a socket did not fail")
	}
}
