package api

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// A small PKI for a cluster: one CA; server certificates for the agents (valid only
// for TLS server auth, for the host's IPs and names) and client certificates for the
// operators (valid only for client auth, identified by their CN). Keys are ECDSA P-256.
// Files, all PEM in one directory: ca.pem, ca-key.pem, NAME.pem, NAME-key.pem; keys are
// written 0600.
const (
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 365 * 24 * time.Hour
	// clockSkew backdates certificates so a host whose clock is a little behind
	// accepts them at once.
	clockSkew = time.Hour

	caCertFile = "ca.pem"
	caKeyFile  = "ca-key.pem"
)

// GeneratePKI makes dir's CA unless it already has one, then a server certificate for
// each servers[name] (its IPs and DNS names) and a client certificate for each name in
// clients. Existing leaf certificates are replaced; an existing CA is kept so that
// certificates it issued stay valid.
func GeneratePKI(dir string, servers map[string][]string, clients []string) error {
	return MakePKI(dir, PKIRequest{Servers: servers, Clients: clients})
}

// PKIRequest is what MakePKI issues.
type PKIRequest struct {
	// Servers are agent certificates: name -> IP addresses and DNS names.
	Servers map[string][]string
	// Clients are operator certificates, identified by CN=name.
	Clients []string
	// Readers are client certificates marked read-only (OU=ReadOnlyOU): the agent
	// never lets them call Failover or SetMaintenance, for dashboards.
	Readers []string
}

// MakePKI is GeneratePKI with read-only client certificates. It checks every name
// before writing anything: no two certificates may share a name, and no name may make
// a file of another (NAME-key.pem of one is the certificate of "NAME-key") or the CA's.
func MakePKI(dir string, req PKIRequest) error {
	if err := checkCertNames(req); err != nil {
		return err
	}
	if err := WriteCA(dir); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(req.Servers)) {
		if err := WriteCert(dir, name, req.Servers[name], false); err != nil {
			return err
		}
	}
	for _, name := range req.Clients {
		if err := writeLeaf(dir, name, nil, true, false); err != nil {
			return err
		}
	}
	for _, name := range req.Readers {
		if err := writeLeaf(dir, name, nil, true, true); err != nil {
			return err
		}
	}
	return nil
}

// checkCertNames refuses names whose files would overwrite each other or the CA's.
func checkCertNames(req PKIRequest) error {
	seen := map[string]string{} // file -> what writes it
	claim := func(kind, name string) error {
		if err := checkCertName(name); err != nil {
			return err
		}
		for _, f := range []string{name + ".pem", name + "-key.pem"} {
			if prev, ok := seen[f]; ok {
				return fmt.Errorf("%s certificate %q would overwrite %s (%s)", kind, name, f, prev)
			}
			seen[f] = kind + " " + name
		}
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(req.Servers)) {
		if err := claim("server", name); err != nil {
			return err
		}
	}
	for _, name := range req.Clients {
		if err := claim("client", name); err != nil {
			return err
		}
	}
	for _, name := range req.Readers {
		if err := claim("reader", name); err != nil {
			return err
		}
	}
	return nil
}

// checkCertName refuses a name that is not a plain file name, or whose NAME.pem or
// NAME-key.pem could be the CA's files or another certificate's key.
func checkCertName(name string) error {
	switch {
	case name == "" || filepath.Base(name) != name || strings.HasPrefix(name, "."):
		return fmt.Errorf("certificate name %q: want a plain file name", name)
	case name == "ca" || name == "ca-key":
		return fmt.Errorf("certificate name %q would overwrite the CA's %s or %s", name, caCertFile, caKeyFile)
	case strings.HasSuffix(name, "-key"):
		return fmt.Errorf("certificate name %q: a name ending in -key would overwrite %s.pem's key", name, strings.TrimSuffix(name, "-key"))
	}
	return nil
}

// WriteCA creates dir (0700) and a new CA in it. It fails with an error wrapping
// fs.ErrExist when dir already has a CA: replacing it would orphan its certificates.
func WriteCA(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pki dir: %w", err)
	}
	certPath := filepath.Join(dir, caCertFile)
	if _, err := os.Stat(certPath); err == nil {
		return fmt.Errorf("write CA: %s: %w", certPath, fs.ErrExist)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "hagent cluster CA"},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := sign(tmpl, tmpl, key, key)
	if err != nil {
		return fmt.Errorf("self-sign CA: %w", err)
	}
	// The key first: a ca.pem without its key would make GeneratePKI skip a CA it
	// cannot use.
	if err := writeKey(filepath.Join(dir, caKeyFile), key); err != nil {
		return err
	}
	return writePEM(certPath, "CERTIFICATE", der, 0o644)
}

// WriteCert issues NAME.pem and NAME-key.pem in dir from dir's CA. A server
// certificate (client false) is for TLS server auth on hosts, each an IP address or a
// DNS name (name itself when hosts is empty); a client certificate is for TLS client
// auth and identifies its holder by CN=name.
func WriteCert(dir, name string, hosts []string, client bool) error {
	return writeLeaf(dir, name, hosts, client, false)
}

func writeLeaf(dir, name string, hosts []string, client, readOnly bool) error {
	if err := checkCertName(name); err != nil {
		return err
	}
	caCert, caKey, err := loadCA(dir)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate key for %s: %w", name, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		NotBefore:   now.Add(-clockSkew),
		NotAfter:    now.Add(leafValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else if len(hosts) == 0 {
		hosts = []string{name}
	}
	if readOnly {
		tmpl.Subject.OrganizationalUnit = []string{ReadOnlyOU}
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := sign(tmpl, caCert, key, caKey)
	if err != nil {
		return fmt.Errorf("sign certificate for %s: %w", name, err)
	}
	if err := writeKey(filepath.Join(dir, name+"-key.pem"), key); err != nil {
		return err
	}
	return writePEM(filepath.Join(dir, name+".pem"), "CERTIFICATE", der, 0o644)
}

func sign(tmpl, parent *x509.Certificate, key, parentKey *ecdsa.PrivateKey) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	tmpl.SerialNumber = serial
	return x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
}

func loadCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile))
	if err != nil {
		return nil, nil, fmt.Errorf("load CA from %s: %w", dir, err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("load CA from %s: key is %T, want ECDSA", dir, pair.PrivateKey)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, nil, fmt.Errorf("load CA from %s: %w", dir, err)
	}
	return cert, key, nil
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encode key %s: %w", path, err)
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

// writePEM replaces path atomically, with mode perm from the start (a key is never
// readable by others, not even briefly, whatever the file it replaces allowed).
func writePEM(path, blockType string, der []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	err = tmp.Chmod(perm)
	if err == nil {
		err = pem.Encode(tmp, &pem.Block{Type: blockType, Bytes: der})
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
