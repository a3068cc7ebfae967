package vrrp

import (
	"net/netip"
	"slices"
)

// SetVIPs replaces the addresses our adverts carry, for a reload that changed only the
// virtual_ipaddress list. The state is kept; binding is the driver's, which knows which
// addresses came and went.
func (i *Instance) SetVIPs(addrs []netip.Addr) {
	i.cfg.VIPs = slices.Clone(addrs)
	i.advert.Addrs = i.cfg.VIPs
}
