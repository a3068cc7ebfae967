package agent

import (
	"errors"
	"net/netip"
	"time"

	"github.com/hagent-dev/hagent/agent/config"
	"github.com/hagent-dev/hagent/agent/netio"
	"github.com/hagent-dev/hagent/agent/vip"
	"github.com/hagent-dev/hagent/agent/vrrp"
	"github.com/vishvananda/netlink"
)

// linkView is what the kernel says about one interface, read once per change and handed
// to every instance: whether it exists (and under which index: a re-created interface has
// a new one), whether it is usable, and the source address of each family.
//
// Hosts boot in any order: a VLAN or bond created after the agent, DHCP finishing later,
// an IPv6 link-local address still tentative. None of these stops the agent: the
// instance is FAULT with the reason and leaves FAULT by itself when the kernel reports
// the change (keepalived 2.2.7 with `dynamic_interfaces`: vrrp_track.c
// initialise_vrrp_tracking_priorities "no IPv4 address for interface", and
// keepalived_netlink.c netlink_if_address_filter / netlink_link_filter bringing the
// instance up when the address or the interface appears).
type linkView struct {
	name  string
	index int    // 0: the interface does not exist
	up    bool   // IFF_UP and IFF_RUNNING, as keepalived's test
	down  string // why not up
	v4    netip.Addr
	v4Err error // why there is no IPv4 source
	v6    netip.Addr
	v6Err error
	// err: the kernel could not be asked (netlink busy); nothing is known and nothing
	// changes until the next report.
	err error
}

func (v linkView) source(f netio.Family) (netip.Addr, error) {
	if f == netio.IPv6 {
		return v.v6, v.v6Err
	}
	return v.v4, v.v4Err
}

// readKernelLink reads ifname's state in the agent's network namespace. ours tells the
// agent's own VIPs, which are never a source address.
func readKernelLink(ifname string, ours func(netip.Addr) bool) (v linkView) {
	vip.WithNetlink(func() { v = readKernelLinkNow(ifname, ours) })
	return v
}

func readKernelLinkNow(ifname string, ours func(netip.Addr) bool) linkView {
	v := linkView{name: ifname}
	l, err := netlink.LinkByName(ifname)
	if err != nil {
		var notFound netlink.LinkNotFoundError
		if !errors.As(err, &notFound) {
			v.err = err
		}
		v.v4Err, v.v6Err = netio.ErrNoInterface, netio.ErrNoInterface
		return v
	}
	a := l.Attrs()
	v.index = a.Index
	v.up, v.down = vip.LinkUsable(a.RawFlags)
	v.v4, v.v4Err = netio.SourceAddr(ifname, netio.IPv4, ours)
	v.v6, v.v6Err = netio.SourceAddr(ifname, netio.IPv6, ours)
	return v
}

// Fault sources of the instance's own interface.
const (
	faultSourceAddr = "source address"
)

func faultSourceIface(ifname string) string { return "interface " + ifname }

// linkMsg: the kernel reported a change of an interface; view is its state now.
type linkMsg struct{ view linkView }

// onLink applies an interface's state: the instance's own interface decides its FAULT
// sources and its source address; an interface that carries VIPs and came back while we
// are MASTER gets them again (they went with the old interface).
func (in *instance) onLink(now time.Time, v linkView) {
	if v.err != nil {
		in.log.Warn("interface state unknown; keeping the last", "interface", v.name, "err", v.err)
		return
	}
	if v.name == in.cfg.Interface {
		in.applyLink(now, v)
		in.checkSrcAddr(now)
	}
	in.rebindOn(v)
}

