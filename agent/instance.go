package agent

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hagent-dev/hagent/agent/config"
	"github.com/hagent-dev/hagent/agent/netio"
	"github.com/hagent-dev/hagent/agent/notifyfifo"
	"github.com/hagent-dev/hagent/agent/vip"
	"github.com/hagent-dev/hagent/agent/vrrp"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// timingPublishEvery bounds advert-timing events to about ten a second per instance, so
// that a 10 ms advert interval does not flood API watchers.
const timingPublishEvery = 100 * time.Millisecond

// timingEventIntervals is how many recent inter-arrival times an advert-timing event
// carries; a snapshot carries the whole history.
const timingEventIntervals = 16

// packetQueue bounds the packets waiting for an instance. A flood beyond it is dropped
// before the state machine, and counted. A packet is stepped in about a microsecond,
// so a short queue absorbs any burst; the buffer is allocated up front for every
// instance, so a long one costs memory at hundreds of instances.
const packetQueue = 16

// packetMsg is one received VRRP packet, its bytes owned by the message.
type packetMsg struct {
	src, dst netip.Addr
	ttl      int
	at       time.Time
	data     []byte
}

// callMsg runs fn as the instance's one writer (with its mu). The caller and the
// instance race to claim it: fn runs only if the instance claims the message first,
// and a caller whose context ended first cancels it, so a call that returned an error
// never runs later (a timed-out failover must not fire once the instance catches up).
type callMsg struct {
	fn    func(now time.Time)
	done  chan struct{}
	claim *atomic.Int32 // callPending, then callRunning (instance) or callCancelled (caller)
}

const (
	callPending int32 = iota
	callRunning
	callCancelled
)

// instance is one vrrp_instance: a goroutine that owns the state machine, its timers,
// its VIPs and its view of the tracked probes. Everything reaches it as a message.
type instance struct {
	a   *Agent
	cfg *config.Instance // guarded by mu: a reload swaps it in place (reconfigure)
	// Fixed for the instance's life (a change restarts it), so readable anywhere.
	name     string
	ifname   string
	version  int
	vrid     uint8
	family   netio.Family
	fsm      *vrrp.Instance
	wake     wakeSlot // the instance's next deadline in the agent's wakeups (resetTimer)
	wakeUsed bool     // wake may be armed (guarded by mu)
	timerOn  bool     // timer may be armed (guarded by mu): a stopped one is not stopped again per advert
	sock     *socket
	src      netip.Addr   // source address of our adverts; invalid until the interface has one
	dsts     []netip.Addr // the group, or the unicast peers
	vips     []vip.VIP    // virtual_ipaddress then virtual_ipaddress_excluded
	ckMode   vrrp.ChecksumMode
	log      *slog.Logger
	notify   *notifier
	packets  chan packetMsg
	inbox    chan any
	// annQueue feeds announceRun (annBusy: one is running); master tells it whether
	// the VIPs are still ours.
	annMu    sync.Mutex
	annQueue []announceJob
	annBusy  bool
	master   atomic.Bool
	// queueDrops counts packets dropped because the instance was behind; the socket
	// reader adds to it without waiting for the instance, which may be stopping or stuck.
	queueDrops atomic.Uint64
	stopped    chan struct{} // closed when the instance has ended

	// mu is held by whoever steps the state machine (run explains who). Every field
	// below is guarded by it. running: the instance has taken its first step and not
	// ended; queued: packets in the channel not yet stepped (the reader steps one
	// itself only when none is, so packets are stepped in order).
	mu      sync.Mutex
	running bool
	queued  atomic.Int32
	timer   *time.Timer // the instance's one timer (onTimer), at the earliest deadline
	gate    *startGate  // the instances started together (nil: none)

	// deadlines holds the state machine's armed timers by kind (zero: disarmed); an
	// array, not a map: a backup writes one per advert.
	deadlines [vrrp.TimerRelease + 1]time.Time
	// acts is the buffer the state machine appends a step's actions to (takeActs).
	acts          []vrrp.Action
	garpAt        time.Time // the delayed second burst (garp_master_delay)
	garpRefreshAt time.Time // periodic refresh (garp_master_refresh)
	// stopWatch ends the watch for a successor's announcements (vrrp.WatchAnnouncements).
	stopWatch context.CancelFunc
	// stopAsked: stop was called; stopping: Stop was stepped, and the instance ends
	// once the handover has (unlock).
	stopAsked   bool
	stopping    bool
	timingAt    time.Time // next coalesced advert-timing event
	lastTiming  time.Time
	bound       map[netip.Prefix]bool
	tracks      map[string]track // probe key -> how this instance uses it
	probeViews  map[string]*probeView
	opStopped   bool // stopped by the operator (Failover STOP)
	overrideWho string
	lastDropLog map[vrrp.Cause]time.Time
	// lateLogAt is when a late advert was last logged; lateMore and lateWorst count
	// and measure those not logged since (advertLate).
	lateLogAt   time.Time
	lateMore    int
	lateWorst   time.Duration
	lastDropPub time.Time
	devIndex    map[string]int // interface -> index last seen (onLink)
	srcFixed    bool           // src is unicast_src_ip or mcast_src_ip, not the interface's
	// group is the instance's vrrp_sync_group (nil if none); lastSync is what it
	// was last told (syncgroup.go).
	group        *syncGroup
	lastSync     vrrp.SyncStatus
	syncReported bool
	foreign      map[netip.Addr]*foreignSender // senders of dropped adverts (lintinfo.go)
}

