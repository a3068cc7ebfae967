package vrrp

import (
	"testing"
	"time"
)

// BenchmarkStepAdvertReceived is a backup receiving its master's advert: parse, checks,
// Master_Down_Timer reset. Run with -benchmem: the 3 allocations are Parse's address
// slice, the returned action slice and its ArmTimer (the event is boxed once, outside).
func BenchmarkStepAdvertReceived(b *testing.B) {
	c := v2Config()
	i := mustNew(b, c)
	i.Step(t0, Start{})
	var ev Event = AdvertReceived{Src: highPeer, Dst: group4, TTL: 255, Packet: packet(b, advertFor(c, 200), highPeer)}
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Second)
		if acts := i.Step(now, ev); len(acts) != 1 {
			b.Fatalf("actions %#v", acts)
		}
	}
}
