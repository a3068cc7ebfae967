package config

import (
	"fmt"
	"net/netip"
	"time"
)

// ignoredInstanceKeywords are valid keepalived vrrp_instance keywords that
// hagent accepts without acting on them.
var ignoredInstanceKeywords = map[string]string{
	"use_vmac":                  "no VMAC interface: the VIP is bound to the instance's interface and announced with its own MAC (gratuitous ARP on every takeover); who is master is unchanged",
	"vmac_xmit_base":            "no VMAC interface: adverts are always sent from the instance's interface",
	"use_ipvlan":                "no ipvlan interface: the VIP is bound to the instance's interface and announced with its own MAC (gratuitous ARP on every takeover); who is master is unchanged",
	"virtual_routes":            "virtual routes are not supported",
	"virtual_rules":             "virtual rules are not supported",
	"promote_secondaries":       "address promotion is left to the kernel default",
	"linkbeat_use_polling":      "hagent follows link state with netlink",
	"garp_lower_prio_delay":     "hagent re-announces the VIPs once when it answers a lower-priority master (at most once per advert interval); the delay is not configurable",
	"garp_lower_prio_repeat":    "hagent re-announces the VIPs once when it answers a lower-priority master (at most once per advert interval); the count is not configurable",
	"higher_prio_send_advert":   "hagent always sends it: a master that loses an election advertises once at its own priority",
	"lvs_sync_daemon_interface": "LVS is not part of hagent",
	"kernel_rx_buf_size":        "hagent sizes its own socket buffers",
	"unicast_ttl":               "not supported",
	"mcast_ttl":                 "not supported",
}

