package cluster

import (
	"fmt"
	"sort"
	"strings"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// InstanceRow is one VRRP instance across the cluster: a cell per configured node.
type InstanceRow struct {
	Name string
	VRID uint32
	// Cells has one entry per configured node, in config order.
	Cells []Cell
}

// Cell is one node's view of one instance.
type Cell struct {
	Node *NodeState
	// Inst is the node's (possibly stale) data for the instance; nil when the node has
	// never reported it.
	Inst *hactlv1.Instance
}

// Live reports whether the cell's data is current: the agent is reachable and has the instance.
func (c Cell) Live() bool { return c.Node.Reachable && c.Inst != nil }

// Instances returns the node × instance matrix, one row per instance name, sorted by
// VRID then name.
func (s *State) Instances() []InstanceRow {
	// One pass over every node's instances, indexed by name: the console calls this on
	// every redraw, and at 255 instances a lookup per (row, node) was quadratic.
	hint := 0
	for _, n := range s.Nodes {
		hint = max(hint, len(n.Node.GetInstances()))
	}
	index := make(map[string]int, hint)
	rows := make([]InstanceRow, 0, hint)
	for ni, n := range s.Nodes {
		for _, in := range n.Node.GetInstances() {
			i, ok := index[in.GetName()]
			if !ok {
				i = len(rows)
				index[in.GetName()] = i
				rows = append(rows, InstanceRow{Name: in.GetName(), VRID: in.GetVrid(), Cells: make([]Cell, len(s.Nodes))})
			}
			if rows[i].Cells[ni].Inst == nil { // the first of a name, as NodeState.Instance
				rows[i].Cells[ni] = Cell{Node: n, Inst: in}
			}
		}
	}
	for i := range rows {
		for ni, n := range s.Nodes {
			rows[i].Cells[ni].Node = n
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].VRID != rows[j].VRID {
			return rows[i].VRID < rows[j].VRID
		}
		return rows[i].Name < rows[j].Name
	})
	return rows
}

// Masters returns the names of the reachable nodes that report MASTER for the row.
func (r InstanceRow) Masters() []string {
	var out []string
	for _, c := range r.Cells {
		if c.Live() && c.Inst.GetState() == hactlv1.State_STATE_MASTER {
			out = append(out, c.Node.Name)
		}
	}
	return out
}

// Alarm is a cluster-level problem with one instance.
type Alarm struct {
	Instance string
	VRID     uint32
	Nodes    []string
}

func (a Alarm) String() string {
	if len(a.Nodes) == 0 {
		return fmt.Sprintf("%s (VRID %d)", a.Instance, a.VRID)
	}
	return fmt.Sprintf("%s (VRID %d): %s", a.Instance, a.VRID, strings.Join(a.Nodes, ", "))
}

// SplitBrain returns instances that two or more reachable nodes claim as MASTER.
func (s *State) SplitBrain() []Alarm { return SplitBrainOf(s.Instances()) }

// SplitBrainOf is SplitBrain over rows the caller already has (State.Instances).
func SplitBrainOf(rows []InstanceRow) []Alarm {
	var out []Alarm
	for _, r := range rows {
		if m := r.Masters(); len(m) > 1 {
			out = append(out, Alarm{Instance: r.Name, VRID: r.VRID, Nodes: m})
		}
	}
	return out
}

// NoMaster returns instances that at least one reachable node reports and no reachable
// node holds as MASTER. Nodes lists the reachable nodes and their states. An instance
// seen only on unreachable agents is unknown, not masterless.
func (s *State) NoMaster() []Alarm { return NoMasterOf(s.Instances()) }

// NoMasterOf is NoMaster over rows the caller already has (State.Instances).
func NoMasterOf(rows []InstanceRow) []Alarm {
	var out []Alarm
	for _, r := range rows {
		var live []string
		for _, c := range r.Cells {
			if c.Live() {
				live = append(live, c.Node.Name+" "+StateName(c.Inst.GetState()))
			}
		}
		if len(live) > 0 && len(r.Masters()) == 0 {
			out = append(out, Alarm{Instance: r.Name, VRID: r.VRID, Nodes: live})
		}
	}
	return out
}

// Statuses returns the live state as NodeStatus values, the input of PlanFailover.
// Unreachable nodes keep their last (stale) data.
func (s *State) Statuses() []NodeStatus {
	out := make([]NodeStatus, 0, len(s.Nodes))
	for _, n := range s.Nodes {
		out = append(out, NodeStatus{Name: n.Name, Addr: n.Addr, Reachable: n.Reachable, Err: n.LastErr, Node: n.Node})
	}
	return out
}

// CertWarnings are the reachable nodes whose API certificate expires within
// CertWarnDays (or has expired), one line each: "cenvm71: API certificate expires in
// 12 days (2026-12-12)". Time is the agent's clock of its last message.
func (s *State) CertWarnings() []string {
	var out []string
	for _, n := range s.Nodes {
		if !n.Reachable || n.Node == nil {
			continue
		}
		now := n.LastEvent
		if now.IsZero() {
			now = n.Node.GetNow().AsTime()
		}
		if text, warn := CertExpiry(n.Node, now); warn {
			out = append(out, n.Name+": "+text)
		}
	}
	return out
}
