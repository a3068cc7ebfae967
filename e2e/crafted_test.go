package e2e

// Issue 10, "Receive rules": crafted adverts from a third namespace to a lone MASTER,
// with real keepalived 2.2.7 run through the same cases as the reference.

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/hagent-dev/hagent/agent/netio"
	"github.com/hagent-dev/hagent/agent/vrrp"
	"github.com/hagent-dev/hagent/lab"
)

// craftedCase is one crafted advert sent to the lone master, cenvm72 (192.168.188.72,
// seed config: VRRPv2, VRID 51, priority 90, PASS "hell>com", advert_int 1).
type craftedCase struct {
	name string
	src  netip.Addr // IP source: .10 (below the master's .72) or .80 (above)
	dst  netip.Addr // IP destination: 224.0.0.18 unless set
	ttl  int
	data []byte
	// stepsDown is what RFC 3768 and keepalived say the master does.
	stepsDown bool
	// cause is the receive-error counter hagent must count it under; "" for a valid
	// advert, which hagent counts as received.
	cause string
	// kaLog is what keepalived 2.2.7 logs for it (vrrp.c: vrrp_check_packet,
	// vrrp_state_master_rx); "" when it logs nothing (an unknown VRID).
	kaLog string
}

var (
	craftedLow  = netip.MustParseAddr("192.168.188.10") // the client's address
	craftedHigh = netip.MustParseAddr("192.168.188.80") // nobody's, above cenvm72's .72
	// craftedMaster72 is cenvm72's address.
	craftedMaster72 = netip.MustParseAddr("192.168.188.72")
)

// craftedCases are the malformed kinds of the issue, each at priority 254 so that one
// accepted would take mastership, then the valid ones.
func craftedCases(t *testing.T) []craftedCase {
	t.Helper()
	vip := netip.MustParseAddr(lab.VIP)
	seed := func() vrrp.Advert {
		return vrrp.Advert{Version: 2, VRID: 51, Priority: 254, AdverInt: 1, AuthType: vrrp.AuthPass,
			AuthData: vrrp.PassAuthData("hell>com"), Addrs: []netip.Addr{vip}}
	}
	marshal := func(a vrrp.Advert, src netip.Addr) []byte {
		b, err := a.Marshal(src, netio.GroupIPv4, vrrp.ChecksumPseudoHeader)
		if err != nil {
			t.Fatalf("marshal %+v: %v", a, err)
		}
		return b
	}
	with := func(f func(a *vrrp.Advert)) []byte {
		a := seed()
		f(&a)
		return marshal(a, craftedLow)
	}
	good := marshal(seed(), craftedLow)
	badSum := bytes.Clone(good)
	badSum[7] ^= 0x5a
	v3 := marshal(vrrp.Advert{Version: 3, VRID: 51, Priority: 254, AdverInt: 100, Addrs: []netip.Addr{vip}}, craftedLow)

	return []craftedCase{
		{name: "ttl_254", ttl: 254, data: good, cause: "ttl", kaLog: "invalid TTL/HL. Received 254"},
		{name: "bad_checksum", data: badSum, cause: "checksum", kaLog: "Invalid VRRPv2 checksum"},
		{name: "wrong_password", data: with(func(a *vrrp.Advert) { a.AuthData = vrrp.PassAuthData("letmein!") }),
			cause: "auth", kaLog: "received an invalid passwd"},
		{name: "no_auth", data: with(func(a *vrrp.Advert) { a.AuthType, a.AuthData = vrrp.AuthNone, [8]byte{} }),
			cause: "auth", kaLog: "received a 0 auth, expecting 1"},
		{name: "interval_mismatch", data: with(func(a *vrrp.Advert) { a.AdverInt = 2 }),
			cause: "interval", kaLog: "advertisement interval mismatch"},
		{name: "v3_to_v2_instance", data: v3, cause: "version", kaLog: "wrong version. Received 3 and expect 2"},
		{name: "type_2", data: with(func(a *vrrp.Advert) { a.Type = 2 }), cause: "type", kaLog: "Invalid packet type. 2"},
		{name: "truncated", data: good[:len(good)-4], cause: "length", kaLog: "vrrp packet too short"},
		{name: "count_mismatch", data: with(func(a *vrrp.Advert) { a.Addrs = append(a.Addrs, netip.MustParseAddr("192.168.188.110")) }),
			cause: "addr_count", kaLog: "unexpected ip number count 2, expected 1"},
		{name: "address_mismatch", data: with(func(a *vrrp.Advert) { a.Addrs = []netip.Addr{netip.MustParseAddr("192.168.188.110")} }),
			cause: "addr_list", kaLog: "not present in MASTER advert"},
		{name: "trailing_bytes", data: append(bytes.Clone(good), 0, 0, 0, 0), cause: "trailing_bytes", kaLog: "vrrp packet too long"},
		// keepalived binds a multicast instance's IPv4 socket to 224.0.0.18
		// (vrrp.c: open_vrrp_read_socket), so it never sees this one; vrrp_check_packet
		// would drop it ("Expected multicast packet but received unicast packet").
		{name: "unicast_to_multicast_instance", dst: craftedMaster72, cause: "destination",
			data: func() []byte {
				a := seed()
				b, err := a.Marshal(craftedLow, craftedMaster72, vrrp.ChecksumPseudoHeader)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}()},
		{name: "other_vrid", data: with(func(a *vrrp.Advert) { a.VRID = 52 }), cause: "vrid"},
		{name: "lower_priority", data: with(func(a *vrrp.Advert) { a.Priority = 50 }),
			kaLog: "with lower priority 50, ours 90"},
		{name: "equal_priority_lower_address", data: with(func(a *vrrp.Advert) { a.Priority = 90 }),
			kaLog: "with lower priority 90, ours 90"},
		{name: "higher_priority", data: good, stepsDown: true},
		{name: "equal_priority_higher_address", src: craftedHigh, stepsDown: true,
			data: func() []byte { a := seed(); a.Priority = 90; return marshal(a, craftedHigh) }()},
	}
}

