package cluster

import (
	"encoding/json"
	"strings"
	"time"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// StatusDoc is `hactl status --json`: the contract's fields (name, reachable,
// instances with name, vrid, state, priority, effective_priority, vips, master) and
// a few additions. Fields may be added; none may be renamed or removed.
type StatusDoc struct {
	Nodes []NodeDoc `json:"nodes"`
}

// NodeDoc is one agent in a StatusDoc.
type NodeDoc struct {
	Name      string `json:"name"`
	Reachable bool   `json:"reachable"`
	// Instances is empty (never null) for an unreachable agent.
	Instances []InstanceDoc `json:"instances"`

	// Additions to the contract.
	Address     string `json:"address"`
	Error       string `json:"error,omitempty"`
	Version     string `json:"version,omitempty"`
	Maintenance bool   `json:"maintenance"`
	// TLSCertNotAfter is when the agent's API certificate expires (TCP listener only).
	TLSCertNotAfter *time.Time `json:"tls_cert_not_after,omitempty"`
	// Operators are the names with the operator role on the agent's TCP API.
	Operators []string `json:"operators,omitempty"`
	// node is the snapshot, for the text view.
	node *hactlv1.Node
}

// InstanceDoc is one VRRP instance of a node in a StatusDoc.
type InstanceDoc struct {
	Name string `json:"name"`
	VRID uint32 `json:"vrid"`
	// State is one of INIT BACKUP MASTER FAULT STOP.
	State             string `json:"state"`
	Priority          uint32 `json:"priority"`
	EffectivePriority uint32 `json:"effective_priority"`
	// VIPs are the configured virtual addresses, bound or not.
	VIPs []string `json:"vips"`
	// Master is the address of the master this node believes in, "" if unknown.
	Master string `json:"master"`

	// Additions to the contract.
	Interface   string     `json:"interface,omitempty"`
	StateReason string     `json:"state_reason,omitempty"`
	StateSince  *time.Time `json:"state_since,omitempty"`
	// BoundVIPs are the VIPs this node has bound now.
	BoundVIPs   []string `json:"bound_vips"`
	Maintenance bool     `json:"maintenance"`
	// Override is an operator's failover override in force, if any.
	Override *OverrideDoc `json:"override,omitempty"`
	// Faults are why a FAULT instance is in FAULT: the failing probe or link, and its
	// last error or output.
	Faults []FaultDoc `json:"faults,omitempty"`
	// Probes are the instance's tracked probes with their last result, so that a
	// script's own words are visible without the TUI.
	Probes []ProbeDoc `json:"probes,omitempty"`
	// Transitions counts the instance's state changes since it started.
	Transitions uint64 `json:"transitions"`
	// SyncGroup is the vrrp_sync_group the instance belongs to, and SyncGroupState
	// that group's state; both empty when it is in none.
	SyncGroup      string `json:"sync_group,omitempty"`
	SyncGroupState string `json:"sync_group_state,omitempty"`
}

// ProbeDoc is one probe of an instance: its state, why, and its last output.
type ProbeDoc struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Healthy bool   `json:"healthy"`
	Reason  string `json:"reason,omitempty"`
	Output  string `json:"output,omitempty"` // of the last result
}

// FaultDoc is one fault source of an instance.
type FaultDoc struct {
	Source string `json:"source"`
	Reason string `json:"reason"`
}

// OverrideDoc is a failover override: mode takeover, relinquish or stop, who set it,
// and when it ends by itself (nil: until cleared).
type OverrideDoc struct {
	Mode  string     `json:"mode"`
	Who   string     `json:"who,omitempty"`
	Until *time.Time `json:"until,omitempty"`
}

// CertExpiry is CertExpiry of the node's snapshot at now ("" when unreachable or
// without a TCP listener).
func (d NodeDoc) CertExpiry(now time.Time) (string, bool) {
	if d.node == nil {
		return "", false
	}
	return CertExpiry(d.node, now)
}

