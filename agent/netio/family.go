package netio

import (
	"fmt"
	"net/netip"
)

// Family is the IP address family of a Conn.
type Family int

// The two families VRRP runs over: RFC 3768/5798 over IPv4, RFC 5798 over IPv6.
const (
	IPv4 Family = 4
	IPv6 Family = 6
)

func (f Family) String() string {
	switch f {
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	default:
		return fmt.Sprintf("Family(%d)", int(f))
	}
}

// FamilyOf returns the family of addr; the zero Family for an invalid address.
func FamilyOf(addr netip.Addr) Family {
	switch {
	case addr.Is4() || addr.Is4In6():
		return IPv4
	case addr.Is6():
		return IPv6
	default:
		return 0
	}
}

// The VRRP multicast groups (RFC 5798 section 5.1.1.2 and 5.1.2.2).
var (
	GroupIPv4 = netip.MustParseAddr("224.0.0.18")
	GroupIPv6 = netip.MustParseAddr("ff02::12")
)

// Group returns the VRRP multicast group of the family.
func (f Family) Group() netip.Addr {
	if f == IPv6 {
		return GroupIPv6
	}
	return GroupIPv4
}

// ProtocolVRRP is the IP protocol number of VRRP.
const ProtocolVRRP = 112

// vrrpTTL is the TTL / hop limit every advertisement is sent with; receivers
// drop anything else (RFC 5798 section 5.1.1.3), which proves the packet did
// not cross a router.
const vrrpTTL = 255

// tosCS6 is the IPv4 TOS / IPv6 traffic class keepalived sends adverts with:
// DSCP class selector 6 (network control), ECN not capable.
const tosCS6 = 0xc0
