// Package agent is hagent: one event loop per VRRP instance tying the pure state machine
// (agent/vrrp) to raw sockets (agent/netio), addresses (agent/vip), health probes
// (agent/probe) and the API (agent/api).
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hagent-dev/hagent/agent/api"
	"github.com/hagent-dev/hagent/agent/config"
	"github.com/hagent-dev/hagent/agent/netio"
	"github.com/hagent-dev/hagent/agent/probe"
	"github.com/hagent-dev/hagent/agent/vip"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
	"github.com/vishvananda/netns"
)

// Binder adds and removes addresses (vip.NetlinkBinder in production).
type Binder interface {
	Add(v vip.VIP) (changed bool, err error)
	Remove(v vip.VIP) (changed bool, err error)
	List(ifname string) ([]netip.Prefix, error)
}

// Announcer sends gratuitous ARP / unsolicited NA for addresses on an interface.
type Announcer interface {
	Announce(ifname string, addrs []netip.Addr, rounds int) error
}

// AnnounceWatcher reports other routers' gratuitous ARP / unsolicited NA for addrs on
// ifname until ctx ends (vip.PacketAnnounceWatcher in production).
type AnnounceWatcher interface {
	WatchAnnouncements(ctx context.Context, ifname string, addrs []netip.Addr, seen func(netip.Addr)) error
}

// Agent runs every VRRP instance of one keepalived.conf.
type Agent struct {
	name       string
	version    string
	configPath string
	listeners  []string
	started    time.Time
	// advertPhase is the grid every instance's adverts keep (vrrp.Config.AdvertPhase):
	// the instances of one interval advertise together, as keepalived's do.
	advertPhase time.Time
	log         *slog.Logger
	hub         *api.Hub
	timings     *timingBatch                              // advert timing of every instance, one event a period
	wake        *wakeups                                  // wakes the runtime on time for the instance loops' deadlines (nil: not available)
	onLate      func(instance string, late time.Duration) // WithLateAdvertHook
	binder      Binder
	announcer   Announcer
	annWatcher  AnnounceWatcher
	// annWatcherSet: WithAnnounceWatcher was given, even nil.
	annWatcherSet bool
	openConn      func(ifname string, family netio.Family, group netip.Addr) (packetConn, error)
	watchNet      bool
	// watch and readLink follow and read the interfaces (vip.Watch, readKernelLink).
	watch    func(ctx context.Context, ifnames []string) (<-chan vip.Event, error)
	readLink func(ifname string) linkView
	vipAddrs atomic.Pointer[map[netip.Addr]bool] // every VIP of the running config (isVIP)

	watchMu sync.Mutex // serialises (re)starts of the kernel watch
	kwatch  *kernelWatch

	mu          sync.Mutex // guards what follows; the instances own their own state
	cfg         *config.Config
	instances   map[string]*instance
	order       []string
	sockets     *sockets
	probes      *probes
	maintenance bool
	groups      map[string]*syncGroup // vrrp_sync_group by name
	runCtx      context.Context
	wg          sync.WaitGroup
	// notifiers is the latest notify-script queue of each instance name: a restarted
	// instance's scripts wait for its predecessor's. notifyWG waits for all on shutdown.
	notifiers map[string]*notifier
	notifyWG  sync.WaitGroup
	// fifos is the open notify FIFOs (notify_fifo, vrrp_notify_fifo): instance loops
	// and sync groups write to them without taking mu.
	fifos atomic.Pointer[fifoSet]
	// probeLast is each running probe's last state change, for instances that start
	// after it was reported (replayProbes).
	probeLast map[string]probe.StateChange
	// pendingWait bounds the wait for adverts still in the kernel at a Master_Down_Timer
	// expiry (receiveQueued).
	pendingWait time.Duration
}

// Option configures an Agent.
type Option func(*Agent)

// WithName sets the node name reported by the API (default: the hostname).
func WithName(name string) Option { return func(a *Agent) { a.name = name } }

// WithVersion sets the version reported by the API.
func WithVersion(v string) Option { return func(a *Agent) { a.version = v } }

// WithConfigPath records the file the config came from, for status and reloads.
func WithConfigPath(p string) Option { return func(a *Agent) { a.configPath = p } }

// WithListeners records the API listeners, for status.
func WithListeners(l []string) Option { return func(a *Agent) { a.listeners = l } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(a *Agent) { a.log = l } }