// instance reads a vrrp_instance block.
func (p *parser) instance(s *stmt) {
	name, ok := p.name("vrrp_instance", s)
	if !ok {
		return
	}
	g := &p.cfg.Global
	ctx := "vrrp_instance " + name
	in := &Instance{
		Name:                    name,
		Pos:                     s.pos(),
		AdvertInt:               time.Second,
		GARPMasterDelay:         g.GARPMasterDelay,
		GARPMasterRepeat:        g.GARPMasterRepeat,
		GARPMasterRefresh:       g.GARPMasterRefresh,
		GARPMasterRefreshRepeat: g.GARPMasterRefreshRepeat,
	}
	var strictSet, skipSet, familySet bool

	// setFamily fixes the address family from the first address (or
	// native_ipv6) written, as keepalived does; later addresses of the
	// other family are refused.
	setFamily := func(s *stmt, ipv6 bool, what string) bool {
		if !familySet {
			familySet, in.IPv6, in.familyPos = true, ipv6, s.pos()
			return true
		}
		if in.IPv6 != ipv6 {
			p.fail(s, "%s: %s is %s but the instance is %s (decided at %s)",
				ctx, what, familyName(ipv6), familyName(in.IPv6), in.familyPos)
			return false
		}
		return true
	}
	srcIP := func(dst *netip.Addr) func(s *stmt) {
		return func(s *stmt) {
			var a netip.Addr
			if p.addr(ctx, s, &a) && setFamily(s, a.Is6(), fmt.Sprintf("%s %s", s.key.text, a)) {
				*dst = a
			}
		}
	}
	notify := func(dst *string) func(s *stmt) {
		return func(s *stmt) { p.notify(ctx, s, dst, &in.NotifyLines) }
	}
	tracks := func(dst *[]TrackRef) func(s *stmt) {
		return func(s *stmt) { *dst = append(*dst, p.trackRefs(ctx, s)...) }
	}

	p.readBlock(blockSpec{
		ctx:     ctx,
		ignored: ignoredInstanceKeywords,
		keywords: map[string]keyword{
			"state": value(func(s *stmt) {
				var st string
				if !p.str(ctx, s, &st) {
					return
				}
				if st != "MASTER" && st != "BACKUP" {
					p.fail(s, "%s: state %q must be MASTER or BACKUP", ctx, st)
					return
				}
				in.State, in.stateSet = st, true
			}),
			"interface": value(func(s *stmt) { p.str(ctx, s, &in.Interface) }),
			"virtual_router_id": value(func(s *stmt) {
				in.vridWritten = true
				p.intIn(ctx, s, 1, 255, &in.VRID)
			}),
			"priority": value(func(s *stmt) {
				in.prioritySet = p.intIn(ctx, s, 1, 255, &in.Priority) || in.prioritySet
			}),
			"advert_int": value(func(s *stmt) {
				in.advertPos = s.pos()
				p.seconds(ctx, s, time.Microsecond, false, &in.AdvertInt)
			}),
			"version": value(func(s *stmt) {
				in.versionSet = p.intIn(ctx, s, 2, 3, &in.Version) || in.versionSet
			}),
			"authentication": block(func(s *stmt) { p.authentication(ctx, s, in) }),
			"virtual_ipaddress": block(func(s *stmt) {
				for _, e := range s.block {
					if v, ok := p.vip(ctx, "virtual_ipaddress", e); ok &&
						setFamily(e, v.Prefix.Addr().Is6(), "virtual_ipaddress "+v.Prefix.String()) {
						in.VIPs = append(in.VIPs, v)
					}
				}
			}),
			"virtual_ipaddress_excluded": block(func(s *stmt) {
				// Excluded addresses are not advertised and may be of
				// either family.
				for _, e := range s.block {
					if v, ok := p.vip(ctx, "virtual_ipaddress_excluded", e); ok {
						in.ExcludedVIPs = append(in.ExcludedVIPs, v)
					}
				}
			}),
			"track_script":    block(tracks(&in.TrackScripts)),
			"track_interface": block(tracks(&in.TrackInterfaces)),
			"track_process":   block(tracks(&in.TrackProcesses)),
			"track_file":      block(tracks(&in.TrackFiles)),
			"track_bfd":       block(func(s *stmt) { p.refuseTrackBFD(ctx, s) }),
			"track_src_ip": value(func(s *stmt) {
				p.args(ctx, s, 0, 0)
				in.TrackSrcIP = true
			}),
			"check_unicast_src": value(func(s *stmt) {
				p.args(ctx, s, 0, 0)
				in.UnicastConfigured, in.CheckUnicastSrc = true, true
			}),
			"unicast_fault_no_peer": value(func(s *stmt) {
				p.args(ctx, s, 0, 0)
				in.UnicastFaultNoPeer = true
			}),
			"nopreempt": value(func(s *stmt) {
				p.args(ctx, s, 0, 0)
				in.NoPreempt, in.nopreemptPos = true, s.pos()
			}),
			"preempt": value(func(s *stmt) {
				p.args(ctx, s, 0, 0)
				in.NoPreempt = false
			}),
			"preempt_delay": value(func(s *stmt) { p.seconds(ctx, s, 0, false, &in.PreemptDelay) }),
			"unicast_src_ip": value(func(s *stmt) {
				in.UnicastConfigured = true
				srcIP(&in.UnicastSrcIP)(s)
			}),
			"mcast_src_ip": value(srcIP(&in.McastSrcIP)),
			"mcast_dst_ip": value(func(s *stmt) {
				// vrrp_parser.c vrrp_mcast_dstip_handler: the instance's own group.
				var a netip.Addr
				if !p.addr(ctx, s, &a) {
					return
				}
				if a.Is4() && !a.IsMulticast() || a.Is6() && !a.IsLinkLocalMulticast() {
					p.fail(s, "%s: mcast_dst_ip %s is not %s multicast address (as keepalived)", ctx, a, map[bool]string{true: "a link-local", false: "an IPv4"}[a.Is6()])
					return
				}
				if setFamily(s, a.Is6(), "mcast_dst_ip "+a.String()) {
					in.mcastDst = a
				}
			}),
			"unicast_peer": block(func(s *stmt) {
				in.UnicastConfigured = true
				for _, e := range s.block {
					if e.hasBlock {
						p.fail(e, "%s: unicast_peer: unexpected { } block", ctx)
						continue
					}
					vals := e.values()
					a, err := parseAddr(vals[0].text)
					if err != nil {
						p.fail(e, "%s: unicast_peer: %v", ctx, err)
						continue
					}
					if len(vals) > 1 {
						p.diags.warnf(e.pos(), "%s: unicast_peer %s: options ignored: %s", ctx, a, joinTokens(vals[1:]))
					}
					if setFamily(e, a.Is6(), "unicast_peer "+a.String()) {
						in.UnicastPeers = append(in.UnicastPeers, a)
					}
				}
			}),
			"garp_master_delay":          value(func(s *stmt) { p.seconds(ctx, s, 0, false, &in.GARPMasterDelay) }),
			"garp_master_repeat":         value(func(s *stmt) { p.intIn(ctx, s, 0, 1<<16, &in.GARPMasterRepeat) }),
			"garp_master_refresh":        value(func(s *stmt) { p.seconds(ctx, s, 0, false, &in.GARPMasterRefresh) }),
			"garp_master_refresh_repeat": value(func(s *stmt) { p.intIn(ctx, s, 1, 1<<16, &in.GARPMasterRefreshRepeat) }),
			"notify":                     value(notify(&in.Notify)),
			"notify_master":              value(notify(&in.NotifyMaster)),
			"notify_backup":              value(notify(&in.NotifyBackup)),
			"notify_fault":               value(notify(&in.NotifyFault)),
			"notify_stop":                value(notify(&in.NotifyStop)),
			"notify_priority_changes": value(func(s *stmt) {
				p.flag(ctx, s, &in.NotifyPriorityChanges)
				in.notifyPriorityChangesSet = true
			}),
			"accept": value(func(s *stmt) {
				p.args(ctx, s, 0, 0)
				in.Accept, in.AcceptSet, in.acceptWritten, in.acceptPos = true, true, true, s.pos()
			}),
			"no_accept": value(func(s *stmt) {
				p.args(ctx, s, 0, 0)
				in.Accept, in.AcceptSet, in.acceptWritten, in.acceptPos = false, true, false, s.pos()
			}),
			"old_unicast_checksum": value(func(s *stmt) {
				// vrrp_parser.c: vrrp_unicast_chksum_handler.
				if !p.args(ctx, s, 0, 1) {
					return
				}
				switch {
				case len(s.args) == 0:
					in.OldUnicastChecksum = OldUnicastChecksumOn
				case s.args[0].text == "never":
					in.OldUnicastChecksum = OldUnicastChecksumNever
				default:
					p.diags.warnf(s.pos(), "%s: old_unicast_checksum: unknown mode %s; ignored (as keepalived)", ctx, s.args[0].text)
				}
			}),
			"native_ipv6": value(func(s *stmt) {
				p.args(ctx, s, 0, 0)
				if setFamily(s, true, "native_ipv6") {
					in.NativeIPv6 = true
				}
			}),
			"dont_track_primary": value(func(s *stmt) {
				p.args(ctx, s, 0, 0)
				in.DontTrackPrimary = true
			}),
			"smtp_alert": value(func(s *stmt) { p.flag(ctx, s, &in.SMTPAlert) }),
			"debug": value(func(s *stmt) {
				if len(s.args) == 0 {
					in.Debug = 1
					return
				}
				p.intIn(ctx, s, 0, 4, &in.Debug)
			}),
			"strict_mode": value(func(s *stmt) {
				strictSet = true
				p.flag(ctx, s, &in.StrictMode)
			}),
			"lower_prio_no_advert": value(func(s *stmt) {
				in.lowerPrioSet = true
				p.flag(ctx, s, &in.LowerPrioNoAdvert)
			}),
			"skip_check_adv_addr": value(func(s *stmt) {
				skipSet = true
				p.flag(ctx, s, &in.SkipCheckAdvAddr)
			}),
		},
	}, s.block)

	if in.advertPos == (Pos{}) {
		in.advertPos = in.Pos
	}
	if in.nopreemptPos == (Pos{}) {
		in.nopreemptPos = in.Pos
	}
	if !strictSet {
		in.StrictMode = g.VRRPStrict
	}
	if !skipSet {
		in.SkipCheckAdvAddr = g.VRRPSkipCheckAdvAddr
	}
	p.cfg.Instances = append(p.cfg.Instances, in)
}

