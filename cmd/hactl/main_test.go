package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// hactlBin is the binary under test, built once by TestMain.
var hactlBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hactl-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hactlBin = filepath.Join(dir, "hactl")
	out, err := exec.Command("go", "build", "-o", hactlBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build hactl: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// hactl runs the binary and returns its stdout, stderr and exit code.
func hactl(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, hactlBin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("run hactl %v: %v", args, err)
	}
	return o.String(), e.String(), code
}

// statusDoc mirrors the contract of `hactl status --json`, decoded strictly.
type statusDoc struct {
	Nodes []struct {
		Name      string `json:"name"`
		Reachable *bool  `json:"reachable"`
		Error     string `json:"error"`
		Instances []struct {
			Name              string   `json:"name"`
			VRID              *uint32  `json:"vrid"`
			State             string   `json:"state"`
			Priority          *uint32  `json:"priority"`
			EffectivePriority *uint32  `json:"effective_priority"`
			VIPs              []string `json:"vips"`
			Master            *string  `json:"master"`
		} `json:"instances"`
	} `json:"nodes"`
}

func TestStatusJSON(t *testing.T) {
	t.Parallel()
	n1 := startFakeAgent(t, testNode("n1", hactlv1.State_STATE_MASTER, 100, "192.0.2.71"))
	n2node := testNode("n2", hactlv1.State_STATE_BACKUP, 90, "192.0.2.71")
	n2node.Instances[0].EffectivePriority = 70
	n2 := startFakeAgent(t, n2node)

	out, errOut, code := hactl(t, "status", "--json", n1.flag(), n2.flag())
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	var doc statusDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(doc.Nodes) != 2 || doc.Nodes[0].Name != "n1" || doc.Nodes[1].Name != "n2" {
		t.Fatalf("nodes = %s", out)
	}
	for i, want := range []struct {
		state     string
		prio, eff uint32
	}{{"MASTER", 100, 100}, {"BACKUP", 90, 70}} {
		n := doc.Nodes[i]
		if n.Reachable == nil || !*n.Reachable || len(n.Instances) != 1 {
			t.Fatalf("node %s: reachable/instances wrong:\n%s", n.Name, out)
		}
		in := n.Instances[0]
		if in.Name != "VI_1" || in.VRID == nil || *in.VRID != 51 || in.State != want.state ||
			in.Priority == nil || *in.Priority != want.prio || in.EffectivePriority == nil || *in.EffectivePriority != want.eff ||
			len(in.VIPs) != 1 || in.VIPs[0] != "192.0.2.109" || in.Master == nil || *in.Master != "192.0.2.71" {
			t.Errorf("node %s instance = %+v, want VI_1 51 %s %d/%d [192.0.2.109] master 192.0.2.71", n.Name, in, want.state, want.prio, want.eff)
		}
	}

	// The human table names both nodes and states.
	out, _, code = hactl(t, "status", n1.flag(), n2.flag())
	if code != 0 || !strings.Contains(out, "MASTER") || !strings.Contains(out, "BACKUP") || !strings.Contains(out, "192.0.2.109*") {
		t.Errorf("table (exit %d):\n%s", code, out)
	}
}

// The table says why a FAULT instance is FAULT (issue 17: an interface missing, no
// source address...).
func TestStatusTableShowsFaultReason(t *testing.T) {
	t.Parallel()
	node := testNode("n1", hactlv1.State_STATE_FAULT, 100, "")
	node.Instances[0].Faults = []*hactlv1.FaultSource{{Source: "interface bond0", Reason: "does not exist"}}
	n1 := startFakeAgent(t, node)
	out, _, code := hactl(t, "status", n1.flag())
	if code != 0 || !strings.Contains(out, "FAULT") || !strings.Contains(out, "interface bond0: does not exist") {
		t.Errorf("table (exit %d):\n%s", code, out)
	}
}

