package vrrp

import (
	"net/netip"
	"slices"
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
// are valid". keepalived 2.2.7 does, in every state, and drops an advert that fails
// (vrrp.c: vrrp_check_packet returns VRRP_PACKET_KO): two clusters that share a VRID on
// one VLAN never take each other's mastership.
func TestVrrpCheckPacket_AddressListMismatchIsDropped(t *testing.T) {
	t.Parallel()
	other := netip.MustParseAddr("192.168.188.110")
	for _, tc := range []struct {
		name  string
		addrs []netip.Addr
		cause Cause
	}{
		{"other address", []netip.Addr{other}, CauseAddrList},
		{"one more", []netip.Addr{vip, other}, CauseAddrCount},
		{"none", nil, CauseAddrCount},
	} {
		for _, st := range []State{StateMaster, StateBackup} {
			t.Run(tc.name+"/"+st.String(), func(t *testing.T) {
				c := v2Config()
				var i *Instance
				at := t0
				if st == StateMaster {
					i, at = masterAt(t, c)
				} else {
					i = started(t, c)
				}
				a := advertFor(c, 200)
				a.Addrs = tc.addrs
				acts := recv(t, i, at.Add(time.Millisecond), highPeer, a)
				d := actionsOf[Dropped](acts)
				if len(d) != 1 || d[0].Cause != tc.cause {
					t.Fatalf("want one Dropped{%s}, got %#v", tc.cause, acts)
				}
				if len(acts) != 1 || i.State() != st {
					t.Fatalf("a dropped advert acted on: %#v, state %s", acts, i.State())
				}
				if s := i.Status(at); s.Errors[tc.cause] != 1 || s.AdvertsReceived != 0 {
					t.Fatalf("status %+v", s)
				}
			})
		}
	}
	// Same addresses in another order are the same list (vrrp.c: vrrp_in_chk_vips).
	c := v2Config()
	c.VIPs = []netip.Addr{vip, other}
	i := started(t, c)
	a := advertFor(c, 200)
	a.Addrs = []netip.Addr{c.VIPs[1], c.VIPs[0]}
	if d := actionsOf[Dropped](recv(t, i, t0.Add(time.Second), highPeer, a)); len(d) != 0 {
		t.Fatalf("reordered list flagged: %#v", d)
	}
}

// keepalived 2.2.7 vrrp.c: vrrp_check_packet drops a multicast advert to a unicast
// instance and a unicast one to a multicast instance ("Expected unicast packet but
// received multicast packet").
func TestVrrpCheckPacket_DestinationMustMatchMode(t *testing.T) {
	t.Parallel()
	for _, unicast := range []bool{false, true} {
		c := v3Config()
		c.Unicast = unicast
		i := started(t, c)
		dst := ourAddr // wrong for multicast
		if unicast {
			dst = group4
		}
		a := advertFor(c, 200)
		b, err := a.Marshal(highPeer, dst, ChecksumPseudoHeader)
		if err != nil {
			t.Fatal(err)
		}
		acts := i.Step(t0.Add(time.Second), AdvertReceived{Src: highPeer, Dst: dst, TTL: 255, Packet: b})
		if d := actionsOf[Dropped](acts); len(d) != 1 || d[0].Cause != CauseDestination {
			t.Fatalf("unicast=%v, advert to %s: %#v", unicast, dst, acts)
		}
		if st := i.Status(t0); st.AdvertsReceived != 0 || st.Master.IsValid() {
			t.Fatalf("unicast=%v: followed a dropped advert: %+v", unicast, st)
		}
	}
}

// skip_check_adv_addr: keepalived's vrrp_state_backup skips the address check only for
// an advert from the master it last followed (master_saddr); a new sender, and any
// advert to a MASTER (vrrp_state_master_rx), is still checked.
func TestVrrpStateBackup_SkipCheckAdvAddrOnlyForKnownMaster(t *testing.T) {
	t.Parallel()
	c := v2Config()
	c.SkipCheckAdvAddr = true
	i := started(t, c)
	wrong := advertFor(c, 200)
	wrong.Addrs = []netip.Addr{netip.MustParseAddr("192.168.188.110")}

	// No master followed yet: checked.
	if d := actionsOf[Dropped](recv(t, i, t0.Add(time.Second), highPeer, wrong)); len(d) != 1 || d[0].Cause != CauseAddrList {
		t.Fatalf("first advert from an unknown master not checked: %#v", d)
	}
	// Follow highPeer with a good advert, then its wrong lists are accepted.
	recv(t, i, t0.Add(2*time.Second), highPeer, advertFor(c, 200))
	acts := recv(t, i, t0.Add(3*time.Second), highPeer, wrong)
	if d := actionsOf[Dropped](acts); len(d) != 0 {
		t.Fatalf("advert of the followed master checked: %#v", d)
	}
	armed(t, acts, TimerMasterDown)
	// Another sender is checked.
	if d := actionsOf[Dropped](recv(t, i, t0.Add(4*time.Second), lowPeer, wrong)); len(d) != 1 || d[0].Cause != CauseAddrList {
		t.Fatalf("advert of another router not checked: %#v", d)
	}
	// A MASTER always checks, even adverts from the router it followed before.
	at, _ := fireAt(t, i, TimerMasterDown)
	wantState(t, i, StateMaster)
	if d := actionsOf[Dropped](recv(t, i, at.Add(time.Millisecond), highPeer, wrong)); len(d) != 1 || d[0].Cause != CauseAddrList {
		t.Fatalf("MASTER skipped the address check: %#v", d)
	}
	wantState(t, i, StateMaster)
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

// keepalived 2.2.7 vrrp.c: vrrp_state_master_rx answers a lower-priority advert with an
// advert of its own ("forcing new election"); we also announce the VIPs again. Both at
// most once per Advertisement_Interval: a peer sending every 10 ms must not make us send
// a hundred adverts and gratuitous ARP bursts a second.
func TestVrrpStateMasterRx_LowerPriorityAnsweredOncePerInterval(t *testing.T) {
	t.Parallel()
	c := v3Config()
	c.AdverInt = time.Second
	i, at := masterAt(t, c)
	peer := advertFor(c, 50)
	peer.AdverInt = 1 // 10 ms
	var answeredAt []time.Duration
	var suppressed []uint64
	adverts, announces := 0, 0
	for n := 1; n <= 250; n++ { // 2.5 s of a 10 ms peer
		now := at.Add(time.Duration(n) * 10 * time.Millisecond)
		acts := recv(t, i, now, lowPeer, peer)
		adverts += len(actionsOf[SendAdvert](acts))
		announces += len(actionsOf[Announce](acts))
		for _, l := range actionsOf[LowerPriorityAdvert](acts) {
			if l.Src != lowPeer || l.Priority != 50 || !l.Answered {
				t.Fatalf("report %+v", l)
			}
			answeredAt = append(answeredAt, now.Sub(at))
			suppressed = append(suppressed, l.Suppressed)
		}
	}
	want := []time.Duration{10 * time.Millisecond, 1010 * time.Millisecond, 2010 * time.Millisecond}
	if !slices.Equal(answeredAt, want) {
		t.Fatalf("answered at %v, want %v", answeredAt, want)
	}
	if !slices.Equal(suppressed, []uint64{0, 99, 99}) {
		t.Fatalf("suppressed %v", suppressed)
	}
	if adverts != 3 || announces != 3 {
		t.Fatalf("%d adverts and %d announcements for 250 lower adverts, want 3 and 3", adverts, announces)
	}
	wantState(t, i, StateMaster)
}

// keepalived's lower_prio_no_advert (forced on by strict mode, vrrp.c:
// vrrp_complete_instance): a MASTER does not answer a lower-priority advert at all.
func TestVrrpStateMasterRx_LowerPrioNoAdvert(t *testing.T) {
	t.Parallel()
	c := v3Config()
	c.LowerPrioNoAdvert = true
	i, at := masterAt(t, c)
	acts := recv(t, i, at.Add(10*time.Millisecond), lowPeer, advertFor(c, 50))
	if len(actionsOf[SendAdvert](acts)) != 0 || len(actionsOf[Announce](acts)) != 0 {
		t.Fatalf("answered: %#v", acts)
	}
	if l := actionsOf[LowerPriorityAdvert](acts); len(l) != 1 || l[0].Answered {
		t.Fatalf("report %#v", l)
	}
}

// keepalived 2.2.7 vrrp.c: vrrp_check_packet retries a VRRPv3 IPv4 unicast advert whose
// checksum fails with 224.0.0.18 in the pseudo-header (keepalived before 1.3.6) and, if
// that verifies, uses that checksum for good (unicast_chksum_compat AUTO), also for what
// it sends (vrrp_csum_mcast). `old_unicast_checksum` starts there; `... never` forbids it.
func TestVrrpCheckPacket_OldUnicastChecksum(t *testing.T) {
	t.Parallel()
	unicast := func(mode UnicastChecksum) Config {
		c := v3Config()
		c.Unicast = true
		c.UnicastChecksum = mode
		return c
	}
	send := func(t *testing.T, i *Instance, now time.Time, prio uint8, mode ChecksumMode) []Action {
		t.Helper()
		a := advertFor(i.cfg, prio)
		b, err := a.Marshal(highPeer, ourAddr, mode)
		if err != nil {
			t.Fatal(err)
		}
		return i.Step(now, AdvertReceived{Src: highPeer, Dst: ourAddr, TTL: 64, Packet: b})
	}
	sentChecksum := func(t *testing.T, i *Instance, at time.Time) ChecksumMode {
		t.Helper()
		s := actionsOf[SendAdvert](i.Step(at, TimerFired{Kind: TimerAdver}))
		if len(s) != 1 {
			t.Fatalf("no advert sent at %v", at)
		}
		return s[0].Checksum
	}

	t.Run("auto switches on the first old advert", func(t *testing.T) {
		i, at := masterAt(t, unicast(UnicastChecksumAuto))
		if m := sentChecksum(t, i, i.timers[TimerAdver]); m != ChecksumPseudoHeader {
			t.Fatalf("sends %s before any old advert", m)
		}
		acts := send(t, i, at.Add(10*time.Millisecond), 50, ChecksumGroupPseudoHeader)
		if len(actionsOf[Dropped](acts)) != 0 {
			t.Fatalf("old checksum dropped: %#v", acts)
		}
		if c := actionsOf[ChecksumChanged](acts); len(c) != 1 || c[0].Checksum != ChecksumGroupPseudoHeader || c[0].Src != highPeer {
			t.Fatalf("no ChecksumChanged: %#v", acts)
		}
		if s := actionsOf[SendAdvert](acts); len(s) != 1 || s[0].Checksum != ChecksumGroupPseudoHeader {
			t.Fatalf("answer not sent with the old checksum: %#v", s)
		}
		if m := sentChecksum(t, i, i.timers[TimerAdver]); m != ChecksumGroupPseudoHeader {
			t.Fatalf("sends %s after the switch", m)
		}
		// From then on only the old checksum verifies (the retry is for NONE only).
		if d := actionsOf[Dropped](send(t, i, at.Add(20*time.Millisecond), 50, ChecksumPseudoHeader)); len(d) != 1 || d[0].Cause != CauseChecksum {
			t.Fatalf("RFC checksum after the switch: %#v", d)
		}
	})
	t.Run("never", func(t *testing.T) {
		i := started(t, unicast(UnicastChecksumNever))
		if d := actionsOf[Dropped](send(t, i, t0.Add(time.Second), 200, ChecksumGroupPseudoHeader)); len(d) != 1 || d[0].Cause != CauseChecksum {
			t.Fatalf("old checksum with `never`: %#v", d)
		}
	})
	t.Run("configured", func(t *testing.T) {
		i, at := masterAt(t, unicast(UnicastChecksumOld))
		if m := sentChecksum(t, i, i.timers[TimerAdver]); m != ChecksumGroupPseudoHeader {
			t.Fatalf("sends %s with old_unicast_checksum", m)
		}
		if d := actionsOf[Dropped](send(t, i, at.Add(10*time.Millisecond), 50, ChecksumPseudoHeader)); len(d) != 1 || d[0].Cause != CauseChecksum {
			t.Fatalf("RFC checksum with old_unicast_checksum: %#v", d)
		}
	})
	t.Run("multicast instance never switches", func(t *testing.T) {
		c := v3Config()
		i := started(t, c)
		a := advertFor(c, 200)
		b, err := a.Marshal(highPeer, ourAddr, ChecksumGroupPseudoHeader)
		if err != nil {
			t.Fatal(err)
		}
		acts := i.Step(t0.Add(time.Second), AdvertReceived{Src: highPeer, Dst: ourAddr, TTL: 255, Packet: b})
		if d := actionsOf[Dropped](acts); len(d) != 1 || d[0].Cause != CauseChecksum {
			t.Fatalf("old checksum on a multicast instance: %#v", acts)
		}
	})
}

// vrrp_mcast_group4 / mcast_dst_ip: keepalived's open_vrrp_read_socket binds the
// socket to the instance's group, so an advert to the default group never reaches an
// instance configured for another one, and the advert to its own group is followed.
func TestOpenVrrpReadSocket_OnlyTheConfiguredGroup(t *testing.T) {
	t.Parallel()
	c := v2Config()
	c.Group = netip.MustParseAddr("224.0.0.19")
	i := started(t, c)
	a := advertFor(c, 200)
	for _, dst := range []netip.Addr{group4, netip.MustParseAddr("224.0.0.20")} {
		b, err := a.Marshal(highPeer, dst, ChecksumPseudoHeader)
		if err != nil {
			t.Fatal(err)
		}
		acts := i.Step(t0.Add(time.Second), AdvertReceived{Src: highPeer, Dst: dst, TTL: 255, Packet: b})
		if d := actionsOf[Dropped](acts); len(d) != 1 || d[0].Cause != CauseDestination {
			t.Fatalf("advert to %s: %#v, want a destination drop", dst, acts)
		}
	}
	if st := i.Status(t0); st.AdvertsReceived != 0 || st.Master.IsValid() {
		t.Fatalf("followed an advert to another group: %+v", st)
	}
	b, err := a.Marshal(highPeer, c.Group, ChecksumPseudoHeader)
	if err != nil {
		t.Fatal(err)
	}
	acts := i.Step(t0.Add(time.Second), AdvertReceived{Src: highPeer, Dst: c.Group, TTL: 255, Packet: b})
	if d := actionsOf[Dropped](acts); len(d) != 0 {
		t.Fatalf("advert to our group dropped: %#v", d)
	}
	if st := i.Status(t0.Add(time.Second)); st.AdvertsReceived != 1 || st.Master != highPeer {
		t.Fatalf("advert to our group not followed: received %d, master %v", st.AdvertsReceived, st.Master)
	}
}

// check_unicast_src: vrrp_check_packet drops a unicast advert whose source is not a
// unicast_peer ("unicast source address %s not a unicast peer"); a peer's is followed.
func TestVrrpCheckPacket_CheckUnicastSrc(t *testing.T) {
	t.Parallel()
	c := v2Config()
	c.Unicast, c.CheckUnicastSrc, c.UnicastPeers = true, true, []netip.Addr{lowPeer}
	i := started(t, c)
	a := advertFor(c, 200)
	send := func(src netip.Addr) []Action {
		b, err := a.Marshal(src, ourAddr, ChecksumPseudoHeader)
		if err != nil {
			t.Fatal(err)
		}
		return i.Step(t0.Add(time.Second), AdvertReceived{Src: src, Dst: ourAddr, TTL: 255, Packet: b})
	}
	if d := actionsOf[Dropped](send(highPeer)); len(d) != 1 || d[0].Cause != CauseUnicastSrc {
		t.Fatalf("advert from a non-peer: drops %#v, want one unicast_src", d)
	}
	if st := i.Status(t0.Add(time.Second)); st.Master.IsValid() || st.Errors[CauseUnicastSrc] != 1 {
		t.Fatalf("after a non-peer's advert: master %v, errors %v", st.Master, st.Errors)
	}
	if d := actionsOf[Dropped](send(lowPeer)); len(d) != 0 {
		t.Fatalf("advert from the peer dropped: %#v", d)
	}
	if st := i.Status(t0.Add(time.Second)); st.Master != lowPeer {
		t.Fatalf("master %v, want the peer %v", st.Master, lowPeer)
	}
	// Without the check, any sender is followed (keepalived's default).
	c.CheckUnicastSrc = false
	i = started(t, c)
	if d := actionsOf[Dropped](send(highPeer)); len(d) != 0 {
		t.Fatalf("without check_unicast_src, dropped %#v", d)
	}
}

// vrrp_mcast_group4 is also the destination of keepalived's pre-1.3.6 unicast checksum
// (vrrp.c vrrp_check_packet and vrrp_build_vrrp use global_data->vrrp_mcast_group4): an
// instance whose ChecksumGroup is 224.0.0.19 switches to the old checksum for an advert
// summed over .19, and not for one summed over 224.0.0.18.
func TestVrrpCheckPacket_OldChecksumUsesConfiguredGroup(t *testing.T) {
	t.Parallel()
	c := v3Config()
	c.Unicast = true
	c.ChecksumGroup = netip.MustParseAddr("224.0.0.19")
	a := advertFor(c, 200)
	deliver := func(i *Instance, group netip.Addr) []Action {
		b, err := a.MarshalGroup(highPeer, ourAddr, ChecksumGroupPseudoHeader, group)
		if err != nil {
			t.Fatal(err)
		}
		return i.Step(t0.Add(time.Second), AdvertReceived{Src: highPeer, Dst: ourAddr, TTL: 255, Packet: b})
	}
	i := started(t, c)
	acts := deliver(i, group4)
	if d := actionsOf[Dropped](acts); len(d) != 1 || d[0].Cause != CauseChecksum {
		t.Fatalf("old checksum over 224.0.0.18 with group .19 configured: %#v, want a checksum drop", acts)
	}
	i = started(t, c)
	acts = deliver(i, c.ChecksumGroup)
	if d := actionsOf[Dropped](acts); len(d) != 0 {
		t.Fatalf("old checksum over the configured group dropped: %#v", d)
	}
	if ch := actionsOf[ChecksumChanged](acts); len(ch) != 1 || ch[0].Checksum != ChecksumGroupPseudoHeader {
		t.Fatalf("no switch to the old checksum: %#v", acts)
	}
}
