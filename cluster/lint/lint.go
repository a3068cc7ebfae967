// Package lint compares a cluster's VRRP instances across its nodes and reports what
// would bite: settings that must agree but differ (version, advert_int, authentication,
// VIPs, unicast peers, preemption, tracks), priority ties, and routers outside the
// cluster heard advertising one of its VRIDs. It works on the agents' status snapshots
// (cluster.NodeStatus); hactl lint and the console's banner share it.
package lint

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/hagent-dev/hagent/cluster"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// Severity is how bad a finding is: an error breaks the cluster (both sides may become
// master, or a VIP moves without its twin); a warning is a surprise waiting to happen.
type Severity string

// The severities.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Value is one node's value of what differs.
type Value struct {
	Node  string `json:"node"`
	Value string `json:"value"`
}

// Finding is one thing lint found about one instance.
type Finding struct {
	Severity Severity `json:"severity"`
	// Instance is the instance's name (names joined with "/" when the nodes disagree).
	Instance string `json:"instance"`
	VRID     uint32 `json:"vrid"`
	// Check names what was compared: version, advert_int, auth_type, auth_pass, vips,
	// excluded_vips, unicast, unicast_peers, priority, preempt, preempt_delay, track,
	// sync_group, instance, foreign_router, foreign_master.
	Check   string  `json:"check"`
	Message string  `json:"message"`
	Values  []Value `json:"values,omitempty"`
	// Why says what the difference breaks.
	Why string `json:"why,omitempty"`
}

// String is the finding on one line: severity, instance, what differs, each node's
// value, why it matters.
func (f Finding) String() string {
	s := fmt.Sprintf("%-7s %s: %s", f.Severity, f.Instance, f.Message)
	if len(f.Values) > 0 {
		parts := make([]string, len(f.Values))
		for i, v := range f.Values {
			parts[i] = v.Node + " " + v.Value
		}
		s += " (" + strings.Join(parts, "; ") + ")"
	}
	if f.Why != "" {
		s += ": " + f.Why
	}
	return s
}

// HasError says whether any finding is an error.
func HasError(fs []Finding) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity == Error })
}

// member is one node's copy of an instance.
type member struct {
	node string
	in   *hactlv1.Instance
}

// group is one VRRP router across the cluster: the instances with one family and VRID.
type group struct {
	key     string
	vrid    uint32
	members []member
}

func (g *group) name() string {
	var names []string
	for _, m := range g.members {
		if !slices.Contains(names, m.in.GetName()) {
			names = append(names, m.in.GetName())
		}
	}
	return strings.Join(names, "/")
}

// Check lints the reachable nodes' instances, grouped by address family and VRID, in
// VRID order. Unreachable nodes are left out (the caller reports them).
func Check(nodes []cluster.NodeStatus) []Finding {
	var live []cluster.NodeStatus
	for _, n := range nodes {
		if n.Reachable && n.Node != nil {
			live = append(live, n)
		}
	}
	groups := map[string]*group{}
	// Every cluster node's source addresses, from stale data too: the adverts of a node
	// whose agent does not answer are not a foreign router's.
	ours := map[netip.Addr]string{}
	for _, n := range nodes {
		for _, in := range n.Node.GetInstances() {
			if a, err := netip.ParseAddr(in.GetPrimaryAddress()); err == nil {
				ours[a] = n.Name
			}
		}
	}
	for _, n := range live {
		for _, in := range n.Node.GetInstances() {
			k := family(in) + fmt.Sprint(in.GetVrid())
			g := groups[k]
			if g == nil {
				g = &group{key: k, vrid: in.GetVrid()}
				groups[k] = g
			}
			if !slices.ContainsFunc(g.members, func(m member) bool { return m.node == n.Name }) {
				g.members = append(g.members, member{node: n.Name, in: in})
			}
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		gi, gj := groups[keys[i]], groups[keys[j]]
		if gi.vrid != gj.vrid {
			return gi.vrid < gj.vrid
		}
		return gi.key < gj.key
	})
	var out []Finding
	for _, k := range keys {
		g := groups[k]
		l := &linter{g: g, name: g.name(), ours: ours}
		l.presence(live)
		if len(g.members) > 1 {
			l.config()
			l.priorities()
			l.unicast()
		}
		l.wire()
		out = append(out, l.out...)
	}
	return out
}

