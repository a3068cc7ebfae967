package vrrp

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

// A backup of 255 instances steps 255 adverts a second: stepping one must allocate
// nothing but the ArmTimer action boxed in the result (issue 14). Parse's addresses go
// to the instance's buffer, the actions to the driver's, the event is not boxed, and a
// passed receive check builds no error.
func TestReceiveAppendAllocatesOnlyTheArmTimer(t *testing.T) {
	for _, c := range []Config{v2Config(), v3Config()} {
		i := started(t, c)
		ev := AdvertReceived{Src: highPeer, Dst: group4, TTL: 255, Packet: packet(t, advertFor(c, 200), highPeer)}
		now := t0
		var buf []Action
		allocs := testing.AllocsPerRun(100, func() {
			now = now.Add(c.AdverInt)
			buf = i.ReceiveAppend(buf[:0], now, ev)
		})
		if len(buf) != 1 || armed(t, buf, TimerMasterDown) != now.Add(i.masterDownInterval()) {
			t.Fatalf("VRRPv%d: actions %#v, want the Master_Down_Timer armed", c.Version, buf)
		}
		if allocs > 1 {
			t.Errorf("VRRPv%d: %.0f allocations per advert, want 1 (the ArmTimer)", c.Version, allocs)
		}
		wantState(t, i, StateBackup)
	}
}

// The addresses of a dropped advert are the driver's to keep (it records foreign
// senders), though the instance decodes every advert's into one buffer: the next advert
// must not rewrite them.
func TestDroppedAdvertKeepsItsAddresses(t *testing.T) {
	c := v2Config()
	i := started(t, c)
	first := advertFor(c, 200)
	first.Addrs = []netip.Addr{netip.MustParseAddr("192.168.188.110")}
	d := actionsOf[Dropped](recv(t, i, t0.Add(time.Second), highPeer, first))
	if len(d) != 1 || d[0].Cause != CauseAddrList {
		t.Fatalf("first advert: dropped %#v, want one CauseAddrList", d)
	}
	kept := slices.Clone(d[0].Advert.Addrs)
	second := advertFor(c, 200)
	second.Addrs = []netip.Addr{netip.MustParseAddr("192.168.188.111")}
	recv(t, i, t0.Add(2*time.Second), highPeer, second)
	recv(t, i, t0.Add(3*time.Second), highPeer, advertFor(c, 200))
	if !slices.Equal(d[0].Advert.Addrs, kept) {
		t.Errorf("the first dropped advert's addresses changed to %v after two more adverts, want %v", d[0].Advert.Addrs, kept)
	}
}

// ReceiveAppend and Step are one path: the same adverts in the same states give the
// same actions, in every state an advert can meet.
func TestReceiveAppendStepsAsStep(t *testing.T) {
	c := v2Config()
	viaStep, viaReceive := started(t, c), started(t, c)
	events := []struct {
		at  time.Duration
		src netip.Addr
		pri uint8
	}{
		{time.Second, highPeer, 200},   // backup: a master
		{2 * time.Second, highPeer, 0}, // the master resigns: Skew_Time
		{5 * time.Second, lowPeer, 50}, // master by now: a lower priority is answered
		{6 * time.Second, highPeer, 255},
		{7 * time.Second, highPeer, 200},
	}
	for _, e := range events {
		now := t0.Add(e.at)
		for _, i := range []*Instance{viaStep, viaReceive} {
			if d := i.timers[TimerMasterDown]; !d.IsZero() && !d.After(now) {
				i.Step(d, TimerFired{Kind: TimerMasterDown})
			}
		}
		ev := AdvertReceived{Src: e.src, Dst: group4, TTL: 255, Packet: packet(t, advertFor(c, e.pri), e.src)}
		want := viaStep.Step(now, ev)
		got := viaReceive.ReceiveAppend(nil, now, ev)
		if len(want) != len(got) {
			t.Fatalf("at +%s: Step gave %#v, ReceiveAppend %#v", e.at, want, got)
		}
		for k := range want {
			if tw, ok := want[k].(Transition); ok {
				tg, ok := got[k].(Transition)
				if !ok || tw.From != tg.From || tw.To != tg.To {
					t.Fatalf("at +%s: action %d: Step %#v, ReceiveAppend %#v", e.at, k, want[k], got[k])
				}
				continue
			}
			if _, ok := want[k].(SendAdvert); ok {
				continue // the same priority is checked through the states below
			}
			if want[k] != got[k] {
				t.Fatalf("at +%s: action %d: Step %#v, ReceiveAppend %#v", e.at, k, want[k], got[k])
			}
		}
		if viaStep.State() != viaReceive.State() {
			t.Fatalf("at +%s: Step left %s, ReceiveAppend %s", e.at, viaStep.State(), viaReceive.State())
		}
	}
}