func TestStatusUnreachable(t *testing.T) {
	t.Parallel()
	n1 := startFakeAgent(t, testNode("n1", hactlv1.State_STATE_MASTER, 100, "192.0.2.71"))
	gone := "--agent=n2=unix://" + filepath.Join(t.TempDir(), "nobody.sock")

	// One agent answers: exit 0, the other is reachable:false with an error.
	out, errOut, code := hactl(t, "status", "--json", n1.flag(), gone)
	if code != 0 {
		t.Fatalf("exit %d with one agent reachable; stderr %s", code, errOut)
	}
	var doc statusDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	n2 := doc.Nodes[1]
	if n2.Name != "n2" || n2.Reachable == nil || *n2.Reachable || n2.Error == "" || n2.Instances == nil || len(n2.Instances) != 0 {
		t.Errorf("unreachable node = %+v, want reachable false, an error, instances []\n%s", n2, out)
	}

	// None answers: still the JSON, and a non-zero exit.
	out, _, code = hactl(t, "status", "--json", gone)
	if code == 0 {
		t.Errorf("exit 0 with no agent reachable")
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Nodes) != 1 || *doc.Nodes[0].Reachable {
		t.Errorf("JSON with no agent reachable: %v\n%s", err, out)
	}
}

func TestFailover(t *testing.T) {
	t.Parallel()
	n1 := startFakeAgent(t, testNode("n1", hactlv1.State_STATE_MASTER, 100, "192.0.2.71"))
	n2 := startFakeAgent(t, testNode("n2", hactlv1.State_STATE_BACKUP, 90, "192.0.2.71"))

	t.Run("refused", func(t *testing.T) {
		n2.setFailover(func(*hactlv1.FailoverRequest) (*hactlv1.FailoverResponse, error) {
			return nil, status.Error(codes.FailedPrecondition, "VI_1 on n2: instance is in maintenance")
		})
		out, errOut, code := hactl(t, "failover", "VI_1", n1.flag(), n2.flag())
		if code == 0 {
			t.Errorf("exit 0 for a refused failover; stdout %s", out)
		}
		if !strings.Contains(errOut, "instance is in maintenance") {
			t.Errorf("stderr lacks the agent's refusal:\n%s", errOut)
		}
	})
	t.Run("takeover", func(t *testing.T) {
		n2.setFailover(func(*hactlv1.FailoverRequest) (*hactlv1.FailoverResponse, error) {
			return &hactlv1.FailoverResponse{Message: "taking over", State: hactlv1.State_STATE_MASTER}, nil
		})
		// Flags after the instance, as operators type them.
		out, errOut, code := hactl(t, "failover", "VI_1", "--node", "n2", n1.flag(), n2.flag())
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if want := "VI_1: n1 → n2 (takeover on n2): taking over"; strings.TrimSpace(out) != want {
			t.Errorf("stdout = %q, want %q", out, want)
		}
		reqs := n2.requests()
		last := reqs[len(reqs)-1]
		if last.GetInstance() != "VI_1" || last.GetMode() != hactlv1.OverrideMode_OVERRIDE_MODE_TAKEOVER || last.GetTargetNode() != "n2" {
			t.Errorf("request = %v, want TAKEOVER of VI_1 targeting n2", last)
		}
	})
	t.Run("unknown instance", func(t *testing.T) {
		_, errOut, code := hactl(t, "failover", "VI_9", n1.flag(), n2.flag())
		if code == 0 || !strings.Contains(errOut, "VI_9") {
			t.Errorf("exit %d stderr %q, want a failure naming VI_9", code, errOut)
		}
	})
}

