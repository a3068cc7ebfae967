// Package explain says, in sentences built from the agents' snapshots, why an instance's
// master is the master and what would happen next: for each node and tracked check,
// which node takes over if it fails and after how long (the Skew_Time and
// Master_Down_Interval arithmetic of the configuration in force), and what losing a node
// costs. hactl explain and the console's explain pane share it.
package explain

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/hagent-dev/hagent/agent/vrrp"
	"github.com/hagent-dev/hagent/cluster"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// Report is the explanation of one instance, in sections of sentences.
type Report struct {
	Instance string   `json:"instance"`
	Summary  string   `json:"summary"`
	Why      []string `json:"why"`
	Nodes    []string `json:"nodes"`
	Next     []string `json:"next"`
}

// Lines is the report as text, one sentence a line, with section titles.
func (r Report) Lines() []string {
	out := []string{r.Summary}
	out = append(out, "Why:")
	for _, s := range r.Why {
		out = append(out, "  "+s)
	}
	out = append(out, "Nodes:")
	for _, s := range r.Nodes {
		out = append(out, "  "+s)
	}
	out = append(out, "Next:")
	for _, s := range r.Next {
		out = append(out, "  "+s)
	}
	return out
}

// member is one reachable node's copy of the instance.
type member struct {
	node        string
	in          *hactlv1.Instance
	maintenance bool
	addr        netip.Addr
}

func (m member) eff() int { return int(m.in.GetEffectivePriority()) }

// eligible says whether the node can be master: running, not in FAULT, not held out.
func (m member) eligible() bool {
	s := m.in.GetState()
	return (s == hactlv1.State_STATE_MASTER || s == hactlv1.State_STATE_BACKUP) && !m.maintenance && m.eff() > 0
}

// Explain builds the report of the instance called name from the reachable nodes.
func Explain(name string, nodes []cluster.NodeStatus) (Report, error) {
	var ms []member
	for _, n := range nodes {
		if !n.Reachable {
			continue
		}
		if in := n.Instance(name); in != nil {
			a, _ := netip.ParseAddr(in.GetPrimaryAddress())
			ms = append(ms, member{node: n.Name, in: in, maintenance: n.Node.GetMaintenance() || in.GetMaintenance(), addr: a})
		}
	}
	if len(ms) == 0 {
		return Report{}, fmt.Errorf("no reachable agent runs instance %q", name)
	}
	in0 := ms[0].in
	r := Report{Instance: name, Summary: fmt.Sprintf("%s: VRID %d, VRRPv%d, advert_int %s, %d node(s)",
		name, in0.GetVrid(), in0.GetVersion(), in0.GetTiming().GetConfigured().AsDuration(), len(ms))}
	var masters []member
	for _, m := range ms {
		if m.in.GetState() == hactlv1.State_STATE_MASTER {
			masters = append(masters, m)
		}
		r.Nodes = append(r.Nodes, nodeLine(m))
	}
	switch len(masters) {
	case 0:
		r.Why = append(r.Why, "No node is master: "+noMasterWhy(ms))
	case 1:
		r.Why = append(r.Why, whyMaster(masters[0], ms)...)
	default:
		var names []string
		for _, m := range masters {
			names = append(names, m.node)
		}
		r.Why = append(r.Why, fmt.Sprintf("%s are all MASTER: a split brain (they do not hear each other's adverts; see hactl lint).", strings.Join(names, " and ")))
	}
	if len(masters) == 1 {
		r.Next = next(masters[0], ms)
	}
	return r, nil
}

func nodeLine(m member) string {
	in := m.in
	s := fmt.Sprintf("%s %s: base priority %d, effective %d", m.node, stateName(in.GetState()), in.GetBasePriority(), in.GetEffectivePriority())
	var cs []string
	for _, c := range in.GetContributions() {
		cs = append(cs, fmt.Sprintf("%s %+d", c.GetSource(), c.GetDelta()))
	}
	for _, f := range in.GetFaults() {
		cs = append(cs, fmt.Sprintf("fault %s: %s", f.GetSource(), f.GetReason()))
	}
	if len(cs) > 0 {
		s += " (" + strings.Join(cs, ", ") + ")"
	}
	c := in.GetConfig()
	if c.GetNopreempt() {
		s += "; nopreempt"
	} else {
		s += "; preempt"
		if d := c.GetPreemptDelay().AsDuration(); d > 0 {
			s += " after " + d.String()
		}
	}
	if o := in.GetOverride(); o.GetMode() != hactlv1.OverrideMode_OVERRIDE_MODE_NONE && o.GetMode() != hactlv1.OverrideMode_OVERRIDE_MODE_UNSPECIFIED {
		s += "; override " + strings.ToLower(strings.TrimPrefix(o.GetMode().String(), "OVERRIDE_MODE_"))
		if o.GetWho() != "" {
			s += " by " + o.GetWho()
		}
	}
	if m.maintenance {
		s += "; in maintenance"
	}
	if g := in.GetSyncGroup(); g != "" {
		s += "; sync group " + g + " (its members move together)"
	}
	if reason := in.GetStateReason(); reason != "" {
		s += "; last change: " + reason
	}
	return s
}

