package agent

import (
	"net"
	"net/netip"
	"time"

	"github.com/hagent-dev/hagent/agent/vrrp"
)

// track_src_ip, as keepalived 2.2.7 (core/keepalived_netlink.c netlink_if_address_filter):
// when the instance's configured source address (unicast_src_ip, mcast_src_ip) leaves
// its interface the instance goes to FAULT (down_instance), and it leaves FAULT when
// the address comes back. Without track_src_ip a configured address is not followed
// (an address hagent picks from the interface is: "source address", link.go).

const srcAddrFault = "track_src_ip"

// tracksSrcAddr: track_src_ip with a source address from the config (keepalived
// clears track_src_ip without one, vrrp.c vrrp_complete_instance).
func (in *instance) tracksSrcAddr() bool {
	return in.a.watchNet && in.cfg.TrackSrcIP && in.srcFixed
}

// checkSrcAddr reads whether the configured source address is on the instance's
// interface, at start and after every change the kernel watch reports for it (an
// address added or removed is one: dispatchKernel's linkChanged).
func (in *instance) checkSrcAddr(now time.Time) {
	if !in.tracksSrcAddr() {
		return
	}
	has, err := interfaceHasAddr(in.cfg.Interface, in.src)
	switch {
	case err != nil:
		in.step(now, vrrp.Fault{Source: srcAddrFault, Reason: "source address " + in.src.String() + ": " + err.Error()})
	case has:
		in.step(now, vrrp.FaultCleared{Source: srcAddrFault})
	default:
		in.step(now, vrrp.Fault{Source: srcAddrFault, Reason: "source address " + in.src.String() + " is not on " + in.cfg.Interface})
	}
}

func interfaceHasAddr(ifname string, a netip.Addr) (bool, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return false, err
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return false, err
	}
	for _, x := range addrs {
		if n, ok := x.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == a {
				return true, nil
			}
		}
	}
	return false, nil
}
