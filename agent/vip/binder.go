package vip

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Binder adds and removes virtual addresses. Both operations are idempotent
// and report whether they changed the kernel's state, so the agent can log
// and announce only real changes.
type Binder interface {
	Add(v VIP) (changed bool, err error)
	Remove(v VIP) (changed bool, err error)
	List(ifname string) ([]netip.Prefix, error)
}

// NetlinkBinder is the Binder over rtnetlink.
type NetlinkBinder struct {
	h *netlink.Handle

	// links caches the devices by name: one netlink request per VIP instead of two
	// when 255 VIPs are bound at a takeover. An entry whose device was re-created (a
	// new index) fails with ENODEV and is looked up again.
	mu    sync.Mutex
	links map[string]netlink.Link
}

// link returns the device named name, from the cache unless fresh.
func (b *NetlinkBinder) link(name string, fresh bool) (netlink.Link, error) {
	b.mu.Lock()
	l, ok := b.links[name]
	b.mu.Unlock()
	if ok && !fresh {
		return l, nil
	}
	l, err := b.h.LinkByName(name)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		delete(b.links, name)
		return nil, err
	}
	if b.links == nil {
		b.links = map[string]netlink.Link{}
	}
	b.links[name] = l
	return l, nil
}

// withLink runs op on the device named name, looking it up afresh and running op once
// more if the cached one is gone (ENODEV).
func (b *NetlinkBinder) withLink(name string, op func(netlink.Link) error) error {
	l, err := b.link(name, false)
	if err != nil {
		return err
	}
	if err = op(l); errors.Is(err, unix.ENODEV) {
		if l, err = b.link(name, true); err != nil {
			return err
		}
		err = op(l)
	}
	return err
}

var _ Binder = (*NetlinkBinder)(nil)

// NewBinder returns a Binder working through h, which may belong to another
// network namespace (netlink.NewHandleAt). A nil h is a handle of the current
// namespace with one route socket kept open: without it every request opens,
// configures and closes a socket of its own (six syscalls more), and 255 VIPs bound
// at a takeover queue behind each other that much longer.
func NewBinder(h *netlink.Handle) *NetlinkBinder {
	if h == nil {
		var err error
		if h, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
			h = &netlink.Handle{} // a socket per request, in the calling thread's namespace
		}
	}
	return &NetlinkBinder{h: h}
}

// Add puts v on its device. An address already there (same address and
// prefix length) is not an error: Add reports changed=false. IPv6 addresses
// skip duplicate address detection (nodad) so they are usable at once, as
// a VIP taking over from a failed master must be.
func (b *NetlinkBinder) Add(v VIP) (changed bool, err error) {
	if err := v.validate(); err != nil {
		return false, err
	}
	WithNetlink(func() { changed, err = b.add(v) })
	return changed, err
}

func (b *NetlinkBinder) add(v VIP) (bool, error) {
	addr := netlinkAddr(v.Prefix)
	addr.Scope, _ = ParseScope(v.Scope) // validated above
	if v.Prefix.Addr().Is4() {
		addr.Label = v.Label
		// 0.0.0.0 tells the netlink library to send no broadcast rather
		// than derive one: keepalived sets brd only when configured.
		addr.Broadcast = net.IPv4zero
		if v.Broadcast.IsValid() {
			addr.Broadcast = v.Broadcast.AsSlice()
		}
	} else {
		addr.Flags = unix.IFA_F_NODAD
	}
	if err := b.withLink(v.Dev, func(l netlink.Link) error { return b.h.AddrAdd(l, addr) }); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return false, nil
		}
		return false, fmt.Errorf("add %v: %w", v, err)
	}
	return true, nil
}

// Remove takes v off its device, matching on address and prefix length
// only (not label), so an address whose label was changed by hand still
// goes. An address or device that is already gone is not an error: Remove
// reports changed=false.
func (b *NetlinkBinder) Remove(v VIP) (changed bool, err error) {
	if !v.Prefix.IsValid() || v.Dev == "" {
		return false, fmt.Errorf("remove %v: invalid address or device", v)
	}
	WithNetlink(func() { changed, err = b.remove(v) })
	return changed, err
}

func (b *NetlinkBinder) remove(v VIP) (bool, error) {
	err := b.withLink(v.Dev, func(l netlink.Link) error { return b.h.AddrDel(l, netlinkAddr(v.Prefix)) })
	var notFound netlink.LinkNotFoundError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &notFound), errors.Is(err, unix.EADDRNOTAVAIL):
		return false, nil
	}
	return false, fmt.Errorf("remove %v: %w", v, err)
}

// List returns every address on ifname, both families.
func (b *NetlinkBinder) List(ifname string) (list []netip.Prefix, err error) {
	WithNetlink(func() { list, err = b.list(ifname) })
	return list, err
}

func (b *NetlinkBinder) list(ifname string) ([]netip.Prefix, error) {
	link, err := b.h.LinkByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("list addresses of %s: %w", ifname, err)
	}
	addrs, err := b.h.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("list addresses of %s: %w", ifname, err)
	}
	out := make([]netip.Prefix, 0, len(addrs))
	for _, a := range addrs {
		if p, ok := prefixOf(a.IPNet); ok {
			out = append(out, p)
		}
	}
	return out, nil
}

func netlinkAddr(p netip.Prefix) *netlink.Addr {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &netlink.Addr{IPNet: &net.IPNet{
		IP:   p.Addr().AsSlice(),
		Mask: net.CIDRMask(p.Bits(), bits),
	}}
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	ip, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(ip.Unmap(), ones), true
}