// family is "6/" for an IPv6 instance, "4/" otherwise (from its VIPs or its address).
func family(in *hactlv1.Instance) string {
	for _, v := range in.GetVips() {
		if strings.Contains(v.GetAddress(), ":") {
			return "6/"
		}
	}
	if strings.Contains(in.GetPrimaryAddress(), ":") {
		return "6/"
	}
	return "4/"
}

type linter struct {
	g    *group
	name string
	ours map[netip.Addr]string
	out  []Finding
}

// add records a finding; msg is "what differs::why it matters" (the why is optional).
func (l *linter) add(sev Severity, check, msg string, vals []Value) {
	what, why, _ := strings.Cut(msg, "::")
	l.out = append(l.out, Finding{Severity: sev, Instance: l.name, VRID: l.g.vrid, Check: check, Message: what, Why: why, Values: vals})
}

// values is every member's value of fn.
func (l *linter) values(fn func(*hactlv1.Instance) string) []Value {
	vals := make([]Value, len(l.g.members))
	for i, m := range l.g.members {
		vals[i] = Value{Node: m.node, Value: fn(m.in)}
	}
	return vals
}

// differs reports a finding when the members' values of fn are not all equal.
func (l *linter) differs(sev Severity, check, msg string, fn func(*hactlv1.Instance) string) bool {
	vals := l.values(fn)
	for _, v := range vals[1:] {
		if v.Value != vals[0].Value {
			l.add(sev, check, msg, vals)
			return true
		}
	}
	return false
}

// presence: an instance that some nodes do not run has no backup there.
func (l *linter) presence(live []cluster.NodeStatus) {
	if len(live) < 2 || len(l.g.members) == len(live) {
		return
	}
	var have, lack []string
	for _, n := range live {
		if slices.ContainsFunc(l.g.members, func(m member) bool { return m.node == n.Name }) {
			have = append(have, n.Name)
		} else {
			lack = append(lack, n.Name)
		}
	}
	l.add(Warning, "instance", fmt.Sprintf("VRID %d configured on %s only, not on %s",
		l.g.vrid, strings.Join(have, ", "), strings.Join(lack, ", ")), nil)
}

func (l *linter) config() {
	if l.differs(Error, "version", "VRRP version differs::each side drops the other's adverts",
		func(in *hactlv1.Instance) string { return fmt.Sprintf("v%d", in.GetVersion()) }) {
		return
	}
	v3 := l.g.members[0].in.GetVersion() == 3
	sev, why := Error, "VRRPv2 drops adverts of another interval: both sides become master"
	if v3 {
		sev, why = Warning, "a VRRPv3 backup adopts the master's interval, so timing changes with the master"
	}
	l.differs(sev, "advert_int", "advert_int differs::"+why, func(in *hactlv1.Instance) string {
		return in.GetTiming().GetConfigured().AsDuration().String()
	})
	if !v3 {
		if !l.differs(Error, "auth_type", "auth_type differs::adverts fail authentication, both sides become master",
			func(in *hactlv1.Instance) string { return orNone(in.GetConfig().GetAuthType()) }) {
			l.differs(Error, "auth_pass", "auth_pass differs (fingerprints)::adverts fail authentication, both sides become master",
				func(in *hactlv1.Instance) string { return orNone(in.GetConfig().GetAuthFingerprint()) })
		}
	}
	l.vipSets()
	l.differs(Warning, "preempt", "nopreempt differs::who takes the VIP back depends on which node comes up",
		func(in *hactlv1.Instance) string {
			if in.GetConfig().GetNopreempt() {
				return "nopreempt"
			}
			return "preempt"
		})
	l.differs(Warning, "preempt_delay", "preempt_delay differs",
		func(in *hactlv1.Instance) string { return in.GetConfig().GetPreemptDelay().AsDuration().String() })
	l.tracks()
	l.differs(Warning, "sync_group", "vrrp_sync_group membership differs::the group's instances fail over together on one node only",
		func(in *hactlv1.Instance) string { return orNone(in.GetSyncGroup()) })
}

// vipSets compares virtual_ipaddress (keepalived drops an advert whose list differs,
// vrrp.c: vrrp_check_packet) and virtual_ipaddress_excluded (not advertised: a warning).
func (l *linter) vipSets() {
	excluded := func(in *hactlv1.Instance) []string {
		var out []string
		for _, v := range in.GetConfig().GetExcludedVips() {
			out = append(out, bare(v))
		}
		return out
	}
	advertised := func(in *hactlv1.Instance) []string { return advertisedVIPs(in) }
	l.setDiff(Error, "vips", "virtual_ipaddress differs::adverts with another address list are dropped", advertised)
	l.setDiff(Warning, "excluded_vips", "virtual_ipaddress_excluded differs", excluded)
}

