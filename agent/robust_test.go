package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hagent-dev/hagent/agent/config"
	"github.com/hagent-dev/hagent/agent/netio"
	"github.com/hagent-dev/hagent/agent/probe"
	"github.com/hagent-dev/hagent/agent/vip"
	"github.com/hagent-dev/hagent/agent/vrrp"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// Issue 10, "Driver robustness": a stopping or stuck instance never holds up the others,
// timed-out control calls never run, restarted instances start from the current link
// and probe state.

// instanceConf is a VRRPv2 instance on ifname with its own VRID and VIP, and the source
// address given (no interface lookup).
func instanceConf(name, ifname string, vrid, prio int, extra string) string {
	return fmt.Sprintf(`vrrp_instance %s {
    state BACKUP
    interface %s
    mcast_src_ip 192.168.188.71
    virtual_router_id %d
    priority %d
    advert_int 1
    garp_master_delay 0
    virtual_ipaddress {
        192.168.188.%d
    }
%s}
`, name, ifname, vrid, prio, 100+vrid, extra)
}

// inject sends an advert of instanceConf's instance vrid from the peer; it fails the
// test if the agent's socket reader does not take it within a second.
func (s *segment) inject(t *testing.T, vrid, prio int) {
	t.Helper()
	b := advertOf(t, vrid, prio, time.Time{}).Data
	select {
	case s.in <- netio.Packet{Src: peer, Dst: group, TTL: 255, Data: b, At: time.Now()}:
	case <-time.After(time.Second):
		t.Fatalf("the socket reader did not take an advert of VRID %d within 1s: it is blocked", vrid)
	}
}

// loopStatus reads an instance's state machine status inside its loop.
func loopStatus(t *testing.T, in *instance) vrrp.Status {
	t.Helper()
	var st vrrp.Status
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := in.call(ctx, func(now time.Time) { st = in.fsm.Status(now) }); err != nil {
		t.Fatalf("status of %s: %v", in.name, err)
	}
	return st
}

// blockLoop holds in's loop inside a call until the returned function is called.
func blockLoop(t *testing.T, in *instance) (release func()) {
	t.Helper()
	entered, unblock := make(chan struct{}), make(chan struct{})
	go func() {
		_ = in.call(context.Background(), func(time.Time) {
			close(entered)
			<-unblock
		})
	}()
	select {
	case <-entered:
	case <-time.After(2 * time.Second):
		t.Fatal("the loop did not take the blocking call")
	}
	var once sync.Once
	release = func() { once.Do(func() { close(unblock) }) }
	t.Cleanup(release)
	return release
}

// The socket of an interface is read by one goroutine for every instance on it. An
// instance whose loop does not take packets (stuck, or stopping: a master waiting for
// its successor, notify scripts) gets its queue filled and then drops, counted; the
// reader goes on at once, so the other instance keeps hearing its master. Before, the
// reader queued the drop count as a message and waited up to 5 s per packet for it.
func TestStuckInstanceDoesNotBlockTheSocketReader(t *testing.T) {
	t.Parallel()
	h := start(t, instanceConf("VI_1", "eth0", 51, 90, "")+instanceConf("VI_2", "eth0", 52, 90, ""))
	stuck, other := h.a.instance("VI_1"), h.a.instance("VI_2")
	release := blockLoop(t, stuck)

	// More than its packet queue and its inbox together hold.
	flood := packetQueue + cap(stuck.inbox) + 64
	for range flood {
		h.seg.inject(t, 51, 100)
	}
	for i := range 5 {
		h.seg.inject(t, 52, 100)
		want := uint64(i + 1)
		waitFor(t, 2*time.Second, fmt.Sprintf("VI_2 to count advert %d while VI_1 is stuck", want), func() bool {
			return loopStatus(t, other).AdvertsReceived >= want
		})
	}
	if st := loopStatus(t, other); st.State != vrrp.StateBackup {
		t.Fatalf("VI_2 is %v, want BACKUP under a live master", st.State)
	}
	// Status waits for each loop at most statusTimeout: the stuck one must not use up
	// the other's time and have it reported as stopped.
	if got := h.a.Status().GetInstances(); len(got) != 2 || got[1].GetState() != hactlv1.State_STATE_BACKUP {
		t.Fatalf("status while VI_1 is stuck: %v, want VI_2 BACKUP", got)
	}

	release()
	drops := stuck.queueDrops.Load()
	if want := uint64(flood - packetQueue); drops != want {
		t.Errorf("VI_1 counted %d queue drops, want %d (flood %d, queue %d)", drops, want, flood, packetQueue)
	}
	var causes []string
	for _, c := range h.a.Status().GetInstances()[0].GetReceiveErrors() {
		causes = append(causes, fmt.Sprintf("%s=%d", c.GetCause(), c.GetCount()))
	}
	if !slices.Contains(causes, fmt.Sprintf("queue_full=%d", drops)) {
		t.Errorf("VI_1 receive errors %v, want queue_full=%d", causes, drops)
	}
}

