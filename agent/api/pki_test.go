package api

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestGeneratePKI(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "pki")
	servers := map[string][]string{"cenvm71": {"192.168.188.71", "cenvm71.lab"}}
	if err := GeneratePKI(dir, servers, []string{"ops"}); err != nil {
		t.Fatalf("GeneratePKI: %v", err)
	}
	wantModes := map[string]fs.FileMode{
		"ca.pem": 0o644, "ca-key.pem": 0o600,
		"cenvm71.pem": 0o644, "cenvm71-key.pem": 0o600,
		"ops.pem": 0o644, "ops-key.pem": 0o600,
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(wantModes) {
		t.Errorf("dir holds %d files, want %d: %v", len(entries), len(wantModes), entries)
	}
	for name, want := range wantModes {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("missing %s: %v", name, err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s mode %v, want %v", name, got, want)
		}
	}

	ca, _, err := loadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.IsCA || ca.NotAfter.Sub(ca.NotBefore) < 10*365*24*time.Hour {
		t.Errorf("CA: IsCA %v, validity %v; want a CA valid 10 years", ca.IsCA, ca.NotAfter.Sub(ca.NotBefore))
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)

	server := leaf(t, dir, "cenvm71")
	if _, err := server.Verify(x509.VerifyOptions{Roots: pool, DNSName: "192.168.188.71"}); err != nil {
		t.Errorf("server cert for its IP: %v", err)
	}
	if _, err := server.Verify(x509.VerifyOptions{Roots: pool, DNSName: "cenvm71.lab"}); err != nil {
		t.Errorf("server cert for its name: %v", err)
	}
	if !slices.ContainsFunc(server.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.ParseIP("192.168.188.71")) }) {
		t.Errorf("server cert IPs %v", server.IPAddresses)
	}
	if _, err := server.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("server cert is usable as a client cert")
	}

	client := leaf(t, dir, "ops")
	if client.Subject.CommonName != "ops" {
		t.Errorf("client CN %q", client.Subject.CommonName)
	}
	if _, err := client.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client cert: %v", err)
	}
	if d := client.NotAfter.Sub(client.NotBefore); d < 365*24*time.Hour || d > 366*24*time.Hour+2*time.Hour {
		t.Errorf("client cert validity %v, want a year", d)
	}
	if k, ok := client.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("client key %T, want ECDSA P-256", client.PublicKey)
	}

	// A second run keeps the CA, so certificates already handed out stay valid.
	if err := GeneratePKI(dir, nil, []string{"ops2"}); err != nil {
		t.Fatalf("GeneratePKI again: %v", err)
	}
	if again, _, _ := loadCA(dir); !again.Equal(ca) {
		t.Error("second GeneratePKI replaced the CA")
	}
	if _, err := leaf(t, dir, "ops2").Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("cert from the kept CA: %v", err)
	}
	if err := WriteCA(dir); !errors.Is(err, fs.ErrExist) {
		t.Errorf("WriteCA over an existing CA: %v, want ErrExist", err)
	}
}

func TestWriteCertRejectsPathNames(t *testing.T) {
	t.Parallel()
	dir := clusterPKI(t)
	for _, name := range []string{"", "../x", "a/b", "ca"} {
		if err := WriteCert(dir, name, nil, true); err == nil {
			t.Errorf("WriteCert(%q) succeeded", name)
		}
	}
}

func leaf(t *testing.T, dir, name string) *x509.Certificate {
	t.Helper()
	f := files(dir, name)
	cert, _, err := f.load()
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return c
}