func newInstance(a *Agent, cfg *config.Config, ic *config.Instance) (*instance, error) {
	family := netio.IPv4
	if ic.IPv6 {
		family = netio.IPv6
	}
	in := &instance{
		a:           a,
		cfg:         ic,
		name:        ic.Name,
		ifname:      ic.Interface,
		version:     ic.Version,
		vrid:        uint8(ic.VRID),
		family:      family,
		log:         a.log.With("instance", ic.Name),
		packets:     make(chan packetMsg, packetQueue),
		inbox:       make(chan any, 64),
		stopped:     make(chan struct{}),
		bound:       map[netip.Prefix]bool{},
		lastDropLog: map[vrrp.Cause]time.Time{},
		devIndex:    map[string]int{},
	}
	in.wake.fire = in.onWake
	for _, v := range ic.VIPs {
		in.vips = append(in.vips, vipOf(ic, v))
	}
	for _, v := range ic.ExcludedVIPs {
		in.vips = append(in.vips, vipOf(ic, v))
	}
	// Without a configured source, the interface's address is read when the instance starts
	// and followed after (applyLink); until there is one the instance is FAULT and the
	// state machine knows the unspecified address of its family (primary).
	switch {
	case ic.Unicast() && ic.UnicastSrcIP.IsValid():
		in.src, in.srcFixed = ic.UnicastSrcIP, true
	case ic.McastSrcIP.IsValid():
		in.src, in.srcFixed = ic.McastSrcIP, true
	}
	if ic.Unicast() {
		in.dsts = ic.UnicastPeers
	} else {
		// vrrp_mcast_group4/6 or mcast_dst_ip, resolved by the config.
		in.dsts = []netip.Addr{ic.McastGroup}
	}
	fsm, err := vrrp.New(fsmConfig(ic, in.primary(), a.advertPhase))
	if err != nil {
		return nil, err
	}
	in.fsm = fsm
	if ic.OldUnicastChecksum == config.OldUnicastChecksumOn {
		in.ckMode = vrrp.ChecksumGroupPseudoHeader
	}
	in.tracks = tracksOf(cfg, ic)
	in.probeViews = map[string]*probeView{}
	for key, t := range in.tracks {
		// Not healthy until it says so: no weight counts before the first result.
		in.probeViews[key] = &probeView{name: t.name, kind: t.kind, weight: t.weight, pending: true, reason: waitingReason}
	}
	in.notify = newNotifier(ic, cfg.Global, &a.notifyWG, in.log)
	if ic.SyncGroup != "" {
		in.group = a.groups[ic.SyncGroup]
	}
	return in, nil
}