// A control call whose context ends while it waits in the inbox is cancelled: the loop,
// once free, never runs it (a failover the operator saw time out must not happen later).
func TestTimedOutCallNeverRuns(t *testing.T) {
	t.Parallel()
	h := start(t, seedConf(90))
	in := h.a.instance("VI_1")
	release := blockLoop(t, in)

	var ran atomic.Bool
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := in.call(ctx, func(time.Time) { ran.Store(true) })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call on a blocked loop returned %v, want context.DeadlineExceeded", err)
	}
	// An operator's failover that timed out the same way.
	fctx, fcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer fcancel()
	if _, err := h.a.Failover(fctx, &hactlv1.FailoverRequest{Instance: "VI_1", Mode: hactlv1.OverrideMode_OVERRIDE_MODE_STOP}, "test"); err == nil {
		t.Fatal("failover on a blocked loop succeeded")
	}

	release()
	// The loop takes messages in order: once this call has run, the cancelled ones
	// before it have been seen (and skipped).
	if err := in.call(context.Background(), func(time.Time) {}); err != nil {
		t.Fatal(err)
	}
	if ran.Load() {
		t.Fatal("the timed-out call ran after the loop was released")
	}
	if st := loopStatus(t, in); st.State == vrrp.StateStopped {
		t.Fatal("the timed-out failover STOP was carried out after the loop was released")
	}
	// A call that is already late is not even queued.
	if err := in.call(ctx, func(time.Time) { ran.Store(true) }); !errors.Is(err, context.DeadlineExceeded) || ran.Load() {
		t.Fatalf("call with an expired context: %v, ran %v", err, ran.Load())
	}
}

// A slow notify_stop script does not hold up a reload that restarts the instance: the
// old loop ends without waiting for it, and the new instance runs at once. Its scripts
// still run after the old instance's, in order; shutdown waits for them all.
func TestSlowNotifyStopDoesNotHoldUpReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logf := filepath.Join(dir, "notify.log")
	gate := filepath.Join(dir, "gate")
	script := filepath.Join(dir, "notify.sh")
	// "stop" waits for the gate file (at most 20 s), like a slow notify_stop.
	body := "#!/bin/sh\necho \"$*\" >> " + logf + "\n" +
		"if [ \"$1\" = stop ]; then i=0; while [ ! -e " + gate + " ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; echo stop-done >> " + logf + "; fi\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	// A new VRID makes it another router: the reload restarts the instance (a new
	// priority alone is applied in place).
	conf := func(vrid, prio int) string {
		return instanceConf("VI_1", "eth0", vrid, prio, fmt.Sprintf("    notify_master \"%s master\"\n    notify_backup \"%s backup\"\n    notify_stop \"%s stop\"\n", script, script, script))
	}
	read := func() string {
		b, _ := os.ReadFile(logf)
		return string(b)
	}
	h := start(t, conf(51, 90))
	openGate := func() {
		if err := os.WriteFile(gate, nil, 0o644); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(openGate) // before the agent's shutdown, which waits for the script
	waitFor(t, 5*time.Second, "notify_backup at start", func() bool { return read() == "backup\n" })

	cfg, err := config.Parse("test.conf", []byte(conf(52, 80)), config.CheckFiles(false))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := h.a.Reload(context.Background(), cfg)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("reload did not return within 5 s while notify_stop runs; notify log:\n%s", read())
	}
	in := h.a.instance("VI_1")
	if st := loopStatus(t, in); st.State != vrrp.StateBackup || st.BasePriority != 80 {
		t.Fatalf("after the reload VI_1 is %v at priority %d, want BACKUP at 80", st.State, st.BasePriority)
	}
	waitFor(t, 5*time.Second, "the old instance's notify_stop to start", func() bool { return strings.HasPrefix(read(), "backup\nstop\n") })
	time.Sleep(100 * time.Millisecond) // nothing to await: the new instance's script must not run
	if got := read(); got != "backup\nstop\n" {
		t.Fatalf("notify log while notify_stop runs:\n%s\nwant the new instance's notify_backup to wait for it", got)
	}
	openGate()
	waitFor(t, 5*time.Second, "the new instance's notify_backup after the old notify_stop", func() bool {
		return read() == "backup\nstop\nstop-done\nbackup\n"
	})
}

