package cluster

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hagent-dev/hagent/agent/api"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

func TestAsRefusal(t *testing.T) {
	t.Parallel()
	st, err := status.New(codes.PermissionDenied, "tls:CN=dash may not call Failover on cenvm71: ...").WithDetails(&errdetails.ErrorInfo{
		Reason: api.RefusalReason, Domain: api.RefusalDomain,
		Metadata: map[string]string{"identity": "tls:CN=dash", "method": "Failover", "right": "operator", "node": "cenvm71"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := AsRefusal("cenvm71", st.Err())
	const want = "cenvm71 refused Failover: tls:CN=dash lacks the operator right (hagent --operator)"
	if got.Error() != want {
		t.Errorf("line %q, want %q", got, want)
	}
	if r, ok := refusalOf(got); !ok || r.Detail == "" {
		t.Errorf("refusalOf(%v) = %v, %v; want the Refusal with the agent's message", got, r, ok)
	}
	// Without details (an older agent): still one line, with the node.
	bare := AsRefusal("cenvm72", status.Error(codes.PermissionDenied, "no"))
	if bare.Error() != "cenvm72 refused the call: this certificate lacks the operator right (hagent --operator)" {
		t.Errorf("bare refusal line %q", bare)
	}
	other := status.Error(codes.NotFound, "instance VI_9 unknown")
	if AsRefusal("cenvm71", other) != other || AsRefusal("x", nil) != nil {
		t.Error("AsRefusal changed an error that is not PermissionDenied")
	}
	if !isRefusal(errors.Join(errors.New("x"), got)) {
		t.Error("a joined Refusal is not found")
	}
}

func TestCertExpiry(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	node := func(d time.Duration) *hactlv1.Node {
		return &hactlv1.Node{Api: &hactlv1.ApiInfo{TlsCertNotAfter: timestamppb.New(now.Add(d))}}
	}
	for _, c := range []struct {
		node *hactlv1.Node
		text string
		warn bool
	}{
		{&hactlv1.Node{}, "", false},
		{node(365 * 24 * time.Hour), "API certificate expires in 365 days (2027-11-30)", false},
		{node(30 * 24 * time.Hour), "API certificate expires in 30 days (2026-12-30)", false},
		{node(29*24*time.Hour + 23*time.Hour), "API certificate expires in 29 days (2026-12-30)", true},
		{node(5 * time.Hour), "API certificate expires in 5h0m0s (2026-11-30)", true},
		{node(-time.Hour), "API certificate expired on 2026-11-30", true},
	} {
		text, warn := CertExpiry(c.node, now)
		if text != c.text || warn != c.warn {
			t.Errorf("CertExpiry = %q, %v; want %q, %v", text, warn, c.text, c.warn)
		}
	}
}
