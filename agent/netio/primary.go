package netio

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// PrimaryAddr returns the address VRRP sends from on ifname by default, in
// the current network namespace: for IPv4 the first primary (not secondary)
// global address, for IPv6 the first usable link-local address, which
// RFC 5798 section 5.1.2.1 requires as the source of IPv6 adverts.
func PrimaryAddr(ifname string, family Family) (netip.Addr, error) {
	link, err := netlink.LinkByName(ifname)
	if err != nil {
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
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if isPrimary(family, ip, a.Flags, a.Scope) {
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("%s has no primary %v address", ifname, family)
}

func isPrimary(family Family, ip netip.Addr, flags, scope int) bool {
	if family == IPv6 {
		// A tentative address (DAD running) or a duplicate cannot be a source.
		return ip.Is6() && ip.IsLinkLocalUnicast() &&
			flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) == 0
	}
	return ip.Is4() && flags&unix.IFA_F_SECONDARY == 0 && scope == unix.RT_SCOPE_UNIVERSE
}
