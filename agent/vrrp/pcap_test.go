package vrrp

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
)

// capturedAdvert is one VRRP packet out of a capture: the IP addresses and TTL from its
// IPv4 header and the VRRP payload.
type capturedAdvert struct {
	frame    int // 1-based, as tshark numbers frames
	src, dst netip.Addr
	ttl      int
	payload  []byte
}

// readPcapAdverts reads a classic little-endian pcap of Ethernet frames and returns the
// IPv4 protocol-112 packets in it. It knows just enough of the format for our captures.
func readPcapAdverts(t testing.TB, path string) []capturedAdvert {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 24 || binary.LittleEndian.Uint32(data) != 0xa1b2c3d4 {
		t.Fatalf("%s: not a little-endian microsecond pcap", path)
	}
	if lt := binary.LittleEndian.Uint32(data[20:]); lt != 1 {
		t.Fatalf("%s: link type %d, want Ethernet", path, lt)
	}
	var out []capturedAdvert
	off := 24
	for frame := 1; off+16 <= len(data); frame++ {
		caplen := int(binary.LittleEndian.Uint32(data[off+8:]))
		off += 16
		if off+caplen > len(data) {
			t.Fatalf("%s: frame %d truncated", path, frame)
		}
		pkt := data[off : off+caplen]
		off += caplen
		if len(pkt) < 14+20 || binary.BigEndian.Uint16(pkt[12:]) != 0x0800 {
			continue
		}
		ip := pkt[14:]
		ihl := int(ip[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(ip[2:]))
		if ip[9] != Protocol || total > len(ip) {
			continue
		}
		out = append(out, capturedAdvert{
			frame:   frame,
			src:     netip.AddrFrom4([4]byte(ip[12:16])),
			dst:     netip.AddrFrom4([4]byte(ip[16:20])),
			ttl:     int(ip[8]),
			payload: ip[ihl:total],
		})
	}
	return out
}

// tsharkVRRP is what `tshark -V` printed for one VRRP packet.
type tsharkVRRP struct {
	version, typ, vrid, priority, count int
	authType                            int // -1 when tshark printed none (v3)
	adverInt                            int
	checksum                            uint16
	checksumGood                        bool
	addrs                               []netip.Addr
	authString                          string
}

// readTsharkVRRP parses the VRRP sections of a `tshark -V` decode, by frame number.
func readTsharkVRRP(t testing.TB, path string) map[int]*tsharkVRRP {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[int]*tsharkVRRP{}
	frame := 0
	var cur *tsharkVRRP
	num := func(s string) int {
		s = strings.TrimSuffix(strings.Fields(s)[0], ":")
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("%s: frame %d: %q is not a number", path, frame, s)
		}
		return n
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "Frame ") {
			frame = num(strings.TrimPrefix(line, "Frame "))
			cur = nil
			continue
		}
		if line == "Virtual Router Redundancy Protocol" {
			cur = &tsharkVRRP{authType: -1}
			out[frame] = cur
			continue
		}
		if cur == nil {
			continue
		}
		l := strings.TrimSpace(line)
		key, val, _ := strings.Cut(l, ": ")
		switch {
		case strings.HasPrefix(l, "Version "):
			// "Version 2, Packet type 1 (Advertisement)"
			var v, ty int
			if _, err := fmt.Sscanf(l, "Version %d, Packet type %d", &v, &ty); err != nil {
				t.Fatalf("%s: frame %d: %q: %v", path, frame, l, err)
			}
			cur.version, cur.typ = v, ty
		case key == "Virtual Rtr ID":
			cur.vrid = num(val)
		case key == "Priority":
			cur.priority = num(val)
		case key == "Addr Count":
			cur.count = num(val)
		case key == "Auth Type":
			// "Simple Text Authentication [RFC 2338] / Reserved [RFC 3768] (1)"
			i := strings.LastIndex(val, "(")
			cur.authType = num(strings.Trim(val[i:], "()"))
		case key == "Adver Int", strings.HasSuffix(key, "= Adver Int"):
			cur.adverInt = num(val)
		case key == "Checksum":
			v, err := strconv.ParseUint(strings.Fields(val)[0], 0, 16)
			if err != nil {
				t.Fatal(err)
			}
			cur.checksum = uint16(v)
		case l == "[Checksum Status: Good]":
			cur.checksumGood = true
		case key == "IP Address":
			cur.addrs = append(cur.addrs, netip.MustParseAddr(val))
		case key == "Authentication String":
			cur.authString = val
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var captures = []string{"testdata/keepalived-v2-pass.pcap", "testdata/keepalived-v3.pcap"}

// TestCapturesDecodeAsTsharkSays checks every advert keepalived 2.2.7 sent in our lab
// against tshark's decode of the same packet, and that encoding it gives the same bytes.
func TestCapturesDecodeAsTsharkSays(t *testing.T) {
	for _, path := range captures {
		t.Run(path, func(t *testing.T) {
			adverts := readPcapAdverts(t, path)
			want := readTsharkVRRP(t, path+".txt")
			if len(adverts) == 0 || len(adverts) != len(want) {
				t.Fatalf("%d adverts in the pcap, %d VRRP decodes in the .txt", len(adverts), len(want))
			}
			for _, c := range adverts {
				w := want[c.frame]
				if w == nil {
					t.Fatalf("frame %d: no tshark decode", c.frame)
				}
				if c.ttl != 255 {
					t.Errorf("frame %d: TTL %d", c.frame, c.ttl)
				}
				a, err := Parse(c.payload, ParseOptions{Src: c.src, Dst: c.dst})
				if err != nil {
					t.Fatalf("frame %d: %v", c.frame, err)
				}
				if !w.checksumGood {
					t.Fatalf("frame %d: tshark did not find the checksum good", c.frame)
				}
				if int(a.Version) != w.version || int(a.Type) != w.typ || int(a.VRID) != w.vrid ||
					int(a.Priority) != w.priority || len(a.Addrs) != w.count || int(a.AdverInt) != w.adverInt ||
					a.Checksum != w.checksum {
					t.Errorf("frame %d: decoded %+v, tshark %+v", c.frame, a, *w)
				}
				if a.Version == 2 {
					if int(a.AuthType) != w.authType {
						t.Errorf("frame %d: auth type %d, tshark %d", c.frame, a.AuthType, w.authType)
					}
					if got := string(bytes.TrimRight(a.AuthData[:], "\x00")); got != w.authString {
						t.Errorf("frame %d: auth data %q, tshark %q", c.frame, got, w.authString)
					}
				}
				if len(a.Addrs) != len(w.addrs) {
					t.Fatalf("frame %d: addresses %v, tshark %v", c.frame, a.Addrs, w.addrs)
				}
				for i := range a.Addrs {
					if a.Addrs[i] != w.addrs[i] {
						t.Errorf("frame %d: address %d is %v, tshark %v", c.frame, i, a.Addrs[i], w.addrs[i])
					}
				}
				b := a
				b.Checksum = 0
				enc, err := b.Marshal(c.src, c.dst, ChecksumPseudoHeader)
				if err != nil {
					t.Fatalf("frame %d: marshal: %v", c.frame, err)
				}
				if !bytes.Equal(enc, c.payload) {
					t.Errorf("frame %d: re-encoded\n%x\nwant\n%x", c.frame, enc, c.payload)
				}
			}
		})
	}
}

func TestCaptureHasPriorityZeroAdvert(t *testing.T) {
	// The graceful stop in both captures: keepalived's SIGTERM sends priority 0 once.
	for _, path := range captures {
		zero := 0
		for _, c := range readPcapAdverts(t, path) {
			if c.payload[2] == 0 {
				zero++
			}
		}
		if zero != 1 {
			t.Errorf("%s: %d priority-0 adverts, want 1", path, zero)
		}
	}
}
