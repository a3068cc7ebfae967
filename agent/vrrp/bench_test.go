package vrrp

import (
	"testing"
	"time"
)

// BenchmarkStepAdvertReceived is a backup receiving its master's advert: parse, checks,
// Master_Down_Timer reset, the way the agent steps it (ReceiveAppend into its reused
// action buffer). Run with -benchmem: the one allocation is the ArmTimer boxed in the
// actions (TestReceiveAppendAllocatesOnlyTheArmTimer).
func BenchmarkStepAdvertReceived(b *testing.B) {
	c := v2Config()
	i := mustNew(b, c)
	i.Step(t0, Start{})
	ev := AdvertReceived{Src: highPeer, Dst: group4, TTL: 255, Packet: packet(b, advertFor(c, 200), highPeer)}
	now := t0
	var acts []Action
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Second)
		if acts = i.ReceiveAppend(acts[:0], now, ev); len(acts) != 1 {
			b.Fatalf("actions %#v", acts)
		}
	}
}
