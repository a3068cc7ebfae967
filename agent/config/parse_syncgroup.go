package config

// syncGroup reads a vrrp_sync_group block. hagent does not act on sync
// groups yet; the block is read so that a keepalived.conf using one loads,
// and so that mistakes in it are still reported.
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
	p.readBlock(blockSpec{
		ctx: ctx,
		ignored: map[string]string{
			"track_interface":            "sync groups are not acted on",
			"track_script":               "sync groups are not acted on",
			"track_process":              "sync groups are not acted on",
			"track_file":                 "sync groups are not acted on",
			"track_bfd":                  "sync groups are not acted on",
			"global_tracking":            "sync groups are not acted on",
			"sync_group_tracking_weight": "sync groups are not acted on",
			"notify_priority_changes":    "sync groups are not acted on",
		},
		keywords: map[string]keyword{
			"group": block(func(s *stmt) {
				for _, e := range s.block {
					for _, t := range e.values() {
						sg.Instances = append(sg.Instances, t.text)
					}
				}
			}),
			"notify":        value(notify(&sg.Notify)),
			"notify_master": value(notify(&sg.NotifyMaster)),
			"notify_backup": value(notify(&sg.NotifyBackup)),
			"notify_fault":  value(notify(&sg.NotifyFault)),
			"notify_stop":   value(notify(&sg.NotifyStop)),
			"smtp_alert":    value(func(s *stmt) { p.flag(ctx, s, &sg.SMTPAlert) }),
		},
	}, s.block)
	p.diags.warnf(s.pos(), "%s: sync groups are parsed but not acted on by hagent yet; its instances run independently", ctx)
	p.cfg.SyncGroups = append(p.cfg.SyncGroups, sg)
}
