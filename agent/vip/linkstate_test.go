package vip

import (
	"testing"

	"github.com/vishvananda/netns"
)

// LinkState reads a link as Watch reports it: loopback is up; a missing interface is
// an error, not "down".
func TestLinkStateReadsTheCurrentState(t *testing.T) {
	up, reason, err := LinkState(netns.None(), "lo")
	if err != nil || !up || reason != "" {
		t.Fatalf("LinkState(lo) = %v, %q, %v; want up", up, reason, err)
	}
	if up, _, err := LinkState(netns.None(), "hagent-nonesuch0"); err == nil {
		t.Fatalf("LinkState of a missing interface = %v with no error", up)
	}
}
