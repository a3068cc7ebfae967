package cluster

import (
	"time"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// Msg is what Watch delivers: a Snapshot, an Event or a Down (and Focused from
// WatchFocused).
type Msg interface{ agent() string }

// Snapshot is a full view of one agent's node; it replaces what was known before.
type Snapshot struct {
	Agent string
	Resp  *hactlv1.WatchResponse
	// Received is the local clock when the message arrived; with Resp.Time it gives the
	// agent's clock offset, so ages are computed on the agent's clock.
	Received time.Time
}

// Event is one change on one agent, after its snapshot.
type Event struct {
	Agent    string
	Resp     *hactlv1.WatchResponse
	Received time.Time
}

// Down says an agent's stream broke or could not be opened. It is sent on every failed
// attempt while the agent stays down; Since is the first failure of the outage.
type Down struct {
	Agent string
	Err   error
	Since time.Time
}

// Focused says that the agent's stream from here on carries the advert timing of
// Instance ("" none) in full and the others' only when their master or interval
// changes (WatchFocused): until Instance's timing arrives, what the state holds of it
// is old (NodeState.TimingLive).
type Focused struct {
	Agent    string
	Instance string
}

func (m Snapshot) agent() string { return m.Agent }
func (m Focused) agent() string  { return m.Agent }
func (m Event) agent() string    { return m.Agent }
func (m Down) agent() string     { return m.Agent }