func TestMaintenance(t *testing.T) {
	t.Parallel()
	n1 := startFakeAgent(t, testNode("n1", hactlv1.State_STATE_MASTER, 100, "192.0.2.71"))
	if _, errOut, code := hactl(t, n1.flag(), "maintenance", "n1", "on"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	n1.mu.Lock()
	got := append([]bool(nil), n1.maintenance...)
	n1.mu.Unlock()
	if len(got) != 1 || !got[0] {
		t.Errorf("maintenance calls = %v, want [true]", got)
	}
	if _, _, code := hactl(t, n1.flag(), "maintenance", "n1", "maybe"); code != 2 {
		t.Errorf("exit %d for a bad on|off, want 2", code)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"status"},                            // no agents
		{"status", "--agent", "no-equals"},    // bad --agent
		{"frobnicate", "--agent=a=unix:///x"}, // unknown command
		{"failover", "--agent=a=unix:///x"},   // no instance
	} {
		if _, _, code := hactl(t, args...); code != 2 {
			t.Errorf("hactl %v: exit %d, want 2", args, code)
		}
	}
	out, _, code := hactl(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "hactl ") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
}

func TestCerts(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "pki")
	_, errOut, code := hactl(t, "certs", "--dir", dir,
		"--server", "cenvm71=192.0.2.71", "--server", "cenvm72=192.0.2.72,cenvm72.example", "--client", "ops")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	roots := x509.NewCertPool()
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil || !roots.AppendCertsFromPEM(caPEM) {
		t.Fatalf("CA: %v", err)
	}
	load := func(name string) *x509.Certificate {
		t.Helper()
		pair, err := tls.LoadX509KeyPair(filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		if st, err := os.Stat(filepath.Join(dir, name+"-key.pem")); err != nil || st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s key mode: %v %v", name, st.Mode(), err)
		}
		return c
	}
	for _, s := range []struct{ name, host string }{{"cenvm71", "192.0.2.71"}, {"cenvm72", "192.0.2.72"}, {"cenvm72", "cenvm72.example"}} {
		c := load(s.name)
		if _, err := c.Verify(x509.VerifyOptions{Roots: roots, DNSName: s.host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("server %s for %s: %v", s.name, s.host, err)
		}
	}
	client := load("ops")
	if _, err := client.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client: %v", err)
	}
	if _, err := client.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("the client certificate also passes as a server certificate")
	}
	// And they work together: a mutual-TLS handshake over a pipe.
	serverPair, err := tls.LoadX509KeyPair(filepath.Join(dir, "cenvm71.pem"), filepath.Join(dir, "cenvm71-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	clientPair, err := tls.LoadX509KeyPair(filepath.Join(dir, "ops.pem"), filepath.Join(dir, "ops-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	srv := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{serverPair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: roots})
	cli := tls.Client(b, &tls.Config{Certificates: []tls.Certificate{clientPair}, RootCAs: roots, ServerName: "192.0.2.71"})
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Handshake() }()
	if err := cli.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-srvErr; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	if cn := srv.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "ops" {
		t.Errorf("server saw client %q, want ops", cn)
	}
}

// TestStatusEscapesTerminalControls: an agent's state reason carrying ESC[2J (clear
// screen) and an OSC title sequence reaches the operator as visible escapes, in the
// table and in `watch`, never as the raw control bytes (sanitize.Printable).
func TestStatusEscapesTerminalControls(t *testing.T) {
	t.Parallel()
	node := testNode("n1", hactlv1.State_STATE_FAULT, 100, "192.0.2.71")
	node.Instances[0].StateReason = "fault: chk: \x1b[2J\x1b]0;owned\a"
	n1 := startFakeAgent(t, node)

	for _, args := range [][]string{{"status"}, {"status", "--json"}} {
		out, errOut, code := hactl(t, append(args, n1.flag())...)
		if code != 0 {
			t.Fatalf("hactl %v: exit %d, stderr %s", args, code, errOut)
		}
		if strings.ContainsAny(out, "\x1b\a") {
			t.Errorf("hactl %v printed raw control characters:\n%q", args, out)
		}
		if args[len(args)-1] == "--json" && !strings.Contains(out, `\\x1b[2J`) {
			t.Errorf("hactl %v: want the reason with a visible \\x1b escape, got:\n%s", args, out)
		}
	}
}
