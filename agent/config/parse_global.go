package config

import (
	"net/netip"
	"time"

	"github.com/hagent-dev/hagent/agent/script"
)

// defaultGlobal is keepalived 2.2.7's global_defs when nothing is written.
func defaultGlobal() Global {
	return Global{
		SMTPPort:                25,
		SMTPConnectTimeout:      30 * time.Second,
		VRRPVersion:             2,
		VRRPMcastGroup4:         netip.MustParseAddr("224.0.0.18"),
		VRRPMcastGroup6:         netip.MustParseAddr("ff02::12"),
		GARPMasterDelay:         5 * time.Second,
		GARPMasterRepeat:        5,
		GARPMasterRefreshRepeat: 1,
	}
}

// global reads a global_defs block. Several blocks are merged, as keepalived
// does.
func (p *parser) global(s *stmt) {
	g := &p.cfg.Global
	if !p.globalSeen {
		g.Pos = s.pos()
		p.globalSeen = true
	}
	const ctx = "global_defs"
	p.readBlock(blockSpec{
		ctx:           ctx,
		ignoreUnknown: true,
		ignored: map[string]string{
			"lvs_notify_fifo":                  "it carries the LVS checker's events, which hagent does not run",
			"lvs_notify_fifo_script":           "it reads the LVS checker's FIFO, which hagent does not run; the script is never started",
			"fifo_write_vrrp_states_on_reload": "a reload writes no state lines for unchanged instances",
		},
		keywords: map[string]keyword{
			"router_id": value(func(s *stmt) { p.str(ctx, s, &g.RouterID) }),
			"notification_email": block(func(s *stmt) {
				for _, e := range s.block {
					for _, t := range e.values() {
						g.NotificationEmail = append(g.NotificationEmail, t.text)
					}
				}
			}),
			"notification_email_from": value(func(s *stmt) { p.str(ctx, s, &g.NotificationEmailFrom) }),
			"smtp_server": value(func(s *stmt) {
				if p.args(ctx, s, 1, 2) {
					g.SMTPServer = s.args[0].text
					if len(s.args) > 1 {
						p.intTokenIn(ctx, s, s.args[1], 1, 65535, &g.SMTPPort)
					}
				}
			}),
			"smtp_connect_timeout": value(func(s *stmt) { p.seconds(ctx, s, time.Second, false, &g.SMTPConnectTimeout) }),
			"smtp_helo_name":       value(func(s *stmt) { p.str(ctx, s, &g.SMTPHeloName) }),
			"smtp_alert":           value(func(s *stmt) { p.flag(ctx, s, &g.SMTPAlert) }),
			"enable_script_security": value(func(s *stmt) {
				p.args(ctx, s, 0, 0)
				g.EnableScriptSecurity = true
			}),
			"script_user": value(func(s *stmt) {
				if p.args(ctx, s, 1, 2) {
					g.ScriptUser = s.args[0].text
					if len(s.args) > 1 {
						g.ScriptGroup = s.args[1].text
					}
				}
			}),
			"vrrp_version":              value(func(s *stmt) { p.intIn(ctx, s, 2, 3, &g.VRRPVersion) }),
			"vrrp_strict":               value(func(s *stmt) { p.flag(ctx, s, &g.VRRPStrict) }),
			"vrrp_lower_prio_no_advert": value(func(s *stmt) { p.flag(ctx, s, &g.VRRPLowerPrioNoAdvert) }),
			"vrrp_check_unicast_src": value(func(s *stmt) {
				p.args(ctx, s, 0, 0)
				g.VRRPCheckUnicastSrc = true
			}),
			"vrrp_skip_check_adv_addr": value(func(s *stmt) {
				p.flag(ctx, s, &g.VRRPSkipCheckAdvAddr)
			}),
			"vrrp_mcast_group4": value(func(s *stmt) {
				var a netip.Addr
				if p.addr(ctx, s, &a) {
					if !a.Is4() || !a.IsMulticast() {
						p.fail(s, "%s: vrrp_mcast_group4 %s is not an IPv4 multicast address", ctx, a)
						return
					}
					g.VRRPMcastGroup4 = a
				}
			}),
			"vrrp_mcast_group6": value(func(s *stmt) {
				var a netip.Addr
				if p.addr(ctx, s, &a) {
					if !a.Is6() || !a.IsMulticast() {
						p.fail(s, "%s: vrrp_mcast_group6 %s is not an IPv6 multicast address", ctx, a)
						return
					}
					g.VRRPMcastGroup6 = a
				}
			}),
			"vrrp_garp_master_delay":          value(func(s *stmt) { p.seconds(ctx, s, 0, false, &g.GARPMasterDelay) }),
			"vrrp_garp_master_repeat":         value(func(s *stmt) { p.intIn(ctx, s, 0, 1<<16, &g.GARPMasterRepeat) }),
			"vrrp_garp_master_refresh":        value(func(s *stmt) { p.seconds(ctx, s, 0, false, &g.GARPMasterRefresh) }),
			"vrrp_garp_master_refresh_repeat": value(func(s *stmt) { p.intIn(ctx, s, 1, 1<<16, &g.GARPMasterRefreshRepeat) }),
			"vrrp_garp_interval":              value(func(s *stmt) { p.seconds(ctx, s, 0, false, &g.GARPInterval) }),
			"vrrp_gna_interval":               value(func(s *stmt) { p.seconds(ctx, s, 0, false, &g.GNAInterval) }),
			// hagent always works as keepalived with dynamic_interfaces: an instance
			// whose interface does not exist yet is FAULT until it appears (issue 17).
			"dynamic_interfaces":           value(func(s *stmt) { p.args(ctx, s, 0, 1) }),
			"notify_fifo":                  value(func(s *stmt) { p.notifyFIFO(ctx, s, &g.NotifyFIFO) }),
			"notify_fifo_script":           value(func(s *stmt) { p.notifyFIFOScript(ctx, s, &g.NotifyFIFO) }),
			"vrrp_notify_fifo":             value(func(s *stmt) { p.notifyFIFO(ctx, s, &g.VRRPNotifyFIFO) }),
			"vrrp_notify_fifo_script":      value(func(s *stmt) { p.notifyFIFOScript(ctx, s, &g.VRRPNotifyFIFO) }),
			"vrrp_notify_priority_changes": value(func(s *stmt) { p.flag(ctx, s, &g.VRRPNotifyPriorityChanges) }),
			"max_auto_priority": value(func(s *stmt) {
				if len(s.args) == 0 {
					g.MaxAutoPriority = 99 // keepalived: the highest realtime priority
					return
				}
				p.intIn(ctx, s, 1, 99, &g.MaxAutoPriority)
			}),
		},
	}, s.block)
}