// fakeLinks is the kernel's link state for the agent's watch and reads.
type fakeLinks struct {
	mu       sync.Mutex
	up       map[string]bool
	watchers []*fakeLinkWatch
}

type fakeLinkWatch struct {
	names map[string]bool
	ch    chan vip.Event
	ctx   context.Context
}

func linkEvent(name string, up bool) vip.Event {
	if up {
		return vip.LinkUp{Ifname: name}
	}
	return vip.LinkDown{Ifname: name, Reason: "no carrier"}
}

func (f *fakeLinks) read(ifname string) linkView {
	f.mu.Lock()
	defer f.mu.Unlock()
	up, ok := f.up[ifname]
	if !ok {
		return linkView{name: ifname, v4Err: netio.ErrNoInterface, v6Err: netio.ErrNoInterface}
	}
	v := upLink(ifname)
	if !up {
		v.up, v.down = false, "no carrier"
	}
	return v
}

// watch behaves as vip.Watch: the current state of each watched interface first, then
// changes of those interfaces only, until ctx ends.
func (f *fakeLinks) watch(ctx context.Context, names []string) (<-chan vip.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := &fakeLinkWatch{names: map[string]bool{}, ch: make(chan vip.Event, 64), ctx: ctx}
	for _, n := range names {
		w.names[n] = true
		if up, ok := f.up[n]; ok {
			w.ch <- linkEvent(n, up)
		}
	}
	f.watchers = append(f.watchers, w)
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		defer f.mu.Unlock()
		f.watchers = slices.DeleteFunc(f.watchers, func(x *fakeLinkWatch) bool { return x == w })
		close(w.ch)
	}()
	return w.ch, nil
}

func (f *fakeLinks) set(name string, up bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.up[name] = up
	for _, w := range f.watchers {
		if w.names[name] && w.ctx.Err() == nil {
			w.ch <- linkEvent(name, up)
		}
	}
}

func startWithLinks(t *testing.T, conf string, links *fakeLinks) *harness {
	t.Helper()
	return startWith(t, conf, func(a *Agent) {
		a.watchNet = true
		a.watch = links.watch
		a.readLink = links.read
	})
}

func reload(t *testing.T, h *harness, conf string) []string {
	t.Helper()
	cfg, err := config.Parse("test.conf", []byte(conf), config.CheckFiles(false))
	if err != nil {
		t.Fatal(err)
	}
	changes, err := h.a.Reload(context.Background(), cfg)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	return changes
}

