package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hagent-dev/hagent/agent/sanitize"
	"github.com/hagent-dev/hagent/cluster"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

func runWatch(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	asJSON, cfg, err := jsonOnlyCommand("watch", g, args, stderr, "one JSON object per line")
	if err != nil {
		return err
	}
	msgs := make(chan cluster.Msg, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		cluster.Watch(ctx, cfg, msgs)
	}()
	write := writeWatchLine
	if asJSON {
		write = writeWatchJSON
	}
	for {
		select {
		case <-done:
			return nil // interrupted: a normal end
		case m := <-msgs:
			if err := write(stdout, m); err != nil {
				return fmt.Errorf("write event: %w", err)
			}
		}
	}
}

// watchLine is one line of `hactl watch --json`.
type watchLine struct {
	Node string    `json:"node"`
	Seq  uint64    `json:"seq,omitempty"`
	Time time.Time `json:"time"`
	// Event is the agent's WatchResponse in protojson.
	Event json.RawMessage `json:"event,omitempty"`
	// Down is set when the agent's stream broke or could not be opened.
	Down string `json:"down,omitempty"`
}

func writeWatchJSON(w io.Writer, m cluster.Msg) error {
	var l watchLine
	switch m := m.(type) {
	case cluster.Snapshot:
		l = watchLine{Node: m.Agent}
		if err := l.setEvent(m.Resp); err != nil {
			return err
		}
	case cluster.Event:
		l = watchLine{Node: m.Agent}
		if err := l.setEvent(m.Resp); err != nil {
			return err
		}
	case cluster.Down:
		l = watchLine{Node: m.Agent, Time: time.Now(), Down: errText(m.Err)}
	default:
		return nil
	}
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func (l *watchLine) setEvent(resp *hactlv1.WatchResponse) error {
	b, err := protojson.Marshal(resp)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	l.Seq, l.Time, l.Event = resp.GetSeq(), resp.GetTime().AsTime(), b
	return nil
}

// writeWatchLine prints one event for a person, on the agent's clock in local time:
//
//	15:04:05.000 cenvm71 VI_1 BACKUP→MASTER (higher priority)
func writeWatchLine(w io.Writer, m cluster.Msg) error {
	var at time.Time
	var node, text string
	switch m := m.(type) {
	case cluster.Snapshot:
		at, node, text = m.Resp.GetTime().AsTime(), m.Agent, snapshotText(m.Resp.GetSnapshot())
	case cluster.Event:
		at, node, text = m.Resp.GetTime().AsTime(), m.Agent, eventText(m.Resp)
	case cluster.Down:
		at, node, text = time.Now(), m.Agent, "unreachable: "+errText(m.Err)
	}
	if text == "" {
		return nil
	}
	_, err := fmt.Fprintf(w, "%s %s %s\n", at.Local().Format("15:04:05.000"), node, text)
	return err
}

func snapshotText(n *hactlv1.Node) string {
	parts := []string{"connected:"}
	for _, in := range n.GetInstances() {
		parts = append(parts, fmt.Sprintf("%s %s prio %d", in.GetName(), cluster.StateName(in.GetState()), in.GetEffectivePriority()))
	}
	if n.GetMaintenance() {
		parts = append(parts, "(maintenance)")
	}
	return strings.Join(parts, " ")
}

// eventText renders an event; coalesced advert timing updates are left out, they
// would drown the rest.
func eventText(resp *hactlv1.WatchResponse) string {
	switch ev := resp.GetEvent().(type) {
	case *hactlv1.WatchResponse_Transition:
		t := ev.Transition
		return fmt.Sprintf("%s %s→%s (%s)", t.GetInstance(), cluster.StateName(t.GetFrom()), cluster.StateName(t.GetTo()), t.GetReason())
	case *hactlv1.WatchResponse_PriorityChange:
		p := ev.PriorityChange
		s := fmt.Sprintf("%s priority %d→%d", p.GetInstance(), p.GetFrom(), p.GetTo())
		if c := cluster.FormatContributions(p.GetContributions()); c != "" {
			s += " (" + c + ")"
		}
		return s
	case *hactlv1.WatchResponse_ProbeResult:
		p := ev.ProbeResult
		if !p.GetChanged() {
			return ""
		}
		if p.GetHealthy() {
			return fmt.Sprintf("%s probe %s healthy", p.GetInstance(), p.GetProbe())
		}
		return fmt.Sprintf("%s probe %s failed (%s)", p.GetInstance(), p.GetProbe(), strings.TrimSpace(p.GetResult().GetOutput()))
	case *hactlv1.WatchResponse_Vip:
		v := ev.Vip
		verb := "released"
		if v.GetBound() {
			verb = "bound"
		}
		return fmt.Sprintf("%s VIP %s %s (%s)", v.GetInstance(), v.GetAddress(), verb, v.GetReason())
	case *hactlv1.WatchResponse_ConfigReload:
		c := ev.ConfigReload
		if !c.GetOk() {
			return "config reload failed: " + c.GetError()
		}
		return "config reloaded " + strings.Join(c.GetChanges(), "; ")
	case *hactlv1.WatchResponse_ControlAction:
		c := ev.ControlAction
		return strings.TrimSpace(fmt.Sprintf("%s %s by %s %s", c.GetInstance(), c.GetAction(), orDash(c.GetWho()), c.GetDetail()))
	case *hactlv1.WatchResponse_ReceiveError:
		r := ev.ReceiveError
		return fmt.Sprintf("%s receive error %s from %s (%s)", r.GetInstance(), r.GetCause(), orDash(r.GetSource()), r.GetReason())
	case *hactlv1.WatchResponse_Snapshot:
		return snapshotText(ev.Snapshot)
	}
	return ""
}

func errText(err error) string {
	if err == nil {
		return "stream ended"
	}
	return sanitize.Printable(err.Error())
}
