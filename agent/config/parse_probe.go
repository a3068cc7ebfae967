package config

import (
	"net/url"
	"time"
)

// restartKeywords are hagent's restart_* extension, shared by the three
// kinds of checks.
func (p *parser) restartKeywords(ctx string, r *Restart, at *Pos, attemptsSet *bool) map[string]keyword {
	return map[string]keyword{
		"restart_command": value(func(s *stmt) {
			if p.command(ctx, s, &r.Command) {
				*at = s.pos()
			}
		}),
		"restart_attempts": value(func(s *stmt) {
			if p.intIn(ctx, s, 1, 100, &r.Attempts) {
				*attemptsSet = true
			}
		}),
		"restart_backoff": value(func(s *stmt) {
			p.seconds(ctx, s, 0, true, &r.Backoff)
		}),
	}
}

// finishRestart applies the default attempt count and flags settings that
// have no command to act on.
func (p *parser) finishRestart(ctx string, s *stmt, r *Restart, attemptsSet bool) {
	if r.Command == "" {
		if attemptsSet || r.Backoff != 0 {
			p.diags.warnf(s.pos(), "%s: restart_attempts and restart_backoff are ignored without restart_command", ctx)
		}
		*r = Restart{}
		return
	}
	if !attemptsSet {
		r.Attempts = 1
	}
}

// merge adds the keywords of extra to base.
func merge(base, extra map[string]keyword) map[string]keyword {
	for k, v := range extra {
		base[k] = v
	}
	return base
}

// script reads a vrrp_script block.
func (p *parser) script(s *stmt) {
	name, ok := p.name("vrrp_script", s)
	if !ok {
		return
	}
	ctx := "vrrp_script " + name
	sc := &Script{Name: name, Interval: time.Second, Fall: 1, Rise: 1, Pos: s.pos()}
	var attemptsSet bool
	p.readBlock(blockSpec{
		ctx: ctx,
		keywords: merge(map[string]keyword{
			"script": value(func(s *stmt) {
				if p.command(ctx, s, &sc.Script) {
					sc.scriptPos = s.pos()
				}
			}),
			"interval": value(func(s *stmt) { p.seconds(ctx, s, time.Microsecond, false, &sc.Interval) }),
			"timeout":  value(func(s *stmt) { p.seconds(ctx, s, time.Microsecond, false, &sc.Timeout) }),
			"weight":   value(func(s *stmt) { p.weight(ctx, s, &sc.Weight, &sc.Reverse) }),
			"fall":     value(func(s *stmt) { p.count(ctx, s, &sc.Fall) }),
			"rise":     value(func(s *stmt) { p.count(ctx, s, &sc.Rise) }),
			"user": value(func(s *stmt) {
				if p.args(ctx, s, 1, 2) {
					sc.User = s.args[0].text
					if len(s.args) > 1 {
						sc.Group = s.args[1].text
					}
				}
			}),
			"init_fail": value(func(s *stmt) {
				p.args(ctx, s, 0, 0)
				sc.InitFail = true
			}),
		}, p.restartKeywords(ctx, &sc.Restart, &sc.restartPos, &attemptsSet)),
	}, s.block)
	p.finishRestart(ctx, s, &sc.Restart, attemptsSet)
	if sc.Script == "" {
		p.diags.errorf(s.pos(), "%s: no script given", ctx)
	}
	if sc.Timeout == 0 {
		sc.Timeout = sc.Interval
	}
	p.cfg.Scripts[name] = sc
}

// trackProcess reads a vrrp_track_process block.
func (p *parser) trackProcess(s *stmt) {
	name, ok := p.name("vrrp_track_process", s)
	if !ok {
		return
	}
	ctx := "vrrp_track_process " + name
	tp := &TrackProcess{Name: name, ParamMatch: "exact", Quorum: 1, Pos: s.pos()}
	var attemptsSet, termSet, forkSet bool
	p.readBlock(blockSpec{
		ctx: ctx,
		keywords: merge(map[string]keyword{
			"process": value(func(s *stmt) {
				if p.args(ctx, s, 1, -1) {
					tp.Process = s.args[0].text
					tp.Params = nil
					for _, a := range s.args[1:] {
						tp.Params = append(tp.Params, a.text)
					}
				}
			}),
			"param_match": value(func(s *stmt) {
				var m string
				if !p.str(ctx, s, &m) {
					return
				}
				switch m {
				case "exact", "initial", "partial":
					tp.ParamMatch = m
				default:
					p.fail(s, "%s: param_match %q must be initial or partial", ctx, m)
				}
			}),
			"quorum":     value(func(s *stmt) { p.intIn(ctx, s, 1, 65535, &tp.Quorum) }),
			"quorum_max": value(func(s *stmt) { p.intIn(ctx, s, 1, 65535, &tp.QuorumMax) }),
			"weight":     value(func(s *stmt) { p.weight(ctx, s, &tp.Weight, &tp.Reverse) }),
			"delay": value(func(s *stmt) {
				if p.seconds(ctx, s, 0, false, &tp.Delay) {
					// keepalived: delay sets both delays unless they are given.
					if !termSet {
						tp.TerminateDelay = tp.Delay
					}
					if !forkSet {
						tp.ForkDelay = tp.Delay
					}
				}
			}),
			"terminate_delay": value(func(s *stmt) {
				termSet = p.seconds(ctx, s, 0, false, &tp.TerminateDelay) || termSet
			}),
			"fork_delay": value(func(s *stmt) {
				forkSet = p.seconds(ctx, s, 0, false, &tp.ForkDelay) || forkSet
			}),
			"full_command": value(func(s *stmt) {
				p.args(ctx, s, 0, 0)
				tp.FullCommand = true
			}),
			// hagent extension: count only processes in the agent's own network
			// namespace (hosts that share a PID namespace, such as containers or the lab).
			"same_netns": value(func(s *stmt) {
				p.args(ctx, s, 0, 0)
				tp.SameNetNS = true
			}),
		}, p.restartKeywords(ctx, &tp.Restart, &tp.restartPos, &attemptsSet)),
	}, s.block)
	p.finishRestart(ctx, s, &tp.Restart, attemptsSet)
	if tp.Process == "" {
		p.diags.errorf(s.pos(), "%s: no process given", ctx)
	}
	if tp.QuorumMax != 0 && tp.QuorumMax < tp.Quorum {
		p.diags.errorf(s.pos(), "%s: quorum_max %d is below quorum %d", ctx, tp.QuorumMax, tp.Quorum)
	}
	p.cfg.Processes[name] = tp
}

