package config

import "time"

// resolve fills in the defaults that depend on more than one keyword, the
// way keepalived's vrrp_complete_instance does, noting each adjustment
// keepalived would log.
func (p *parser) resolve() {
	for _, in := range p.cfg.Instances {
		p.resolveInstance(in)
		if in.Priority == 255 {
			p.dropTrackFileWeights(in, "address owner")
		}
	}
	for _, sg := range p.cfg.SyncGroups {
		for _, name := range sg.Instances {
			for _, in := range p.cfg.Instances {
				if in.Name == name && in.SyncGroup == "" {
					in.SyncGroup = sg.Name
				}
			}
		}
	}
	p.resolveSyncGroups()
	p.resolveNotifyFIFOs()
}

// resolveNotifyFIFOs does what keepalived 2.2.7 does once the config is read:
// notify_priority_changes falls back to the sync group's, then to the global
// one (vrrp.c vrrp_complete_instance), and a vrrp_notify_fifo naming the
// notify_fifo's file is dropped, script and all (global_data.c
// init_global_data), so that no line is written twice.
func (p *parser) resolveNotifyFIFOs() {
	g := &p.cfg.Global
	for _, in := range p.cfg.Instances {
		if in.notifyPriorityChangesSet {
			continue
		}
		in.NotifyPriorityChanges = g.VRRPNotifyPriorityChanges
		for _, sg := range p.cfg.SyncGroups {
			if sg.Name == in.SyncGroup && sg.NotifyPriorityChangesSet {
				in.NotifyPriorityChanges = sg.NotifyPriorityChanges
			}
		}
	}
	for _, f := range []*NotifyFIFO{&g.NotifyFIFO, &g.VRRPNotifyFIFO} {
		if f.Script != "" && f.Path == "" {
			p.diags.warnf(f.ScriptPos, "global_defs: notify fifo script %s has no fifo to read - ignoring it (as keepalived)", f.Script)
			f.Script = ""
		}
	}
	if g.NotifyFIFO.Path != "" && g.NotifyFIFO.Path == g.VRRPNotifyFIFO.Path {
		p.diags.warnf(g.VRRPNotifyFIFO.Pos, "global_defs: notify FIFO %s has been specified for global and vrrp FIFO - ignoring vrrp FIFO (as keepalived)", g.VRRPNotifyFIFO.Path)
		g.VRRPNotifyFIFO = NotifyFIFO{}
	}
}

func (p *parser) resolveInstance(in *Instance) {
	ctx := "vrrp_instance " + in.Name

	if !in.versionSet {
		in.Version = p.cfg.Global.VRRPVersion
	}
	if in.IPv6 && in.Version == 2 {
		p.diags.warnf(in.Pos, "%s: VRRP version 2 does not support IPv6; using version 3", ctx)
		in.Version = 3
	}

	// Without a priority, keepalived makes a MASTER the address owner.
	if !in.prioritySet {
		in.Priority = 100
		if in.State == "MASTER" {
			in.Priority = 255
		}
	}
	if !in.stateSet {
		in.State = "BACKUP"
		if in.Priority == 255 {
			in.State = "MASTER"
		}
	} else if in.StrictMode && (in.State == "MASTER") != (in.Priority == 255) {
		want := "BACKUP"
		if in.Priority == 255 {
			want = "MASTER"
		}
		p.diags.warnf(in.Pos, "%s: strict mode: state MASTER must match being address owner (priority 255); state %s (as keepalived)", ctx, want)
		in.State = want
	}

	if in.StrictMode && in.AuthType != "" {
		p.diags.warnf(in.authPos, "%s: strict mode does not support authentication; ignored (as keepalived)", ctx)
		in.AuthType = ""
	} else if in.AuthType != "" && in.Version == 3 {
		p.diags.warnf(in.authPos, "%s: VRRP version 3 does not support authentication; ignored (as keepalived)", ctx)
		in.AuthType = ""
	} else if in.AuthType == "PASS" && in.AuthPass == "" {
		p.diags.warnf(in.authPos, "%s: auth_type PASS without auth_pass; authentication ignored (as keepalived)", ctx)
		in.AuthType = ""
	}

	if in.Priority == 255 && in.NoPreempt {
		p.diags.warnf(in.nopreemptPos, "%s: nopreempt is incompatible with priority 255; cleared (as keepalived)", ctx)
		in.NoPreempt = false
	}
	if in.State == "MASTER" {
		if in.NoPreempt {
			p.diags.warnf(in.nopreemptPos, "%s: nopreempt will not work with initial state MASTER; cleared (as keepalived)", ctx)
			in.NoPreempt = false
		}
		if in.PreemptDelay != 0 {
			p.diags.warnf(in.Pos, "%s: preempt_delay will not work with initial state MASTER; cleared (as keepalived)", ctx)
			in.PreemptDelay = 0
		}
	}
	if in.PreemptDelay != 0 && in.StrictMode {
		p.diags.warnf(in.Pos, "%s: preempt_delay is incompatible with strict mode; cleared (as keepalived)", ctx)
		in.PreemptDelay = 0
	}
	if in.PreemptDelay != 0 && in.NoPreempt {
		p.diags.warnf(in.Pos, "%s: preempt_delay is incompatible with nopreempt; cleared (as keepalived)", ctx)
		in.PreemptDelay = 0
	}

	p.resolveStrict(ctx, in)

	in.CheckUnicastSrc = in.CheckUnicastSrc || p.cfg.Global.VRRPCheckUnicastSrc

	in.ChecksumGroup = p.cfg.Global.VRRPMcastGroup4

	// vrrp.c vrrp_complete_instance: a multicast instance without mcast_dst_ip uses
	// the global group of its family; a unicast one has none.
	switch {
	case in.Unicast():
	case in.mcastDst.IsValid():
		in.McastGroup = in.mcastDst
	case in.IPv6:
		in.McastGroup = p.cfg.Global.VRRPMcastGroup6
	default:
		in.McastGroup = p.cfg.Global.VRRPMcastGroup4
	}

	for i := range in.VIPs {
		if in.VIPs[i].Dev == "" {
			in.VIPs[i].Dev = in.Interface
		}
	}
	for i := range in.ExcludedVIPs {
		if in.ExcludedVIPs[i].Dev == "" {
			in.ExcludedVIPs[i].Dev = in.Interface
		}
	}

	// RFC 5798 section 5.2.9: the first IPv6 address must be link-local.
	if in.IPv6 && !in.Unicast() && len(in.VIPs) > 0 && !in.VIPs[0].Prefix.Addr().IsLinkLocalUnicast() {
		p.diags.warnf(in.VIPs[0].Pos, "%s: the first IPv6 VIP should be link-local (as keepalived)", ctx)
	}

	p.resolveAdvertInt(ctx, in)
}