// applyLink sets the FAULT sources "interface IF" (it does not exist, or is down unless
// dont_track_primary) and "source address" (none usable: no IPv4 address, no IPv6
// link-local, or only a tentative one), and follows a changed source address.
func (in *instance) applyLink(now time.Time, v linkView) {
	ifSrc := faultSourceIface(v.name)
	switch {
	case v.err != nil:
		// Only at start (onLink skips such reports): the kernel watch's first report of
		// the interface, right after, reads it again.
		in.step(now, vrrp.Fault{Source: ifSrc, Reason: "state unknown: " + v.err.Error()})
		return
	case v.index == 0:
		in.step(now, vrrp.Fault{Source: ifSrc, Reason: "does not exist"})
	case !v.up && !in.cfg.DontTrackPrimary:
		in.step(now, vrrp.Fault{Source: ifSrc, Reason: "link " + v.down})
	default:
		in.step(now, vrrp.FaultCleared{Source: ifSrc})
	}
	if in.srcFixed {
		return
	}
	src, err := v.source(in.family)
	switch {
	case v.index == 0:
		// The interface fault says it all.
		in.step(now, vrrp.FaultCleared{Source: faultSourceAddr})
	case !src.IsValid():
		in.step(now, vrrp.Fault{Source: faultSourceAddr, Reason: err.Error()})
	default:
		if src != in.src {
			in.setSource(src)
		}
		in.step(now, vrrp.FaultCleared{Source: faultSourceAddr})
	}
}

// setSource makes src the address our adverts come from and the state machine's primary
// address.
func (in *instance) setSource(src netip.Addr) {
	if err := in.fsm.SetPrimaryAddr(src); err != nil {
		in.log.Error("source address", "err", err)
		return
	}
	in.log.Info("source address", "interface", in.cfg.Interface, "address", src, "was", addrString(in.src))
	in.src = src
}

// primary is the state machine's primary address: src once there is one (configured, or
// read from the interface), else the unspecified address of the family, as newInstance
// starts it. A reload reconfigures with it, so that an instance still waiting for its
// address is not taken for another router.
func (in *instance) primary() netip.Addr {
	switch {
	case in.src.IsValid():
		return in.src
	case in.family == netio.IPv6:
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

// rebindOn puts back the VIPs of an interface that was re-created (a new index) or
// appeared while we are MASTER: its addresses went with the old one. The binder's Add is
// idempotent, so a VIP still there costs one netlink request.
func (in *instance) rebindOn(v linkView) {
	last, seen := in.devIndex[v.name]
	in.devIndex[v.name] = v.index
	if v.index == 0 || (seen && last == v.index) || in.fsm.State() != vrrp.StateMaster {
		return
	}
	var readded []netip.Addr
	for _, x := range in.vips {
		if x.Dev != v.name {
			continue
		}
		delete(in.bound, x.Prefix)
		changed, err := in.a.binder.Add(x)
		if err != nil {
			in.log.Error("add VIP", "vip", x.String(), "err", err)
			continue
		}
		in.bound[x.Prefix] = true
		if changed {
			in.log.Warn("interface re-created while MASTER; VIP added again", "vip", x.String(), "interface", v.name)
			in.publishVIP(x, true, "interface "+v.name+" re-created while MASTER")
			readded = append(readded, x.Prefix.Addr())
		}
	}
	if len(readded) > 0 {
		if err := in.a.announcer.Announce(v.name, readded, 1); err != nil {
			in.log.Warn("announce VIPs", "dev", v.name, "err", err)
		}
	}
}

// linkChanged re-reads an interface after the kernel reported a change, re-opens the VRRP
// sockets bound to it if it was re-created (a socket is bound to the interface index, and
// its multicast membership went with the old interface), and tells every instance.
func (a *Agent) linkChanged(ifname string) {
	v := a.readLink(ifname)
	if v.err != nil {
		a.log.Warn("read interface", "interface", ifname, "err", v.err)
		return
	}
	a.mu.Lock()
	socks := a.sockets
	a.mu.Unlock()
	if socks != nil {
		socks.refresh(ifname, v.index)
	}
	for _, in := range a.instanceList() {
		in.send(linkMsg{view: v})
	}
}

// isVIP reports whether addr is a VIP of the running config: the agent's own addresses
// come and go with every transition and never change an interface's source address.
func (a *Agent) isVIP(addr netip.Addr) bool {
	m := a.vipAddrs.Load()
	return m != nil && (*m)[addr]
}

// setVIPAddrs records every VIP of cfg, for isVIP.
func (a *Agent) setVIPAddrs(cfg *config.Config) {
	m := map[netip.Addr]bool{}
	for _, ic := range cfg.Instances {
		for _, v := range ic.VIPs {
			m[v.Prefix.Addr()] = true
		}
		for _, v := range ic.ExcludedVIPs {
			m[v.Prefix.Addr()] = true
		}
	}
	a.vipAddrs.Store(&m)
}
