package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hagent-dev/hagent/agent/sanitize"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// callTimeout bounds a control or status call when the caller set no deadline.
const callTimeout = 5 * time.Second

// NodeStatus is one agent's answer to GetStatus (or the live state's copy of it).
type NodeStatus struct {
	Name, Addr string
	Reachable  bool
	Err        string
	// Node is nil when the agent never answered.
	Node *hactlv1.Node
}

// Instance returns the node's instance called name, or nil.
func (s NodeStatus) Instance(name string) *hactlv1.Instance {
	for _, in := range s.Node.GetInstances() {
		if in.GetName() == name {
			return in
		}
	}
	return nil
}

// Status asks every agent for its status concurrently and returns the answers in config
// order; an agent that fails is reported with Reachable false and Err.
func Status(ctx context.Context, cfg Config) []NodeStatus {
	ctx, cancel := withDefaultTimeout(ctx, callTimeout)
	defer cancel()
	out := make([]NodeStatus, len(cfg.Agents))
	var wg sync.WaitGroup
	for i, a := range cfg.Agents {
		wg.Go(func() {
			out[i] = NodeStatus{Name: a.Name, Addr: a.Addr}
			node, err := getStatus(ctx, a, cfg.TLS)
			if err != nil {
				out[i].Err = sanitize.Printable(err.Error())
				return
			}
			out[i].Reachable, out[i].Node = true, node
		})
	}
	wg.Wait()
	return out
}

func getStatus(ctx context.Context, a Agent, files TLSFiles) (*hactlv1.Node, error) {
	var node *hactlv1.Node
	err := call(ctx, a, files, func(ctx context.Context, c hactlv1.AgentServiceClient) error {
		resp, err := c.GetStatus(ctx, &hactlv1.GetStatusRequest{})
		node = resp.GetNode()
		// Everything an agent says is shown on a terminal: escape what a
		// terminal would act on (see sanitize.Printable).
		sanitize.PrintableMessage(node)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("status of %s: %w", a.Name, err)
	}
	return node, nil
}

// call runs one RPC on a fresh connection to a. Control calls are rare; a connection
// per call keeps them independent of the Watch streams' state.
func call(ctx context.Context, a Agent, files TLSFiles, fn func(context.Context, hactlv1.AgentServiceClient) error) error {
	cc, err := Dial(a, files)
	if err != nil {
		return err
	}
	defer cc.Close()
	ctx, cancel := withDefaultTimeout(ctx, callTimeout)
	defer cancel()
	return AsRefusal(a.Name, fn(ctx, hactlv1.NewAgentServiceClient(cc)))
}
