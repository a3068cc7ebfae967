package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
)

// writeClientWithSANs issues a client certificate NAME.pem with the given CN (may be
// empty), DNS and URI SANs, the way a company CA would (not through hactl certs).
func writeClientWithSANs(t *testing.T, dir, name, cn string, dns []string, uri string) {
	t.Helper()
	caCert, caKey, err := loadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		DNSNames:    dns,
	}
	if uri != "" {
		u, err := url.Parse(uri)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = []*url.URL{u}
	}
	der, err := sign(tmpl, caCert, key, caKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeKey(filepath.Join(dir, name+"-key.pem"), key); err != nil {
		t.Fatal(err)
	}
	if err := writePEM(filepath.Join(dir, name+".pem"), "CERTIFICATE", der, 0o644); err != nil {
		t.Fatal(err)
	}
}

// roleMatrixPKI: an agent certificate and clients: "ops" (CN operator), "dns-op"
// (no CN, DNS SAN operator), "uri-op" (URI SAN operator), "viewer" (CN not an
// operator), "dash" (read-only, its CN is an operator name).
func roleMatrixPKI(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := MakePKI(dir, PKIRequest{
		Servers: map[string][]string{"agent": {"127.0.0.1"}},
		Clients: []string{"ops", "viewer"},
		Readers: []string{"dash"},
	}); err != nil {
		t.Fatal(err)
	}
	writeClientWithSANs(t, dir, "dns-op", "", []string{"ops.example.net"}, "")
	writeClientWithSANs(t, dir, "uri-op", "someone", nil, "spiffe://example.net/ops")
	return dir
}

// TestRoleMatrix: operators may call all four methods; every other certificate of the
// CA may read (GetStatus, Watch) and is refused the controls with PermissionDenied
// naming its identity, the method and the missing right; the unix socket may do
// everything whatever --operator says.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	dir := roleMatrixPKI(t)
	ts := newTestServer(t, 16, WithOperators("ops", "ops.example.net", "spiffe://example.net/ops", "dash"))
	tcp := listen(t, "tcp://127.0.0.1:0", files(dir, "agent"))
	sock := unixAddr(t)
	ts.serve(t, tcp, listen(t, sock, nil))
	addr := "tcp://" + tcp.Addr().String()

	for _, c := range []struct {
		name, cert, id string
		operator       bool
	}{
		{"operator by CN", "ops", "tls:CN=ops", true},
		{"operator by DNS SAN", "dns-op", "tls:SAN=ops.example.net", true},
		{"operator by URI SAN", "uri-op", "tls:CN=someone", true},
		{"reader", "viewer", "tls:CN=viewer", false},
		{"read-only certificate named as operator", "dash", "tls:CN=dash", false},
		{"unix socket", "", "unix:uid=", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var client hactlv1.AgentServiceClient
			if c.cert == "" {
				client = dial(t, sock, nil)
			} else {
				client = dial(t, addr, files(dir, c.cert))
			}
			if _, err := client.GetStatus(callCtx(t), &hactlv1.GetStatusRequest{}); err != nil {
				t.Fatalf("GetStatus: %v", err)
			}
			w, err := client.Watch(callCtx(t), &hactlv1.WatchRequest{})
			if err != nil {
				t.Fatalf("Watch: %v", err)
			}
			if ev, err := w.Recv(); err != nil || ev.GetSnapshot() == nil {
				t.Fatalf("Watch: first message %v, %v; want a snapshot", ev, err)
			}
			_, ferr := client.Failover(callCtx(t), &hactlv1.FailoverRequest{Instance: "VI_1", Mode: hactlv1.OverrideMode_OVERRIDE_MODE_RELINQUISH})
			_, merr := client.SetMaintenance(callCtx(t), &hactlv1.SetMaintenanceRequest{On: true})
			if c.operator {
				if ferr != nil || merr != nil {
					t.Fatalf("operator refused: Failover %v, SetMaintenance %v", ferr, merr)
				}
				return
			}
			for method, err := range map[string]error{"Failover": ferr, "SetMaintenance": merr} {
				wantRefusal(t, err, c.id, method, "cenvm71")
				if !strings.Contains(ts.logs.String(), `msg="api permission denied" who="`+c.id+`" method=`+method) {
					t.Errorf("refusal of %s for %s not logged:\n%s", method, c.id, ts.logs.String())
				}
			}
		})
	}
	for _, call := range ts.backend.Calls() {
		if strings.Contains(call, "viewer") || strings.Contains(call, "dash") {
			t.Errorf("backend reached by a reader: %q", call)
		}
	}
	if n := refusalCount(ts.Status(), refusePermission); n != 4 {
		t.Errorf("status counts %d permission refusals, want 4", n)
	}
}

