package vip

import (
	"testing"

	"golang.org/x/sys/unix"
)

// LinkUsable is keepalived's test for a usable interface: IFF_UP and IFF_RUNNING, and
// says which is missing.
func TestLinkUsable(t *testing.T) {
	for _, c := range []struct {
		flags  uint32
		up     bool
		reason string
	}{
		{unix.IFF_UP | unix.IFF_RUNNING, true, ""},
		{unix.IFF_RUNNING, false, "admin down"},
		{unix.IFF_UP, false, "no carrier"},
	} {
		if up, reason := LinkUsable(c.flags); up != c.up || reason != c.reason {
			t.Errorf("LinkUsable(%#x) = %v, %q; want %v, %q", c.flags, up, reason, c.up, c.reason)
		}
	}
}