// TestCraftedAdvertsLoneMaster sends each crafted advert from the client namespace to
// a lone MASTER (cenvm72's seed config, cenvm71 runs no daemon), once with hagent and
// once with keepalived 2.2.7 on cenvm72, in parallel labs. Every malformed kind must
// leave the master MASTER and be counted under its own cause; a valid higher priority,
// and an equal priority from a higher address, make it step down. hagent must do what
// keepalived does in every case.
//
// Each case is followed by a marker (a valid advert with TTL 254, which both daemons
// report): once the marker is reported the case's packets have been processed, so no
// case waits on a clock.
func TestCraftedAdvertsLoneMaster(t *testing.T) {
	t.Parallel()
	cases := craftedCases(t)
	outcomes := map[lab.Daemon]map[string]string{}
	daemons := []lab.Daemon{lab.Hagent, lab.Keepalived}
	for _, d := range daemons {
		outcomes[d] = map[string]string{}
	}
	t.Run("daemons", func(t *testing.T) {
		for _, d := range daemons {
			got := outcomes[d]
			t.Run(string(d), func(t *testing.T) {
				t.Parallel()
				l := lab.Start(t, lab.Options{Daemons: map[string]lab.Daemon{"cenvm71": lab.NoDaemon, "cenvm72": d}})
				m := &craftedMaster{l: l, daemon: d}
				m.waitMaster(t)
				s := newCraftedSender(t, l.NetNS("client"))
				marker := cases[0] // a good advert with TTL 254
				for _, c := range cases {
					t.Run(c.name, func(t *testing.T) {
						got[c.name] = m.run(t, s, c, marker)
					})
				}
			})
		}
	})
	for _, c := range cases {
		want := "MASTER"
		if c.stepsDown {
			want = "BACKUP"
		}
		h, k := outcomes[lab.Hagent][c.name], outcomes[lab.Keepalived][c.name]
		if k != want {
			t.Errorf("%s: keepalived 2.2.7 %s, the test expects %s: the reference disagrees with the case", c.name, k, want)
		}
		if h != k {
			t.Errorf("%s: hagent %s, keepalived 2.2.7 %s", c.name, h, k)
		}
	}
}

// craftedMaster observes the daemon on cenvm72.
type craftedMaster struct {
	l      *lab.Lab
	daemon lab.Daemon
}

const craftedHost = "cenvm72"

// craftedTTL matches keepalived's report of the marker.
var craftedTTL = regexp.MustCompile(`\(VI_1\) invalid TTL/HL`)

// probe is what the case needs to compare before and after.
type craftedProbe struct {
	state       string // MASTER, BACKUP, ...
	transitions int    // hagent: transitions; keepalived: "Entering ... STATE" lines
	markers     int    // TTL drops reported
	received    uint64 // hagent: adverts received
	errs        map[string]uint64
	log         string // keepalived: the current run's log
}

func (m *craftedMaster) probe() (craftedProbe, error) {
	if m.daemon == lab.Hagent {
		in, err := m.l.Instance(craftedHost, "VI_1")
		if err != nil {
			return craftedProbe{}, err
		}
		p := craftedProbe{
			state:       strings.TrimPrefix(in.GetState().String(), "STATE_"),
			transitions: int(in.GetTransitions()),
			received:    in.GetAdvertsReceived(),
			errs:        map[string]uint64{},
		}
		for _, e := range in.GetReceiveErrors() {
			p.errs[e.GetCause()] += e.GetCount()
		}
		p.markers = int(p.errs["ttl"])
		return p, nil
	}
	log := interopCurrentRun(m.l.AgentLog(craftedHost))
	states := interopKeepalivedState.FindAllStringSubmatch(log, -1)
	p := craftedProbe{transitions: len(states), markers: len(craftedTTL.FindAllString(log, -1)), log: log}
	if len(states) > 0 {
		p.state = states[len(states)-1][1]
	}
	return p, nil
}

