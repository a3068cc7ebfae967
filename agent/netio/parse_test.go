package netio

import (
	"net/netip"
	"testing"
)

// TestParseIPv4 reads what a raw IPv4 socket returns: header fields, the payload after
// a header with options, the datagram's own length, and no panic on a short packet.
func TestParseIPv4(t *testing.T) {
	t.Parallel()
	hdr := func(ihl int, total int) []byte {
		b := make([]byte, ihl*4)
		b[0] = 0x40 | byte(ihl)
		b[2], b[3] = byte(total>>8), byte(total)
		b[8], b[9] = 255, ProtocolVRRP
		copy(b[12:], []byte{192, 0, 2, 1})
		copy(b[16:], []byte{224, 0, 0, 18})
		return b
	}
	plain := append(hdr(5, 24), 'v', 'r', 'r', 'p')
	opts := append(hdr(6, 28), 'v', 'r', 'r', 'p')
	padded := append(hdr(5, 22), 'v', 'r', 'x', 'x') // two bytes beyond the datagram

	for _, tc := range []struct {
		name string
		b    []byte
		data string
		ok   bool
	}{
		{"plain", plain, "vrrp", true},
		{"options", opts, "vrrp", true},
		{"beyond total length", padded, "vr", true},
		{"short", plain[:19], "", false},
		{"header longer than packet", hdr(15, 60)[:40], "", false},
		{"not IPv4", append([]byte{0x60}, plain[1:]...), "", false},
	} {
		p, err := parseIPv4(tc.b)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.name, err, tc.ok)
			continue
		}
		if !tc.ok {
			continue
		}
		if string(p.Data) != tc.data || p.TTL != 255 ||
			p.Src != netip.MustParseAddr("192.0.2.1") || p.Dst != netip.MustParseAddr("224.0.0.18") {
			t.Errorf("%s: got src=%v dst=%v ttl=%d data=%q", tc.name, p.Src, p.Dst, p.TTL, p.Data)
		}
	}
}