// An instance restarted by a reload while its link is down starts in FAULT: it never
// becomes MASTER, not even as the address owner, which would otherwise bind its VIP at
// once. The kernel watch reports only changes, so the new instance has to be told.
func TestReloadWhileLinkDownRestartsInFault(t *testing.T) {
	t.Parallel()
	links := &fakeLinks{up: map[string]bool{"eth0": true}}
	h := startWithLinks(t, instanceConf("VI_1", "eth0", 51, 100, ""), links)
	in := h.a.instance("VI_1")
	links.set("eth0", false)
	waitFor(t, 2*time.Second, "VI_1 FAULT on link down", func() bool { return loopStatus(t, in).State == vrrp.StateFault })

	before := len(h.bind.history())
	// Priority 255: the address owner, MASTER the moment it starts unless it knows.
	if changes := reload(t, h, instanceConf("VI_1", "eth0", 51, 255, "")); !slices.Contains(changes, "restarted VI_1") {
		t.Fatalf("reload changes %v, want VI_1 restarted", changes)
	}
	in = h.a.instance("VI_1")
	st := loopStatus(t, in)
	if st.State != vrrp.StateFault || st.Transitions != 1 {
		t.Fatalf("restarted VI_1 is %v after %d transitions, want FAULT straight from INIT (1)", st.State, st.Transitions)
	}
	if got := h.bind.history()[before:]; len(got) != 0 {
		t.Fatalf("the restarted instance bound VIPs while its link is down: %v", got)
	}
	for {
		select {
		case a := <-h.seg.sent:
			if a.Priority != 0 {
				t.Fatalf("an advert at priority %d was sent while the link is down", a.Priority)
			}
			continue
		default:
		}
		break
	}
	// And it still follows the link.
	links.set("eth0", true)
	waitFor(t, 2*time.Second, "VI_1 to leave FAULT when the link comes back", func() bool {
		return loopStatus(t, in).State != vrrp.StateFault
	})
}

// A reload that adds an instance on an interface no instance used before watches that
// interface from then on: the new instance starts in FAULT if its link is down, and
// leaves FAULT when the link comes up.
func TestReloadWatchesANewInterface(t *testing.T) {
	t.Parallel()
	links := &fakeLinks{up: map[string]bool{"eth0": true, "eth1": false}}
	first := instanceConf("VI_1", "eth0", 51, 100, "")
	h := startWithLinks(t, first, links)
	if changes := reload(t, h, first+instanceConf("VI_2", "eth1", 52, 100, "")); !slices.Contains(changes, "added VI_2") {
		t.Fatalf("reload changes %v, want VI_2 added", changes)
	}
	in := h.a.instance("VI_2")
	if st := loopStatus(t, in); st.State != vrrp.StateFault {
		t.Fatalf("VI_2 on eth1 (down) is %v, want FAULT", st.State)
	}
	links.set("eth1", true)
	waitFor(t, 2*time.Second, "VI_2 to leave FAULT when eth1 comes up (the watch must cover eth1)", func() bool {
		return loopStatus(t, in).State == vrrp.StateBackup
	})
	links.set("eth1", false)
	waitFor(t, 2*time.Second, "VI_2 FAULT again when eth1 goes down", func() bool {
		return loopStatus(t, in).State == vrrp.StateFault
	})
	if st := loopStatus(t, h.a.instance("VI_1")); st.State == vrrp.StateFault {
		t.Fatal("VI_1 on eth0 went FAULT for eth1's link")
	}
}