// notifyFIFO reads notify_fifo / vrrp_notify_fifo FILE [USER [GROUP]]; a
// second one is ignored with a warning (keepalived 2.2.7 global_parser.c
// notify_fifo).
func (p *parser) notifyFIFO(ctx string, s *stmt, f *NotifyFIFO) {
	if !p.args(ctx, s, 1, 3) {
		return
	}
	if f.Path != "" {
		p.diags.warnf(s.pos(), "%s: %s already specified at %s - ignoring %s (as keepalived)", ctx, s.key.text, f.Pos, s.args[0].text)
		return
	}
	f.Path, f.Pos = s.args[0].text, s.pos()
	if len(s.args) > 1 {
		f.Owner.User = s.args[1].text
	}
	if len(s.args) > 2 {
		f.Owner.Group = s.args[2].text
	}
}

// notifyFIFOScript reads notify_fifo_script / vrrp_notify_fifo_script SCRIPT
// [USER [GROUP]] (global_parser.c notify_fifo_script); the FIFO's name is
// added as its last argument when it runs.
func (p *parser) notifyFIFOScript(ctx string, s *stmt, f *NotifyFIFO) {
	if !p.args(ctx, s, 1, 3) {
		return
	}
	if f.Script != "" {
		p.diags.warnf(s.pos(), "%s: %s already specified at %s - ignoring %s (as keepalived)", ctx, s.key.text, f.ScriptPos, s.args[0].text)
		return
	}
	f.Script, f.ScriptPos = s.args[0].text, s.pos()
	f.ScriptAs = script.RunAs{}
	if len(s.args) > 1 {
		f.ScriptAs.User = s.args[1].text
	}
	if len(s.args) > 2 {
		f.ScriptAs.Group = s.args[2].text
	}
}
