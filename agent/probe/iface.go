package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// InterfaceSpec is a keepalived track_interface entry.
type InterfaceSpec struct {
	Name   string // defaults to Ifname
	Ifname string
	// NetNSPath (ours) watches the interface in the network namespace at
	// this path (e.g. /run/netns/NAME); empty means the agent's own.
	NetNSPath string
	InitFail  bool
	Restart   Restart
}

// InterfaceProbe follows a link's state through rtnetlink: healthy while the
// link is administratively up and running (carrier, operstate up), as
// keepalived's IFF_UP && IFF_RUNNING.
type InterfaceProbe struct {
	spec InterfaceSpec
	*driver
}

// NewInterface validates spec.
func NewInterface(spec InterfaceSpec) (*InterfaceProbe, error) {
	if spec.Ifname == "" {
		return nil, errors.New("interface probe: empty interface name")
	}
	if spec.Name == "" {
		spec.Name = spec.Ifname
	}
	d, err := newDriver(spec.Name, KindInterface, 1, 1, spec.InitFail, spec.Restart)
	if err != nil {
		return nil, err
	}
	return &InterfaceProbe{spec: spec, driver: d}, nil
}

// Name is the probe's name.
func (p *InterfaceProbe) Name() string { return p.spec.Name }

// Healthy reports the current state.
func (p *InterfaceProbe) Healthy() bool { return p.tracker.Healthy() }

// History returns the last results, oldest first.
func (p *InterfaceProbe) History() []Result { return p.tracker.History() }

// Run follows the link until ctx ends.
func (p *InterfaceProbe) Run(ctx context.Context, out chan<- Event) {
	defer p.stop()
	if !p.start(ctx, out) {
		return
	}
	ns := netns.None()
	if p.spec.NetNSPath != "" {
		h, err := netns.GetFromPath(p.spec.NetNSPath)
		if err != nil {
			p.fail(ctx, out, fmt.Sprintf("open network namespace %s: %v", p.spec.NetNSPath, err))
			<-ctx.Done()
			return
		}
		defer h.Close()
		ns = h
	}
	for ctx.Err() == nil {
		if !p.follow(ctx, out, ns) {
			return
		}
		// The subscription broke (it should not); start over shortly.
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// follow subscribes, reports the current state and then every change. It
// returns false when ctx ended or out was abandoned, true to resubscribe.
func (p *InterfaceProbe) follow(ctx context.Context, out chan<- Event, ns netns.NsHandle) bool {
	updates := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	errs := make(chan error, 1)
	opts := netlink.LinkSubscribeOptions{
		ErrorCallback: func(err error) {
			select {
			case errs <- err:
			default:
			}
		},
	}
	if ns.IsOpen() {
		opts.Namespace = &ns
	}
	// The library's reader ends, closing updates, once done is closed; we
	// drain updates so that it never blocks on a send meanwhile.
	defer func() {
		close(done)
		for range updates {
		}
	}()
	if err := netlink.LinkSubscribeWithOptions(updates, done, opts); err != nil {
		close(updates) // never handed to a reader
		return p.fail(ctx, out, fmt.Sprintf("subscribe to link updates: %v", err))
	}
	// Read the state after subscribing, so no change falls in between.
	handle, err := netlink.NewHandleAt(ns)
	if err != nil {
		return p.fail(ctx, out, fmt.Sprintf("netlink handle: %v", err))
	}
	link, err := handle.LinkByName(p.spec.Ifname)
	handle.Close()
	var r Result
	var notFound netlink.LinkNotFoundError
	switch {
	case errors.As(err, &notFound):
		r = p.result(nil)
	case err != nil:
		r = p.result(nil)
		r.Err = fmt.Sprintf("look up %s: %v", p.spec.Ifname, err)
	default:
		r = p.result(link)
	}
	if !p.observe(ctx, out, r) {
		return false
	}
	last := r
	for {
		select {
		case <-ctx.Done():
			return false
		case err := <-errs:
			p.log.Warn("link updates", "err", err)
		case r := <-p.restart.Done():
			if !p.restarted(ctx, out, r) {
				return false
			}
			p.afterRecheck()
		case <-p.restart.Due():
			p.restartDue(ctx)
		case u, ok := <-updates:
			if !ok {
				return true
			}
			if u.Link == nil || u.Link.Attrs().Name != p.spec.Ifname {
				continue
			}
			link := u.Link
			if u.Header.Type == unix.RTM_DELLINK {
				link = nil
			}
			r := p.result(link)
			if r.OK == last.OK && r.Output == last.Output {
				continue // an update about something else (stats, addresses)
			}
			last = r
			if !p.observe(ctx, out, r) {
				return false
			}
		}
	}
}

func (p *InterfaceProbe) result(link netlink.Link) Result {
	r := Result{Started: time.Now()}
	if link == nil {
		r.Err = fmt.Sprintf("interface %s not found", p.spec.Ifname)
		return r
	}
	a := link.Attrs()
	up := a.Flags&net.FlagUp != 0
	running := a.RawFlags&unix.IFF_RUNNING != 0
	r.Output = fmt.Sprintf("%s: admin %s, operstate %s", a.Name, onOff(up, "up", "down"), a.OperState)
	switch {
	case !up:
		r.Err = fmt.Sprintf("interface %s is down", a.Name)
	case !running:
		r.Err = fmt.Sprintf("interface %s has no carrier (operstate %s)", a.Name, a.OperState)
	default:
		r.OK = true
	}
	return r
}

// fail reports a failure to watch at all.
func (p *InterfaceProbe) fail(ctx context.Context, out chan<- Event, reason string) bool {
	return p.observe(ctx, out, Result{Err: reason, Started: time.Now()})
}

func onOff(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}
