package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/hagent-dev/hagent/agent/api"
	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// apiBackend is the smallest agent a real api.Server can serve: one MASTER instance.
type apiBackend struct{}

func (apiBackend) Status() *hactlv1.Node {
	return &hactlv1.Node{Name: "n1", Now: timestamppb.Now(), Instances: []*hactlv1.Instance{{
		Name: "VI_1", Vrid: 51, State: hactlv1.State_STATE_MASTER, BasePriority: 100, EffectivePriority: 100,
	}}}
}

func (apiBackend) Failover(context.Context, *hactlv1.FailoverRequest, string) (*hactlv1.FailoverResponse, error) {
	return &hactlv1.FailoverResponse{Message: "relinquishing", State: hactlv1.State_STATE_BACKUP}, nil
}

func (apiBackend) SetMaintenance(context.Context, *hactlv1.SetMaintenanceRequest, string) (*hactlv1.SetMaintenanceResponse, error) {
	return &hactlv1.SetMaintenanceResponse{Message: "n1: maintenance on", Maintenance: true}, nil
}

// TestRefusalLine: a read-only certificate made by `hactl certs --reader` can read a
// real agent's API over mutual TLS, and a control call it makes is refused with one
// line naming the node, the identity and the missing right, even though its name is
// among the agent's operators. The operator's certificate may do it.
func TestRefusalLine(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "pki")
	if _, errOut, code := hactl(t, "certs", "--dir", dir, "--server", "agent=127.0.0.1", "--client", "ops", "--reader", "dash"); code != 0 {
		t.Fatalf("hactl certs: exit %d: %s", code, errOut)
	}
	ln, err := api.Listen("tcp://127.0.0.1:0", &api.TLSFiles{
		Cert: filepath.Join(dir, "agent.pem"), Key: filepath.Join(dir, "agent-key.pem"), CA: filepath.Join(dir, "ca.pem"),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := api.NewServer(apiBackend{}, api.NewHub(16), slog.New(slog.NewTextHandler(io.Discard, nil)), api.WithOperators("ops", "dash"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not stop")
		}
	})
	as := func(name string, args ...string) (string, string, int) {
		full := []string{"--agent", "n1=tcp://" + ln.Addr().String(),
			"--tls-cert", filepath.Join(dir, name+".pem"), "--tls-key", filepath.Join(dir, name+"-key.pem"),
			"--tls-ca", filepath.Join(dir, "ca.pem")}
		return hactl(t, append(full, args...)...)
	}

	if out, errOut, code := as("dash", "status"); code != 0 || !strings.Contains(out, "VI_1") {
		t.Fatalf("status with the read-only certificate: exit %d, %q, %q", code, out, errOut)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"failover", "VI_1"}, "hactl: n1 refused Failover: tls:CN=dash lacks the operator right (hagent --operator)\n"},
		{[]string{"maintenance", "n1", "on"}, "hactl: n1 refused SetMaintenance: tls:CN=dash lacks the operator right (hagent --operator)\n"},
	} {
		out, errOut, code := as("dash", c.args...)
		if code != 1 || errOut != c.want {
			t.Errorf("hactl %v as dash: exit %d, stdout %q, stderr %q; want exit 1 and stderr %q", c.args, code, out, errOut, c.want)
		}
	}
	if _, errOut, code := as("ops", "maintenance", "n1", "on"); code != 0 {
		t.Errorf("maintenance as the operator: exit %d: %s", code, errOut)
	}
}

// TestCertsRefusesCollidingNames: names whose files would overwrite each other or the
// CA's are refused before anything is written.
func TestCertsRefusesCollidingNames(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--client", "ops", "--reader", "ops"},
		{"--server", "a=192.0.2.1", "--client", "a"},
		{"--client", "ops", "--client", "ops-key"},
		{"--client", "ca"},
		{"--client", "ca-key"},
		{"--server", "ca-key=192.0.2.1"},
	} {
		dir := filepath.Join(t.TempDir(), "pki")
		_, errOut, code := hactl(t, append([]string{"certs", "--dir", dir}, args...)...)
		if code == 0 {
			t.Errorf("hactl certs %v: exit 0", args)
			continue
		}
		if !strings.Contains(errOut, "overwrite") && !strings.Contains(errOut, "-key") {
			t.Errorf("hactl certs %v: stderr %q does not say what would be overwritten", args, errOut)
		}
		if matches, _ := filepath.Glob(filepath.Join(dir, "*.pem")); len(matches) > 0 {
			t.Errorf("hactl certs %v wrote %v before refusing", args, matches)
		}
	}
}
