package cluster

import (
	"time"

	"github.com/hagent-dev/hagent/agent/sanitize"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// NodeState is what the console knows about one agent. When the agent is unreachable,
// Node keeps the last data received: callers must present it as stale (see Reachable).
type NodeState struct {
	Name, Addr string
	// Reachable is set while the Watch stream delivers; false before the first snapshot
	// and after the stream broke.
	Reachable bool
	// DownSince is the first failure of the current outage (zero if never connected
	// or reachable).
	DownSince time.Time
	LastErr   string
	// Node is the last snapshot with every later event folded in; nil before the first.
	Node *hactlv1.Node
	// LastSeq and LastEvent are the sequence number and agent time of the last message.
	LastSeq   uint64
	LastEvent time.Time
	// ClockOffset is local receive time minus agent time of the last message: an
	// estimate of how far the agent's clock is behind ours (plus network delay).
	ClockOffset time.Duration
	// Rates holds adverts and errors per second per instance, from counter deltas.
	Rates map[string]Rates

	// focused is set once the stream carries one instance's timing in full (Focused):
	// detail is that instance, detailLive whether its timing arrived since.
	focused    bool
	detail     string
	detailLive bool

	// byName indexes the instance list byNameOf (Node's, when it was built) for
	// Instance: at 255 instances each advert timing is looked up by name.
	byName   map[string]*hactlv1.Instance
	byNameOf []*hactlv1.Instance
}

// Rates are per-second counter rates of one instance, derived from two AdvertTiming
// events (or snapshots) on the agent's clock.
type Rates struct {
	AdvertsSentPerSec     float64
	AdvertsReceivedPerSec float64
	ErrorsPerSec          float64

	at                   time.Time
	sent, received, errs uint64
}

// AgentNow estimates the agent's clock at local time now.
func (n *NodeState) AgentNow(now time.Time) time.Time { return now.Add(-n.ClockOffset) }

// Instance returns the node's instance called name, or nil.
func (n *NodeState) Instance(name string) *hactlv1.Instance {
	ins := n.Node.GetInstances()
	if len(ins) <= indexInstancesFrom {
		for _, in := range ins {
			if in.GetName() == name {
				return in
			}
		}
		return nil
	}
	// A snapshot replaces the list; nothing changes it in place.
	if len(n.byNameOf) != len(ins) || &n.byNameOf[0] != &ins[0] {
		n.byName = make(map[string]*hactlv1.Instance, len(ins))
		for _, in := range ins {
			if _, dup := n.byName[in.GetName()]; !dup { // the first, as the scan finds
				n.byName[in.GetName()] = in
			}
		}
		n.byNameOf = ins
	}
	return n.byName[name]
}

// indexInstancesFrom is the instance count above which Instance keeps a map: a scan
// of a few names is cheaper than hashing.
const indexInstancesFrom = 16

// State is the console's model of the cluster, one NodeState per configured agent in
// config order. It is not safe for concurrent use: one goroutine applies messages.
type State struct {
	Nodes []*NodeState
	log   eventLog
}

// NewState returns the state of cfg's agents before anything was heard from them.
func NewState(cfg Config) *State {
	s := &State{log: eventLog{max: DefaultLogSize}}
	for _, a := range cfg.Agents {
		s.Nodes = append(s.Nodes, &NodeState{Name: a.Name, Addr: a.Addr, Rates: map[string]Rates{}})
	}
	return s
}

// Node returns the NodeState called name, or nil.
func (s *State) Node(name string) *NodeState {
	for _, n := range s.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Log returns the bounded event log, oldest first: a copy shared by the callers until
// the next entry (do not modify it).
func (s *State) Log() []LogEntry { return s.log.entries() }

// Apply folds one message into the state. Messages for agents not in the config are ignored.
func (s *State) Apply(m Msg) {
	n := s.Node(m.agent())
	if n == nil {
		return
	}
	switch m := m.(type) {
	case Snapshot:
		s.applySnapshot(n, m.Resp, m.Received)
	case Event:
		s.markAlive(n, m.Resp, m.Received)
		s.applyEvent(n, m.Resp)
	case Down:
		s.applyDown(n, m)
	case Focused:
		n.focused, n.detail, n.detailLive = true, m.Instance, false
	}
}

// TimingLive reports whether the advert timing held of instance is current: always
// for a stream that carries every timing, and for a focused one (WatchFocused) only
// for the instance in focus, once its timing arrived since the focus moved.
func (n *NodeState) TimingLive(instance string) bool {
	return !n.focused || (instance == n.detail && n.detailLive)
}

func (s *State) applySnapshot(n *NodeState, resp *hactlv1.WatchResponse, received time.Time) {
	s.markAlive(n, resp, received)
	n.Node = resp.GetSnapshot()
	n.detailLive = true // a snapshot holds every timing as it is now
	for _, in := range n.Node.GetInstances() {
		n.updateRates(in.GetName(), resp.GetTime().AsTime(), in.GetAdvertsSent(), in.GetAdvertsReceived(), in.GetReceiveErrors())
	}
}

// markAlive records that the agent answered; the first answer after an outage is logged.
func (s *State) markAlive(n *NodeState, resp *hactlv1.WatchResponse, received time.Time) {
	at := resp.GetTime().AsTime()
	if !n.Reachable {
		text := "connected"
		if !n.DownSince.IsZero() {
			text = "reachable again after " + received.Sub(n.DownSince).Round(time.Second).String()
			if received.IsZero() {
				text = "reachable again"
			}
		}
		s.log.add(LogEntry{Time: at, Node: n.Name, Kind: KindAgent, Text: text})
	}
	n.Reachable = true
	n.DownSince = time.Time{}
	n.LastErr = ""
	n.LastSeq = resp.GetSeq()
	n.LastEvent = at
	if !received.IsZero() && resp.GetTime() != nil {
		n.ClockOffset = received.Sub(at)
	}
}

func (s *State) applyDown(n *NodeState, m Down) {
	errText := ""
	if m.Err != nil {
		errText = sanitize.Printable(m.Err.Error())
	}
	if n.Reachable || n.DownSince.IsZero() {
		n.DownSince = m.Since
		if n.Reachable {
			s.log.add(LogEntry{Time: m.Since, Node: n.Name, Kind: KindAgent, Text: "unreachable: " + errText})
		}
	}
	n.Reachable = false
	n.LastErr = errText
}
