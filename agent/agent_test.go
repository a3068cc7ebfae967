package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/agent/config"
	"github.com/hagent-dev/hagent/agent/netio"
	"github.com/hagent-dev/hagent/agent/probe"
	"github.com/hagent-dev/hagent/agent/vip"
	"github.com/hagent-dev/hagent/agent/vrrp"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// These tests drive the agent's loop through its small side-effect interfaces: a fake
// segment instead of raw sockets, a fake binder instead of netlink. The real ones run in
// the lab (e2e/).

var (
	peer  = netip.MustParseAddr("192.168.188.72")
	group = netip.MustParseAddr("224.0.0.18")
)

// segment is a fake Ethernet segment: what the agent sends, and a way to inject adverts.
type segment struct {
	in   chan netio.Packet
	sent chan vrrp.Advert
	once sync.Once
	done chan struct{}
}

func newSegment() *segment {
	return &segment{in: make(chan netio.Packet, 64), sent: make(chan vrrp.Advert, 256), done: make(chan struct{})}
}

func (s *segment) ReadPacket(buf []byte) (netio.Packet, error) {
	select {
	case p := <-s.in:
		n := copy(buf, p.Data)
		p.Data = buf[:n]
		return p, nil
	case <-s.done:
		return netio.Packet{}, net.ErrClosed
	}
}

func (s *segment) WriteTo(payload []byte, src, dst netip.Addr) error {
	a, err := vrrp.Parse(payload, vrrp.ParseOptions{Src: src, Dst: dst})
	if err != nil {
		return fmt.Errorf("agent sent a packet that does not parse: %w", err)
	}
	s.sent <- a
	return nil
}

func (s *segment) Close() error { s.once.Do(func() { close(s.done) }); return nil }

// advertFrom injects an advert of the seed's VI_1 from the peer.
func (s *segment) advertFrom(t *testing.T, prio uint8) {
	t.Helper()
	s.in <- advertPacket(t, prio)
}

// advertPacket is an advert of the seed's VI_1 from the peer, as the socket reads it.
func advertPacket(t *testing.T, prio uint8) netio.Packet {
	t.Helper()
	a := vrrp.Advert{Version: 2, VRID: 51, Priority: prio, AdverInt: 1, AuthType: vrrp.AuthPass,
		AuthData: vrrp.PassAuthData("hell>com"), Addrs: []netip.Addr{netip.MustParseAddr("192.168.188.109")}}
	b, err := a.Marshal(peer, group, vrrp.ChecksumPseudoHeader)
	if err != nil {
		t.Fatal(err)
	}
	return netio.Packet{Src: peer, Dst: group, TTL: 255, Data: b, At: time.Now()}
}

// nextSent waits for the agent's next advert.
func (s *segment) nextSent(t *testing.T, within time.Duration) vrrp.Advert {
	t.Helper()
	select {
	case a := <-s.sent:
		return a
	case <-time.After(within):
		t.Fatalf("no advert sent within %v", within)
		return vrrp.Advert{}
	}
}

// binder records every change, in order.
type binder struct {
	mu    sync.Mutex
	bound map[netip.Prefix]bool
	ops   []string
}

func newBinder() *binder { return &binder{bound: map[netip.Prefix]bool{}} }

func (b *binder) Add(v vip.VIP) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bound[v.Prefix] {
		return false, nil
	}
	b.bound[v.Prefix] = true
	b.ops = append(b.ops, "add "+v.Prefix.String())
	return true, nil
}

func (b *binder) Remove(v vip.VIP) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.bound[v.Prefix] {
		return false, nil
	}
	delete(b.bound, v.Prefix)
	b.ops = append(b.ops, "remove "+v.Prefix.String())
	return true, nil
}

func (b *binder) List(string) ([]netip.Prefix, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []netip.Prefix
	for p := range b.bound {
		out = append(out, p)
	}
	return out, nil
}

func (b *binder) has(p string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bound[netip.MustParsePrefix(p)]
}

func (b *binder) history() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.ops)
}

type announcer struct {
	mu sync.Mutex
	n  map[netip.Addr]int
}

