package netio

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/sys/unix"
)

// TestIPv4HeaderOnTheWireMatchesKeepalived sniffs the frame in the peer's
// namespace and checks the header fields keepalived 2.2.7 sends (see
// agent/vrrp/testdata/keepalived-v2-pass.pcap.txt): TOS 0xc0, no DF,
// TTL 255, protocol 112, to 01:00:5e:00:00:12.
func TestIPv4HeaderOnTheWireMatchesKeepalived(t *testing.T) {
	t.Parallel()
	a, b := pair(t)
	ca := listen(t, a, IPv4)
	var sniff *packet.Conn
	err := InNamespace(b.ns, func() error {
		ifi, err := net.InterfaceByName(b.ifname)
		if err != nil {
			return err
		}
		sniff, err = packet.Listen(ifi, packet.Raw, unix.ETH_P_IP, nil)
		return err
	})
	if err != nil {
		t.Fatalf("open packet socket: %v", err)
	}
	t.Cleanup(func() { sniff.Close() })

	payload := []byte("vrrp payload")
	send(t, ca, string(payload), netip.Addr{}, GroupIPv4)

	if err := sniff.SetReadDeadline(time.Now().Add(3 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	for {
		n, _, err := sniff.ReadFrom(buf)
		if err != nil {
			t.Fatalf("no VRRP frame seen on the wire: %v", err)
		}
		frame := buf[:n]
		if len(frame) < 34 || frame[23] != ProtocolVRRP {
			continue // IGMP and the like
		}
		ip := frame[14:]
		if got := net.HardwareAddr(frame[:6]).String(); got != "01:00:5e:00:00:12" {
			t.Errorf("ethernet destination %s, want 01:00:5e:00:00:12", got)
		}
		if ip[0] != 0x45 || ip[1] != 0xc0 || ip[8] != 255 {
			t.Errorf("version/IHL %#x TOS %#x TTL %d, want 0x45 0xc0 255", ip[0], ip[1], ip[8])
		}
		if frag := binary.BigEndian.Uint16(ip[6:8]); frag != 0 {
			t.Errorf("flags/fragment offset %#x, want 0 (no DF, as keepalived)", frag)
		}
		if total := int(binary.BigEndian.Uint16(ip[2:4])); total != 20+len(payload) {
			t.Errorf("total length %d, want %d", total, 20+len(payload))
		}
		if !bytes.Equal(ip[12:16], a.v4.AsSlice()) || !bytes.Equal(ip[16:20], GroupIPv4.AsSlice()) {
			t.Errorf("src %v dst %v, want %v %v", net.IP(ip[12:16]), net.IP(ip[16:20]), a.v4, GroupIPv4)
		}
		if !bytes.Equal(ip[20:20+len(payload)], payload) {
			t.Errorf("payload %q, want %q", ip[20:], payload)
		}
		return
	}
}
