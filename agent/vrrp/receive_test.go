package vrrp

import (
	"net/netip"
	"testing"
	"time"
)

// RFC 5798 7.1 and RFC 3768 7.1: every receive check drops the packet, counts it under its
// cause and reports it; the backup's Master_Down_Timer is left alone.
func TestRFC5798_7_1_ReceiveChecksDropAndCount(t *testing.T) {
	t.Parallel()
	v2 := v2Config()
	good := advertFor(v2, 200)
	for _, tc := range []struct {
		name  string
		cfg   Config
		ttl   int
		pkt   func(t *testing.T) []byte
		cause Cause
	}{
		{"TTL 254", v2, 254, func(t *testing.T) []byte { return packet(t, good, highPeer) }, CauseTTL},
		{"version 3 to a v2 instance", v2, 255, func(t *testing.T) []byte {
			return packet(t, advertFor(v3Config(), 200), highPeer)
		}, CauseVersion},
		{"type 2", v2, 255, func(t *testing.T) []byte {
			a := good
			a.Type = 2
			return packet(t, a, highPeer)
		}, CauseType},
		{"bad checksum", v2, 255, func(t *testing.T) []byte {
			b := packet(t, good, highPeer)
			b[2]-- // priority changed after the checksum
			return b
		}, CauseChecksum},
		{"truncated", v2, 255, func(t *testing.T) []byte { return packet(t, good, highPeer)[:12] }, CauseLength},
		{"other VRID", v2, 255, func(t *testing.T) []byte {
			a := good
			a.VRID = 52
			return packet(t, a, highPeer)
		}, CauseVRID},
		{"auth type none", v2, 255, func(t *testing.T) []byte {
			a := good
			a.AuthType, a.AuthData = AuthNone, [8]byte{}
			return packet(t, a, highPeer)
		}, CauseAuth},
		{"wrong password", v2, 255, func(t *testing.T) []byte {
			a := good
			a.AuthData = PassAuthData("hell>cob")
			return packet(t, a, highPeer)
		}, CauseAuth},
		{"v2 interval 2s, ours 1s", v2, 255, func(t *testing.T) []byte {
			a := good
			a.AdverInt = 2
			return packet(t, a, highPeer)
		}, CauseInterval},
		{"v3 interval 0", v3Config(), 255, func(t *testing.T) []byte {
			a := advertFor(v3Config(), 200)
			a.AdverInt = 0
			return packet(t, a, highPeer)
		}, CauseInterval},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			i := started(t, tc.cfg)
			deadline := i.timers[TimerMasterDown]
			acts := i.Step(t0.Add(time.Second), AdvertReceived{Src: highPeer, Dst: group4, TTL: tc.ttl, Packet: tc.pkt(t)})
			if len(acts) != 1 {
				t.Fatalf("actions %#v, want one Dropped", acts)
			}
			d, ok := acts[0].(Dropped)
			if !ok || d.Cause != tc.cause || d.Src != highPeer || d.Reason == "" {
				t.Fatalf("got %#v, want Dropped{%s}", acts[0], tc.cause)
			}
			st := i.Status(t0)
			for _, c := range Causes {
				want := uint64(0)
				if c == tc.cause {
					want = 1
				}
				if st.Errors[c] != want {
					t.Errorf("Errors[%s] = %d, want %d", c, st.Errors[c], want)
				}
			}
			if st.AdvertsReceived != 0 || st.Master.IsValid() || !i.timers[TimerMasterDown].Equal(deadline) {
				t.Errorf("dropped packet had an effect: %+v", st)
			}
		})
	}
}

// The v2 password is compared on its first 8 bytes only, as keepalived pads/truncates.
func TestRFC3768_7_1_PassComparesFirstEightBytes(t *testing.T) {
	t.Parallel()
	c := v2Config()
	c.AuthPass = "hell>com-and-more"
	i := started(t, c)
	a := advertFor(v2Config(), 200) // password "hell>com"
	acts := recv(t, i, t0.Add(time.Second), highPeer, a)
	if d := actionsOf[Dropped](acts); len(d) != 0 {
		t.Fatalf("dropped: %#v", d)
	}
}