func (m *craftedMaster) mustProbe(t *testing.T) craftedProbe {
	t.Helper()
	p, err := m.probe()
	if err != nil {
		t.Fatalf("%s on %s: %v", m.daemon, craftedHost, err)
	}
	return p
}

// waitMaster waits until the daemon says MASTER: alone, it takes over after its
// Master_Down_Interval (3.65 s).
func (m *craftedMaster) waitMaster(t *testing.T) {
	t.Helper()
	var last craftedProbe
	err := lab.Poll(func() bool {
		p, err := m.probe()
		last = p
		return err == nil && p.state == "MASTER"
	}, 20*time.Second)
	if err != nil {
		t.Fatalf("%s on %s did not become MASTER alone within 20s (last state %q)", m.daemon, craftedHost, last.state)
	}
}

// run sends c three times then the marker, waits until the marker is reported, and
// returns the daemon's state: MASTER if it held, BACKUP if it stepped down (it is then
// left to become MASTER again before the next case).
func (m *craftedMaster) run(t *testing.T, s *craftedSender, c, marker craftedCase) string {
	t.Helper()
	const copies = 3
	before := m.mustProbe(t)
	if before.state != "MASTER" {
		t.Fatalf("%s is %s before the case", m.daemon, before.state)
	}
	n := copies
	if c.stepsDown {
		n = 1 // the first one decides
	}
	for range n {
		s.send(t, c)
	}
	s.send(t, marker)
	wantMarkers := before.markers + 1
	if c.ttl == 254 {
		wantMarkers += n
	}
	var after craftedProbe
	err := lab.Poll(func() bool {
		p, err := m.probe()
		after = p
		return err == nil && p.markers >= wantMarkers
	}, 5*time.Second)
	if err != nil {
		t.Fatalf("%s did not report the marker advert within 5s (%d TTL drops, want %d)", m.daemon, after.markers, wantMarkers)
	}
	outcome := "MASTER"
	if after.state != "MASTER" || after.transitions != before.transitions {
		outcome = "BACKUP"
	}
	want := "MASTER"
	if c.stepsDown {
		want = "BACKUP"
	}
	if outcome != want {
		t.Errorf("%s %s after %s, want %s (state %s)", m.daemon, outcome, c.name, want, after.state)
	}

	switch m.daemon {
	case lab.Hagent:
		if c.cause != "" {
			want := uint64(copies)
			if c.cause == "ttl" {
				want++ // and the marker
			}
			if got := after.errs[c.cause] - before.errs[c.cause]; got != want {
				t.Errorf("hagent counted %d %q receive errors, want %d (errors now %v)", got, c.cause, want, after.errs)
			}
		} else if got := after.received - before.received; got != uint64(n) {
			t.Errorf("hagent accepted %d of %d valid adverts", got, n)
		}
	case lab.Keepalived:
		if c.kaLog != "" && !strings.Contains(after.log[len(before.log):], c.kaLog) {
			t.Errorf("keepalived did not log %q for %s:\n%s", c.kaLog, c.name, after.log[len(before.log):])
		}
	}
	if outcome == "BACKUP" {
		m.waitMaster(t)
	}
	return outcome
}

// craftedSender writes whole IPv4 packets (IP_HDRINCL) out of eth0 of a lab namespace,
// so that the source address, destination and TTL are the case's.
type craftedSender struct {
	raw *ipv4.RawConn
}

func newCraftedSender(t *testing.T, ns string) *craftedSender {
	t.Helper()
	var s craftedSender
	var ifi *net.Interface
	err := netio.InNamespace(ns, func() error {
		var err error
		if ifi, err = net.InterfaceByName("eth0"); err != nil {
			return err
		}
		pc, err := net.ListenPacket("ip4:112", "0.0.0.0")
		if err != nil {
			return fmt.Errorf("raw socket: %w", err)
		}
		if s.raw, err = ipv4.NewRawConn(pc); err != nil {
			pc.Close()
			return fmt.Errorf("IP_HDRINCL: %w", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("open raw socket in %s: %v", ns, err)
	}
	t.Cleanup(func() { s.raw.Close() })
	if err := s.raw.SetMulticastInterface(ifi); err != nil {
		t.Fatalf("multicast interface: %v", err)
	}
	return &s
}

func (s *craftedSender) send(t *testing.T, c craftedCase) {
	t.Helper()
	src := c.src
	if !src.IsValid() {
		src = craftedLow
	}
	ttl := c.ttl
	if ttl == 0 {
		ttl = 255
	}
	dst := c.dst
	if !dst.IsValid() {
		dst = netio.GroupIPv4
	}
	h := &ipv4.Header{Version: ipv4.Version, Len: ipv4.HeaderLen, TOS: 0xc0, TotalLen: ipv4.HeaderLen + len(c.data),
		TTL: ttl, Protocol: vrrp.Protocol, Src: src.AsSlice(), Dst: dst.AsSlice()}
	if err := s.raw.WriteTo(h, c.data, nil); err != nil {
		t.Fatalf("send %s: %v", c.name, err)
	}
}