func stateName(s hactlv1.State) string { return strings.TrimPrefix(s.String(), "STATE_") }

func noMasterWhy(ms []member) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, m.node+" "+stateName(m.in.GetState()))
	}
	return strings.Join(parts, ", ") + "."
}

// whyMaster explains the one master: an override, the highest priority, a tie won by
// the higher address, or a backup of higher priority that does not preempt.
func whyMaster(ma member, ms []member) []string {
	var why []string
	if o := ma.in.GetOverride(); o.GetMode() == hactlv1.OverrideMode_OVERRIDE_MODE_TAKEOVER {
		why = append(why, fmt.Sprintf("%s is master by an operator's takeover override.", ma.node))
	}
	var higher, equal, lower []string
	for _, m := range ms {
		if m.node == ma.node {
			continue
		}
		desc := fmt.Sprintf("%s %d", m.node, m.eff())
		switch {
		case !m.eligible():
			lower = append(lower, m.node+" "+notEligible(m))
		case m.eff() > ma.eff():
			higher = append(higher, desc)
			reason := "it does not preempt (nopreempt)"
			if !m.in.GetConfig().GetNopreempt() {
				reason = "its preempt_delay has not run out"
			}
			why = append(why, fmt.Sprintf("%s has a higher priority (%d) but %s.", m.node, m.eff(), reason))
		case m.eff() == ma.eff():
			equal = append(equal, desc)
			// RFC 5798 6.4.2: a backup does not preempt an equal priority; 6.4.3: of two
			// masters the higher primary address wins.
			winner := ma
			if m.addr.Compare(ma.addr) > 0 {
				winner = m
			}
			why = append(why, fmt.Sprintf("%s has the same priority %d: a backup does not preempt an equal priority, so the first master keeps it (if both claim it, the higher address %s of %s wins).",
				m.node, m.eff(), winner.addr, winner.node))
		default:
			lower = append(lower, desc)
		}
	}
	if len(higher) == 0 && len(equal) == 0 {
		s := fmt.Sprintf("%s (%s) is master with the highest effective priority, %d", ma.node, ma.in.GetPrimaryAddress(), ma.eff())
		if len(lower) > 0 {
			s += " (" + strings.Join(lower, ", ") + ")"
		}
		why = append([]string{s + "."}, why...)
	}
	return why
}

func notEligible(m member) string {
	switch {
	case m.maintenance:
		return "in maintenance"
	case m.in.GetState() != hactlv1.State_STATE_BACKUP && m.in.GetState() != hactlv1.State_STATE_MASTER:
		return "in " + stateName(m.in.GetState())
	}
	return "at priority 0"
}

// next answers "what if" for each node's tracked checks and for the loss of each node.
func next(ma member, ms []member) []string {
	var out []string
	for _, m := range ms {
		for _, p := range m.in.GetProbes() {
			out = append(out, probeFails(ma, ms, m, p))
		}
	}
	for _, m := range ms {
		if m.node != ma.node {
			out = append(out, fmt.Sprintf("If %s is lost, %s stays master.", m.node, ma.node))
			continue
		}
		succ, ok := successor(ms, ma.node, nil)
		if !ok {
			out = append(out, fmt.Sprintf("If %s is lost, no node takes over: the VIPs are down.", m.node))
			continue
		}
		d := masterDown(succ, succ.eff())
		out = append(out, fmt.Sprintf("If %s is lost, %s becomes master after about %s (Master_Down_Interval: 3 × %s + Skew_Time %s).",
			m.node, succ.node, secs(d), adverInt(succ), secs(skew(succ, succ.eff()))))
	}
	return out
}