func familyName(ipv6 bool) string {
	if ipv6 {
		return "IPv6"
	}
	return "IPv4"
}

// authentication reads the authentication { } block of an instance.
func (p *parser) authentication(ctx string, s *stmt, in *Instance) {
	in.authPos = s.pos()
	p.readBlock(blockSpec{
		ctx: ctx + " authentication",
		keywords: map[string]keyword{
			"auth_type": value(func(s *stmt) {
				var t string
				if !p.str(ctx, s, &t) {
					return
				}
				switch t {
				case "PASS":
					in.AuthType = t
				case "AH":
					p.fail(s, "%s: auth_type AH is not supported by hagent: IPsec AH authentication is "+
						"deprecated (RFC 3768 removed it, VRRPv3 has none) and cannot interoperate reliably; "+
						"use auth_type PASS or no authentication", ctx)
				default:
					p.fail(s, "%s: auth_type %q must be PASS or AH", ctx, t)
				}
			}),
			// auth_pass is a secret: its messages name the keyword and the position,
			// never the value or a part of it.
			"auth_pass": value(func(s *stmt) {
				switch len(s.args) {
				case 0:
					p.diags.errorf(s.pos(), "%s: auth_pass needs a value", ctx)
					return
				case 1:
				default:
					p.diags.warnf(s.pos(), "%s: auth_pass: %d extra words ignored (values not shown: a secret)", ctx, len(s.args)-1)
				}
				in.AuthPass = s.args[0].text
				if len(in.AuthPass) > 8 {
					p.diags.warnf(s.pos(), "%s: auth_pass is %d characters long; only the first 8 are used (as keepalived)",
						ctx, len(in.AuthPass))
				}
			}),
		},
	}, s.block)
}

