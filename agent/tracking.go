package agent

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/hagent-dev/hagent/agent/config"
	"github.com/hagent-dev/hagent/agent/probe"
	"github.com/hagent-dev/hagent/agent/vrrp"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// probeHistory is how many results of each probe the API shows.
const probeHistory = 16

// track is how one instance uses one probe: keepalived's weight semantics, with the
// weight and reverse of the track_* line overriding the probe's own.
type track struct {
	key     string // probe key: kind + ":" + name
	name    string
	kind    string
	weight  int
	reverse bool
}

// probeView is the instance's copy of a probe's state, for status.
type probeView struct {
	name    string
	kind    string
	weight  int
	healthy bool
	// pending: no first result yet; healthy means nothing until then.
	pending bool
	value   int64 // a track_file's number
	reason  string
	results []probe.Result
}

// waitingReason is a pending probe's reason, in status and the console.
const waitingReason = "waiting for its first result"

// trackSource names a tracked probe as a fault or priority source of the state machine.
func trackSource(t track) string { return t.kind + " " + t.name }

// stepUnreported tells the state machine, before Start, which tracked probes have not
// reported yet: a weight-0 one holds the instance in INIT, any holds off preemption
// (keepalived's SCRIPT_INIT_STATE_INIT).
func (in *instance) stepUnreported(now time.Time) {
	keys := make([]string, 0, len(in.tracks))
	for k := range in.tracks {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v := in.probeViews[k]; v != nil && v.pending {
			t := in.tracks[k]
			in.step(now, vrrp.Unreported{Source: trackSource(t), Fault: t.weight == 0})
		}
	}
}

// probeMsg carries one probe event to an instance.
type probeMsg struct {
	key string
	ev  probe.Event
}

func probeKey(kind, name string) string { return kind + ":" + name }

// tracksOf resolves an instance's track_script, track_process and track_interface lines.
func tracksOf(cfg *config.Config, ic *config.Instance) map[string]track {
	out := map[string]track{}
	for _, r := range ic.TrackScripts {
		if s, ok := cfg.Scripts[r.Name]; ok {
			if s.Disabled != "" {
				// keepalived removes a disabled (insecure) track script from
				// every instance: it neither faults nor weighs.
				continue
			}
			out[probeKey("script", r.Name)] = resolveTrack("script", r, s.Weight, s.Reverse)
		} else if h, ok := cfg.HTTPChecks[r.Name]; ok {
			out[probeKey("http", r.Name)] = resolveTrack("http", r, h.Weight, h.Reverse)
		}
	}
	for _, r := range ic.TrackProcesses {
		if p, ok := cfg.Processes[r.Name]; ok {
			out[probeKey("process", r.Name)] = resolveTrack("process", r, p.Weight, p.Reverse)
		}
	}
	for _, r := range ic.TrackInterfaces {
		out[probeKey("interface", r.Name)] = resolveTrack("interface", r, 0, false)
	}
	for _, r := range ic.TrackFiles {
		if f, ok := cfg.TrackFiles[r.Name]; ok {
			out[probeKey("file", r.Name)] = resolveTrack("file", r, f.Weight, f.Reverse)
		}
	}
	return out
}

func resolveTrack(kind string, r config.TrackRef, weight int, reverse bool) track {
	t := track{key: probeKey(kind, r.Name), name: r.Name, kind: kind, weight: weight, reverse: reverse}
	if r.WeightSet {
		t.weight, t.reverse = r.Weight, r.Reverse
	}
	return t
}

// onProbe applies a probe event with keepalived's semantics: weight 0 makes a failure
// FAULT; a positive weight is added while the probe succeeds; a negative one while it
// fails; reverse swaps success and failure.
func (in *instance) onProbe(now time.Time, m probeMsg) {
	t, ok := in.tracks[m.key]
	if !ok {
		return
	}
	v := in.probeViews[m.key]
	if c := m.ev.Change; c != nil && c.Pending {
		// The probe started and has no result yet: nothing counts (stepUnreported).
		return
	}
	r := m.ev.Result
	if !r.Started.IsZero() {
		v.results = append(v.results, r)
		if len(v.results) > probeHistory {
			v.results = v.results[len(v.results)-probeHistory:]
		}
	}
	changed := m.ev.Change != nil
	if changed {
		v.healthy = m.ev.Change.Healthy
		v.value = m.ev.Change.Value
		v.reason = m.ev.Change.Reason
		v.pending = false
	}
	if !r.Started.IsZero() {
		in.a.publish(&hactlv1.WatchResponse{Event: &hactlv1.WatchResponse_ProbeResult{ProbeResult: &hactlv1.ProbeResultEvent{
			Instance: in.name, Probe: t.name, Result: probeResultProto(r), Healthy: v.healthy, Changed: changed,
		}}})
	}
	if !changed {
		return
	}
	in.log.Info("probe changed", "probe", t.name, "kind", t.kind, "healthy", v.healthy, "reason", v.reason)
	in.applyTrack(now, t, v)
}

