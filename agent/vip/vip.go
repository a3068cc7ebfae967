package vip

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// VIP is one virtual_ipaddress entry of keepalived.conf:
//
//	192.168.188.109/24 brd 192.168.188.255 dev eth0 scope global label eth0:1
type VIP struct {
	// Prefix is the address and its mask; the caller applies keepalived's
	// default of /32 or /128 when the config gives none.
	Prefix netip.Prefix
	// Dev is the interface the address lives on.
	Dev string
	// Label is the IPv4 address label (`ip addr ... label eth0:1`). The
	// kernel ABI wants it to start with Dev; IPv6 has no labels, so it is
	// ignored there.
	Label string
	// Scope is "global" (the default when empty), "site", "link", "host",
	// "nowhere" or a number 0-255.
	Scope string
	// Broadcast is the IPv4 broadcast address; invalid means none, as with
	// keepalived when `brd` is not given.
	Broadcast netip.Addr
}

func (v VIP) String() string {
	s := v.Prefix.String() + " dev " + v.Dev
	if v.Label != "" {
		s += " label " + v.Label
	}
	return s
}

// maxLabelLen is IFNAMSIZ minus the terminating NUL.
const maxLabelLen = 15

var scopeNames = map[string]int{
	"global":  unix.RT_SCOPE_UNIVERSE,
	"site":    unix.RT_SCOPE_SITE,
	"link":    unix.RT_SCOPE_LINK,
	"host":    unix.RT_SCOPE_HOST,
	"nowhere": unix.RT_SCOPE_NOWHERE,
}

// ParseScope turns a keepalived/iproute2 scope name or number into the
// kernel's value; "" is global.
func ParseScope(s string) (int, error) {
	if s == "" {
		return unix.RT_SCOPE_UNIVERSE, nil
	}
	if v, ok := scopeNames[strings.ToLower(s)]; ok {
		return v, nil
	}
	n, err := strconv.ParseUint(s, 0, 8)
	if err != nil {
		return 0, fmt.Errorf("invalid scope %q: want global, site, link, host, nowhere or 0-255", s)
	}
	return int(n), nil
}

// validate checks what the kernel would reject or silently misapply.
func (v VIP) validate() error {
	if !v.Prefix.IsValid() {
		return fmt.Errorf("vip %v: invalid prefix", v)
	}
	if v.Dev == "" {
		return fmt.Errorf("vip %v: no device", v.Prefix)
	}
	if v.Prefix.Addr().Is4() && v.Label != "" {
		if !strings.HasPrefix(v.Label, v.Dev) {
			return fmt.Errorf("vip %v: label %q must start with the device name %q", v, v.Label, v.Dev)
		}
		if len(v.Label) > maxLabelLen {
			return fmt.Errorf("vip %v: label %q longer than %d characters", v, v.Label, maxLabelLen)
		}
	}
	if v.Broadcast.IsValid() && !(v.Prefix.Addr().Is4() && v.Broadcast.Is4()) {
		return fmt.Errorf("vip %v: broadcast %v applies to IPv4 only", v, v.Broadcast)
	}
	if _, err := ParseScope(v.Scope); err != nil {
		return fmt.Errorf("vip %v: %w", v, err)
	}
	return nil
}
