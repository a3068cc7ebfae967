package vip

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"testing"

	"github.com/mdlayher/ndp"
)

// readPcap returns the frames of a classic little-endian pcap file: a
// 24-byte global header, then per record a 16-byte header (seconds,
// microseconds, captured length, original length) and the frame.
func readPcap(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatalf("%s: not a little-endian pcap file", path)
	}
	var frames [][]byte
	for off := 24; off < len(b); {
		if off+16 > len(b) {
			t.Fatalf("%s: truncated record header at %d", path, off)
		}
		n := int(binary.LittleEndian.Uint32(b[off+8:]))
		off += 16
		if off+n > len(b) {
			t.Fatalf("%s: truncated record at %d", path, off)
		}
		frames = append(frames, b[off:off+n])
		off += n
	}
	return frames
}

// TestGARPFrameMatchesKeepalivedCapture rebuilds every gratuitous ARP of a
// real keepalived 2.2.7 failover from its MAC and VIP and compares bytes.
func TestGARPFrameMatchesKeepalivedCapture(t *testing.T) {
	t.Parallel()
	var seen int
	for _, frame := range readPcap(t, "../vrrp/testdata/keepalived-v2-pass.pcap") {
		if len(frame) < 14 || binary.BigEndian.Uint16(frame[12:14]) != 0x0806 {
			continue
		}
		seen++
		mac := net.HardwareAddr(frame[22:28]) // ARP sender hardware address
		ip, _ := netip.AddrFromSlice(frame[28:32])
		got, err := GARPFrame(mac, ip)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, frame) {
			t.Errorf("GARP for %v from %v:\n got %x\nwant %x", ip, mac, got, frame)
		}
	}
	if seen == 0 {
		t.Fatal("no ARP frame in the capture")
	}
}

func TestGARPFrameRejectsNonIPv4(t *testing.T) {
	t.Parallel()
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	if _, err := GARPFrame(mac, netip.MustParseAddr("fd00::1")); err == nil {
		t.Error("GARP for an IPv6 address built")
	}
	if _, err := GARPFrame(mac[:3], netip.MustParseAddr("192.0.2.1")); err == nil {
		t.Error("GARP with a 3-byte MAC built")
	}
}

// naGolden is the unsolicited NA for fd00::10 from fe80::1 with MAC
// 02:00:00:00:00:01, checked field by field below and by the kernel's
// ICMPv6 checksum verification in TestAnnounceReachesThePeer.
const naGolden = "333300000001020000000001" + "86dd" +
	"6000000000203aff" + "fe800000000000000000000000000001" + "ff020000000000000000000000000001" +
	"8800" + "590c" + "20000000" + "fd000000000000000000000000000010" + "0201020000000001"

func TestNAFrame(t *testing.T) {
	t.Parallel()
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	src, target := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("fd00::10")
	got, err := NAFrame(mac, src, target)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got) != naGolden {
		t.Errorf("NA frame\n got %x\nwant %s", got, naGolden)
	}
	if sum := icmpv6Checksum(got[22:38], got[38:54], got[54:]); sum != 0 {
		t.Errorf("ICMPv6 checksum does not verify: residue %#04x", sum)
	}
	m, err := ndp.ParseMessage(got[54:])
	if err != nil {
		t.Fatal(err)
	}
	na, ok := m.(*ndp.NeighborAdvertisement)
	if !ok || !na.Override || na.Solicited || na.Router || na.TargetAddress != target {
		t.Fatalf("parsed %#v, want an unsolicited NA with override for %v", m, target)
	}
	if len(na.Options) != 1 {
		t.Fatalf("options %v, want one target link-layer address", na.Options)
	}
	if lla, ok := na.Options[0].(*ndp.LinkLayerAddress); !ok || lla.Direction != ndp.Target || !bytes.Equal(lla.Addr, mac) {
		t.Errorf("option %#v, want target link-layer address %v", na.Options[0], mac)
	}
	if _, err := NAFrame(mac, src, netip.MustParseAddr("192.0.2.1")); err == nil {
		t.Error("NA for an IPv4 target built")
	}
}

// icmpv6Checksum sums the IPv6 pseudo-header and the message; a message
// with a correct checksum sums to zero.
func icmpv6Checksum(src, dst, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src)
	add(dst)
	var tail [8]byte
	binary.BigEndian.PutUint32(tail[0:4], uint32(len(msg)))
	tail[7] = 58
	add(tail[:])
	add(msg)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