// TestNoOperatorsIsReadOnly: without --operator, every TCP client is a reader.
func TestNoOperatorsIsReadOnly(t *testing.T) {
	t.Parallel()
	dir := roleMatrixPKI(t)
	ts := newTestServer(t, 16)
	ln := listen(t, "tcp://127.0.0.1:0", files(dir, "agent"))
	ts.serve(t, ln)
	c := dial(t, "tcp://"+ln.Addr().String(), files(dir, "ops"))
	if _, err := c.GetStatus(callCtx(t), &hactlv1.GetStatusRequest{}); err != nil {
		t.Fatalf("GetStatus: %v", err)
	}
	_, err := c.Failover(callCtx(t), &hactlv1.FailoverRequest{Instance: "VI_1", Mode: hactlv1.OverrideMode_OVERRIDE_MODE_RELINQUISH})
	wantRefusal(t, err, "tls:CN=ops", "Failover", "cenvm71")
	if !strings.Contains(status.Convert(err).Message(), "no --operator") {
		t.Errorf("refusal %q does not say the agent has no --operator", status.Convert(err).Message())
	}
}

func wantRefusal(t *testing.T, err error, id, method, node string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != codes.PermissionDenied {
		t.Fatalf("%s: %v, want PermissionDenied", method, err)
	}
	if !strings.Contains(st.Message(), id) || !strings.Contains(st.Message(), method) {
		t.Errorf("%s: message %q does not name %s and %s", method, st.Message(), id, method)
	}
	var info *errdetails.ErrorInfo
	for _, d := range st.Details() {
		if e, ok := d.(*errdetails.ErrorInfo); ok {
			info = e
		}
	}
	if info == nil || info.GetReason() != RefusalReason || info.GetMetadata()["identity"] != id ||
		info.GetMetadata()["method"] != method || info.GetMetadata()["right"] != OperatorRight ||
		info.GetMetadata()["node"] != node {
		t.Errorf("%s: ErrorInfo %v, want %s/%s identity %s method %s right %s node %s",
			method, info, RefusalDomain, RefusalReason, id, method, OperatorRight, node)
	}
}

func refusalCount(n *hactlv1.Node, reason string) uint64 {
	for _, r := range n.GetApi().GetRefusals() {
		if r.GetReason() == reason {
			return r.GetCount()
		}
	}
	return 0
}

