package vip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// watchBuffer sizes the channels between the netlink subscriptions, the
// watcher and its reader; watchSocketBuffer the subscription sockets'
// receive buffers, so that a burst of changes (an interface flapping, many
// VIPs) is not lost to ENOBUFS.
const (
	watchBuffer       = 64
	watchSocketBuffer = 1 << 20
)

// Watch reports address and link changes of the interfaces ifnames (all
// interfaces if empty) in the network namespace ns (netns.None() for the
// current one). The first event for each existing interface is its current
// link state; after that, LinkUp/LinkDown only on a change.
//
// The channel closes when ctx is done, or after a WatchError when the
// kernel subscription fails (the caller then re-reads the state and watches
// again).
func Watch(ctx context.Context, ns netns.NsHandle, ifnames []string) (<-chan Event, error) {
	var nsp *netns.NsHandle
	h := &netlink.Handle{}
	if ns.IsOpen() {
		nsp = &ns
		var err error
		if h, err = netlink.NewHandleAt(ns); err != nil {
			return nil, fmt.Errorf("watch interfaces: netlink handle: %w", err)
		}
	}
	w := &watcher{
		h:      h,
		out:    make(chan Event, watchBuffer),
		errs:   make(chan error, watchBuffer),
		names:  map[int]string{},
		up:     map[string]bool{},
		filter: map[string]bool{},
	}
	for _, n := range ifnames {
		w.filter[n] = true
	}
	onError := func(err error) {
		select {
		case w.errs <- err:
		default: // one pending error is enough to make the caller resync
		}
	}
	done := make(chan struct{})
	links := make(chan netlink.LinkUpdate, watchBuffer)
	addrs := make(chan netlink.AddrUpdate, watchBuffer)
	err := netlink.LinkSubscribeWithOptions(links, done, netlink.LinkSubscribeOptions{
		Namespace: nsp, ErrorCallback: onError, ListExisting: true,
		ReceiveBufferSize: watchSocketBuffer, ReceiveBufferForceSize: true,
	})
	if err != nil {
		close(done)
		h.Close()
		return nil, fmt.Errorf("watch interfaces: subscribe to links: %w", err)
	}
	err = netlink.AddrSubscribeWithOptions(addrs, done, netlink.AddrSubscribeOptions{
		Namespace: nsp, ErrorCallback: onError,
		ReceiveBufferSize: watchSocketBuffer, ReceiveBufferForceSize: true,
	})
	if err != nil {
		close(done)
		drain(links, nil)
		h.Close()
		return nil, fmt.Errorf("watch interfaces: subscribe to addresses: %w", err)
	}
	go func() {
		defer h.Close()
		defer close(w.out)
		defer drain(links, addrs) // let the subscription goroutines exit
		defer close(done)
		w.run(ctx, links, addrs)
	}()
	return w.out, nil
}

// drain reads the subscription channels until the netlink library closes
// them, which it does once done is closed; a nil channel is skipped.
func drain(links chan netlink.LinkUpdate, addrs chan netlink.AddrUpdate) {
	for links != nil || addrs != nil {
		select {
		case _, ok := <-links:
			if !ok {
				links = nil
			}
		case _, ok := <-addrs:
			if !ok {
				addrs = nil
			}
		}
	}
}

type watcher struct {
	h      *netlink.Handle
	out    chan Event
	errs   chan error
	names  map[int]string  // ifindex -> name, from link updates
	up     map[string]bool // last reported state
	filter map[string]bool // empty: every interface
}

func (w *watcher) run(ctx context.Context, links <-chan netlink.LinkUpdate, addrs <-chan netlink.AddrUpdate) {
	for {
		var ev Event
		select {
		case <-ctx.Done():
			return
		case err := <-w.errs:
			ev = WatchError{Err: err}
		case u, ok := <-links:
			if !ok {
				w.emit(ctx, WatchError{Err: errors.New("link subscription closed")})
				return
			}
			ev = w.link(u)
		case u, ok := <-addrs:
			if !ok {
				w.emit(ctx, WatchError{Err: errors.New("address subscription closed")})
				return
			}
			ev = w.addr(u)
		}
		if ev != nil && !w.emit(ctx, ev) {
			return
		}
	}
}

func (w *watcher) emit(ctx context.Context, ev Event) bool {
	select {
	case w.out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

func (w *watcher) watched(name string) bool {
	return len(w.filter) == 0 || w.filter[name]
}

// link turns a link update into LinkUp/LinkDown when the state changed.
func (w *watcher) link(u netlink.LinkUpdate) Event {
	attrs := u.Attrs()
	name := attrs.Name
	if u.Header.Type == unix.RTM_DELLINK {
		delete(w.names, int(u.Index))
		delete(w.up, name)
		if !w.watched(name) {
			return nil
		}
		return LinkDown{Ifname: name, Reason: "deleted"}
	}
	w.names[int(u.Index)] = name
	if !w.watched(name) {
		return nil
	}
	up, reason := LinkUsable(u.Flags)
	if last, seen := w.up[name]; seen && last == up {
		return nil
	}
	w.up[name] = up
	if up {
		return LinkUp{Ifname: name}
	}
	return LinkDown{Ifname: name, Reason: reason}
}

// LinkUsable applies keepalived's test for a usable interface: IFF_UP and
// IFF_RUNNING. IFF_RUNNING follows the operational state, so a veth whose
// peer is down, or a cable pulled, is down too.
func LinkUsable(flags uint32) (up bool, reason string) {
	switch {
	case flags&unix.IFF_UP == 0:
		return false, "admin down"
	case flags&unix.IFF_RUNNING == 0:
		return false, "no carrier"
	default:
		return true, ""
	}
}

func (w *watcher) addr(u netlink.AddrUpdate) Event {
	name, ok := w.names[u.LinkIndex]
	if !ok {
		l, err := w.h.LinkByIndex(u.LinkIndex)
		if err != nil {
			return nil // gone already; its deletion is reported as a link event
		}
		name = l.Attrs().Name
		w.names[u.LinkIndex] = name
	}
	if !w.watched(name) {
		return nil
	}
	ip, ok := netip.AddrFromSlice(u.LinkAddress.IP)
	if !ok {
		return nil
	}
	ones, _ := u.LinkAddress.Mask.Size()
	p := netip.PrefixFrom(ip.Unmap(), ones)
	if u.NewAddr {
		return AddrAdded{Ifname: name, Prefix: p}
	}
	return AddrRemoved{Ifname: name, Prefix: p}
}
