package vrrp

import (
	"encoding/binary"
	"net/netip"
	"os"
	"testing"
	"time"
)

// Test fixtures: our instance at .71, a peer with a lower address (.70) and one with a
// higher address (.72), as in testdata/keepalived-v2-pass.pcap.
var (
	t0       = time.Date(2026, 11, 25, 17, 0, 0, 0, time.UTC)
	ourAddr  = netip.MustParseAddr("192.168.188.71")
	lowPeer  = netip.MustParseAddr("192.168.188.70")
	highPeer = netip.MustParseAddr("192.168.188.72")
	group4   = netip.MustParseAddr("224.0.0.18")
	vip      = netip.MustParseAddr("192.168.188.109")
)

func v2Config() Config {
	return Config{
		Name:         "VI_1",
		VRID:         51,
		Version:      2,
		Priority:     100,
		AdverInt:     time.Second,
		InitialState: StateBackup,
		AuthType:     AuthPass,
		AuthPass:     "hell>com", // as in testdata/keepalived-v2-pass.pcap
		VIPs:         []netip.Addr{vip},
		PrimaryAddr:  ourAddr,
	}
}

func v3Config() Config {
	c := v2Config()
	c.Version = 3
	c.AuthType = AuthNone
	c.AuthPass = ""
	return c
}

func mustNew(t testing.TB, c Config) *Instance {
	t.Helper()
	i, err := New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return i
}

// started returns a started instance and the time of its start.
func started(t testing.TB, c Config) *Instance {
	t.Helper()
	i := mustNew(t, c)
	i.Step(t0, Start{})
	return i
}

// advertFor is the advert a peer of c's virtual router sends with priority prio.
func advertFor(c Config, prio uint8) Advert {
	a := Advert{
		Version:  c.Version,
		VRID:     c.VRID,
		Priority: prio,
		AdverInt: wireInterval(c.Version, c.AdverInt),
		Addrs:    c.VIPs,
	}
	if c.Version == 2 {
		a.AuthType = c.AuthType
		if c.AuthType == AuthPass {
			a.AuthData = PassAuthData(c.AuthPass)
		}
	}
	return a
}

// packet marshals a as sent from src to the VRRP group.
func packet(t testing.TB, a Advert, src netip.Addr) []byte {
	t.Helper()
	b, err := a.Marshal(src, group4, ChecksumPseudoHeader)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b
}

// recv delivers a's bytes from src with TTL 255.
func recv(t testing.TB, i *Instance, now time.Time, src netip.Addr, a Advert) []Action {
	t.Helper()
	return i.Step(now, AdvertReceived{Src: src, Dst: group4, TTL: 255, Packet: packet(t, a, src)})
}

// fireAt delivers TimerFired{k} at the instance's deadline for k and returns that time.
func fireAt(t testing.TB, i *Instance, k TimerKind) (time.Time, []Action) {
	t.Helper()
	at := i.timers[k]
	if at.IsZero() {
		t.Fatalf("timer %s is not armed", k)
	}
	return at, i.Step(at, TimerFired{Kind: k})
}

func actionsOf[T Action](acts []Action) []T {
	var out []T
	for _, a := range acts {
		if x, ok := a.(T); ok {
			out = append(out, x)
		}
	}
	return out
}

// sentPriorities lists the priorities of the adverts in acts.
func sentPriorities(acts []Action) []uint8 {
	var out []uint8
	for _, s := range actionsOf[SendAdvert](acts) {
		out = append(out, s.Advert.Priority)
	}
	return out
}

// armed returns the last ArmTimer of kind k in acts.
func armed(t testing.TB, acts []Action, k TimerKind) time.Time {
	t.Helper()
	var at time.Time
	found := false
	for _, a := range actionsOf[ArmTimer](acts) {
		if a.Kind == k {
			at, found = a.At, true
		}
	}
	if !found {
		t.Fatalf("no ArmTimer{%s} in %#v", k, acts)
	}
	return at
}

func transitionTo(acts []Action) (Transition, bool) {
	ts := actionsOf[Transition](acts)
	if len(ts) == 0 {
		return Transition{}, false
	}
	return ts[len(ts)-1], true
}

func wantState(t testing.TB, i *Instance, s State) {
	t.Helper()
	if got := i.State(); got != s {
		t.Fatalf("state %s, want %s (reason %q)", got, s, i.reason)
	}
}

func wantTransition(t testing.TB, acts []Action, from, to State) Transition {
	t.Helper()
	tr, ok := transitionTo(acts)
	if !ok || tr.From != from || tr.To != to {
		t.Fatalf("want Transition %s->%s in %#v", from, to, acts)
	}
	return tr
}

func wantNoTransition(t testing.TB, acts []Action) {
	t.Helper()
	if tr, ok := transitionTo(acts); ok {
		t.Fatalf("unexpected %#v", tr)
	}
}

func eqU8(a, b []uint8) bool {
	if len(a) != len(b) {
		return false
	}
	for n := range a {
		if a[n] != b[n] {
			return false
		}
	}
	return true
}

// firstVRRPPayload returns the VRRP message of the first frame of a little-endian
// classic pcap of Ethernet frames (the lead's pcap reader is separate; this is the
// minimum one test needs).
func firstVRRPPayload(t testing.TB, file string, vrrpLen int) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	const globalHdr, recHdr, ethHdr = 24, 16, 14
	if len(b) < globalHdr+recHdr+ethHdr+20 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatalf("%s: not a little-endian classic pcap", file)
	}
	frame := b[globalHdr+recHdr:]
	frame = frame[:binary.LittleEndian.Uint32(b[globalHdr+8:])]
	ip := frame[ethHdr:]
	if ip[9] != Protocol {
		t.Fatalf("%s: first frame is IP protocol %d", file, ip[9])
	}
	ihl := int(ip[0]&0x0f) * 4
	return ip[ihl : ihl+vrrpLen]
}
