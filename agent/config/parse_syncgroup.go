package config

// syncGroup reads a vrrp_sync_group block (keepalived 2.2.7 vrrp_parser.c
// vrrp_sync_group's keywords): its members, its track_* lines, which apply
// to every member, the tracking weight switch and its notify scripts.
func (p *parser) syncGroup(s *stmt) {
	name, ok := p.name("vrrp_sync_group", s)
	if !ok {
		return
	}
	ctx := "vrrp_sync_group " + name
	sg := &SyncGroup{Name: name, Pos: s.pos()}
	notify := func(dst *string) func(s *stmt) {
		return func(s *stmt) { p.notify(ctx, s, dst, &sg.NotifyLines) }
	}
	tracks := func(dst *[]TrackRef) func(s *stmt) {
		return func(s *stmt) { *dst = append(*dst, p.trackRefs(ctx, s)...) }
	}
	p.readBlock(blockSpec{
		ctx: ctx,
		keywords: map[string]keyword{
			"group": block(func(s *stmt) {
				for _, e := range s.block {
					for _, t := range e.values() {
						sg.Instances = append(sg.Instances, t.text)
					}
				}
			}),
			"track_script":    block(tracks(&sg.TrackScripts)),
			"track_interface": block(tracks(&sg.TrackInterfaces)),
			"track_process":   block(tracks(&sg.TrackProcesses)),
			"track_file":      block(tracks(&sg.TrackFiles)),
			"track_bfd":       block(func(s *stmt) { p.refuseTrackBFD(ctx, s) }),
			// global_tracking is keepalived's deprecated name for
			// sync_group_tracking_weight (vrrp_parser.c vrrp_gglobal_tracking_handler).
			"global_tracking": value(func(s *stmt) {
				p.diags.warnf(s.pos(), "%s: global_tracking is deprecated; use sync_group_tracking_weight (as keepalived)", ctx)
				sg.TrackingWeight = true
			}),
			"sync_group_tracking_weight": value(func(s *stmt) { sg.TrackingWeight = true }),
			"notify":                     value(notify(&sg.Notify)),
			"notify_master":              value(notify(&sg.NotifyMaster)),
			"notify_backup":              value(notify(&sg.NotifyBackup)),
			"notify_fault":               value(notify(&sg.NotifyFault)),
			"notify_stop":                value(notify(&sg.NotifyStop)),
			"smtp_alert":                 value(func(s *stmt) { p.flag(ctx, s, &sg.SMTPAlert) }),
			"notify_priority_changes": value(func(s *stmt) {
				p.flag(ctx, s, &sg.NotifyPriorityChanges)
				sg.NotifyPriorityChangesSet = true
			}),
		},
	}, s.block)
	p.cfg.SyncGroups = append(p.cfg.SyncGroups, sg)
}
