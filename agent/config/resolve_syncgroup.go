package config

// resolveSyncGroups gives each vrrp_sync_group its members and applies its
// tracking rules to them, as keepalived 2.2.7 does when it completes the
// config:
//   - vrrp_sync.c vrrp_sync_set_group: a member must exist and be in no other
//     group (the checker warns about the others);
//   - vrrp.c vrrp_complete_instance: without sync_group_tracking_weight a
//     member's weighted track_script is ignored and its track_interface
//     weights are set to 0 (a failure is a FAULT of the group); weighted
//     track_process lines are left alone, as 2.2.7 does;
//   - vrrp.c sync_group_tracking_init: the group's track_* lines are added to
//     every member, their weights cleared when a member is the address owner.
func (p *parser) resolveSyncGroups() {
	byName := make(map[string]*Instance, len(p.cfg.Instances))
	for _, in := range p.cfg.Instances {
		byName[in.Name] = in
	}
	for _, sg := range p.cfg.SyncGroups {
		ctx := "vrrp_sync_group " + sg.Name
		sg.Members = nil
		owner := false
		for _, name := range sg.Instances {
			in := byName[name]
			if in == nil || in.SyncGroup != sg.Name || containsString(sg.Members, name) {
				continue
			}
			sg.Members = append(sg.Members, name)
			owner = owner || in.Priority == 255
		}
		if len(sg.Members) == 1 {
			p.diags.warnf(sg.Pos, "%s: has only 1 virtual router; this probably isn't what you want (as keepalived)", ctx)
		}
		if owner {
			for i, r := range sg.TrackFiles {
				if p.trackFileWeight(r) != 0 {
					p.diags.warnf(r.Pos, "%s: cannot have weighted track_file %s with a member of priority 255; weight set to 0 (as keepalived)", ctx, r.Name)
					sg.TrackFiles[i].Weight, sg.TrackFiles[i].WeightSet, sg.TrackFiles[i].Reverse = 0, true, p.trackFileReverse(r)
				}
			}
			for _, list := range []*[]TrackRef{&sg.TrackScripts, &sg.TrackInterfaces, &sg.TrackProcesses} {
				for i, r := range *list {
					if r.WeightSet && r.Weight != 0 || !r.WeightSet && p.trackedWeight(r.Name) != 0 {
						p.diags.warnf(r.Pos, "%s: cannot have weighted track %s with a member of priority 255; weight cleared (as keepalived)", ctx, r.Name)
						(*list)[i].Weight, (*list)[i].WeightSet = 0, true
					}
				}
			}
		}
		for _, name := range sg.Members {
			in := byName[name]
			if !sg.TrackingWeight {
				p.dropSyncWeights(in)
				p.dropTrackFileWeights(in, "SYNC group "+sg.Name)
			}
			in.TrackScripts = appendTracks(in.TrackScripts, sg.TrackScripts)
			in.TrackInterfaces = appendTracks(in.TrackInterfaces, sg.TrackInterfaces)
			in.TrackProcesses = appendTracks(in.TrackProcesses, sg.TrackProcesses)
			in.TrackFiles = p.appendGroupTrackFiles(in.TrackFiles, sg.TrackFiles)
		}
	}
}

// dropSyncWeights is vrrp_complete_instance's rule for a member of a sync
// group without sync_group_tracking_weight.
func (p *parser) dropSyncWeights(in *Instance) {
	ctx := "vrrp_instance " + in.Name
	kept := in.TrackScripts[:0]
	for _, r := range in.TrackScripts {
		w := r.Weight
		if !r.WeightSet {
			w = p.trackedWeight(r.Name)
		}
		if w != 0 {
			p.diags.warnf(r.Pos, "%s: ignoring tracked script %s with weights due to SYNC group %s (as keepalived; set sync_group_tracking_weight to keep them)", ctx, r.Name, in.SyncGroup)
			continue
		}
		kept = append(kept, r)
	}
	in.TrackScripts = kept
	for i, r := range in.TrackInterfaces {
		if r.WeightSet && r.Weight != 0 {
			p.diags.warnf(r.Pos, "%s: ignoring weight of tracked interface %s due to SYNC group %s: a failure is a FAULT (as keepalived)", ctx, r.Name, in.SyncGroup)
			in.TrackInterfaces[i].Weight = 0
		}
	}
}

// trackedWeight is the weight of a vrrp_script or vrrp_http_check block.
func (p *parser) trackedWeight(name string) int {
	if s, ok := p.cfg.Scripts[name]; ok {
		return s.Weight
	}
	if h, ok := p.cfg.HTTPChecks[name]; ok {
		return h.Weight
	}
	if t, ok := p.cfg.Processes[name]; ok {
		return t.Weight
	}
	return 0
}

// appendTracks adds the group's lines an instance does not track itself.
func appendTracks(own, group []TrackRef) []TrackRef {
	for _, g := range group {
		dup := false
		for _, o := range own {
			dup = dup || o.Name == g.Name
		}
		if !dup {
			own = append(own, g)
		}
	}
	return own
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// trackFileWeight is the weight a track_file line resolves to: its own, else the
// track_file block's (default 1).
func (p *parser) trackFileWeight(r TrackRef) int {
	if r.WeightSet {
		return r.Weight
	}
	if tf, ok := p.cfg.TrackFiles[r.Name]; ok {
		return tf.Weight
	}
	return 1
}

func (p *parser) trackFileReverse(r TrackRef) bool {
	if r.WeightSet {
		return r.Reverse
	}
	if tf, ok := p.cfg.TrackFiles[r.Name]; ok {
		return tf.Reverse
	}
	return false
}

// dropTrackFileWeights is vrrp_complete_instance's rule for the track_file lines of an
// address owner, or of a sync group member without sync_group_tracking_weight: the
// default weight 1 becomes 0 (a non-zero value is then a FAULT), any other weight
// drops the line.
func (p *parser) dropTrackFileWeights(in *Instance, why string) {
	ctx := "vrrp_instance " + in.Name
	kept := in.TrackFiles[:0]
	for _, r := range in.TrackFiles {
		switch w := p.trackFileWeight(r); w {
		case 0:
		case 1:
			p.diags.warnf(r.Pos, "%s: ignoring weight from tracked file %s due to %s; specify weight 0 (as keepalived)", ctx, r.Name, why)
			r.Weight, r.WeightSet, r.Reverse = 0, true, p.trackFileReverse(r)
		default:
			p.diags.warnf(r.Pos, "%s: ignoring tracked file %s with weight %d due to %s (as keepalived)", ctx, r.Name, w, why)
			continue
		}
		kept = append(kept, r)
	}
	in.TrackFiles = kept
}

// appendGroupTrackFiles adds a sync group's track_file lines to a member. A file the
// member tracks itself takes the group's weight unless the member's line is
// unweighted (trackers/track_file.c add_obj_to_track_file).
func (p *parser) appendGroupTrackFiles(own, group []TrackRef) []TrackRef {
	for _, g := range group {
		dup := false
		for i, o := range own {
			if o.Name != g.Name {
				continue
			}
			dup = true
			if p.trackFileWeight(o) != 0 {
				pos := o.Pos
				own[i] = g
				own[i].Pos = pos
			}
		}
		if !dup {
			own = append(own, g)
		}
	}
	return own
}