func (a *announcer) Announce(_ string, addrs []netip.Addr, rounds int) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, x := range addrs {
		a.n[x] += rounds
	}
	return nil
}

func (a *announcer) count(addr string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n[netip.MustParseAddr(addr)]
}

// seedConf is the seed's cenvm71 config, with the source address given (no interface
// lookup) and no check script (no fork in unit tests).
func seedConf(prio int, vips ...string) string {
	if len(vips) == 0 {
		vips = []string{"192.168.188.109"}
	}
	list := ""
	for _, v := range vips {
		list += "        " + v + "\n"
	}
	return fmt.Sprintf(`vrrp_instance VI_1 {
    state MASTER
    interface eth0
    mcast_src_ip 192.168.188.71
    virtual_router_id 51
    priority %d
    advert_int 1
    garp_master_delay 0
    authentication {
        auth_type PASS
        auth_pass hell>com
    }
    virtual_ipaddress {
%s    }
}
`, prio, list)
}

// claimWatcher stands in for the ARP watch of a handover: each watch started hands its
// seen callback to the test.
type claimWatcher struct{ started chan func(netip.Addr) }

func (w *claimWatcher) WatchAnnouncements(ctx context.Context, _ string, _ []netip.Addr, seen func(netip.Addr)) error {
	select {
	case w.started <- seen:
	case <-ctx.Done():
	}
	<-ctx.Done()
	return nil
}

type harness struct {
	a     *Agent
	seg   *segment
	bind  *binder
	ann   *announcer
	claim *claimWatcher
	stop  context.CancelFunc
	done  chan error
}

func start(t *testing.T, conf string) *harness {
	t.Helper()
	return startWith(t, conf, nil)
}

