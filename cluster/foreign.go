package cluster

import hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"

// foreignSendersKept bounds the senders kept per instance between snapshots, as the agent does.
const foreignSendersKept = 8

// foldForeign keeps the instance's foreign senders current between snapshots: a receive
// error event carries the agent's record of its source (newest first).
func foldForeign(n *NodeState, r *hactlv1.ReceiveErrorEvent) {
	in := n.Instance(r.GetInstance())
	if in == nil || r.GetSender() == nil {
		return
	}
	out := []*hactlv1.ForeignSender{r.GetSender()}
	for _, f := range in.ForeignSenders {
		if f.GetAddress() != r.GetSender().GetAddress() && len(out) < foreignSendersKept {
			out = append(out, f)
		}
	}
	in.ForeignSenders = out
}
