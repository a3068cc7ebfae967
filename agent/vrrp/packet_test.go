package vrrp

import (
	"bytes"
	"net/netip"
	"testing"
)

var (
	src4 = netip.MustParseAddr("192.168.188.71")
	grp4 = netip.MustParseAddr("224.0.0.18")
	src6 = netip.MustParseAddr("fe80::1")
	grp6 = netip.MustParseAddr("ff02::12")
)

func mustMarshal(t testing.TB, a Advert, src, dst netip.Addr, mode ChecksumMode) []byte {
	t.Helper()
	b, err := a.Marshal(src, dst, mode)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keepalived before 1.3.6 put the multicast group in the VRRPv3 pseudo-header even when
// it sent by unicast; 2.2.7 still reads and writes that checksum (vrrp.c:
// vrrp_check_packet, vrrp_build_vrrp with unicast_chksum_compat).
func TestV3IPv4ChecksumModes(t *testing.T) {
	a := Advert{Version: 3, VRID: 51, Priority: 100, AdverInt: 10, Addrs: []netip.Addr{netip.MustParseAddr("192.168.188.109")}}
	peer := netip.MustParseAddr("192.168.188.72")
	rfc := mustMarshal(t, a, src4, peer, ChecksumPseudoHeader)
	old := mustMarshal(t, a, src4, peer, ChecksumGroupPseudoHeader)
	if bytes.Equal(rfc, old) {
		t.Fatal("the two checksum modes gave the same bytes")
	}
	// To the group itself, both are the same checksum.
	if !bytes.Equal(mustMarshal(t, a, src4, grp4, ChecksumPseudoHeader), mustMarshal(t, a, src4, peer, ChecksumGroupPseudoHeader)) {
		t.Fatal("the pre-1.3.6 checksum is not RFC 5798's with 224.0.0.18 as destination")
	}
	for _, tc := range []struct {
		name string
		pkt  []byte
		mode ChecksumMode
		ok   bool
	}{
		{"rfc/rfc", rfc, ChecksumPseudoHeader, true},
		{"old/old", old, ChecksumGroupPseudoHeader, true},
		{"old read as rfc", old, ChecksumPseudoHeader, false},
		{"rfc read as old", rfc, ChecksumGroupPseudoHeader, false},
	} {
		_, err := Parse(tc.pkt, ParseOptions{Src: src4, Dst: peer, Checksum: tc.mode})
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && CauseOf(err) != CauseChecksum {
			t.Errorf("%s: cause %v, want checksum", tc.name, CauseOf(err))
		}
	}
	// The pseudo-header binds the packet to its addresses.
	if _, err := Parse(rfc, ParseOptions{Src: netip.MustParseAddr("192.168.188.73"), Dst: peer}); CauseOf(err) != CauseChecksum {
		t.Errorf("v3 packet accepted from another source address: %v", err)
	}
}

// RFC 5798 7.1 "MUST verify that the received packet contains the complete VRRPv3
// packet"; keepalived's vrrp_check_packet drops a packet whose length is not exactly
// what its header, addresses and (v2) auth data say ("vrrp packet too long/short").
func TestParseLengthIsExact(t *testing.T) {
	v2 := Advert{Version: 2, VRID: 51, Priority: 100, AdverInt: 1, AuthType: AuthPass, AuthData: PassAuthData("pw"),
		Addrs: []netip.Addr{netip.MustParseAddr("192.168.188.109")}}
	v3 := Advert{Version: 3, VRID: 51, Priority: 100, AdverInt: 100, Addrs: []netip.Addr{netip.MustParseAddr("192.168.188.109")}}
	v36 := Advert{Version: 3, VRID: 51, Priority: 100, AdverInt: 100, Addrs: []netip.Addr{netip.MustParseAddr("fe80::109")}}
	for _, tc := range []struct {
		name     string
		a        Advert
		src, dst netip.Addr
		want     int
	}{
		{"v2 IPv4", v2, src4, grp4, 8 + 4 + 8},
		{"v3 IPv4", v3, src4, grp4, 8 + 4},
		{"v3 IPv6", v36, src6, grp6, 8 + 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := mustMarshal(t, tc.a, tc.src, tc.dst, ChecksumPseudoHeader)
			if len(b) != tc.want {
				t.Fatalf("marshalled %d bytes, want %d", len(b), tc.want)
			}
			if _, err := Parse(b, ParseOptions{Src: tc.src, Dst: tc.dst}); err != nil {
				t.Fatalf("exact length: %v", err)
			}
			// Trailing zero bytes leave the Internet checksum valid: only the length
			// check can catch them.
			for _, extra := range []int{1, 2, 4, 16} {
				long := append(bytes.Clone(b), make([]byte, extra)...)
				if _, err := Parse(long, ParseOptions{Src: tc.src, Dst: tc.dst}); CauseOf(err) != CauseTrailing {
					t.Errorf("%d trailing bytes: err %v, want cause %s", extra, err, CauseTrailing)
				}
			}
			if _, err := Parse(b[:len(b)-1], ParseOptions{Src: tc.src, Dst: tc.dst}); CauseOf(err) != CauseLength {
				t.Errorf("one byte short: err %v, want cause %s", err, CauseLength)
			}
		})
	}
}