// TestControlRateLimitPerIdentity: an operator past its burst gets ResourceExhausted;
// another identity is not affected.
func TestControlRateLimitPerIdentity(t *testing.T) {
	t.Parallel()
	dir := roleMatrixPKI(t)
	ts := newTestServer(t, 16, WithOperators("ops", "someone"), WithLimits(Limits{ControlRate: 0.001, ControlBurst: 3}))
	ln := listen(t, "tcp://127.0.0.1:0", files(dir, "agent"))
	ts.serve(t, ln)
	ops := dial(t, "tcp://"+ln.Addr().String(), files(dir, "ops"))
	for i := range 3 {
		if _, err := ops.Failover(callCtx(t), &hactlv1.FailoverRequest{Instance: "VI_1", Mode: hactlv1.OverrideMode_OVERRIDE_MODE_RELINQUISH}); err != nil {
			t.Fatalf("call %d within the burst: %v", i+1, err)
		}
	}
	_, err := ops.Failover(callCtx(t), &hactlv1.FailoverRequest{Instance: "VI_1", Mode: hactlv1.OverrideMode_OVERRIDE_MODE_RELINQUISH})
	wantCode(t, err, codes.ResourceExhausted)
	if _, err := ops.GetStatus(callCtx(t), &hactlv1.GetStatusRequest{}); err != nil {
		t.Errorf("GetStatus is not rate limited, got %v", err)
	}
	other := dial(t, "tcp://"+ln.Addr().String(), files(dir, "uri-op"))
	if _, err := other.Failover(callCtx(t), &hactlv1.FailoverRequest{Instance: "VI_1", Mode: hactlv1.OverrideMode_OVERRIDE_MODE_RELINQUISH}); err != nil {
		t.Errorf("another identity is limited too: %v", err)
	}
	if n := refusalCount(ts.Status(), refuseRate); n != 1 {
		t.Errorf("status counts %d rate refusals, want 1", n)
	}
}

// TestWatchCap: past MaxWatches TCP streams, Watch is ResourceExhausted; closing one
// frees its place.
func TestWatchCap(t *testing.T) {
	t.Parallel()
	dir := roleMatrixPKI(t)
	ts := newTestServer(t, 16, WithLimits(Limits{MaxWatches: 2}))
	ln := listen(t, "tcp://127.0.0.1:0", files(dir, "agent"))
	ts.serve(t, ln)
	c := dial(t, "tcp://"+ln.Addr().String(), files(dir, "viewer"))
	open := func() (hactlv1.AgentService_WatchClient, func(), error) {
		ctx, cancel := context.WithCancel(callCtx(t))
		w, err := c.Watch(ctx, &hactlv1.WatchRequest{})
		if err == nil {
			_, err = w.Recv()
		}
		return w, cancel, err
	}
	_, cancel1, err := open()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := open(); err != nil {
		t.Fatal(err)
	}
	_, _, err = open()
	wantCode(t, err, codes.ResourceExhausted)
	cancel1()
	eventually(t, 5*time.Second, "a Watch after one of two closed", func() bool {
		_, _, err := open()
		return err == nil
	})
}

