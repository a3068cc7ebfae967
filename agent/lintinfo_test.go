package agent

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/agent/config"
	"github.com/hagent-dev/hagent/agent/vrrp"
)

func TestAuthFingerprint(t *testing.T) {
	fp := func(vrid int, typ, pass string) string {
		return authFingerprint(&config.Instance{VRID: vrid, AuthType: typ, AuthPass: pass})
	}
	a := fp(51, "PASS", "hell>com")
	switch {
	case a == "" || len(a) != 16:
		t.Fatalf("fingerprint %q, want 16 hex digits", a)
	case a != fp(51, "PASS", "hell>com"):
		t.Error("equal passwords give different fingerprints")
	case a == fp(51, "PASS", "hell>cow"):
		t.Error("different passwords give equal fingerprints")
	case a == fp(52, "PASS", "hell>com"):
		t.Error("the VRID is not in the fingerprint")
	case a != fp(51, "PASS", "hell>com-and-more"):
		t.Error("passwords equal on the wire (first 8 bytes) give different fingerprints")
	case strings.Contains(a, fmt.Sprintf("%x", "hell")):
		t.Error("the fingerprint shows the password")
	case fp(51, "", "hell>com") != "":
		t.Error("a fingerprint without authentication")
	}
}

func TestForeignSendersBoundedNewestFirst(t *testing.T) {
	in := &instance{}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range foreignSendersKept + 3 {
		src := netip.AddrFrom4([4]byte{192, 168, 188, byte(10 + i)})
		in.recordForeign(t0.Add(time.Duration(i)*time.Second), vrrp.Dropped{Src: src, Cause: vrrp.CauseAddrList, Reason: "x",
			Advert: vrrp.Advert{Version: 2, Priority: 100, AdverInt: 1, Addrs: []netip.Addr{netip.MustParseAddr("192.168.188.200")}}})
	}
	last := netip.AddrFrom4([4]byte{192, 168, 188, byte(10 + foreignSendersKept + 2)})
	got := in.recordForeign(t0.Add(time.Minute), vrrp.Dropped{Src: last, Cause: vrrp.CauseInterval, Reason: "y"})
	if got.GetCount() != 2 || got.GetCause() != "interval" || got.GetAdvertInt().AsDuration() != time.Second ||
		len(got.GetAddresses()) != 1 || got.GetAddresses()[0] != "192.168.188.200" {
		t.Errorf("record %v: want count 2, cause interval, the last decoded advert's interval and addresses", got)
	}
	list := in.foreignProtos(t0.Add(2 * time.Minute))
	if len(list) != foreignSendersKept || list[0].GetAddress() != last.String() {
		t.Fatalf("kept %d senders, first %s; want %d, newest %s first", len(list), list[0].GetAddress(), foreignSendersKept, last)
	}
	if n := len(in.foreignProtos(t0.Add(time.Minute + foreignSenderTTL + time.Second))); n != 0 {
		t.Errorf("%d senders kept past the TTL", n)
	}
}