// notify reads notify* SCRIPT [USER [GROUP]]: the script is one word (quote
// it to give arguments); further words are the run-as user and group
// (keepalived's notify_script_init), recorded in lines under the keyword.
func (p *parser) notify(ctx string, s *stmt, dst *string, lines *map[string]NotifyLine) {
	if !p.args(ctx, s, 1, 3) {
		return
	}
	*dst = s.args[0].text
	l := NotifyLine{Pos: s.pos()}
	if len(s.args) > 1 {
		l.As.User = s.args[1].text
	}
	if len(s.args) > 2 {
		l.As.Group = s.args[2].text
	}
	if *lines == nil {
		*lines = make(map[string]NotifyLine)
	}
	(*lines)[s.key.text] = l
}

// trackRefs reads the lines of a track_script, track_interface or
// track_process block: NAME [weight N [reverse]].
func (p *parser) trackRefs(ctx string, s *stmt) []TrackRef {
	var refs []TrackRef
	for _, e := range s.block {
		if e.hasBlock {
			p.fail(e, "%s: %s: unexpected { } block", ctx, s.key.text)
			continue
		}
		vals := e.values()
		ref := TrackRef{Name: vals[0].text, Pos: e.pos()}
		rest := vals[1:]
		if len(rest) > 0 && rest[0].text == "weight" {
			if len(rest) < 2 {
				p.fail(e, "%s: %s %s: weight needs a value", ctx, s.key.text, ref.Name)
				continue
			}
			w, err := parseInt(rest[1].text)
			if err != nil {
				p.fail(e, "%s: %s %s: weight: %v", ctx, s.key.text, ref.Name, err)
				continue
			}
			if w < -254 || w > 254 {
				p.fail(e, "%s: %s %s: weight %d out of range -254..254", ctx, s.key.text, ref.Name, w)
				continue
			}
			ref.Weight, ref.WeightSet = w, true
			rest = rest[2:]
			if len(rest) > 0 && rest[0].text == "reverse" {
				ref.Reverse = true
				rest = rest[1:]
			} else if len(rest) > 0 && rest[0].text == "noreverse" {
				rest = rest[1:] // keepalived's explicit default
			}
		}
		if len(rest) > 0 {
			p.diags.warnf(e.pos(), "%s: %s %s: extra words ignored: %s", ctx, s.key.text, ref.Name, joinTokens(rest))
		}
		refs = append(refs, ref)
	}
	return refs
}