// resolveStrict applies what keepalived 2.2.7's vrrp_complete_instance (vrrp.c) does
// for strict mode and accept mode that hagent can honour, and refuses what it cannot.
//
// Strict mode refuses unicast peers and forces lower_prio_no_advert (a MASTER does not
// answer a lower-priority advert). Accept mode defaults to off under strict mode (on for
// the address owner), and a VRRPv2 non-owner is always put in no_accept. keepalived
// implements no_accept with nftables (or iptables) rules that drop every packet to or
// from the VIPs while a non-owner is MASTER (vrrp_handle_accept_mode, vrrp_nftables.c:
// "in ip daddr @vips drop"): the VIP answers ARP but serves nothing. hagent installs no
// firewall rules, so it refuses a configuration that would run without accept mode
// rather than serve traffic keepalived would drop.
func (p *parser) resolveStrict(ctx string, in *Instance) {
	owner := in.Priority == 255
	if in.StrictMode && in.Unicast() {
		p.diags.errorf(in.Pos, "%s: unicast peers are not supported in strict mode (as keepalived)", ctx)
	}
	switch {
	case !in.lowerPrioSet:
		in.LowerPrioNoAdvert = in.StrictMode || p.cfg.Global.VRRPLowerPrioNoAdvert
	case in.StrictMode && !in.LowerPrioNoAdvert:
		p.diags.warnf(in.Pos, "%s: strict mode requires lower_prio_no_advert; set (as keepalived)", ctx)
		in.LowerPrioNoAdvert = true
	}
	if !in.AcceptSet {
		in.Accept = owner || !in.StrictMode
	}
	if in.Accept && !owner && in.StrictMode && in.Version == 2 {
		p.diags.warnf(in.acceptPos, "%s: accept mode for VRRP version 2 does not comply with RFC 3768 in strict mode; no_accept (as keepalived)", ctx)
		in.Accept = false
	}
	if !in.Accept && !owner {
		if in.AcceptSet && !in.acceptWritten {
			p.diags.errorf(in.acceptPos, "%s: no_accept is not supported: keepalived drops all traffic to the VIPs "+
				"with nftables while a non-owner is MASTER, hagent installs no firewall rules; remove no_accept", ctx)
			return
		}
		p.diags.errorf(in.Pos, "%s: strict mode (strict_mode, vrrp_strict) is not supported here: it implies no_accept, "+
			"with which keepalived drops all traffic to the VIPs with nftables while a non-owner is MASTER, and hagent "+
			"installs no firewall rules; remove strict mode, or use VRRP version 3 with accept", ctx)
	}
}

// resolveAdvertInt applies the advert interval's wire format: VRRPv2 carries
// whole seconds 1..255, VRRPv3 centiseconds 1..4095. Like keepalived, values
// between steps are rounded (with a warning); unlike keepalived, values out
// of range are errors rather than silently clamped, because a peer would
// then disagree with what the operator wrote.
func (p *parser) resolveAdvertInt(ctx string, in *Instance) {
	d := in.AdvertInt
	if in.Version == 2 {
		if d > 255*time.Second {
			p.diags.errorf(in.advertPos, "%s: advert_int %v out of range for VRRPv2 (1..255 s)", ctx, d)
			return
		}
		if r := d.Round(time.Second); r != d {
			r = max(r, time.Second)
			p.diags.warnf(in.advertPos, "%s: VRRPv2 advert_int must be whole seconds; %v rounded to %v (as keepalived)", ctx, d, r)
			in.AdvertInt = r
		}
		return
	}
	const centi = 10 * time.Millisecond
	if d > 4095*centi {
		p.diags.errorf(in.advertPos, "%s: advert_int %v out of range for VRRPv3 (0.01..40.95 s)", ctx, d)
		return
	}
	if r := d.Round(centi); r != d {
		r = max(r, centi)
		p.diags.warnf(in.advertPos, "%s: VRRPv3 advert_int must be in units of 10ms; %v rounded to %v (as keepalived)", ctx, d, r)
		in.AdvertInt = r
	}
}