// A probe reports only changes, and probes are shared and survive a reload that does
// not change them: an instance restarted by the reload starts from the probe's last
// state. A weight-0 check that is failing keeps it in FAULT.
func TestReloadRestartedInstanceStartsFromProbeState(t *testing.T) {
	t.Parallel()
	// A check that never completes during the test: its state is what we deliver.
	script := "vrrp_script chk {\n script \"/bin/sleep 300\"\n interval 300\n timeout 300\n}\n"
	track := "    track_script {\n        chk\n    }\n"
	h := start(t, script+instanceConf("VI_1", "eth0", 51, 100, track))
	waitForProbe(t, h, "script:chk")
	h.a.deliverProbeEvent("script:chk", probe.Event{Change: &probe.StateChange{Probe: "chk", Healthy: false, Reason: "nginx down"}})
	in := h.a.instance("VI_1")
	waitFor(t, 2*time.Second, "VI_1 FAULT on the failing check", func() bool { return loopStatus(t, in).State == vrrp.StateFault })

	changes := reload(t, h, script+instanceConf("VI_1", "eth0", 51, 255, track))
	if !slices.Contains(changes, "restarted VI_1") || slices.Contains(changes, "probes restarted") {
		t.Fatalf("reload changes %v, want VI_1 restarted and the probes kept", changes)
	}
	in = h.a.instance("VI_1")
	st := loopStatus(t, in)
	if st.State != vrrp.StateFault || !strings.Contains(st.Reason, "nginx down") {
		t.Fatalf("restarted VI_1 is %v (%q), want FAULT for the failing check", st.State, st.Reason)
	}
	if h.bind.has("192.168.188.151/32") {
		t.Fatal("the restarted owner bound its VIP while its check fails")
	}
}

// A reload that starts tracking a probe no instance tracked before starts that probe.
func TestReloadStartsANewlyTrackedProbe(t *testing.T) {
	t.Parallel()
	script := "vrrp_script chk {\n script \"/bin/sleep 300\"\n interval 300\n timeout 300\n}\n"
	oldCfg, err := config.Parse("a.conf", []byte(script+instanceConf("VI_1", "eth0", 51, 100, "")), config.CheckFiles(false))
	if err != nil {
		t.Fatal(err)
	}
	newCfg, err := config.Parse("b.conf", []byte(script+instanceConf("VI_1", "eth0", 51, 100, "    track_script {\n        chk\n    }\n")), config.CheckFiles(false))
	if err != nil {
		t.Fatal(err)
	}
	if sameProbes(oldCfg, newCfg) {
		t.Fatal("a newly tracked vrrp_script does not restart the probes: it would never run")
	}
	ifCfg, err := config.Parse("c.conf", []byte(script+instanceConf("VI_1", "eth0", 51, 100, "    track_interface {\n        eth1\n    }\n")), config.CheckFiles(false))
	if err != nil {
		t.Fatal(err)
	}
	if sameProbes(oldCfg, ifCfg) {
		t.Fatal("a new track_interface does not restart the probes: it would never be watched")
	}
	if !sameProbes(oldCfg, oldCfg) {
		t.Fatal("the same config restarts the probes")
	}
}

// A reload that adds a vrrp_script and tracks it from an instance: the instance,
// reconfigured in place, tracks it (its tracks come from the new config, not the
// running one).
func TestReloadTracksANewScript(t *testing.T) {
	t.Parallel()
	h := start(t, instanceConf("VI_1", "eth0", 51, 100, ""))
	script := "vrrp_script chk {\n script \"/bin/sleep 300\"\n interval 300\n timeout 300\n}\n"
	changes := reload(t, h, script+instanceConf("VI_1", "eth0", 51, 100, "    track_script {\n        chk\n    }\n"))
	if !slices.Contains(changes, "VI_1: tracks changed") || !slices.Contains(changes, "probes restarted") {
		t.Fatalf("reload changes %v, want VI_1's tracks changed and the probes restarted", changes)
	}
	in := h.a.instance("VI_1")
	waitForProbe(t, h, "script:chk")
	h.a.deliverProbeEvent("script:chk", probe.Event{Change: &probe.StateChange{Probe: "chk", Healthy: false, Reason: "nginx down"}})
	waitFor(t, 2*time.Second, "VI_1 FAULT on the newly tracked check", func() bool { return loopStatus(t, in).State == vrrp.StateFault })
}

// waitForProbe waits for the probe's initial report (the agent records it), so that
// an event the test delivers comes after it.
func waitForProbe(t *testing.T, h *harness, key string) {
	t.Helper()
	waitFor(t, 2*time.Second, key+"'s initial state", func() bool {
		h.a.mu.Lock()
		defer h.a.mu.Unlock()
		_, ok := h.a.probeLast[key]
		return ok
	})
}
