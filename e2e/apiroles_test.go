package e2e

// Issue 13: least privilege on the lab's mTLS API. The agents run with
// --operator hactl: the lab's client certificate (CN=hactl) is the operator, the
// read-only reader certificate (OU=hagent-read-only, CN=dashboard) may only read, and
// strangers get nothing. SIGHUP reloads the API's certificate.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	hactlv1 "github.com/hagent-dev/hagent/gen/hactl/v1"
	"github.com/hagent-dev/hagent/lab"
)

const rolesMetricsPort = "9773"

// rolesClient is a gRPC client of addr from the client namespace with creds.
func rolesClient(t *testing.T, l *lab.Lab, addr string, creds credentials.TransportCredentials) hactlv1.AgentServiceClient {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(creds), grpc.WithContextDialer(apiDialFrom(l.NetNS("client"))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return hactlv1.NewAgentServiceClient(conn)
}

// rolesTLS is a client TLS config for host's API with the lab PKI's NAME.crt/.key
// (no certificate when name is "").
func rolesTLS(t *testing.T, l *lab.Lab, host, name string) credentials.TransportCredentials {
	t.Helper()
	pki := l.PKIDir()
	ca, err := os.ReadFile(filepath.Join(pki, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	cfg := &tls.Config{RootCAs: roots, ServerName: strings.TrimSuffix(apiAddr(host), ":9771"), MinVersion: tls.VersionTLS12}
	if name != "" {
		pair, err := tls.LoadX509KeyPair(filepath.Join(pki, name+".crt"), filepath.Join(pki, name+".key"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return credentials.NewTLS(cfg)
}

// rolesCalls makes the four calls on host and returns their errors by method.
func rolesCalls(t *testing.T, c hactlv1.AgentServiceClient, node string) map[string]error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := map[string]error{}
	_, errs["GetStatus"] = c.GetStatus(ctx, &hactlv1.GetStatusRequest{})
	wctx, wcancel := context.WithCancel(ctx)
	w, err := c.Watch(wctx, &hactlv1.WatchRequest{})
	if err == nil {
		var ev *hactlv1.WatchResponse
		if ev, err = w.Recv(); err == nil && ev.GetSnapshot() == nil {
			err = fmt.Errorf("first Watch message %v is not a snapshot", ev)
		}
	}
	wcancel()
	errs["Watch"] = err
	// Harmless controls: clear an override nobody set; maintenance on then off.
	_, errs["Failover"] = c.Failover(ctx, &hactlv1.FailoverRequest{Instance: apiInstance, Mode: hactlv1.OverrideMode_OVERRIDE_MODE_NONE})
	_, errs["SetMaintenance"] = c.SetMaintenance(ctx, &hactlv1.SetMaintenanceRequest{Node: node, On: true})
	if errs["SetMaintenance"] == nil {
		if _, err := c.SetMaintenance(ctx, &hactlv1.SetMaintenanceRequest{Node: node, On: false}); err != nil {
			t.Errorf("maintenance off on %s: %v", node, err)
		}
	}
	return errs
}

// TestAPIRoles is the role matrix over the lab's mTLS: the operator may make all four
// calls; the reader may call GetStatus and Watch, and its controls are refused with
// PermissionDenied naming it and the method (and hactl says so in one line); a
// certificate of another CA, no certificate and plaintext get nothing. The refusals
// are in the agent's log and metrics, and the VIP never moves.
func TestAPIRoles(t *testing.T) {
	t.Parallel()
	l := apiStartLab(t, lab.Options{Env: []string{"LAB_AGENT_ARGS=--metrics :" + rolesMetricsPort}})
	addr := apiAddr("cenvm72")

	t.Run("operator", func(t *testing.T) {
		for m, err := range rolesCalls(t, rolesClient(t, l, addr, rolesTLS(t, l, "cenvm72", "client")), "cenvm72") {
			if err != nil {
				t.Errorf("operator (CN=hactl) %s on cenvm72: %v", m, err)
			}
		}
	})
	t.Run("reader", func(t *testing.T) {
		errs := rolesCalls(t, rolesClient(t, l, addr, rolesTLS(t, l, "cenvm72", "reader")), "cenvm72")
		for _, m := range []string{"GetStatus", "Watch"} {
			if errs[m] != nil {
				t.Errorf("reader %s: %v", m, errs[m])
			}
		}
		for _, m := range []string{"Failover", "SetMaintenance"} {
			st := status.Convert(errs[m])
			if st.Code() != codes.PermissionDenied || !strings.Contains(st.Message(), "tls:CN=dashboard may not call "+m) {
				t.Errorf("reader %s: %v, want PermissionDenied naming tls:CN=dashboard and %s", m, errs[m], m)
			}
			if !apiLogHas(l.AgentLog("cenvm72"), "api permission denied", `who="tls:CN=dashboard"`, "method="+m) {
				t.Errorf("cenvm72's log has no refusal of %s for tls:CN=dashboard", m)
			}
		}
		// hactl: one line naming the node, the identity and the missing right.
		reader := []string{"--tls-cert", filepath.Join(l.PKIDir(), "reader.crt"), "--tls-key", filepath.Join(l.PKIDir(), "reader.key"),
			"--tls-ca", filepath.Join(l.PKIDir(), "ca.crt")}
		r := apiRefused(t, l, reader, "hactl: cenvm72 refused Failover: tls:CN=dashboard lacks the operator right (hagent --operator)\n",
			"failover", apiInstance, "--node", "cenvm72")
		if strings.Count(r.Stderr, "\n") != 1 {
			t.Errorf("refusal is not one line: %q", r.Stderr)
		}
		apiRefused(t, l, reader, "hactl: cenvm71 refused SetMaintenance: tls:CN=dashboard lacks the operator right (hagent --operator)\n",
			"maintenance", "cenvm71", "on")
		if s := apiHactlWith(t, l, reader, "status"); s.Code != 0 || !strings.Contains(s.Stdout, "cenvm71") {
			t.Errorf("hactl status with the reader certificate: %s", s)
		}
		url := "http://" + strings.TrimSuffix(addr, ":9771") + ":" + rolesMetricsPort + "/metrics"
		out, err := l.Exec("client", "curl", "-sS", "-m", "5", url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		m := regexp.MustCompile(`(?m)^hagent_api_refusals_total\{reason="permission"\} (\d+)$`).FindStringSubmatch(out)
		if m == nil || m[1] == "0" {
			t.Errorf("cenvm72's /metrics counts no permission refusal:\n%s", apiGrep(out, "hagent_api"))
		}
		if !strings.Contains(out, "hagent_api_tls_cert_expiry_timestamp_seconds ") {
			t.Errorf("cenvm72's /metrics has no certificate expiry:\n%s", apiGrep(out, "hagent_api"))
		}
	})
	t.Run("strangers", func(t *testing.T) {
		rogue := t.TempDir()
		if out, err := exec.Command(hactlBin, "certs", "--dir", rogue, "--client", "hactl").CombinedOutput(); err != nil {
			t.Fatalf("hactl certs: %v\n%s", err, out)
		}
		pair, err := tls.LoadX509KeyPair(filepath.Join(rogue, "hactl.pem"), filepath.Join(rogue, "hactl-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		pki := l.PKIDir()
		ca, _ := os.ReadFile(filepath.Join(pki, "ca.crt"))
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(ca)
		for name, creds := range map[string]credentials.TransportCredentials{
			"another CA's CN=hactl": credentials.NewTLS(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair},
				ServerName: strings.TrimSuffix(addr, ":9771"), MinVersion: tls.VersionTLS12}),
			"no certificate": rolesTLS(t, l, "cenvm72", ""),
			"plaintext":      insecure.NewCredentials(),
		} {
			for m, err := range rolesCalls(t, rolesClient(t, l, addr, creds), "cenvm72") {
				if status.Code(err) != codes.Unavailable {
					t.Errorf("%s: %s: %v, want Unavailable (no connection)", name, m, err)
				}
			}
		}
	})
	if h := l.VIPHolders(); !slices.Equal(h, []string{"cenvm71"}) {
		t.Errorf("VIP on %v, want cenvm71 only", h)
	}
}

// TestAPICertReload: SIGHUP makes the agent serve a new certificate (its expiry in
// hactl status, with a warning under 30 days); a broken key is refused, logged, and the
// certificate in use kept.
func TestAPICertReload(t *testing.T) {
	t.Parallel()
	l := apiStartLab(t, lab.Options{})
	addr := apiAddr("cenvm71")
	served := func() *x509.Certificate {
		t.Helper()
		conn, err := apiDialFrom(l.NetNS("client"))(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}) //nolint:gosec // reads the served certificate only
		_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
		_ = tc.Handshake() // refused without a client certificate after the server's flight
		st := tc.ConnectionState()
		if len(st.PeerCertificates) == 0 {
			t.Fatal("no server certificate seen")
		}
		return st.PeerCertificates[0]
	}
	old := served()
	pki := l.PKIDir()
	notAfter := time.Now().Add(20 * 24 * time.Hour).Truncate(time.Second)
	certPEM, keyPEM := rolesIssue(t, pki, "cenvm71", net.ParseIP("192.168.188.71"), notAfter)
	writeFile := func(name string, b []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(pki, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeFile("cenvm71.crt", certPEM)
	writeFile("cenvm71.key", keyPEM)
	hup := func() {
		t.Helper()
		if err := syscall.Kill(l.AgentPID("cenvm71"), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	hup()
	l.WaitFor(func() bool { return strings.Contains(l.AgentLog("cenvm71"), `msg="tls reloaded"`) }, 10*time.Second, "cenvm71 to log the TLS reload")
	now := served()
	if now.SerialNumber.Cmp(old.SerialNumber) == 0 || !now.NotAfter.Equal(notAfter) {
		t.Fatalf("after SIGHUP cenvm71 serves serial %v until %v, want the new certificate until %v", now.SerialNumber, now.NotAfter, notAfter)
	}
	st := apiHactl(t, l, "status")
	if !strings.Contains(st.Stdout, "warning: cenvm71: API certificate expires in 19 days ("+notAfter.UTC().Format("2006-01-02")+")") {
		t.Errorf("hactl status does not warn of cenvm71's certificate:\n%s", st.Stdout)
	}
	if got := apiNode(t, l, "cenvm71").GetApi().GetTlsCertNotAfter().AsTime(); !got.Equal(notAfter) {
		t.Errorf("GetStatus reports the certificate expiring %v, want %v", got, notAfter)
	}

	// A broken key: refused, logged, the new certificate stays in use.
	writeFile("cenvm71.key", []byte("-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n"))
	hup()
	l.WaitFor(func() bool { return strings.Contains(l.AgentLog("cenvm71"), "tls reload refused") }, 10*time.Second, "cenvm71 to refuse the broken key")
	if again := served(); again.SerialNumber.Cmp(now.SerialNumber) != 0 {
		t.Errorf("after a refused reload cenvm71 serves serial %v, want %v", again.SerialNumber, now.SerialNumber)
	}
	apiMustHactl(t, l, "status")
	if h := l.VIPHolders(); !slices.Equal(h, []string{"cenvm71"}) {
		t.Errorf("VIP on %v after the reloads, want cenvm71 only", h)
	}
}

// rolesIssue signs a server certificate for host (ip) with the lab CA, valid until
// notAfter, and returns it and its key in PEM.
func rolesIssue(t *testing.T, pki, host string, ip net.IP, notAfter time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	ca, err := tls.LoadX509KeyPair(filepath.Join(pki, "ca.crt"), filepath.Join(pki, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(ca.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{ip, net.IPv4(127, 0, 0, 1)},
	}, caCert, &key.PublicKey, ca.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}