// startWith is start with a hook that adjusts the agent before it runs.
func startWith(t *testing.T, conf string, adjust func(*Agent)) *harness {
	t.Helper()
	cfg, err := config.Parse("test.conf", []byte(conf), config.CheckFiles(false))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{seg: newSegment(), bind: newBinder(), ann: &announcer{n: map[netip.Addr]int{}}, done: make(chan error, 1),
		claim: &claimWatcher{started: make(chan func(netip.Addr), 4)}}
	h.a, err = New(cfg, WithName("cenvm71"), WithBinder(h.bind), WithAnnouncer(h.ann), WithAnnounceWatcher(h.claim),
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	h.a.openConn = func(string, netio.Family, netip.Addr) (packetConn, error) { return h.seg, nil }
	h.a.readLink = upLink
	h.a.watchNet = false
	if adjust != nil {
		adjust(h.a)
	}
	h.stop = runAgent(t, h.a, h.done)
	return h
}

func (h *harness) instanceState(t *testing.T) *hactlv1.Instance {
	t.Helper()
	n := h.a.Status()
	if len(n.GetInstances()) != 1 {
		t.Fatalf("status has %d instances", len(n.GetInstances()))
	}
	return n.GetInstances()[0]
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestOwnerBindsAnnouncesAndAdvertisesAtOnce(t *testing.T) {
	t.Parallel()
	h := start(t, seedConf(255))
	a := h.seg.nextSent(t, time.Second)
	if a.Priority != 255 || a.VRID != 51 || string(a.AuthData[:]) != "hell>com" {
		t.Fatalf("first advert %+v", a)
	}
	waitFor(t, time.Second, "VIP bound and announced garp_master_repeat (5) times", func() bool {
		return h.bind.has("192.168.188.109/32") && h.ann.count("192.168.188.109") == 5
	})
	if st := h.instanceState(t); st.GetState() != hactlv1.State_STATE_MASTER || !st.GetVips()[0].GetBound() {
		t.Fatalf("status %v", st)
	}
}

func TestBackupTakesOverAfterPriorityZeroAndReleasesOnHigherAdvert(t *testing.T) {
	t.Parallel()
	h := start(t, seedConf(90))
	h.seg.advertFrom(t, 100)
	waitFor(t, time.Second, "the peer's advert counted", func() bool { return h.instanceState(t).GetAdvertsReceived() == 1 })
	if h.bind.has("192.168.188.109/32") {
		t.Fatal("a BACKUP bound the VIP")
	}
	h.seg.advertFrom(t, 0) // the master resigns: we take over after Skew_Time
	a := h.seg.nextSent(t, 2*time.Second)
	if a.Priority != 90 {
		t.Fatalf("advert at priority %d", a.Priority)
	}
	waitFor(t, time.Second, "VIP bound", func() bool { return h.bind.has("192.168.188.109/32") })
	h.seg.advertFrom(t, 100) // the old master is back and preempts
	waitFor(t, time.Second, "VIP released on a higher-priority advert", func() bool { return !h.bind.has("192.168.188.109/32") })
	if st := h.instanceState(t); st.GetState() != hactlv1.State_STATE_BACKUP || st.GetMaster().GetAddress() != peer.String() {
		t.Fatalf("status %v", st)
	}
}

// A graceful stop of a master sends priority 0 at once but keeps the VIP until the
// successor's first advert: clients are never without a server.
func TestShutdownKeepsVIPUntilTheSuccessorAdvertises(t *testing.T) {
	t.Parallel()
	h := start(t, seedConf(255))
	h.seg.nextSent(t, time.Second)
	waitFor(t, time.Second, "VIP bound", func() bool { return h.bind.has("192.168.188.109/32") })
	h.stop()
	for {
		if a := h.seg.nextSent(t, time.Second); a.Priority == 0 {
			break
		}
	}
	time.Sleep(50 * time.Millisecond) // nothing to await: we check that nothing happens
	if !h.bind.has("192.168.188.109/32") {
		t.Fatal("VIP released before any successor advertised")
	}
	h.seg.advertFrom(t, 90)
	select {
	case err := <-h.done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("agent did not stop after the successor advertised")
	}
	h.done <- nil // for the cleanup
	if h.bind.has("192.168.188.109/32") {
		t.Fatal("VIP still bound after stop")
	}
}

// Without a successor the stop still ends, one advert interval later.
func TestShutdownWithoutSuccessorReleasesAfterOneInterval(t *testing.T) {
	t.Parallel()
	h := start(t, seedConf(255))
	h.seg.nextSent(t, time.Second)
	waitFor(t, time.Second, "VIP bound", func() bool { return h.bind.has("192.168.188.109/32") })
	began := time.Now()
	h.stop()
	select {
	case <-h.done:
	case <-time.After(3 * time.Second):
		t.Fatal("agent did not stop")
	}
	h.done <- nil
	if waited := time.Since(began); waited < time.Second {
		t.Fatalf("released after %v, before one advert interval", waited)
	}
	if h.bind.has("192.168.188.109/32") {
		t.Fatal("VIP still bound")
	}
}

// keepalived's weight semantics: weight 0 failing is FAULT; a negative weight lowers the
// effective priority while failing; a positive one raises it while succeeding.
func TestProbeWeights(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		weight    int
		healthy   bool
		wantState hactlv1.State
		wantPrio  uint32
	}{
		{"weight 0 failing is FAULT", 0, false, hactlv1.State_STATE_FAULT, 100},
		{"weight -20 failing", -20, false, hactlv1.State_STATE_MASTER, 80},
		{"weight -20 healthy", -20, true, hactlv1.State_STATE_MASTER, 100},
		{"weight 30 healthy", 30, true, hactlv1.State_STATE_MASTER, 130},
		{"weight 30 failing", 30, false, hactlv1.State_STATE_MASTER, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conf := fmt.Sprintf("vrrp_script chk {\n script /bin/true\n weight %d\n}\n", tc.weight) +
				seedConf(100)[:len(seedConf(100))-2] + "    track_script {\n        chk\n    }\n}\n"
			h := start(t, conf)
			// A weight-0 check holds the instance in INIT until its first result.
			waitFor(t, 2*time.Second, "BACKUP", func() bool { return h.instanceState(t).GetState() == hactlv1.State_STATE_BACKUP })
			h.seg.advertFrom(t, 0) // no other master: take over at once (Skew_Time)
			waitFor(t, 2*time.Second, "MASTER", func() bool { return h.instanceState(t).GetState() == hactlv1.State_STATE_MASTER })
			in := h.a.instance("VI_1")
			if err := in.call(context.Background(), func(now time.Time) {
				in.onProbe(now, probeMsg{key: "script:chk", ev: probe.Event{
					Result: probe.Result{Probe: "chk", OK: tc.healthy, Err: "nginx down", Started: now},
					Change: &probe.StateChange{Probe: "chk", Healthy: tc.healthy, Reason: "nginx down"},
				}})
			}); err != nil {
				t.Fatal(err)
			}
			st := h.instanceState(t)
			if st.GetState() != tc.wantState || st.GetEffectivePriority() != tc.wantPrio {
				t.Fatalf("state %v priority %d, want %v %d", st.GetState(), st.GetEffectivePriority(), tc.wantState, tc.wantPrio)
			}
			if tc.wantState == hactlv1.State_STATE_FAULT {
				if len(st.GetFaults()) != 1 || st.GetFaults()[0].GetReason() != "nginx down" {
					t.Fatalf("faults %v", st.GetFaults())
				}
				if h.bind.has("192.168.188.109/32") {
					t.Fatal("FAULT kept the VIP")
				}
			}
		})
	}
}