// setDiff reports members whose sets differ, naming what is missing where.
func (l *linter) setDiff(sev Severity, check, msg string, fn func(*hactlv1.Instance) []string) {
	var union []string
	sets := make([][]string, len(l.g.members))
	for i, m := range l.g.members {
		sets[i] = fn(m.in)
		for _, x := range sets[i] {
			if !slices.Contains(union, x) {
				union = append(union, x)
			}
		}
	}
	var notes []string
	for _, x := range union {
		var have []string
		for i, m := range l.g.members {
			if slices.Contains(sets[i], x) {
				have = append(have, m.node)
			}
		}
		if len(have) < len(l.g.members) {
			notes = append(notes, x+" only on "+strings.Join(have, ", "))
		}
	}
	if len(notes) == 0 {
		return
	}
	vals := l.values(func(in *hactlv1.Instance) string {
		s := slices.Clone(fn(in))
		sort.Strings(s)
		return orNone(strings.Join(s, ","))
	})
	what, why, _ := strings.Cut(msg, "::")
	l.add(sev, check, what+": "+strings.Join(notes, "; ")+"::"+why, vals)
}

func (l *linter) tracks() {
	fn := func(in *hactlv1.Instance) []string { return in.GetConfig().GetTracked() }
	l.setDiff(Warning, "track", "tracked checks differ::a failure moves mastership one way only", fn)
}

// priorities: equal priorities are decided by the primary address (RFC 5798 6.4.3: the
// higher address wins), which surprises; two address owners (255) is a misconfiguration.
func (l *linter) priorities() {
	byPrio := map[uint32][]member{}
	for _, m := range l.g.members {
		byPrio[m.in.GetBasePriority()] = append(byPrio[m.in.GetBasePriority()], m)
	}
	prios := make([]uint32, 0, len(byPrio))
	for p := range byPrio {
		prios = append(prios, p)
	}
	slices.Sort(prios)
	for _, p := range slices.Backward(prios) {
		ms := byPrio[p]
		if len(ms) < 2 {
			continue
		}
		vals := make([]Value, len(ms))
		masters := 0
		var winner member
		var best netip.Addr
		for i, m := range ms {
			cfgState := m.in.GetConfig().GetState()
			vals[i] = Value{Node: m.node, Value: fmt.Sprintf("priority %d, state %s, address %s", p, orNone(cfgState), orNone(m.in.GetPrimaryAddress()))}
			if cfgState == "MASTER" {
				masters++
			}
			if a, err := netip.ParseAddr(m.in.GetPrimaryAddress()); err == nil && (!best.IsValid() || a.Compare(best) > 0) {
				best, winner = a, m
			}
		}
		if p == 255 {
			l.add(Error, "priority", "more than one address owner (priority 255)::both claim the VIPs at once", vals)
			continue
		}
		msg := fmt.Sprintf("equal priority %d", p)
		if masters > 1 {
			msg = fmt.Sprintf("%d nodes with state MASTER and equal priority %d", masters, p)
		}
		sev := Warning
		if best.IsValid() {
			// RFC 5798 6.4.2/6.4.3: a backup does not preempt an equal priority; of two
			// masters the higher primary address wins.
			msg += fmt.Sprintf("::a tie goes to the higher address %s (%s) when both claim master", best, winner.node)
			if masters > 0 && winner.in.GetConfig().GetState() != "MASTER" {
				// The node the operator marked `state MASTER` loses every tie it meets
				// (both starting at once, a healed partition): mastership ends up where the
				// config says it should not be.
				sev = Error
				msg += ", not the node with state MASTER"
			}
		}
		l.add(sev, "priority", msg, vals)
	}
}