// httpCheck reads a vrrp_http_check block (hagent extension).
func (p *parser) httpCheck(s *stmt) {
	name, ok := p.name("vrrp_http_check", s)
	if !ok {
		return
	}
	ctx := "vrrp_http_check " + name
	hc := &HTTPCheck{Name: name, Status: 200, Interval: time.Second, Fall: 1, Rise: 1, Pos: s.pos()}
	var attemptsSet bool
	p.readBlock(blockSpec{
		ctx: ctx,
		keywords: merge(map[string]keyword{
			"url": value(func(s *stmt) {
				var raw string
				if !p.str(ctx, s, &raw) {
					return
				}
				u, err := url.Parse(raw)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					p.fail(s, "%s: url %q must be an absolute http:// or https:// URL", ctx, raw)
					return
				}
				hc.URL = raw
			}),
			"status":        value(func(s *stmt) { p.intIn(ctx, s, 100, 599, &hc.Status) }),
			"body_contains": value(func(s *stmt) { p.command(ctx, s, &hc.BodyContains) }),
			"interval":      value(func(s *stmt) { p.seconds(ctx, s, time.Millisecond, true, &hc.Interval) }),
			"timeout":       value(func(s *stmt) { p.seconds(ctx, s, time.Millisecond, true, &hc.Timeout) }),
			"weight":        value(func(s *stmt) { p.weight(ctx, s, &hc.Weight, &hc.Reverse) }),
			"fall":          value(func(s *stmt) { p.count(ctx, s, &hc.Fall) }),
			"rise":          value(func(s *stmt) { p.count(ctx, s, &hc.Rise) }),
		}, p.restartKeywords(ctx, &hc.Restart, &hc.restartPos, &attemptsSet)),
	}, s.block)
	p.finishRestart(ctx, s, &hc.Restart, attemptsSet)
	if hc.URL == "" {
		p.diags.errorf(s.pos(), "%s: url is required", ctx)
	}
	if hc.Timeout == 0 {
		hc.Timeout = hc.Interval
	}
	p.cfg.HTTPChecks[name] = hc
}

// trackFile reads a track_file block, or vrrp_track_file, its deprecated name
// (keepalived 2.2.7 trackers/track_file.c: track_file_handler and the file,
// weight and init_file handlers).
func (p *parser) trackFile(s *stmt) {
	if s.key.text == "vrrp_track_file" {
		p.diags.warnf(s.pos(), "vrrp_track_file is deprecated; use track_file (as keepalived)")
	}
	name, ok := p.name("track_file", s)
	if !ok {
		return
	}
	ctx := "track_file " + name
	tf := &TrackFile{Name: name, Weight: 1, Pos: s.pos()}
	p.readBlock(blockSpec{
		ctx: ctx,
		keywords: map[string]keyword{
			"file": value(func(s *stmt) {
				if tf.Path != "" {
					p.diags.warnf(s.pos(), "%s: file already set; %s ignored (as keepalived)", ctx, joinTokens(s.args))
					return
				}
				p.str(ctx, s, &tf.Path)
			}),
			"weight": value(func(s *stmt) {
				p.weight(ctx, s, &tf.Weight, &tf.Reverse)
				tf.weightSet = true
			}),
			"init_file": value(func(s *stmt) {
				// track_file_init_handler: an optional integer and an optional "overwrite".
				tf.Init, tf.InitValue, tf.Overwrite = true, 0, false
				for _, a := range s.args {
					if a.text == "overwrite" {
						tf.Overwrite = true
						continue
					}
					n, err := parseInt(a.text)
					if err != nil {
						p.fail(s, "%s: init_file: %q is neither an integer nor overwrite", ctx, a.text)
						continue
					}
					if n < -254 || n > 254 {
						p.diags.warnf(s.pos(), "%s: init_file value %d is outside the sensible range -254..254 (as keepalived)", ctx, n)
					}
					tf.InitValue = n
				}
			}),
		},
	}, s.block)
	if tf.Path == "" {
		p.diags.errorf(s.pos(), "%s: no file given", ctx)
	}
	p.cfg.TrackFiles[name] = tf
}