// vip reads one line of virtual_ipaddress(_excluded):
// ADDR[/MASK] [dev IF] [label L] [scope S] [brd B] ...
func (p *parser) vip(ctx, kw string, e *stmt) (VIP, bool) {
	if e.hasBlock {
		p.fail(e, "%s: %s: unexpected { } block", ctx, kw)
		return VIP{}, false
	}
	vals := e.values()
	prefix, err := parseVIPAddress(vals[0].text)
	if err != nil {
		p.fail(e, "%s: %s: %v", ctx, kw, err)
		return VIP{}, false
	}
	v := VIP{Prefix: prefix, Pos: e.pos()}
	ok := true
	for i := 1; i < len(vals); i++ {
		opt := vals[i].text
		switch opt {
		case "dev", "label", "scope", "brd", "broadcast":
			if i+1 >= len(vals) {
				p.fail(e, "%s: %s %s: %s needs a value", ctx, kw, prefix, opt)
				return v, false
			}
			i++
			arg := vals[i].text
			switch opt {
			case "dev":
				v.Dev = arg
			case "label":
				v.Label = arg
			case "scope":
				v.Scope = arg
				if !validScope(arg) {
					p.fail(e, "%s: %s %s: scope %q must be global, site, link, host, nowhere or a number 0..255", ctx, kw, prefix, arg)
					ok = false
				}
			default:
				b, err := parseAddr(arg)
				if err != nil || !b.Is4() || !prefix.Addr().Is4() {
					p.fail(e, "%s: %s %s: %s %q must be an IPv4 address for an IPv4 VIP", ctx, kw, prefix, opt, arg)
					ok = false
					continue
				}
				v.Broadcast = b
			}
		case "no_track", "home", "nodad", "noprefixroute", "autojoin", "mngtmpaddr":
			p.diags.warnf(e.pos(), "%s: %s %s: option %s is ignored", ctx, kw, prefix, opt)
		case "preferred_lft", "track_group":
			p.diags.warnf(e.pos(), "%s: %s %s: option %s is ignored", ctx, kw, prefix, opt)
			i++
		default:
			p.fail(e, "%s: %s %s: unknown option %q", ctx, kw, prefix, opt)
			ok = false
		}
	}
	return v, ok
}

func validScope(s string) bool {
	switch s {
	case "global", "site", "link", "host", "nowhere":
		return true
	}
	n, err := parseInt(s)
	return err == nil && n >= 0 && n <= 255
}

// refuseTrackBFD refuses track_bfd: keepalived then follows a BFD session's state
// (vrrp_track.c: a weight-0 session going down is a FAULT, a weighted one moves the
// priority), and hagent has no BFD implementation, so the instance would keep the VIP
// when keepalived would give it up.
func (p *parser) refuseTrackBFD(ctx string, s *stmt) {
	p.fail(s, "%s: track_bfd is not supported: hagent has no BFD, so a BFD session going down "+
		"would not FAULT the instance or change its priority as keepalived does; track the peer with "+
		"a vrrp_script or track_interface instead", ctx)
}