// applyTrack feeds the state machine what a probe's health means for this instance.
func (in *instance) applyTrack(now time.Time, t track, v *probeView) {
	src := trackSource(t)
	if t.kind == "file" {
		in.applyTrackFile(now, t, v, src)
		return
	}
	ok := v.healthy != t.reverse
	switch {
	case t.weight == 0 && ok:
		in.step(now, vrrp.FaultCleared{Source: src})
	case t.weight == 0:
		reason := v.reason
		if reason == "" {
			reason = "failed"
		}
		in.step(now, vrrp.Fault{Source: src, Reason: reason})
	case t.weight > 0 && ok, t.weight < 0 && !ok:
		in.step(now, vrrp.PriorityDelta{Source: src, Delta: t.weight})
	default:
		in.step(now, vrrp.PriorityDelta{Source: src, Delta: 0})
	}
}

// applyTrackFile weighs a track_file's value as keepalived 2.2.7
// (trackers/track_file.c update_track_file_status, process_update_vrrp_track_file_status):
// with weight 0 a non-zero value is a FAULT (reverse: a zero value is); otherwise
// value × weight (negated by reverse) is added to the priority, capped at 253, and
// -254 or less is a FAULT.
func (in *instance) applyTrackFile(now time.Time, t track, v *probeView, src string) {
	fault, delta := trackFileStatus(v.value, t.weight, t.reverse)
	if fault {
		in.step(now, vrrp.PriorityDelta{Source: src, Delta: 0})
		in.step(now, vrrp.Fault{Source: src, Reason: v.reason})
		return
	}
	in.step(now, vrrp.PriorityDelta{Source: src, Delta: delta})
	in.step(now, vrrp.FaultCleared{Source: src})
}

// trackFileStatus is what a track_file's value means for one tracking instance.
func trackFileStatus(value int64, weight int, reverse bool) (fault bool, delta int) {
	if weight == 0 {
		return (value != 0) != reverse, 0
	}
	mult := int64(1)
	if reverse {
		mult = -1
	}
	s := value * int64(weight) * mult // |value| <= 2^31, |weight| <= 254: no overflow
	switch {
	case s <= -254:
		return true, 0
	case s > 253:
		return false, 253
	}
	return false, int(s)
}

// probes runs each probe the config tracks once, however many instances track it.
type probes struct {
	log *slog.Logger
	// reload: started by a reload, when init_file ... overwrite leaves files alone.
	reload bool
	hub    *probe.ProcHub
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newProbes(log *slog.Logger) *probes {
	return &probes{log: log}
}

// start runs every probe some instance tracks; deliver hands each event on.
func (p *probes) start(ctx context.Context, cfg *config.Config, deliver func(key string, ev probe.Event)) {
	ctx, p.cancel = context.WithCancel(ctx)
	used := map[string]bool{}
	for _, ic := range cfg.Instances {
		for k := range tracksOf(cfg, ic) {
			used[k] = true
		}
	}
	keys := make([]string, 0, len(used))
	for k := range used {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		pr, err := p.build(cfg, key)
		if err != nil {
			p.log.Error("probe not started", "probe", key, "err", err)
			continue
		}
		ch := make(chan probe.Event, 64)
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			defer close(ch)
			pr.Run(ctx, ch)
		}()
		go func() {
			defer p.wg.Done()
			for ev := range ch {
				deliver(key, ev)
			}
		}()
	}
}

