package agent

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/agent/config"
	"github.com/hagent-dev/hagent/agent/netio"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// upLink is an interface that exists, is up and has the seed's cenvm71 addresses: what
// the unit tests' fake segment stands for.
func upLink(name string) linkView {
	return linkView{name: name, index: 1, up: true,
		v4: netip.MustParseAddr("192.168.188.71"), v6: netip.MustParseAddr("fe80::71")}
}

// linkViews is the kernel's view of the interfaces, changed by the test.
type linkViews struct {
	mu    sync.Mutex
	views map[string]linkView
}

func (f *linkViews) read(name string) linkView {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.views[name]; ok {
		return v
	}
	return linkView{name: name, v4Err: netio.ErrNoInterface, v6Err: netio.ErrNoInterface}
}

func (f *linkViews) set(v linkView) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.views[v.name] = v
}

// segments opens a new fake segment for each socket the agent opens.
type segments struct {
	mu     sync.Mutex
	opened []*segment
}

func (s *segments) open(string, netio.Family, netip.Addr) (packetConn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seg := newSegment()
	s.opened = append(s.opened, seg)
	return seg, nil
}

func (s *segments) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.opened)
}

func (s *segments) last() *segment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened[len(s.opened)-1]
}

// linkConf is the seed's VI_1 without a configured source address: the agent takes the
// interface's, as keepalived does.
const linkConf = `vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    garp_master_delay 0
    authentication {
        auth_type PASS
        auth_pass hell>com
    }
    virtual_ipaddress {
        192.168.188.109
    }
}
`

type linkHarness struct {
	a     *Agent
	links *linkViews
	segs  *segments
	bind  *binder
	ann   *announcer
	done  chan error
}