func TestV3IPv6RoundTrip(t *testing.T) {
	a := Advert{Version: 3, VRID: 7, Priority: 200, AdverInt: 100, Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("fe80::100")}}
	b := mustMarshal(t, a, src6, grp6, ChecksumPseudoHeader)
	if len(b) != HeaderLen+2*16 {
		t.Fatalf("length %d", len(b))
	}
	got, err := Parse(b, ParseOptions{Src: src6, Dst: grp6, Checksum: ChecksumGroupPseudoHeader /* ignored for IPv6 */})
	if err != nil {
		t.Fatal(err)
	}
	if got.VRID != 7 || got.Priority != 200 || got.AdverInt != 100 || len(got.Addrs) != 2 || got.Addrs[1] != a.Addrs[1] {
		t.Fatalf("got %+v", got)
	}
	if _, err := Parse(b, ParseOptions{Src: netip.MustParseAddr("fe80::2"), Dst: grp6}); CauseOf(err) != CauseChecksum {
		t.Errorf("IPv6 pseudo-header not checked: %v", err)
	}
}

func TestV2PassKeepsFirstEightBytes(t *testing.T) {
	d := PassAuthData("hell>com-and-more")
	if string(d[:]) != "hell>com" {
		t.Fatalf("auth data %q", d)
	}
	d = PassAuthData("abc")
	if !bytes.Equal(d[:], []byte("abc\x00\x00\x00\x00\x00")) {
		t.Fatalf("short password padded as %q", d)
	}
}

func TestParseRejects(t *testing.T) {
	v2 := Advert{Version: 2, VRID: 51, Priority: 100, AdverInt: 1, AuthType: AuthPass, AuthData: PassAuthData("hell>com"), Addrs: []netip.Addr{netip.MustParseAddr("192.168.188.109")}}
	good := mustMarshal(t, v2, src4, grp4, ChecksumPseudoHeader)
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	ah := v2
	ah.AuthType = AuthAH
	for _, tc := range []struct {
		name  string
		pkt   []byte
		cause Cause
	}{
		{"empty", nil, CauseLength},
		{"short header", good[:7], CauseLength},
		{"truncated addresses", good[:len(good)-9], CauseLength},
		{"version 1", mod(func(b []byte) []byte { b[0] = 0x11; return b }), CauseVersion},
		{"type 2", mod(func(b []byte) []byte { b[0] = 0x22; return b }), CauseType},
		{"bad checksum", mod(func(b []byte) []byte { b[7] ^= 0xff; return b }), CauseChecksum},
		{"priority flipped, checksum stale", mod(func(b []byte) []byte { b[2] = 1; return b }), CauseChecksum},
		{"AH", mustMarshal(t, ah, src4, grp4, ChecksumPseudoHeader), CauseAuth},
	} {
		_, err := Parse(tc.pkt, ParseOptions{Src: src4, Dst: grp4})
		if CauseOf(err) != tc.cause {
			t.Errorf("%s: %v, want cause %v", tc.name, err, tc.cause)
		}
	}
	// v2 over IPv6 does not exist.
	if _, err := Parse(good, ParseOptions{Src: src6, Dst: grp6}); CauseOf(err) != CauseVersion {
		t.Errorf("v2 over IPv6: %v", err)
	}
	// Trailing bytes are refused, as keepalived's vrrp_check_packet does.
	if _, err := Parse(append(bytes.Clone(good), 0, 0, 0, 0), ParseOptions{Src: src4, Dst: grp4}); CauseOf(err) != CauseTrailing {
		t.Errorf("trailing bytes: %v, want cause %s", err, CauseTrailing)
	}
}

func TestMarshalRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    Advert
		src  netip.Addr
	}{
		{"version 4", Advert{Version: 4}, src4},
		{"v2 over IPv6", Advert{Version: 2}, src6},
		{"v2 interval 256", Advert{Version: 2, AdverInt: 256}, src4},
		{"v3 interval 4096", Advert{Version: 3, AdverInt: 4096}, src4},
		{"IPv6 address in IPv4 advert", Advert{Version: 3, AdverInt: 100, Addrs: []netip.Addr{src6}}, src4},
		{"IPv4 address in IPv6 advert", Advert{Version: 3, AdverInt: 100, Addrs: []netip.Addr{src4}}, src6},
	} {
		dst := grp4
		if tc.src.Is6() {
			dst = grp6
		}
		if _, err := tc.a.Marshal(tc.src, dst, ChecksumPseudoHeader); err == nil {
			t.Errorf("%s: marshalled", tc.name)
		}
	}
}

// FuzzParse: decoding never panics, and whatever decodes re-encodes to the same bytes.
func FuzzParse(f *testing.F) {
	for _, path := range captures {
		for _, c := range readPcapAdverts(f, path) {
			f.Add(c.payload, false)
		}
	}
	v6 := Advert{Version: 3, VRID: 1, Priority: 100, AdverInt: 100, Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::1")}}
	f.Add(mustMarshal(f, v6, src6, grp6, ChecksumPseudoHeader), true)
	f.Fuzz(func(t *testing.T, b []byte, ipv6 bool) {
		src, dst := src4, grp4
		if ipv6 {
			src, dst = src6, grp6
		}
		a, err := Parse(b, ParseOptions{Src: src, Dst: dst})
		if err != nil {
			if CauseOf(err) == CauseNone {
				t.Fatalf("error without a cause: %v", err)
			}
			return
		}
		enc, err := a.Marshal(src, dst, ChecksumPseudoHeader)
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", a, err)
		}
		// Only exact lengths decode (vrrp.c: vrrp_check_packet); reserved bits are not
		// kept, everything else is.
		if len(enc) != len(b) {
			t.Fatalf("decoded %d bytes, re-encoded %d", len(b), len(enc))
		}
		want := bytes.Clone(b)
		if a.Version == 3 {
			want[4] &= 0x0f
		}
		if !bytes.Equal(enc[8:], want[8:]) || !bytes.Equal(enc[:4], want[:4]) {
			t.Fatalf("round trip\n%x\n%x", enc, want)
		}
	})
}
