package vrrp

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{"VRID 0", func(c *Config) { c.VRID = 0 }, "virtual_router_id"},
		{"priority 0", func(c *Config) { c.Priority = 0 }, "priority"},
		{"version 4", func(c *Config) { c.Version = 4 }, "version 4"},
		{"v2 interval 1.5s", func(c *Config) { c.AdverInt = 1500 * time.Millisecond }, "whole seconds"},
		{"v2 interval 0", func(c *Config) { c.AdverInt = 0 }, "whole seconds"},
		{"v2 interval 256s", func(c *Config) { c.AdverInt = 256 * time.Second }, "whole seconds"},
		{"v3 interval 15ms", func(c *Config) { c.Version, c.AuthType, c.AdverInt = 3, AuthNone, 15*time.Millisecond }, "multiple of 10ms"},
		{"v3 interval 41s", func(c *Config) { c.Version, c.AuthType, c.AdverInt = 3, AuthNone, 41*time.Second }, "multiple of 10ms"},
		{"AH", func(c *Config) { c.AuthType = AuthAH }, "auth_type AH"},
		{"state FAULT", func(c *Config) { c.InitialState = StateFault }, "neither MASTER nor BACKUP"},
		{"no primary", func(c *Config) { c.PrimaryAddr = netip.Addr{} }, "primary address is required"},
		{"v2 over IPv6", func(c *Config) {
			c.PrimaryAddr = netip.MustParseAddr("fe80::1")
			c.VIPs = []netip.Addr{netip.MustParseAddr("2001:db8::1")}
		}, "IPv4 only"},
		{"mixed families", func(c *Config) { c.VIPs = append(c.VIPs, netip.MustParseAddr("2001:db8::1")) }, "family"},
		{"negative preempt_delay", func(c *Config) { c.PreemptDelay = -time.Second }, "preempt_delay"},
		{"256 VIPs", func(c *Config) {
			c.VIPs = nil
			for n := range 256 {
				c.VIPs = append(c.VIPs, netip.AddrFrom4([4]byte{10, 0, byte(n >> 8), byte(n)}))
			}
		}, "at most 255"},
	} {
		c := v2Config()
		tc.mod(&c)
		_, err := New(c)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `"VI_1"`) {
			t.Errorf("%s: error %v, want it to mention %q and the instance", tc.name, err, tc.want)
		}
	}
	for _, c := range []Config{v2Config(), v3Config()} {
		if _, err := New(c); err != nil {
			t.Errorf("valid v%d config: %v", c.Version, err)
		}
	}
	// IPv6 v3 at 10 ms, and an unset initial state meaning BACKUP.
	c := v3Config()
	c.AdverInt = 10 * time.Millisecond
	c.InitialState = StateInit
	c.PrimaryAddr = netip.MustParseAddr("fe80::1")
	c.VIPs = []netip.Addr{netip.MustParseAddr("fe80::12"), netip.MustParseAddr("2001:db8::1")}
	i := mustNew(t, c)
	if !i.Preempt() || i.cfg.InitialState != StateBackup {
		t.Fatalf("unset state: %s", i.cfg.InitialState)
	}
}

// New copies the VIPs: the caller may reuse its slice.
func TestNewCopiesVIPs(t *testing.T) {
	t.Parallel()
	c := v2Config()
	vips := []netip.Addr{vip}
	c.VIPs = vips
	c.Priority = 255
	i := mustNew(t, c)
	vips[0] = netip.MustParseAddr("10.9.9.9")
	sent := actionsOf[SendAdvert](i.Step(t0, Start{}))
	if sent[0].Advert.Addrs[0] != vip {
		t.Fatalf("advert carries %v", sent[0].Advert.Addrs)
	}
}

// Status is a deep copy: changing it changes nothing in the instance.
func TestStatusIsADeepCopy(t *testing.T) {
	t.Parallel()
	c := v2Config()
	i := started(t, c)
	i.Step(t0, PriorityDelta{Source: "chk", Delta: -5})
	i.Step(t0, Fault{Source: "eth0", Reason: "down"})
	recv(t, i, t0.Add(time.Second), highPeer, advertFor(c, 200))
	recv(t, i, t0.Add(2*time.Second), highPeer, advertFor(c, 200))
	st := i.Status(t0)
	st.Contributions["chk"] = 100
	st.Faults["eth0"] = "changed"
	st.Errors[CauseTTL] = 42
	st.RecentIntervals[0] = time.Hour
	again := i.Status(t0)
	if again.Contributions["chk"] != -5 || again.Faults["eth0"] != "down" || again.Errors[CauseTTL] != 0 || again.RecentIntervals[0] != time.Second {
		t.Fatalf("status shares memory: %+v", again)
	}
	if again.Transitions != 2 || again.State != StateFault || again.Reason != "fault: eth0: down" || !again.Since.Equal(t0) {
		t.Fatalf("status %+v", again)
	}
}