// startLinks runs linkConf with the interfaces the test sets up in links.
func startLinks(t *testing.T, links *linkViews) *linkHarness {
	t.Helper()
	cfg, err := config.Parse("test.conf", []byte(linkConf), config.CheckFiles(false))
	if err != nil {
		t.Fatal(err)
	}
	h := &linkHarness{links: links, segs: &segments{}, bind: newBinder(),
		ann: &announcer{n: map[netip.Addr]int{}}, done: make(chan error, 1)}
	h.a, err = New(cfg, WithName("cenvm71"), WithBinder(h.bind), WithAnnouncer(h.ann),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	h.a.openConn = h.segs.open
	h.a.readLink = links.read
	h.a.watchNet = false
	runAgent(t, h.a, h.done)
	return h
}

func (h *linkHarness) status(t *testing.T) *hactlv1.Instance {
	t.Helper()
	return h.a.Status().GetInstances()[0]
}

func faultReasons(in *hactlv1.Instance) string {
	var out []string
	for _, f := range in.GetFaults() {
		out = append(out, f.GetSource()+": "+f.GetReason())
	}
	return strings.Join(out, "; ")
}

// An interface that does not exist at start: the agent runs, the instance is FAULT
// saying so, no socket is open; when the interface appears (with an address) the socket
// opens and the instance goes BACKUP, then MASTER, advertising from that address.
func TestInterfaceCreatedAfterStart(t *testing.T) {
	t.Parallel()
	links := &linkViews{views: map[string]linkView{}}
	h := startLinks(t, links)
	st := h.status(t)
	if st.GetState() != hactlv1.State_STATE_FAULT || !strings.Contains(faultReasons(st), "interface eth0: does not exist") {
		t.Fatalf("state %v, faults %q; want FAULT, interface eth0: does not exist", st.GetState(), faultReasons(st))
	}
	if n := h.segs.count(); n != 0 {
		t.Fatalf("%d sockets opened for an interface that does not exist", n)
	}

	links.set(upLink("eth0"))
	h.a.linkChanged("eth0")
	if n := h.segs.count(); n != 1 {
		t.Fatalf("%d sockets opened once the interface appeared, want 1", n)
	}
	a := h.segs.last().nextSent(t, 5*time.Second)
	if a.Priority != 100 {
		t.Fatalf("advert at priority %d", a.Priority)
	}
	st = h.status(t)
	if st.GetState() != hactlv1.State_STATE_MASTER || st.GetPrimaryAddress() != "192.168.188.71" {
		t.Fatalf("state %v, primary %q; want MASTER from 192.168.188.71", st.GetState(), st.GetPrimaryAddress())
	}
}

// An interface without an IPv4 address: FAULT with the reason; an address arriving ends
// the fault.
func TestAddressAddedAfterStart(t *testing.T) {
	t.Parallel()
	links := &linkViews{views: map[string]linkView{}}
	links.set(linkView{name: "eth0", index: 3, up: true, v4Err: errString("eth0 has no primary IPv4 address")})
	h := startLinks(t, links)
	st := h.status(t)
	if st.GetState() != hactlv1.State_STATE_FAULT || faultReasons(st) != "source address: eth0 has no primary IPv4 address" {
		t.Fatalf("state %v, faults %q", st.GetState(), faultReasons(st))
	}
	if st.GetPrimaryAddress() != "" {
		t.Fatalf("primary address %q before the interface has one", st.GetPrimaryAddress())
	}
	v := upLink("eth0")
	v.index = 3
	links.set(v)
	h.a.linkChanged("eth0")
	if n := h.segs.count(); n != 1 {
		t.Fatalf("%d sockets opened; the interface did not change, want 1", n)
	}
	h.segs.last().nextSent(t, 5*time.Second)
	if st := h.status(t); st.GetState() != hactlv1.State_STATE_MASTER || st.GetPrimaryAddress() != "192.168.188.71" {
		t.Fatalf("state %v, primary %q; want MASTER from 192.168.188.71", st.GetState(), st.GetPrimaryAddress())
	}
}

// An interface deleted and re-created while MASTER (a bond rebuilt: a new index): FAULT
// while it is gone, its socket closed; a new socket for the new interface; MASTER again
// with the VIP bound on it.
func TestInterfaceRecreatedWhileMaster(t *testing.T) {
	t.Parallel()
	links := &linkViews{views: map[string]linkView{}}
	links.set(upLink("eth0"))
	h := startLinks(t, links)
	first := h.segs.last()
	first.nextSent(t, 5*time.Second)
	waitFor(t, time.Second, "VIP bound", func() bool { return h.bind.has("192.168.188.109/32") })

	links.set(linkView{name: "eth0", v4Err: netio.ErrNoInterface, v6Err: netio.ErrNoInterface})
	h.a.linkChanged("eth0")
	st := h.status(t)
	if st.GetState() != hactlv1.State_STATE_FAULT || faultReasons(st) != "interface eth0: does not exist" {
		t.Fatalf("state %v, faults %q after the interface went", st.GetState(), faultReasons(st))
	}
	select {
	case <-first.done:
	default:
		t.Fatal("the socket of the deleted interface is still open")
	}
	if h.bind.has("192.168.188.109/32") {
		t.Fatal("VIP still bound in FAULT")
	}

	v := upLink("eth0")
	v.index = 7
	links.set(v)
	h.a.linkChanged("eth0")
	if n := h.segs.count(); n != 2 {
		t.Fatalf("%d sockets opened, want a second one for the re-created interface", n)
	}
	h.segs.last().nextSent(t, 5*time.Second)
	waitFor(t, time.Second, "VIP bound again", func() bool { return h.bind.has("192.168.188.109/32") })
}

// A VIP's interface re-created (a new index) while we stay MASTER: the VIP went with the
// old interface and is added again.
func TestVIPReaddedWhenItsInterfaceIsRecreated(t *testing.T) {
	t.Parallel()
	links := &linkViews{views: map[string]linkView{}}
	links.set(upLink("eth0"))
	h := startLinks(t, links)
	h.segs.last().nextSent(t, 5*time.Second)
	waitFor(t, time.Second, "VIP bound", func() bool { return h.bind.has("192.168.188.109/32") })
	h.a.linkChanged("eth0") // the first report of an interface changes nothing
	before := len(h.bind.history())

	// The kernel dropped the VIP with the old interface; the new one is up at once.
	if _, err := h.bind.Remove(vipOf(h.a.cfg.Instances[0], h.a.cfg.Instances[0].VIPs[0])); err != nil {
		t.Fatal(err)
	}
	v := upLink("eth0")
	v.index = 9
	links.set(v)
	h.a.linkChanged("eth0")
	waitFor(t, time.Second, "VIP added again", func() bool { return h.bind.has("192.168.188.109/32") })
	if got := h.bind.history()[before:]; len(got) != 2 || got[1] != "add 192.168.188.109/32" {
		t.Fatalf("binder ops after the re-creation %v", got)
	}
	if st := h.status(t); st.GetState() != hactlv1.State_STATE_MASTER {
		t.Fatalf("state %v, want MASTER throughout", st.GetState())
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// A reload while the interface has no address yet reconfigures the instance in place
// (it is the same router: its unspecified primary address is not a change of source),
// keeps it FAULT for the address, and the address appearing after clears it.
func TestReloadWhileWaitingForAddressIsInPlace(t *testing.T) {
	t.Parallel()
	links := &linkViews{views: map[string]linkView{}}
	links.set(linkView{name: "eth0", index: 3, up: true, v4Err: errString("eth0 has no primary IPv4 address")})
	h := startLinks(t, links)
	cfg, err := config.Parse("test.conf", []byte(strings.Replace(linkConf, "priority 100", "priority 110", 1)), config.CheckFiles(false))
	if err != nil {
		t.Fatal(err)
	}
	changes, err := h.a.Reload(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if want := "VI_1: reconfigured in place, still FAULT"; len(changes) != 1 || changes[0] != want {
		t.Fatalf("reload changes %q, want [%s]", changes, want)
	}
	if st := h.status(t); st.GetState() != hactlv1.State_STATE_FAULT || faultReasons(st) != "source address: eth0 has no primary IPv4 address" {
		t.Fatalf("after reload: state %v, faults %q", st.GetState(), faultReasons(st))
	}
	v := upLink("eth0")
	v.index = 3
	links.set(v)
	h.a.linkChanged("eth0")
	h.segs.last().nextSent(t, 5*time.Second)
	if st := h.status(t); st.GetState() != hactlv1.State_STATE_MASTER || st.GetEffectivePriority() != 110 || st.GetPrimaryAddress() != "192.168.188.71" {
		t.Fatalf("state %v, priority %d, primary %q; want MASTER at the reloaded 110 from 192.168.188.71",
			st.GetState(), st.GetEffectivePriority(), st.GetPrimaryAddress())
	}
}