// probeFails is what happens when p fails on node m while ma is master.
func probeFails(ma member, ms []member, m member, p *hactlv1.Probe) string {
	head := fmt.Sprintf("If %s fails on %s", p.GetName(), m.node)
	if !p.GetHealthy() {
		return fmt.Sprintf("%s: it is failing already.", head)
	}
	w := int(p.GetWeight())
	if w == 0 {
		head += " (no weight: FAULT)"
		if m.node != ma.node {
			return fmt.Sprintf("%s, %s stays master.", head, ma.node)
		}
		succ, ok := successor(ms, ma.node, nil)
		if !ok {
			return fmt.Sprintf("%s, no node takes over: the VIPs are down.", head)
		}
		// The master sends priority 0; the backup takes over after its Skew_Time
		// (RFC 5798 6.4.2: "If the Priority in the ADVERTISEMENT is zero").
		return fmt.Sprintf("%s, %s becomes master after about %s (Skew_Time at priority %d after %s's priority-0 advert).",
			head, succ.node, secs(skew(succ, succ.eff())), succ.eff(), ma.node)
	}
	// A positive weight is added while healthy, a negative one while failing (keepalived).
	cur := 0
	for _, c := range m.in.GetContributions() {
		if strings.HasSuffix(c.GetSource(), " "+p.GetName()) {
			cur = int(c.GetDelta())
		}
	}
	after := 0
	if w < 0 {
		after = w
	}
	newEff := max(m.eff()-cur+after, 1)
	head += fmt.Sprintf(" (weight %+d: priority %d → %d)", w, m.eff(), newEff)
	over := map[string]int{m.node: newEff}
	if m.node != ma.node {
		// A backup's priority only goes down: the master keeps its place.
		return fmt.Sprintf("%s, %s stays master.", head, ma.node)
	}
	succ, ok := successor(ms, ma.node, over)
	if !ok || prio(succ, over) < newEff || (prio(succ, over) == newEff && succ.addr.Compare(ma.addr) < 0) {
		return fmt.Sprintf("%s, %s stays master.", head, ma.node)
	}
	if succ.in.GetConfig().GetNopreempt() {
		return fmt.Sprintf("%s, %s stays master: %s has a higher priority but nopreempt.", head, ma.node, succ.node)
	}
	// The master advertises its lower priority at once; the backup preempts on it (after
	// preempt_delay, if set).
	if d := succ.in.GetConfig().GetPreemptDelay().AsDuration(); d > 0 {
		return fmt.Sprintf("%s, %s becomes master after its preempt_delay of %s.", head, succ.node, d)
	}
	return fmt.Sprintf("%s, %s becomes master at once (it preempts on %s's next advert).", head, succ.node, ma.node)
}

// successor is the eligible node other than not with the highest priority, ties to the
// higher primary address (RFC 5798 6.4.3).
func successor(ms []member, not string, over map[string]int) (member, bool) {
	var cands []member
	for _, m := range ms {
		if m.node != not && m.eligible() {
			cands = append(cands, m)
		}
	}
	if len(cands) == 0 {
		return member{}, false
	}
	sort.SliceStable(cands, func(i, j int) bool {
		pi, pj := prio(cands[i], over), prio(cands[j], over)
		if pi != pj {
			return pi > pj
		}
		return cands[i].addr.Compare(cands[j].addr) > 0
	})
	return cands[0], true
}

func prio(m member, over map[string]int) int {
	if p, ok := over[m.node]; ok {
		return p
	}
	return m.eff()
}

// adverInt is the Master_Adver_Interval the backup uses: VRRPv3 adopts the master's.
func adverInt(m member) time.Duration {
	t := m.in.GetTiming()
	if d := t.GetMasterAdverInterval().AsDuration(); d > 0 {
		return d
	}
	return t.GetConfigured().AsDuration()
}

func skew(m member, p int) time.Duration {
	return vrrp.SkewTime(uint8(m.in.GetVersion()), uint8(min(max(p, 0), 255)), adverInt(m))
}

func masterDown(m member, p int) time.Duration {
	return vrrp.MasterDownInterval(uint8(m.in.GetVersion()), uint8(min(max(p, 0), 255)), adverInt(m))
}

// secs is a duration in seconds to two decimals: 0.65 s, 3.65 s.
func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