// TestConnectionLimits: connections past the per-source limit are closed before any
// handshake, and one that never says hello is closed at the handshake deadline.
func TestConnectionLimits(t *testing.T) {
	t.Parallel()
	dir := roleMatrixPKI(t)
	ts := newTestServer(t, 16, WithLimits(Limits{MaxConnsPerSource: 3, HandshakeTimeout: 300 * time.Millisecond}))
	ln := listen(t, "tcp://127.0.0.1:0", files(dir, "agent"))
	ts.serve(t, ln)
	var idle []net.Conn
	for range 3 {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		idle = append(idle, conn)
	}
	eventually(t, 5*time.Second, "three idle connections admitted", func() bool { return ts.guard.open() == 3 })
	extra, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	_ = extra.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := extra.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Errorf("a fourth connection from one source was not closed at once: read %v", err)
	}
	// The idle ones are closed at the handshake deadline (300ms), well before gRPC's own.
	for i, conn := range idle {
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := conn.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Errorf("idle connection %d not closed by the handshake deadline: read %v", i, err)
		}
	}
	eventually(t, 5*time.Second, "idle connections released", func() bool { return ts.guard.open() == 0 })
	// A real client gets in once the idle ones are gone.
	if _, err := dial(t, "tcp://"+ln.Addr().String(), files(dir, "viewer")).GetStatus(callCtx(t), &hactlv1.GetStatusRequest{}); err != nil {
		t.Fatalf("GetStatus after the idle connections: %v", err)
	}
	st := ts.Status()
	if refusalCount(st, refuseConnLimit) < 1 || refusalCount(st, refuseHandshake) < 3 {
		t.Errorf("refusals %v, want conn_limit >= 1 and handshake >= 3", st.GetApi().GetRefusals())
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestTLSReload: Reload swaps the certificate for new handshakes; a broken set is
// refused and the old one kept.
func TestTLSReload(t *testing.T) {
	t.Parallel()
	dir := roleMatrixPKI(t)
	live := t.TempDir()
	copyPair := func(name string) {
		for _, f := range []string{name + ".pem", name + "-key.pem"} {
			copyFile(t, filepath.Join(dir, f), filepath.Join(live, strings.Replace(f, name, "agent", 1)))
		}
	}
	copyPair("agent")
	copyFile(t, filepath.Join(dir, "ca.pem"), filepath.Join(live, "ca.pem"))
	store, err := LoadTLS(*files(live, "agent"))
	if err != nil {
		t.Fatal(err)
	}
	first := store.NotAfter()
	ts := newTestServer(t, 16, WithTLS(store))
	ln, err := ListenWith("tcp://127.0.0.1:0", store)
	if err != nil {
		t.Fatal(err)
	}
	ts.serve(t, ln)
	serial := func() string {
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}) //nolint:gosec // reads the served certificate only
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial()

	// A new certificate for the same name.
	time.Sleep(1100 * time.Millisecond) // NotAfter has a one-second resolution: make it differ
	if err := WriteCert(dir, "agent", []string{"127.0.0.1"}, false); err != nil {
		t.Fatal(err)
	}
	copyPair("agent")
	if err := store.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	after := serial()
	if after == before {
		t.Errorf("serial %s served after Reload, want the new certificate's", after)
	}
	if !store.NotAfter().After(first) {
		t.Errorf("NotAfter %v after Reload, want later than %v", store.NotAfter(), first)
	}
	if got := ts.Status().GetApi().GetTlsCertNotAfter().AsTime(); !got.Equal(store.NotAfter()) {
		t.Errorf("status reports expiry %v, want %v", got, store.NotAfter())
	}

	// A key that does not match: refused, the current certificate kept.
	copyFile(t, filepath.Join(dir, "viewer-key.pem"), filepath.Join(live, "agent-key.pem"))
	if err := store.Reload(); err == nil {
		t.Fatal("Reload accepted a key that does not match the certificate")
	} else {
		t.Logf("refused as expected: %v", err)
	}
	if got := serial(); got != after {
		t.Errorf("after a refused reload the agent serves %s, want %s", got, after)
	}
	// A CA file without a certificate: refused too.
	copyPair("agent")
	writeFile(t, filepath.Join(live, "ca.pem"), "not a certificate\n")
	if err := store.Reload(); err == nil {
		t.Fatal("Reload accepted an empty CA")
	}
	if _, err := dial(t, "tcp://"+ln.Addr().String(), files(dir, "viewer")).GetStatus(callCtx(t), &hactlv1.GetStatusRequest{}); err != nil {
		t.Errorf("a client of the kept CA is refused after a refused reload: %v", err)
	}
}

// TestSilentConnectionsHoldNoHandshakeSlot: connections that never send a ClientHello
// wait for it outside the handshake slots, so a real client still gets in at once.
func TestSilentConnectionsHoldNoHandshakeSlot(t *testing.T) {
	t.Parallel()
	dir := roleMatrixPKI(t)
	ts := newTestServer(t, 16, WithLimits(Limits{MaxHandshakes: 1, HandshakeTimeout: time.Minute}))
	ln := listen(t, "tcp://127.0.0.1:0", files(dir, "agent"))
	ts.serve(t, ln)
	for range 5 {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
	}
	eventually(t, 5*time.Second, "five silent connections admitted", func() bool { return ts.guard.open() == 5 })
	// gRPC's client backs off and retries a connection whose handshake failed; within
	// 2 s the first attempt must have worked.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := dial(t, "tcp://"+ln.Addr().String(), files(dir, "viewer")).GetStatus(ctx, &hactlv1.GetStatusRequest{}); err != nil {
		t.Fatalf("GetStatus beside five silent connections (one handshake slot, a minute's deadline): %v", err)
	}
}
