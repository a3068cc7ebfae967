package netio

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrNoInterface is wrapped by SourceAddr's error when the interface does not exist:
// not created yet (a VLAN or bond set up after the agent), or deleted.
var ErrNoInterface = errors.New("interface does not exist")

// PrimaryAddr returns the address VRRP sends from on ifname by default, in
// the current network namespace: for IPv4 the first primary (not secondary)
// global address, for IPv6 the first usable link-local address, which
// RFC 5798 section 5.1.2.1 requires as the source of IPv6 adverts.
func PrimaryAddr(ifname string, family Family) (netip.Addr, error) {
	return SourceAddr(ifname, family, nil)
}

// SourceAddr is PrimaryAddr skipping the addresses ignore reports (the VIPs
// the agent itself binds: a VIP is never the host's own source, as keepalived's
// ignore_address_if_ours_or_link_local). Its error says why there is none, in
// words for an operator: the interface does not exist (wrapping ErrNoInterface),
// has no such address, or its only IPv6 link-local address is still tentative
// (duplicate address detection, about a second after it was added) or failed it.
func SourceAddr(ifname string, family Family, ignore func(netip.Addr) bool) (netip.Addr, error) {
	link, err := netlink.LinkByName(ifname)
	if err != nil {
		var notFound netlink.LinkNotFoundError
		if errors.As(err, &notFound) {
			return netip.Addr{}, fmt.Errorf("%s: %w", ifname, ErrNoInterface)
		}
		return netip.Addr{}, fmt.Errorf("primary %v address of %s: %w", family, ifname, err)
	}
	nlFamily := netlink.FAMILY_V4
	if family == IPv6 {
		nlFamily = netlink.FAMILY_V6
	}
	addrs, err := netlink.AddrList(link, nlFamily)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("list %v addresses of %s: %w", family, ifname, err)
	}
	var tentative, duplicate netip.Addr
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if ignore != nil && ignore(ip) {
			continue
		}
		if isPrimary(family, ip, a.Flags, a.Scope) {
			return ip, nil
		}
		if family == IPv6 && ip.Is6() && ip.IsLinkLocalUnicast() {
			switch {
			case a.Flags&unix.IFA_F_DADFAILED != 0:
				duplicate = ip
			case a.Flags&unix.IFA_F_TENTATIVE != 0:
				tentative = ip
			}
		}
	}
	switch {
	case tentative.IsValid():
		return netip.Addr{}, fmt.Errorf("%s's IPv6 link-local address %s is tentative (duplicate address detection running)", ifname, tentative)
	case duplicate.IsValid():
		return netip.Addr{}, fmt.Errorf("%s's IPv6 link-local address %s failed duplicate address detection", ifname, duplicate)
	case family == IPv6:
		return netip.Addr{}, fmt.Errorf("%s has no IPv6 link-local address", ifname)
	}
	return netip.Addr{}, fmt.Errorf("%s has no primary IPv4 address", ifname)
}

func isPrimary(family Family, ip netip.Addr, flags, scope int) bool {
	if family == IPv6 {
		// A tentative address (DAD running) or a duplicate cannot be a source.
		return ip.Is6() && ip.IsLinkLocalUnicast() &&
			flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) == 0
	}
	return ip.Is4() && flags&unix.IFA_F_SECONDARY == 0 && scope == unix.RT_SCOPE_UNIVERSE
}