// fsmConfig turns a checked vrrp_instance into the state machine's config; phase is
// the agent's advert grid (vrrp.Config.AdvertPhase).
func fsmConfig(ic *config.Instance, src netip.Addr, phase time.Time) vrrp.Config {
	c := vrrp.Config{
		Name:          ic.Name,
		VRID:          uint8(ic.VRID),
		Version:       uint8(ic.Version),
		Priority:      uint8(ic.Priority),
		AdverInt:      ic.AdvertInt,
		InitialState:  vrrp.StateBackup,
		NoPreempt:     ic.NoPreempt,
		PreemptDelay:  ic.PreemptDelay,
		PrimaryAddr:   src,
		Unicast:       ic.Unicast(),
		Group:         ic.McastGroup,
		ChecksumGroup: ic.ChecksumGroup,

		CheckUnicastSrc: ic.CheckUnicastSrc,
		UnicastPeers:    ic.UnicastPeers,
		FastPreempt:     true,
		AdvertPhase:     phase,
		// A backup whose own timer ran late gives the master as long again (README,
		// vrrp_instance: the takeover row).
		StallGrace: true,

		SkipCheckAdvAddr:  ic.SkipCheckAdvAddr,
		LowerPrioNoAdvert: ic.LowerPrioNoAdvert,
	}
	switch ic.OldUnicastChecksum {
	case config.OldUnicastChecksumOn:
		c.UnicastChecksum = vrrp.UnicastChecksumOld
	case config.OldUnicastChecksumNever:
		c.UnicastChecksum = vrrp.UnicastChecksumNever
	}
	if ic.State == "MASTER" {
		c.InitialState = vrrp.StateMaster
	}
	if ic.AuthType == "PASS" {
		c.AuthType = vrrp.AuthPass
		c.AuthPass = ic.AuthPass
	}
	for _, v := range ic.VIPs {
		c.VIPs = append(c.VIPs, v.Prefix.Addr())
	}
	return c
}

func vipOf(ic *config.Instance, v config.VIP) vip.VIP {
	dev := v.Dev
	if dev == "" {
		dev = ic.Interface
	}
	return vip.VIP{Prefix: v.Prefix, Dev: dev, Label: v.Label, Scope: v.Scope, Broadcast: v.Broadcast}
}

// deliverPacket hands a packet to the instance without ever blocking the socket
// reader. When nothing else is stepping the instance and no packet waits, the reader
// steps it itself, under mu: a backup's adverts then cost no wake-up at all (keepalived's
// single thread does the same work on receive). Otherwise the packet is queued for
// whoever holds mu, which steps it before letting go (unlock). p.data may be the
// reader's buffer: it is stepped at once or copied into the queue.
func (in *instance) deliverPacket(p packetMsg) {
	if in.queued.Load() == 0 && in.mu.TryLock() {
		if in.running && in.queued.Load() == 0 {
			in.receive(p)
			in.unlockReader()
			return
		}
		in.mu.Unlock()
	}
	in.queued.Add(1)
	p.data = bytes.Clone(p.data)
	select {
	case in.packets <- p:
	default:
		// The instance is busy, or stopping (a master waiting for its successor, a
		// restart during a reload): a flood must not grow memory, and the reader,
		// shared by every instance on the interface, must never wait for this one.
		in.queued.Add(-1)
		in.queueDrops.Add(1)
		return
	}
	in.kickReader()
}

// send delivers a control message unless the instance has stopped.
func (in *instance) send(m any) bool {
	if !in.enqueue(context.Background(), m) {
		return false
	}
	in.kick()
	return true
}

// enqueue puts m in the inbox; false if the instance has stopped, the inbox stayed full
// for 5 s (the instance is stuck) or ctx ended.
func (in *instance) enqueue(ctx context.Context, m any) bool {
	select {
	case in.inbox <- m:
		return true
	case <-in.stopped:
		return false
	default:
	}
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case in.inbox <- m:
		return true
	case <-in.stopped:
		return false
	case <-ctx.Done():
		return false
	case <-t.C:
		in.log.Error("instance not taking messages", "message", fmt.Sprintf("%T", m))
		return false
	}
}