// unicast: every node's unicast_peer list must name the others, or adverts go one way.
func (l *linter) unicast() {
	if l.differs(Error, "unicast", "unicast and multicast mixed::neither side hears the other",
		func(in *hactlv1.Instance) string {
			if in.GetConfig().GetUnicast() {
				return "unicast"
			}
			return "multicast"
		}) || !l.g.members[0].in.GetConfig().GetUnicast() {
		return
	}
	var notes []string
	for _, a := range l.g.members {
		for _, b := range l.g.members {
			if a.node == b.node || b.in.GetPrimaryAddress() == "" {
				continue
			}
			if !slices.Contains(a.in.GetUnicastPeers(), b.in.GetPrimaryAddress()) {
				notes = append(notes, fmt.Sprintf("%s does not list %s (%s)", a.node, b.node, b.in.GetPrimaryAddress()))
			}
		}
	}
	if len(notes) == 0 {
		return
	}
	l.add(Error, "unicast_peers", "unicast peers not reciprocal: "+strings.Join(notes, "; "),
		l.values(func(in *hactlv1.Instance) string { return orNone(strings.Join(in.GetUnicastPeers(), ",")) }))
}

// wire reports what the agents heard from outside the cluster: a master that is not one
// of our nodes, and routers whose adverts for our VRID the receive checks dropped.
func (l *linter) wire() {
	type seen struct {
		f     *hactlv1.ForeignSender
		vals  []Value
		first member
	}
	var order []string
	senders := map[string]*seen{}
	var masterVals []Value
	for _, m := range l.g.members {
		if ma := m.in.GetMaster(); ma != nil && !ma.GetIsSelf() && l.foreign(ma.GetAddress()) {
			masterVals = append(masterVals, Value{Node: m.node, Value: fmt.Sprintf("master %s priority %d", ma.GetAddress(), ma.GetPriority())})
		}
		for _, f := range m.in.GetForeignSenders() {
			if !l.foreign(f.GetAddress()) {
				continue
			}
			s := senders[f.GetAddress()]
			if s == nil {
				s = &seen{f: f, first: m}
				senders[f.GetAddress()] = s
				order = append(order, f.GetAddress())
			}
			s.vals = append(s.vals, Value{Node: m.node, Value: fmt.Sprintf("%s: %s, %d dropped", f.GetCause(), f.GetReason(), f.GetCount())})
		}
	}
	if len(masterVals) > 0 {
		l.add(Error, "foreign_master", "a router outside the cluster is the master", masterVals)
	}
	for _, addr := range order {
		s := senders[addr]
		l.add(foreignSeverity(s.f.GetCause()), "foreign_router", foreignMessage(l.g.vrid, s.f, s.first.in), s.vals)
	}
}

// foreign says whether addr is not one of the cluster's nodes.
func (l *linter) foreign(addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	_, ok := l.ours[a]
	return !ok
}

// foreignSeverity: a router that shares our VRID with other settings is an error (two
// clusters on one VLAN); damaged packets (length, checksum, TTL) are a warning.
func foreignSeverity(cause string) Severity {
	switch cause {
	case "length", "checksum", "ttl", "queue_full":
		return Warning
	}
	return Error
}

func foreignMessage(vrid uint32, f *hactlv1.ForeignSender, ours *hactlv1.Instance) string {
	msg := fmt.Sprintf("router %s outside the cluster advertises VRID %d", f.GetAddress(), vrid)
	ourVIPs := advertisedVIPs(ours)
	switch {
	case f.GetCause() == "addr_list" || f.GetCause() == "addr_count":
		if len(f.GetAddresses()) > 0 {
			msg += " with " + strings.Join(f.GetAddresses(), ",")
		} else {
			msg += " with other addresses"
		}
		msg += " (ours " + orNone(strings.Join(ourVIPs, ",")) + ")"
	case f.GetCause() == "interval" && f.GetAdvertInt() != nil:
		msg += fmt.Sprintf(" every %s (ours %s)", f.GetAdvertInt().AsDuration(), ours.GetTiming().GetConfigured().AsDuration())
	default:
		msg += " (" + f.GetCause() + ")"
	}
	return msg
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// advertisedVIPs is virtual_ipaddress without the excluded ones, host prefixes bare.
func advertisedVIPs(in *hactlv1.Instance) []string {
	var out []string
	for _, v := range in.GetVips() {
		if !slices.Contains(in.GetConfig().GetExcludedVips(), v.GetAddress()) {
			out = append(out, bare(v.GetAddress()))
		}
	}
	return out
}

// bare drops a host prefix length: 192.168.188.109/32 is shown as the seed writes it.
func bare(p string) string {
	return strings.TrimSuffix(strings.TrimSuffix(p, "/32"), "/128")
}