// WithHub sets the event hub the API streams from.
func WithHub(h *api.Hub) Option { return func(a *Agent) { a.hub = h } }

// WithBinder replaces the netlink address binder (tests).
func WithBinder(b Binder) Option { return func(a *Agent) { a.binder = b } }

// WithAnnounceWatcher replaces the packet-socket watch for a successor's gratuitous ARP
// (tests; nil means no watch: a handover ends on its timer).
func WithAnnounceWatcher(w AnnounceWatcher) Option {
	return func(a *Agent) { a.annWatcher, a.annWatcherSet = w, true }
}

// WithAnnouncer replaces the GARP/NA sender (tests).
func WithAnnouncer(an Announcer) Option { return func(a *Agent) { a.announcer = an } }

// WithLateAdvertHook calls f, from the instance's goroutine and so without blocking,
// whenever a master's Adver_Timer runs an advert interval or more after its deadline
// (the host held the agent up; the backup may take over). A profiling build hands the
// runtime's flight recorder to it (cmd/hagent/pprof.go).
func WithLateAdvertHook(f func(instance string, late time.Duration)) Option {
	return func(a *Agent) { a.onLate = f }
}

// New builds an agent for a checked config. Nothing touches the network until Run.
func New(cfg *config.Config, opts ...Option) (*Agent, error) {
	a := &Agent{
		cfg:       cfg,
		started:   time.Now(),
		log:       slog.Default(),
		instances: map[string]*instance{},
		notifiers: map[string]*notifier{},
		probeLast: map[string]probe.StateChange{},
		watchNet:  true,

		pendingWait: defaultPendingWait,
	}
	a.advertPhase = a.started
	for _, o := range opts {
		o(a)
	}
	if a.name == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("node name: %w", err)
		}
		a.name = h
	}
	if a.hub == nil {
		a.hub = api.NewHub(4096)
	}
	a.timings = newTimingBatch(timingBatchEvery, a.publish)
	if a.binder == nil {
		a.binder = vip.NewBinder(nil)
	}
	if a.announcer == nil {
		a.announcer = vip.NewAnnouncer()
	}
	if !a.annWatcherSet {
		a.annWatcher = vip.PacketAnnounceWatcher{}
	}
	if a.openConn == nil {
		a.openConn = openNetioConn
	}
	if a.watch == nil {
		a.watch = func(ctx context.Context, ifnames []string) (<-chan vip.Event, error) {
			return vip.Watch(ctx, netns.None(), ifnames)
		}
	}
	if a.readLink == nil {
		a.readLink = func(ifname string) linkView { return readKernelLink(ifname, a.isVIP) }
	}
	return a, nil
}

// Name is the node name.
func (a *Agent) Name() string { return a.name }

// Hub is the event hub the API serves Watch from.
func (a *Agent) Hub() *api.Hub { return a.hub }

// Run starts every instance and blocks until ctx ends, then shuts down gracefully:
// each master sends priority 0 and every VIP is removed.
func (a *Agent) Run(ctx context.Context, ready func()) error {
	a.mu.Lock()
	a.runCtx = ctx
	// The wake-ups outlive ctx until Run returns: stopping instances still have
	// deadlines (a master's handover), and whole-second ones have no other timer.
	wctx, endWakeups := context.WithCancel(context.WithoutCancel(ctx))
	defer endWakeups()
	if w, err := startWakeups(wctx); err != nil {
		a.log.Warn("precise wake-ups not available; timers may fire up to 1 ms late", "err", err)
	} else {
		a.wake = w
	}
	a.setVIPAddrs(a.cfg)
	a.sockets = newSockets(a.openConn, func(ifname string) int { return a.readLink(ifname).index }, a.log)
	a.probes = newProbes(a.log)
	for _, w := range a.cfg.Warnings {
		a.log.Warn("config", "warning", w.Error())
	}
	a.fifos.Store(a.openFIFOs(a.cfg.Global))
	a.startSyncGroupsLocked(ctx, a.cfg)
	var startErr error
	gate := newStartGate(len(a.cfg.Instances))
	for _, ic := range a.cfg.Instances {
		if err := a.startInstanceLocked(ctx, a.cfg, ic, gate); err != nil {
			startErr = errors.Join(startErr, err)
			gate.ready() // it never will
		}
	}
	a.probes.start(ctx, a.cfg, a.deliverProbeEvent)
	a.mu.Unlock()
	if startErr != nil {
		a.shutdown()
		return startErr
	}
	a.rewatchKernel(ctx)
	if ready != nil {
		ready()
	}
	<-ctx.Done()
	a.shutdown()
	return nil
}

