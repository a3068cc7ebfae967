package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hagent-dev/hagent/cluster"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// TestRefusalIsOneStatusLine: an agent's refusal for a missing role shows as one
// line naming the node, the identity and the right.
func TestRefusalIsOneStatusLine(t *testing.T) {
	t.Parallel()
	var r recorder
	opts := r.options()
	opts.Failover = func(context.Context, string, string) (string, error) {
		return "", &cluster.Refusal{Node: "cenvm72", Identity: "tls:CN=dashboard", Method: "Failover", Right: "operator"}
	}
	m := model(t, opts, 120, 30, healthyMsgs()...)
	m = update(t, m, press("f"))
	m = updateRun(t, m, press("y"))
	want := "✗ failover VI_1: cenvm72 refused Failover: tls:CN=dashboard lacks the operator right (hagent --operator)"
	if v := m.View(); !strings.Contains(v, want) {
		t.Fatalf("refusal not shown as %q:\n%s", want, v)
	}
}

// TestCertificateBanner: a node whose API certificate expires within 30 days (by the
// agent's clock) gets an amber banner; one further out does not.
func TestCertificateBanner(t *testing.T) {
	t.Parallel()
	var r recorder
	at := t0.Add(3 * time.Minute)
	withCert := func(node string, in *hactlv1.Instance, left time.Duration) AgentEventMsg {
		msg := snap(node, in)
		snapshot := msg.Msg.(cluster.Snapshot).Resp.GetSnapshot()
		snapshot.Now = timestamppb.New(at)
		snapshot.Api = &hactlv1.ApiInfo{TlsCertNotAfter: timestamppb.New(at.Add(left))}
		return msg
	}
	m := model(t, r.options(), 120, 30,
		withCert("cenvm71", seedInstance("cenvm71", master, "cenvm71"), 12*24*time.Hour+time.Hour),
		withCert("cenvm72", seedInstance("cenvm72", backup, "cenvm71"), 200*24*time.Hour))
	v := m.View()
	if !strings.Contains(v, "CERTIFICATE cenvm71: API certificate expires in 12 days") {
		t.Errorf("no certificate banner for cenvm71:\n%s", v)
	}
	if strings.Contains(v, "CERTIFICATE cenvm72") {
		t.Errorf("banner for cenvm72, whose certificate has 200 days:\n%s", v)
	}
}