func (p *probes) build(cfg *config.Config, key string) (probe.Probe, error) {
	kind, name := splitKey(key)
	switch kind {
	case "script":
		s := cfg.Scripts[name]
		user, group := s.User, s.Group
		if user == "" {
			// global_defs script_user is the default for every script.
			user, group = cfg.Global.ScriptUser, cfg.Global.ScriptGroup
		}
		restart := restartSpec(s.Restart, cfg.Global)
		restart.User, restart.Group = user, group // a check's restart runs as the check
		return probe.NewScript(probe.ScriptSpec{
			Name: name, Script: s.Script, Interval: s.Interval, Timeout: s.Timeout,
			Fall: s.Fall, Rise: s.Rise, User: user, Group: group, InitFail: s.InitFail,
			Secure: cfg.Global.EnableScriptSecurity, Restart: restart,
		})
	case "http":
		h := cfg.HTTPChecks[name]
		return probe.NewHTTP(probe.HTTPSpec{
			Name: name, URL: h.URL, Status: h.Status, BodyContains: h.BodyContains,
			Interval: h.Interval, Timeout: h.Timeout, Fall: h.Fall, Rise: h.Rise,
			Restart: restartSpec(h.Restart, cfg.Global),
		})
	case "process":
		if p.hub == nil {
			p.hub = probe.NewProcHub(p.log)
		}
		t := cfg.Processes[name]
		spec := probe.ProcessSpec{
			Name: name, Process: t.Process, FullCommand: t.FullCommand, Params: t.Params,
			ParamMatch: t.ParamMatch, Quorum: t.Quorum, QuorumMax: t.QuorumMax, Delay: t.Delay,
			TerminateDelay: t.TerminateDelay, ForkDelay: t.ForkDelay,
			Restart: restartSpec(t.Restart, cfg.Global),
		}
		if len(t.Params) == 0 {
			// The config's default param_match "exact" only means something with
			// parameters; without them keepalived matches the name against comm,
			// and the probe reads any ParamMatch as "compare the command line".
			spec.ParamMatch = ""
		}
		if t.SameNetNS {
			ino, err := probe.NetNSInode(0)
			if err != nil {
				return nil, err
			}
			spec.NetNSInode = ino
		}
		return probe.NewProcess(p.hub, spec)
	case "file":
		f := cfg.TrackFiles[name]
		fp, err := probe.NewFile(probe.FileSpec{Name: name, Path: f.Path, Init: f.Init, InitValue: f.InitValue, Overwrite: f.Overwrite})
		if err != nil {
			return nil, err
		}
		if err := fp.InitFile(p.reload); err != nil {
			p.log.Warn("track_file not initialised", "track_file", name, "err", err)
		}
		return fp, nil
	default:
		return probe.NewInterface(probe.InterfaceSpec{Name: name, Ifname: name})
	}
}

// restartSpec is a check's restart command; it runs as global_defs script_user (else
// keepalived's default user), like every script.
func restartSpec(r config.Restart, g config.Global) probe.Restart {
	return probe.Restart{Command: r.Command, Attempts: r.Attempts, Backoff: r.Backoff, User: g.ScriptUser, Group: g.ScriptGroup,
		Secure: g.EnableScriptSecurity}
}

func splitKey(key string) (kind, name string) {
	for i := range len(key) {
		if key[i] == ':' {
			return key[:i], key[i+1:]
		}
	}
	return "", key
}

func (p *probes) stopAll() {
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
}

// deliverProbeEvent hands a probe event to every instance that tracks the probe, and
// keeps the probe's last state change for the instances that start later. It reads each
// instance's tracks under a.mu, under which a reload replaces them.
func (a *Agent) deliverProbeEvent(key string, ev probe.Event) {
	a.mu.Lock()
	if ev.Change != nil {
		a.probeLast[key] = *ev.Change
	}
	var to []*instance
	for _, n := range a.order {
		if in := a.instances[n]; in != nil {
			if _, ok := in.tracks[key]; ok {
				to = append(to, in)
			}
		}
	}
	a.mu.Unlock()
	for _, in := range to {
		in.send(probeMsg{key: key, ev: ev})
	}
}

// replayProbes gives a starting instance the last state of every probe it tracks, before
// the state machine starts: probes are shared and report only changes, so an instance a
// reload restarted (or added) would otherwise believe a down interface or a failing
// check healthy until it changes again. The instance is registered before its loop
// runs, and deliverProbeEvent records a change before it looks the instances up, so
// every change reaches it, here or through its inbox afterwards (twice is harmless).
func (in *instance) replayProbes(now time.Time) {
	in.a.mu.Lock()
	var keys []string
	last := map[string]probe.StateChange{}
	for key := range in.tracks {
		if c, ok := in.a.probeLast[key]; ok {
			keys = append(keys, key)
			last[key] = c
		}
	}
	in.a.mu.Unlock()
	sort.Strings(keys)
	for _, key := range keys {
		c := last[key]
		in.onProbe(now, probeMsg{key: key, ev: probe.Event{Change: &c}})
	}
}

func probeResultProto(r probe.Result) *hactlv1.ProbeResult {
	out := r.Output
	if r.Err != "" {
		out = r.Err
		if r.Output != "" {
			// A failing script's own words ("nginx down") are the useful part.
			out += ": " + r.Output
		}
	}
	return &hactlv1.ProbeResult{
		At: timestamppb.New(r.Started), Ok: r.OK, Duration: durationpb.New(r.Duration), Output: out,
	}
}