// With unicast peers the TTL is not checked (keepalived).
func TestUnicastSkipsTTLCheck(t *testing.T) {
	t.Parallel()
	c := v2Config()
	c.Unicast = true
	i := started(t, c)
	acts := i.Step(t0.Add(time.Second), AdvertReceived{Src: highPeer, Dst: ourAddr, TTL: 64, Packet: packet(t, advertFor(c, 200), highPeer)})
	if d := actionsOf[Dropped](acts); len(d) != 0 {
		t.Fatalf("dropped: %#v", d)
	}
	armed(t, acts, TimerMasterDown)
}

// RFC 5798 6.4.2/6.4.3: "MAY verify that the IPvX Address(es) associated with the VRID
// are valid ... SHOULD log the event" — counted and reported, but the advert still counts:
// here it makes the master step down.
func TestRFC5798_6_4_3_AddressListMismatchIsCountedButProcessed(t *testing.T) {
	t.Parallel()
	for _, addrs := range [][]netip.Addr{
		{netip.MustParseAddr("192.168.188.110")},
		{vip, netip.MustParseAddr("192.168.188.110")},
		nil,
	} {
		c := v2Config()
		i, at := masterAt(t, c)
		a := advertFor(c, 200)
		a.Addrs = addrs
		acts := recv(t, i, at.Add(time.Millisecond), highPeer, a)
		d := actionsOf[Dropped](acts)
		if len(d) != 1 || d[0].Cause != CauseAddrList {
			t.Fatalf("addrs %v: want one Dropped{addr_list}, got %#v", addrs, acts)
		}
		wantTransition(t, acts, StateMaster, StateBackup)
		if st := i.Status(at); st.Errors[CauseAddrList] != 1 || st.AdvertsReceived != 1 {
			t.Fatalf("addrs %v: status %+v", addrs, st)
		}
	}
	// Same addresses in another order are the same list.
	c := v2Config()
	c.VIPs = []netip.Addr{vip, netip.MustParseAddr("192.168.188.110")}
	i := started(t, c)
	a := advertFor(c, 200)
	a.Addrs = []netip.Addr{c.VIPs[1], c.VIPs[0]}
	if d := actionsOf[Dropped](recv(t, i, t0.Add(time.Second), highPeer, a)); len(d) != 0 {
		t.Fatalf("reordered list flagged: %#v", d)
	}
}

// Our own adverts looped back by the multicast socket are ignored without a trace.
func TestOwnAdvertIsIgnoredSilently(t *testing.T) {
	t.Parallel()
	i, at := masterAt(t, v2Config())
	if acts := recv(t, i, at.Add(time.Millisecond), ourAddr, advertFor(v2Config(), 100)); len(acts) != 0 {
		t.Fatalf("own advert: %#v", acts)
	}
	st := i.Status(at)
	if st.AdvertsReceived != 0 {
		t.Fatalf("own advert counted: %+v", st)
	}
	for c, n := range st.Errors {
		if n != 0 {
			t.Fatalf("own advert counted as %s", c)
		}
	}
}

// RecentIntervals are the inter-arrival times of accepted adverts from the current master,
// reset when the master changes, at most IntervalHistory of them.
func TestStatusRecentIntervals(t *testing.T) {
	t.Parallel()
	c := v2Config()
	i := started(t, c)
	now := t0
	for n := range IntervalHistory + 5 {
		now = now.Add(time.Second + time.Duration(n)*time.Millisecond)
		recv(t, i, now, highPeer, advertFor(c, 200))
	}
	st := i.Status(now)
	if len(st.RecentIntervals) != IntervalHistory {
		t.Fatalf("%d intervals", len(st.RecentIntervals))
	}
	// Oldest first: 68 gaps (n=1..68, the first advert has none), the last 64 kept.
	if st.RecentIntervals[0] != time.Second+5*time.Millisecond || st.RecentIntervals[IntervalHistory-1] != time.Second+time.Duration(IntervalHistory+4)*time.Millisecond {
		t.Fatalf("intervals %v", st.RecentIntervals)
	}
	recv(t, i, now.Add(time.Second), lowPeer, advertFor(c, 200))
	if st := i.Status(now); len(st.RecentIntervals) != 0 || st.Master != lowPeer {
		t.Fatalf("new master kept %d intervals", len(st.RecentIntervals))
	}
}