// keepalived's SCRIPT_INIT_STATE_INIT: a weight-0 check that has not given its first
// result holds the instance in INIT, shown as waiting, with the probe pending (neither
// healthy nor failed); its first result lets it up.
func TestWeightZeroProbeHoldsInitUntilFirstResult(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gate := filepath.Join(dir, "gate")
	script := filepath.Join(dir, "chk.sh")
	// The check's first run waits for the test to open the gate.
	if err := os.WriteFile(script, []byte("#!/bin/sh\nwhile [ ! -e "+gate+" ]; do sleep 0.02; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := "vrrp_script chk {\n script " + script + "\n interval 1\n timeout 10\n}\n" +
		seedConf(100)[:len(seedConf(100))-2] + "    track_script {\n        chk\n    }\n}\n"
	h := start(t, conf)
	h.seg.advertFrom(t, 0)             // would make a BACKUP master after Skew_Time
	time.Sleep(300 * time.Millisecond) // nothing to await: we check that nothing happens
	st := h.instanceState(t)
	if st.GetState() != hactlv1.State_STATE_INIT || st.GetStateReason() != "waiting for the first result of script chk" {
		t.Fatalf("state %v %q, want INIT waiting for the first result", st.GetState(), st.GetStateReason())
	}
	if p := st.GetProbes(); len(p) != 1 || !p[0].GetPending() || p[0].GetHealthy() || p[0].GetReason() != waitingReason {
		t.Fatalf("probes %v, want chk pending", p)
	}
	if len(h.seg.sent) != 0 || h.bind.has("192.168.188.109/32") {
		t.Fatal("an instance waiting in INIT advertised or bound the VIP")
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "BACKUP after the first result", func() bool { return h.instanceState(t).GetState() == hactlv1.State_STATE_BACKUP })
	if p := h.instanceState(t).GetProbes(); p[0].GetPending() || !p[0].GetHealthy() {
		t.Fatalf("probe %v after its first success", p[0])
	}
}

// A master that loses an election sends no priority 0 (RFC 5798 6.4.3) and keeps the VIP
// until the successor claims it on the segment (its gratuitous ARP), then releases it.
func TestLostElectionKeepsVIPUntilTheSuccessorClaimsIt(t *testing.T) {
	t.Parallel()
	h := start(t, seedConf(100))
	h.seg.advertFrom(t, 0)
	waitFor(t, 2*time.Second, "VIP bound", func() bool { return h.bind.has("192.168.188.109/32") })
	for len(h.seg.sent) > 0 {
		<-h.seg.sent
	}
	lost := time.Now()
	h.seg.advertFrom(t, 110)
	var seen func(netip.Addr)
	select {
	case seen = <-h.claim.started:
	case <-time.After(2 * time.Second):
		t.Fatal("no watch for the successor's announcements")
	}
	if st := h.instanceState(t); st.GetState() != hactlv1.State_STATE_BACKUP {
		t.Fatalf("state %v after a higher advert", st.GetState())
	}
	if !h.bind.has("192.168.188.109/32") {
		t.Fatal("VIP released before the successor claimed it")
	}
	seen(netip.MustParseAddr("192.168.188.109"))
	// Released by the claim, not by the fallback linger that runs from the election.
	waitFor(t, vrrp.HandoverLinger-time.Since(lost), "VIP released on the successor's claim, before the linger ends", func() bool {
		return !h.bind.has("192.168.188.109/32")
	})
	for len(h.seg.sent) > 0 {
		if a := <-h.seg.sent; a.Priority == 0 {
			t.Fatal("sent priority 0 on losing an election")
		}
	}
}

// A reload that changes the VIP list moves only the VIPs that changed.
func TestReloadMovesOnlyChangedVIPs(t *testing.T) {
	t.Parallel()
	h := start(t, seedConf(255, "192.168.188.109", "192.168.188.110"))
	waitFor(t, time.Second, "both VIPs bound", func() bool {
		return h.bind.has("192.168.188.109/32") && h.bind.has("192.168.188.110/32")
	})
	cfg, err := config.Parse("test.conf", []byte(seedConf(255, "192.168.188.109", "192.168.188.111")), config.CheckFiles(false))
	if err != nil {
		t.Fatal(err)
	}
	before := len(h.bind.history())
	changes, err := h.a.Reload(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := h.bind.history()[before:]
	want := []string{"remove 192.168.188.110/32", "add 192.168.188.111/32"}
	if !slices.Equal(got, want) {
		t.Fatalf("reload did %v, want %v (changes %v)", got, want, changes)
	}
	// The adverts now carry the new list.
	for {
		a := h.seg.nextSent(t, 2*time.Second)
		if slices.Contains(a.Addrs, netip.MustParseAddr("192.168.188.111")) {
			break
		}
	}
}

func TestFailoverRefusals(t *testing.T) {
	t.Parallel()
	h := start(t, seedConf(255))
	h.seg.nextSent(t, time.Second)
	_, err := h.a.Failover(context.Background(), &hactlv1.FailoverRequest{Instance: "VI_9", Mode: hactlv1.OverrideMode_OVERRIDE_MODE_RELINQUISH}, "test")
	if err == nil {
		t.Fatal("unknown instance accepted")
	}
	_, err = h.a.Failover(context.Background(), &hactlv1.FailoverRequest{Instance: "VI_1", Mode: hactlv1.OverrideMode_OVERRIDE_MODE_RELINQUISH}, "test")
	if err == nil {
		t.Fatal("the address owner (255) relinquished")
	}
	_, err = h.a.Failover(context.Background(), &hactlv1.FailoverRequest{Instance: "VI_1", Mode: hactlv1.OverrideMode_OVERRIDE_MODE_TAKEOVER, TargetNode: "cenvm72"}, "test")
	if err == nil {
		t.Fatal("a takeover meant for cenvm72 was accepted by cenvm71")
	}
}

// An operator's relinquish (towards a peer that is not a hagent) is make before break
// too: priority 0 at once, the VIP kept until the successor advertises.
func TestRelinquishKeepsVIPUntilTheSuccessorAdvertises(t *testing.T) {
	t.Parallel()
	h := start(t, seedConf(100))
	h.seg.advertFrom(t, 0) // no other master: we take over after Skew_Time
	waitFor(t, 2*time.Second, "VIP bound", func() bool { return h.bind.has("192.168.188.109/32") })
	if _, err := h.a.Failover(context.Background(), &hactlv1.FailoverRequest{Instance: "VI_1", Mode: hactlv1.OverrideMode_OVERRIDE_MODE_RELINQUISH}, "test"); err != nil {
		t.Fatal(err)
	}
	for {
		if a := h.seg.nextSent(t, time.Second); a.Priority == 0 {
			break
		}
	}
	if st := h.instanceState(t); st.GetState() != hactlv1.State_STATE_BACKUP {
		t.Fatalf("state %v after relinquish", st.GetState())
	}
	if !h.bind.has("192.168.188.109/32") {
		t.Fatal("VIP released before any successor advertised")
	}
	h.seg.advertFrom(t, 90)
	waitFor(t, 2*time.Second, "VIP released after the successor advertised", func() bool { return !h.bind.has("192.168.188.109/32") })
}

// Notify scripts run as keepalived runs them: notify_master as written, then `notify`
// with INSTANCE "VI_1" MASTER <priority>; on stop, notify_stop and `notify … STOP`.
func TestNotifyScriptsGetKeepalivedArguments(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := filepath.Join(dir, "notify.log")
	script := filepath.Join(dir, "notify.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"$*\" >> "+log+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := seedConf(255)[:len(seedConf(255))-2] +
		fmt.Sprintf("    notify %s\n    notify_master \"%s master-hook\"\n    notify_stop \"%s stop-hook\"\n}\n", script, script, script)
	h := start(t, conf)
	read := func() string {
		b, _ := os.ReadFile(log)
		return string(b)
	}
	waitFor(t, 5*time.Second, "notify_master then notify with keepalived's arguments", func() bool {
		return read() == "master-hook\nINSTANCE VI_1 MASTER 255\n"
	})
	h.stop()
	select {
	case <-h.done:
	case <-time.After(5 * time.Second):
		t.Fatal("agent did not stop")
	}
	h.done <- nil
	if got, want := read(), "master-hook\nINSTANCE VI_1 MASTER 255\nstop-hook\nINSTANCE VI_1 STOP 255\n"; got != want {
		t.Fatalf("notify log:\n%s\nwant:\n%s", got, want)
	}
}

// A stuck notify script never stalls the later ones: notify_master (a file without
// "#!", run by /bin/sh as keepalived does) hangs; `notify` still runs after it,
// within the handoff, and stopping the agent kills the stuck one rather than waiting
// for it.
func TestNotifyStuckScriptDoesNotStallLaterOnes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := filepath.Join(dir, "notify.log")
	hang := filepath.Join(dir, "hang.sh")
	logger := filepath.Join(dir, "log.sh")
	if err := os.WriteFile(hang, []byte("echo \"hang $$\" >> "+log+"\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logger, []byte("#!/bin/sh\necho \"$*\" >> "+log+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := seedConf(255)[:len(seedConf(255))-2] +
		fmt.Sprintf("    notify %s\n    notify_master %s\n}\n", logger, hang)
	h := start(t, conf)
	read := func() string {
		b, _ := os.ReadFile(log)
		return string(b)
	}
	waitFor(t, 5*time.Second, "the stuck notify_master started, then notify ran anyway", func() bool {
		return strings.HasSuffix(read(), "INSTANCE VI_1 MASTER 255\n")
	})
	var pid int
	if _, err := fmt.Sscanf(read(), "hang %d\n", &pid); err != nil {
		t.Fatalf("notify log %q: notify_master did not run first: %v", read(), err)
	}
	if syscall.Kill(pid, 0) != nil {
		t.Fatalf("notify_master (pid %d) is not running any more; the test proves nothing", pid)
	}
	stopped := time.Now()
	h.stop()
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not stop: it waits for a stuck notify script")
	}
	h.done <- nil
	if d := time.Since(stopped); d > notifyHandoff+3*time.Second {
		t.Errorf("stop took %v with a stuck notify script, want about the handoff %v", d, notifyHandoff)
	}
	waitFor(t, 5*time.Second, "the stuck notify_master killed", func() bool { return syscall.Kill(pid, 0) != nil })
}

// runAgent runs a until the test ends: it waits until a is ready (Run's result goes to
// done), and at cleanup stops it and waits for Run to return. The returned function
// stops it earlier.
func runAgent(t *testing.T, a *Agent, done chan error) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	go func() { done <- a.Run(ctx, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("agent did not start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("agent did not stop")
		}
	})
	return cancel
}
