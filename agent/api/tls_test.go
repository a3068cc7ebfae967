package api

import (
	"crypto/tls"
	"crypto/x509"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// clusterPKI is a CA with an agent certificate for 127.0.0.1 and an operator "ops".
func clusterPKI(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := GeneratePKI(dir, map[string][]string{"agent": {"127.0.0.1"}}, []string{"ops"}); err != nil {
		t.Fatalf("GeneratePKI: %v", err)
	}
	return dir
}

func files(dir, name string) *TLSFiles {
	return &TLSFiles{
		Cert: filepath.Join(dir, name+".pem"),
		Key:  filepath.Join(dir, name+"-key.pem"),
		CA:   filepath.Join(dir, "ca.pem"),
	}
}

func TestTCPListenerRequiresTLSFiles(t *testing.T) {
	t.Parallel()
	dir := clusterPKI(t)
	for name, f := range map[string]*TLSFiles{
		"none":    nil,
		"no CA":   {Cert: filepath.Join(dir, "agent.pem"), Key: filepath.Join(dir, "agent-key.pem")},
		"no key":  {Cert: filepath.Join(dir, "agent.pem"), CA: filepath.Join(dir, "ca.pem")},
		"no cert": {Key: filepath.Join(dir, "agent-key.pem"), CA: filepath.Join(dir, "ca.pem")},
	} {
		ln, err := Listen("tcp://127.0.0.1:0", f)
		if err == nil {
			ln.Close()
			t.Fatalf("%s: Listen succeeded without complete TLS files", name)
		}
		const want = "tcp listener tcp://127.0.0.1:0: --tls-cert, --tls-key and --tls-ca are required"
		if err.Error() != want {
			t.Errorf("%s: error %q, want %q", name, err, want)
		}
	}
}

func TestListenRejectsUnknownScheme(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"127.0.0.1:50051", "http://127.0.0.1:1", "unix://relative.sock"} {
		if ln, err := Listen(addr, nil); err == nil {
			ln.Close()
			t.Errorf("Listen(%q) succeeded", addr)
		}
	}
}

// TestTLSListenerAuthenticatesEveryClient drives one TLS listener with the clients an
// attacker or a misconfigured operator would bring, and the one it must accept.
func TestTLSListenerAuthenticatesEveryClient(t *testing.T) {
	t.Parallel()
	dir := clusterPKI(t)
	foreign := clusterPKI(t) // another cluster's CA and its "ops"
	ts := newTestServer(t, 16, WithOperators("ops"))
	ln := listen(t, "tcp://127.0.0.1:0", files(dir, "agent"))
	addr := ln.Addr().String()
	ts.serve(t, ln)

	caPool := func(d string) *x509.CertPool {
		pool, err := loadCAPool(filepath.Join(d, "ca.pem"))
		if err != nil {
			t.Fatal(err)
		}
		return pool
	}
	keyPair := func(d, name string) []tls.Certificate {
		c, err := tls.LoadX509KeyPair(filepath.Join(d, name+".pem"), filepath.Join(d, name+"-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{c}
	}
	tlsClient := func(certs []tls.Certificate) hactlv1.AgentServiceClient {
		cfg := &tls.Config{RootCAs: caPool(dir), Certificates: certs, ServerName: "127.0.0.1"}
		conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
		return clientOn(t, conn, err)
	}

	refused := map[string]hactlv1.AgentServiceClient{
		"plaintext": func() hactlv1.AgentServiceClient {
			conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			return clientOn(t, conn, err)
		}(),
		"no client certificate":        tlsClient(nil),
		"certificate from another CA":  tlsClient(keyPair(foreign, "ops")),
		"server certificate as client": tlsClient(keyPair(dir, "agent")), // server-auth only
	}
	for name, c := range refused {
		t.Run(name, func(t *testing.T) {
			_, err := c.Failover(callCtx(t), &hactlv1.FailoverRequest{Instance: "VI_1", Mode: hactlv1.OverrideMode_OVERRIDE_MODE_RELINQUISH})
			wantCode(t, err, codes.Unavailable)
			_, err = c.GetStatus(callCtx(t), &hactlv1.GetStatusRequest{})
			wantCode(t, err, codes.Unavailable)
		})
	}
	if calls := ts.backend.Calls(); len(calls) != 0 {
		t.Fatalf("backend reached by refused clients: %q", calls)
	}

	t.Run("TLS 1.3 negotiated", func(t *testing.T) {
		conn, err := tls.Dial("tcp", addr, &tls.Config{
			RootCAs: caPool(dir), Certificates: keyPair(dir, "ops"), ServerName: "127.0.0.1", NextProtos: []string{"h2"},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if v := conn.ConnectionState().Version; v != tls.VersionTLS13 {
			t.Errorf("negotiated %s, want TLS 1.3", tls.VersionName(v))
		}
	})
	t.Run("operator certificate", func(t *testing.T) {
		c := dial(t, "tcp://"+addr, files(dir, "ops"))
		resp, err := c.Failover(callCtx(t), &hactlv1.FailoverRequest{Instance: "VI_1", Mode: hactlv1.OverrideMode_OVERRIDE_MODE_RELINQUISH})
		if err != nil {
			t.Fatalf("Failover: %v", err)
		}
		if resp.GetState() != hactlv1.State_STATE_BACKUP {
			t.Errorf("response %v, want the backend's", resp)
		}
		want := []string{"failover VI_1 by tls:CN=ops"}
		if calls := ts.backend.Calls(); strings.Join(calls, "|") != strings.Join(want, "|") {
			t.Errorf("backend calls %q, want %q", calls, want)
		}
		if logs := ts.logs.String(); !strings.Contains(logs, `who="tls:CN=ops"`) || !strings.Contains(logs, "instance=VI_1") {
			t.Errorf("control call not logged with identity; logs:\n%s", logs)
		}
	})
}

func TestDialAgentTCPRequiresTLSFiles(t *testing.T) {
	t.Parallel()
	_, err := DialAgent(t.Context(), "tcp://127.0.0.1:1", nil)
	if err == nil || !strings.Contains(err.Error(), "--tls-cert, --tls-key and --tls-ca are required") {
		t.Fatalf("DialAgent without TLS files: %v", err)
	}
	if _, err := DialAgent(t.Context(), "127.0.0.1:1", nil); err == nil {
		t.Fatal("DialAgent accepted an address without scheme")
	}
}