// shutdown stops every instance (priority 0, VIPs removed) and waits for them.
func (a *Agent) shutdown() {
	a.mu.Lock()
	insts := make([]*instance, 0, len(a.instances))
	for _, n := range a.order {
		insts = append(insts, a.instances[n])
	}
	a.mu.Unlock()
	var wg sync.WaitGroup
	for _, in := range insts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.stop()
		}()
	}
	wg.Wait()
	a.wg.Wait()
	if c, ok := a.announcer.(interface{ Close() }); ok {
		c.Close() // every instance has ended: no announcement is left to send
	}
	a.stopKernelWatch()
	// The group's notify_stop, after every member stopped.
	a.stopSyncGroups()
	// The STOP lines are queued: the FIFOs close and their scripts end.
	a.closeFIFOs()
	// notify_stop and the like, queued by the stops above: a service manager's stop
	// waits for them, as it waits for keepalived's (each is bounded by notifyTimeout).
	a.notifyWG.Wait()
	a.mu.Lock()
	running, socks := a.probes, a.sockets
	a.mu.Unlock()
	// Not under a.mu: a probe's delivery takes it, and stopAll waits for deliveries.
	if running != nil {
		running.stopAll()
	}
	if socks != nil {
		socks.closeAll()
	}
}

// startInstanceLocked starts ic of cfg (the config being applied: during a reload,
// a.cfg is still the old one, which may lack the probes ic tracks).
func (a *Agent) startInstanceLocked(ctx context.Context, cfg *config.Config, ic *config.Instance, gate *startGate) error {
	in, err := newInstance(a, cfg, ic)
	if err != nil {
		return fmt.Errorf("instance %s: %w", ic.Name, err)
	}
	if err := a.sockets.attach(in); err != nil {
		return fmt.Errorf("instance %s: %w", ic.Name, err)
	}
	a.instances[ic.Name] = in
	a.order = append(a.order, ic.Name)
	if prev := a.notifiers[ic.Name]; prev != nil {
		in.notify.after = prev.done
	}
	a.notifiers[ic.Name] = in.notify
	in.gate = gate
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		in.run() // returns once the instance has taken its first step
	}()
	return nil
}

// startGate lines up the first steps of the instances started together: each reads
// its interface and probes (ready), and they all take their first step once the last
// is ready (or startGateWait has passed). keepalived starts every instance in one pass
// of its single thread, so their advert and Master_Down timers share a phase, and a
// lost link moves all their VIPs within milliseconds; instances started one after
// another (each waiting its turn for netlink) kept start times, and so timers, spread
// over tens of milliseconds, and their failovers as far apart.
type startGate struct {
	mu      sync.Mutex
	waiting int
	open    chan struct{}
}

const startGateWait = time.Second

func newStartGate(n int) *startGate {
	g := &startGate{waiting: n, open: make(chan struct{})}
	if n == 0 {
		close(g.open)
	}
	time.AfterFunc(startGateWait, func() { g.release() })
	return g
}

// ready reports one instance ready to take its first step.
func (g *startGate) ready() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.waiting--; g.waiting == 0 {
		g.releaseLocked()
	}
}

func (g *startGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.releaseLocked()
}

func (g *startGate) releaseLocked() {
	select {
	case <-g.open:
	default:
		close(g.open)
	}
}

// wait reports this instance ready and waits for the others (a nil gate: at once).
func (g *startGate) wait() {
	if g == nil {
		return
	}
	g.ready()
	<-g.open
}

// publish sends an event to API watchers; it never blocks.
func (a *Agent) publish(ev *hactlv1.WatchResponse) {
	if a.hub != nil {
		a.hub.Publish(ev)
	}
}

func (a *Agent) instanceList() []*instance {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*instance, 0, len(a.order))
	for _, n := range a.order {
		out = append(out, a.instances[n])
	}
	return out
}

func (a *Agent) instance(name string) *instance {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.instances[name]
}