// call runs fn as the instance's one writer and waits for it. It returns nil only if fn ran; with an
// error, fn has not run and never will.
func (in *instance) call(ctx context.Context, fn func(now time.Time)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m := callMsg{fn: fn, done: make(chan struct{}), claim: new(atomic.Int32)}
	if !in.enqueue(ctx, m) {
		select {
		case <-in.stopped:
			return fmt.Errorf("instance %s has stopped", in.name)
		default:
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		return fmt.Errorf("instance %s is not taking calls", in.name)
	}
	in.kick()
	stoppedErr := fmt.Errorf("instance %s has stopped", in.name)
	select {
	case <-m.done:
		return nil
	case <-in.stopped:
		// The instance ended; it may have run fn just before.
		if m.claim.CompareAndSwap(callPending, callCancelled) {
			return stoppedErr
		}
	case <-ctx.Done():
		if m.claim.CompareAndSwap(callPending, callCancelled) {
			return ctx.Err()
		}
	}
	// The instance claimed the message first: fn runs (or ran) now, in a moment.
	select {
	case <-m.done:
		return nil
	case <-in.stopped:
		select {
		case <-m.done:
			return nil
		default:
			return stoppedErr
		}
	}
}

// stop shuts the instance down (priority 0, VIPs removed) and waits until it has ended:
// a master hands over first, so it ends once its successor has claimed the VIPs
// (vrrp handover).
func (in *instance) stop() {
	in.mu.Lock()
	in.stopAsked = true
	if in.running && !in.stopping {
		in.stopping = true
		in.stopFSM(time.Now(), "instance stopped")
	}
	in.unlock()
	<-in.stopped
}

// run starts the instance: it reads the interface and the probes, takes its first
// step, and returns. From then on the instance has no goroutine of its own: whoever
// has an event for it takes mu and steps it — the socket reader a packet
// (deliverPacket), the timer its deadlines (onTimer), a sender the inbox (kick) —
// one at a time, so its state still has one writer at a time. At hundreds of instances
// a goroutine each, parked on a select, cost more memory than the instances' state
// (their stacks), and a timer, a queue and a wake-up each; keepalived runs all its
// instances from one thread and a timer tree.
func (in *instance) run() {
	in.mu.Lock()
	now := time.Now()
	// A VIP left behind by a crash: we start as BACKUP (or as the owner, which binds
	// again at once), so nothing may stay bound before the state machine says so.
	in.unbindLeftovers()
	// What the kernel and the probes reported before this instance existed: its
	// interface as it is now (missing, down or without an address makes the start
	// FAULT; the kernel watch reports what changes next), its probes; then which
	// tracked probes have not reported at all.
	in.applyLink(now, in.a.readLink(in.cfg.Interface))
	in.replayProbes(now)
	in.checkSrcAddr(now)
	in.stepUnreported(now)
	if in.gate != nil {
		// The first step together with the instances started alongside (startGate).
		in.mu.Unlock()
		in.gate.wait()
		in.mu.Lock()
		now = time.Now()
	}
	if in.cfg.UnicastFaultNoPeer && in.cfg.UnicastConfigured && !in.cfg.Unicast() {
		// keepalived 2.2.7 vrrp_complete_instance: "Cannot use unicast without any peers -
		// going to fault state" instead of falling back to multicast; a config fault that
		// only a reload with peers clears.
		in.step(now, vrrp.Fault{Source: "unicast_fault_no_peer", Reason: "unicast configured without any unicast_peer"})
	}
	in.step(now, vrrp.Start{})
	if st := in.fsm.Status(now); st.State == vrrp.StateInit {
		in.log.Info("holding in INIT", "reason", st.Reason)
	}
	in.timer, in.timerOn = time.AfterFunc(time.Hour, in.onTimer), true
	in.running = true
	if in.stopAsked {
		in.stopping = true
		in.stopFSM(now, "instance stopped")
	}
	in.unlock()
}

// onTimer runs the deadlines that are due (the timer's function).
func (in *instance) onTimer() {
	in.mu.Lock()
	in.onTimerLocked()
}

// onTimerLocked is onTimer with mu held; it lets go of it.
func (in *instance) onTimerLocked() {
	if !in.running {
		in.mu.Unlock()
		return
	}
	// Adverts that arrived before the Master_Down_Timer expired come first: the reader
	// may have queued them, or not taken them from the kernel yet, when the agent was
	// held up (a spurious takeover otherwise).
	if d := in.deadlines[vrrp.TimerMasterDown]; !d.IsZero() && !d.After(time.Now()) {
		in.receiveQueued()
	}
	in.fireDue(time.Now())
	in.unlock()
}

// onWake is onTimer for the wake-ups' one goroutine, which runs every instance's
// deadlines: an instance whose mu is held (a control call waiting on netlink) gets a
// goroutine of its own instead of holding up the others'.
func (in *instance) onWake() {
	if in.mu.TryLock() {
		in.onTimerLocked()
		return
	}
	go in.onTimer()
}

// kick steps what was queued for the instance, unless someone holds mu: that one does
// before letting go.
func (in *instance) kick() {
	if in.mu.TryLock() {
		in.unlock()
	}
}

// kickReader is kick for the socket reader.
func (in *instance) kickReader() {
	if in.mu.TryLock() {
		in.unlockReader()
	}
}

// unlock lets go of the instance: first it steps every packet and message queued
// meanwhile, ends the instance if it has stopped and handed over, and points the timer
// at the next deadline. Something queued after the last look and before mu was free is
// stepped here too unless another goroutine took mu (it then does): nothing queued is
// left waiting for the next event.
func (in *instance) unlock() {
	for {
		if !in.running {
			// Not started yet (run steps the queue once it has), or ended.
			in.mu.Unlock()
			return
		}
		in.drain(true)
		ended := in.endIfDone()
		in.mu.Unlock()
		if ended {
			in.ended()
			return
		}
		if len(in.packets) == 0 && len(in.inbox) == 0 {
			return
		}
		if !in.mu.TryLock() {
			return
		}
	}
}

// unlockReader is unlock for the socket reader, shared by every instance of its
// interface: it steps queued packets, but leaves queued messages (a probe result, a
// control call, which may wait on netlink) to a goroutine of their own.
func (in *instance) unlockReader() {
	if !in.running {
		in.mu.Unlock()
		return
	}
	in.drain(false)
	ended := in.endIfDone()
	messages := len(in.inbox) > 0
	in.mu.Unlock()
	if ended {
		in.ended()
		return
	}
	if messages || len(in.packets) > 0 {
		go in.kick()
	}
}

// drain steps the queued packets, and the queued messages too if messages; then it
// points the timer at the next deadline. With mu held, once running.
func (in *instance) drain(messages bool) {
	for {
		select {
		case p := <-in.packets:
			in.receive(p)
			in.queued.Add(-1)
			continue
		default:
		}
		if !messages {
			break
		}
		select {
		case m := <-in.inbox:
			in.handle(time.Now(), m)
			continue
		default:
		}
		break
	}
	in.resetTimer()
}

// ended is the end of an instance, after mu is released: its queued notify scripts run
// on (the agent waits for them on shutdown), and stop returns.
func (in *instance) ended() {
	in.notify.close()
	close(in.stopped)
}

// endIfDone ends a stopping instance once its handover is over: nothing of ours stays
// bound, and nothing steps it again. With mu held; true if it ended now.
func (in *instance) endIfDone() bool {
	if !in.running || !in.stopping || in.fsm.HandingOver() {
		return false
	}
	in.unbindAll("instance stopped")
	in.publishTiming(time.Now(), in.a.timings.add)
	in.running = false // the reader and the timer step nothing more
	in.timer.Stop()
	in.a.wake.set(&in.wake, time.Time{}, wakeWhole)
	in.watchAnnouncements(false)
	return true
}

// receive feeds one queued packet to the state machine, at the time it was read.
func (in *instance) receive(p packetMsg) {
	ev := vrrp.AdvertReceived{Src: p.src, Dst: p.dst, TTL: p.ttl, Packet: p.data}
	in.applyActs(p.at, in.fsm.ReceiveAppend(in.takeActs(), p.at, ev))
	in.markTiming()
}

// stopFSM steps Stop. A master sends its priority-0 advert at once, as the RFC says,
// and the state machine keeps the VIPs until its successor has claimed them (vrrp
// handover: make before break, where keepalived leaves a Skew_Time without anyone
// answering); the instance carries that out. Otherwise nothing of ours stays bound.
func (in *instance) stopFSM(now time.Time, reason string) {
	if in.fsm.State() != vrrp.StateStopped {
		in.step(now, vrrp.Stop{})
	}
	if !in.fsm.HandingOver() {
		in.unbindAll(reason)
	}
}

// announceSeenMsg: another router announced one of our VIPs during a handover.
type announceSeenMsg struct{ addr netip.Addr }

// watchAnnouncements starts or ends the watch for another router's gratuitous ARP /
// unsolicited NA for our VIPs, which ends a handover (vrrp.WatchAnnouncements).
func (in *instance) watchAnnouncements(on bool) {
	if !on || in.stopWatch != nil {
		if !on && in.stopWatch != nil {
			in.stopWatch()
			in.stopWatch = nil
		}
		return
	}
	if in.a.annWatcher == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	in.stopWatch = cancel
	byDev := map[string][]netip.Addr{}
	for _, v := range in.vips {
		byDev[v.Dev] = append(byDev[v.Dev], v.Prefix.Addr())
	}
	for dev, addrs := range byDev {
		go func() {
			err := in.a.annWatcher.WatchAnnouncements(ctx, dev, addrs, func(a netip.Addr) {
				in.send(announceSeenMsg{addr: a})
			})
			if err != nil && ctx.Err() == nil {
				in.log.Warn("watch for the successor's announcements; releasing the VIPs on its advert and a linger instead", "dev", dev, "err", err)
			}
		}()
	}
}

func (in *instance) handle(now time.Time, m any) {
	switch m := m.(type) {
	case callMsg:
		if m.claim != nil && !m.claim.CompareAndSwap(callPending, callRunning) {
			return // its caller gave up (timed out, cancelled): never run it late
		}
		m.fn(now)
		if m.done != nil {
			close(m.done)
		}
	case probeMsg:
		in.onProbe(now, m)
	case linkMsg:
		in.onLink(now, m.view)
	case addrMsg:
		in.onAddrRemoved(now, m)
	case syncMsg:
		in.step(now, m.ev)
	case announceSeenMsg:
		if in.fsm.HandingOver() {
			in.log.Info("successor announced a VIP; releasing", "vip", m.addr, "after", vrrp.HandoverDrain)
		}
		in.step(now, vrrp.AnnouncementSeen{Addr: m.addr})
	default:
		in.log.Error("unknown message", "type", fmt.Sprintf("%T", m))
	}
}

// step feeds one event to the state machine and carries out its actions.
func (in *instance) step(now time.Time, ev vrrp.Event) {
	in.applyActs(now, in.fsm.StepAppend(in.takeActs(), now, ev))
}

// takeActs lends the instance's action buffer to one step, so that stepping an advert
// allocates nothing (a backup of 255 instances steps 255 a second). A step nested in
// carrying out another's actions finds none lent and the state machine allocates.
func (in *instance) takeActs() []vrrp.Action {
	b := in.acts
	in.acts = nil
	return b[:0]
}

// applyActs carries out a step's actions and takes the buffer back, emptied: nothing
// stays reachable through it.
func (in *instance) applyActs(now time.Time, acts []vrrp.Action) {
	in.apply(now, acts)
	clear(acts)
	in.acts = acts[:0]
}

func (in *instance) apply(now time.Time, acts []vrrp.Action) {
	for _, act := range acts {
		switch x := act.(type) {
		case vrrp.SendAdvert:
			in.ckMode = x.Checksum
			in.sendAdvert(x.Advert)
		case vrrp.BindVIPs:
			in.bindAll("became MASTER")
		case vrrp.UnbindVIPs:
			in.unbindAll("left MASTER")
		case vrrp.WatchAnnouncements:
			in.watchAnnouncements(x.On)
		case vrrp.Announce:
			in.announceBurst(now)
		case vrrp.ArmTimer:
			in.deadlines[x.Kind] = x.At
		case vrrp.Transition:
			in.onTransition(now, x)
		case vrrp.Dropped:
			in.onDropped(now, x)
		case vrrp.ChecksumChanged:
			in.ckMode = x.Checksum
			in.log.Info("unicast VRRPv3 checksum switched to a peer's", "from", x.Src, "checksum", x.Checksum.String())
		case vrrp.LowerPriorityAdvert:
			// The core reports at most one per advert interval: logging each is rate-limited.
			in.log.Warn("advert of lower priority while MASTER", "from", x.Src, "priority", x.Priority,
				"answered", x.Answered, "unanswered_since_last", x.Suppressed)
			in.a.fifoWrite(notifyfifo.RxLowerPriLine(in.name, in.fsm.Status(now).EffectivePriority))
		case vrrp.StallGraced:
			in.log.Warn("Master_Down_Timer handled late: this host was held up, waiting once more for the master's advert",
				"late", x.Late, "waiting", x.Grace)
		case vrrp.PriorityChanged:
			in.onPriorityChanged(now, x)
		case vrrp.OverrideChanged:
			in.onOverrideChanged(x)
		}
	}
	in.reportSync()
}

func (in *instance) sendAdvert(adv vrrp.Advert) {
	for _, dst := range in.dsts {
		a := adv
		b, err := a.MarshalGroup(in.src, dst, in.ckMode, in.cfg.ChecksumGroup)
		if err != nil {
			in.log.Error("encode advert", "err", err)
			return
		}
		if err := in.sock.send(b, in.src, dst); err != nil {
			in.log.Warn("send advert", "to", dst, "err", err)
		}
	}
	in.markTiming()
}

func (in *instance) onTransition(now time.Time, t vrrp.Transition) {
	in.log.Info("state change", "from", t.From.String(), "to", t.To.String(), "reason", t.Reason,
		"priority", in.fsm.Status(now).EffectivePriority)
	if t.To != vrrp.StateMaster {
		in.garpAt, in.garpRefreshAt = time.Time{}, time.Time{}
	}
	in.master.Store(t.To == vrrp.StateMaster)
	in.a.publish(&hactlv1.WatchResponse{Event: &hactlv1.WatchResponse_Transition{Transition: &hactlv1.TransitionEvent{
		Instance: in.name, From: stateProto(t.From), To: stateProto(t.To), Reason: t.Reason,
	}}})
	in.notify.transition(t.To, in.fsm.Status(now).EffectivePriority)
	if fifoState(t.To) {
		in.a.fifoWrite(notifyfifo.InstanceLine(in.name, t.To.String(), in.fsm.Status(now).EffectivePriority))
	}
	// At once, not batched: the console shows whom this node now takes for master.
	in.publishTiming(now, in.a.timings.now)
}

func (in *instance) onPriorityChanged(now time.Time, p vrrp.PriorityChanged) {
	st := in.fsm.Status(now)
	in.log.Info("effective priority changed", "from", p.From, "to", p.To)
	if in.cfg.NotifyPriorityChanges {
		in.a.fifoWrite(notifyfifo.PriorityLine(in.name, st.State == vrrp.StateMaster, p.To))
	}
	in.a.publish(&hactlv1.WatchResponse{Event: &hactlv1.WatchResponse_PriorityChange{PriorityChange: &hactlv1.PriorityChangeEvent{
		Instance: in.name, From: uint32(p.From), To: uint32(p.To), Contributions: contributionsProto(st.Contributions),
	}}})
}

func (in *instance) onOverrideChanged(o vrrp.OverrideChanged) {
	in.log.Info("override", "override", o.Override.String(), "until", o.Until, "reason", o.Reason)
	if o.Override == vrrp.OverrideNone {
		in.overrideWho = ""
	}
	in.a.publish(&hactlv1.WatchResponse{Event: &hactlv1.WatchResponse_ControlAction{ControlAction: &hactlv1.ControlActionEvent{
		Action: "override", Instance: in.name, Detail: o.Override.String() + ": " + o.Reason,
	}}})
}

// onDropped logs a failed receive check at most once a second per cause, and tells
// watchers at most ten times a second: a flood must not become a log or event flood.
func (in *instance) onDropped(now time.Time, d vrrp.Dropped) {
	sender := in.recordForeign(now, d)
	if now.Sub(in.lastDropLog[d.Cause]) >= time.Second {
		in.lastDropLog[d.Cause] = now
		in.log.Warn("advert rejected", "cause", d.Cause.String(), "from", d.Src, "reason", d.Reason)
	}
	if now.Sub(in.lastDropPub) >= timingPublishEvery {
		in.lastDropPub = now
		in.a.publish(&hactlv1.WatchResponse{Event: &hactlv1.WatchResponse_ReceiveError{ReceiveError: &hactlv1.ReceiveErrorEvent{
			Instance: in.name, Cause: d.Cause.String(), Source: addrString(d.Src), Reason: d.Reason,
			Sender: sender,
		}}})
	}
}

// markTiming schedules a coalesced advert-timing event.
func (in *instance) markTiming() {
	if !in.timingAt.IsZero() || !in.a.hub.Watched() {
		// Already scheduled, or nobody streams: no wake-up just to skip the event.
		return
	}
	now := time.Now()
	at := in.lastTiming.Add(timingPublishEvery)
	if at.Before(now) {
		at = now
	}
	in.timingAt = at
}

// publishTiming hands the instance's advert timing to send: the agent's timing batch
// (add, the usual way) or straight to watchers (now).
func (in *instance) publishTiming(now time.Time, send func(*hactlv1.AdvertTimingEvent)) {
	in.timingAt = time.Time{}
	in.lastTiming = now
	if !in.a.hub.Watched() {
		// Nobody streams: a watcher that comes gets a snapshot with the same numbers.
		return
	}
	st := in.fsm.Status(now)
	timing := timingProto(in.cfg, st, now)
	// min, mean, max and jitter cover the whole history; the event carries only the
	// latest intervals (what a sparkline shows): events stay small in the resume ring.
	if n := len(timing.Recent); n > timingEventIntervals {
		timing.Recent = timing.Recent[n-timingEventIntervals:]
	}
	send(&hactlv1.AdvertTimingEvent{
		Instance:        in.name,
		Timing:          timing,
		AdvertsSent:     st.AdvertsSent,
		AdvertsReceived: st.AdvertsReceived,
		ReceiveErrors:   errorsProto(st.Errors, in.queueDrops.Load()),
		Master:          masterProto(st, in.src),
	})
}

// resetTimer points the instance's one timer at the earliest deadline. Called with mu
// held, by whoever stepped the instance.
func (in *instance) resetTimer() {
	t := in.timer
	var next time.Time
	consider := func(d time.Time) {
		if !d.IsZero() && (next.IsZero() || d.Before(next)) {
			next = d
		}
	}
	for _, d := range in.deadlines {
		consider(d)
	}
	consider(in.garpAt)
	consider(in.garpRefreshAt)
	consider(in.timingAt)
	// The wake-ups run every deadline of an instance when there are wake-ups: on time
	// when the runtime is idle, where its own timer would fire up to a millisecond late,
	// and a whole-second instance's without a runtime timer at all (one thread's wake-up
	// per deadline instead of four: see wakeups). A sub-second instance keeps its runtime
	// timer too, for while the Ps are busy and do not poll the timerfd; whichever runs
	// the deadline second finds nothing due.
	precise := in.cfg.AdvertInt < time.Second
	mode := wakeWhole
	switch {
	case precise:
		mode = wakePrecise
	case next.Equal(in.deadlines[vrrp.TimerMasterDown]):
		mode = wakeTakeover
	}
	woken := false
	if !next.IsZero() {
		woken = in.a.wake.set(&in.wake, next, mode)
	} else if in.wakeUsed {
		in.a.wake.set(&in.wake, time.Time{}, wakeWhole)
	}
	in.wakeUsed = woken
	switch {
	case woken && !precise:
		if in.timerOn {
			t.Stop()
			in.timerOn = false
		}
	case next.IsZero():
		t.Reset(time.Hour)
		in.timerOn = true
	default:
		t.Reset(max(time.Until(next), 0))
		in.timerOn = true
	}
}

// fireDue runs every deadline that has passed, the state machine's first.
func (in *instance) fireDue(now time.Time) {
	for _, k := range []vrrp.TimerKind{vrrp.TimerMasterDown, vrrp.TimerAdver, vrrp.TimerOverride, vrrp.TimerRelease} {
		if d := in.deadlines[k]; !d.IsZero() && !d.After(now) {
			in.deadlines[k] = time.Time{}
			if late := now.Sub(d); k == vrrp.TimerAdver && late >= in.cfg.AdvertInt {
				in.advertLate(now, late)
			}
			in.step(now, vrrp.TimerFired{Kind: k})
		}
	}
	if !in.garpAt.IsZero() && !in.garpAt.After(now) {
		in.garpAt = time.Time{}
		in.announce(in.garpRepeat())
	}
	if !in.garpRefreshAt.IsZero() && !in.garpRefreshAt.After(now) {
		in.announce(in.cfg.GARPMasterRefreshRepeat)
		in.garpRefreshAt = now.Add(in.cfg.GARPMasterRefresh)
	}
	if !in.timingAt.IsZero() && !in.timingAt.After(now) {
		in.publishTiming(now, in.a.timings.add)
	}
}

// lateLogEvery is the least time between two logs of late adverts of one instance: a
// host too busy for a short advert_int would otherwise log every advert.
const lateLogEvery = 10 * time.Second

// advertLate reports an advert that leaves late by an advert interval or more: the
// backup saw two or more intervals without one, and at three and a bit it takes over.
// keepalived says nothing; an operator whose backup took over wants to know that the
// master was held up, not the network. With mu held.
func (in *instance) advertLate(now time.Time, late time.Duration) {
	if in.a.onLate != nil {
		in.a.onLate(in.name, late)
	}
	in.lateWorst = max(in.lateWorst, late)
	if !in.lateLogAt.IsZero() && now.Sub(in.lateLogAt) < lateLogEvery {
		in.lateMore++
		return
	}
	in.log.Warn("advert sent late: this host held the agent up", "late", late.Round(10*time.Microsecond),
		"advert_int", in.cfg.AdvertInt, "late_since_last_log", in.lateMore, "worst_since_last_log", in.lateWorst.Round(10*time.Microsecond))
	in.lateLogAt, in.lateMore, in.lateWorst = now, 0, 0
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
