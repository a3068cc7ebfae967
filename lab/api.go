package lab

import (
	"context"
	"fmt"
	"time"

	"github.com/hagent-dev/hagent/agent/api"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// Status asks host's hagent for its status over the agent's unix socket.
func (l *Lab) Status(host string) (*hactlv1.Node, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := api.DialAgent(ctx, "unix://"+l.APISocket(host), nil)
	if err != nil {
		return nil, fmt.Errorf("dial %s's agent: %w", host, err)
	}
	defer conn.Close()
	resp, err := hactlv1.NewAgentServiceClient(conn).GetStatus(ctx, &hactlv1.GetStatusRequest{})
	if err != nil {
		return nil, fmt.Errorf("status of %s: %w", host, err)
	}
	return resp.GetNode(), nil
}

// Instance is one instance of host's status.
func (l *Lab) Instance(host, name string) (*hactlv1.Instance, error) {
	n, err := l.Status(host)
	if err != nil {
		return nil, err
	}
	for _, in := range n.GetInstances() {
		if in.GetName() == name {
			return in, nil
		}
	}
	return nil, fmt.Errorf("%s has no instance %s", host, name)
}