// NewStatusDoc converts the answers of Status (or State.Statuses) to the JSON model.
// Stale data of an unreachable node is left out: the document says what is true now.
func NewStatusDoc(nodes []NodeStatus) StatusDoc {
	doc := StatusDoc{Nodes: make([]NodeDoc, 0, len(nodes))}
	for _, n := range nodes {
		nd := NodeDoc{
			Name:      n.Name,
			Reachable: n.Reachable,
			Instances: []InstanceDoc{},
			Address:   n.Addr,
			Error:     n.Err,
		}
		if n.Reachable {
			nd.Version = n.Node.GetVersion()
			nd.Maintenance = n.Node.GetMaintenance()
			nd.Operators = n.Node.GetApi().GetOperators()
			nd.node = n.Node
			if t := n.Node.GetApi().GetTlsCertNotAfter(); t != nil {
				at := t.AsTime()
				nd.TLSCertNotAfter = &at
			}
			for _, in := range n.Node.GetInstances() {
				nd.Instances = append(nd.Instances, newInstanceDoc(in))
			}
		}
		doc.Nodes = append(doc.Nodes, nd)
	}
	return doc
}

func newInstanceDoc(in *hactlv1.Instance) InstanceDoc {
	d := InstanceDoc{
		Name:              in.GetName(),
		VRID:              in.GetVrid(),
		State:             contractState(in.GetState()),
		Priority:          in.GetBasePriority(),
		EffectivePriority: in.GetEffectivePriority(),
		VIPs:              []string{},
		BoundVIPs:         []string{},
		Master:            in.GetMaster().GetAddress(),
		Interface:         in.GetInterface(),
		StateReason:       in.GetStateReason(),
		Maintenance:       in.GetMaintenance(),
		Transitions:       in.GetTransitions(),
		SyncGroup:         in.GetSyncGroup(),
	}
	if d.SyncGroup != "" {
		d.SyncGroupState = contractState(in.GetSyncGroupState())
	}
	if ts := in.GetStateSince(); ts != nil {
		t := ts.AsTime()
		d.StateSince = &t
	}
	if o := in.GetOverride(); o.GetMode() > hactlv1.OverrideMode_OVERRIDE_MODE_NONE {
		d.Override = &OverrideDoc{
			Mode: strings.ToLower(strings.TrimPrefix(o.GetMode().String(), "OVERRIDE_MODE_")),
			Who:  o.GetWho(),
		}
		if u := o.GetUntil(); u != nil {
			t := u.AsTime()
			d.Override.Until = &t
		}
	}
	for _, f := range in.GetFaults() {
		d.Faults = append(d.Faults, FaultDoc{Source: f.GetSource(), Reason: f.GetReason()})
	}
	for _, p := range in.GetProbes() {
		pd := ProbeDoc{Name: p.GetName(), Kind: p.GetKind(), Healthy: p.GetHealthy(), Reason: p.GetReason()}
		if rs := p.GetResults(); len(rs) > 0 {
			pd.Output = rs[len(rs)-1].GetOutput()
		}
		d.Probes = append(d.Probes, pd)
	}
	for _, v := range in.GetVips() {
		d.VIPs = append(d.VIPs, v.GetAddress())
		if v.GetBound() {
			d.BoundVIPs = append(d.BoundVIPs, v.GetAddress())
		}
	}
	return d
}

// contractState maps a state to the contract's five names. An agent that reports no
// state has not started the instance yet: INIT.
func contractState(s hactlv1.State) string {
	if s == hactlv1.State_STATE_UNSPECIFIED {
		return "INIT"
	}
	return StateName(s)
}

// StatusJSON renders nodes as `hactl status --json` prints them: one indented object.
func StatusJSON(nodes []NodeStatus) ([]byte, error) {
	return json.MarshalIndent(NewStatusDoc(nodes), "", "  ")
}

// AnyReachable reports whether at least one node answered.
func (d StatusDoc) AnyReachable() bool {
	for _, n := range d.Nodes {
		if n.Reachable {
			return true
		}
	}
	return false
}
