package api

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
)

// TLSFiles names the PEM files of one side of a mutual-TLS connection: its own
// certificate and key, and the cluster CA that must have signed the other side's.
type TLSFiles struct {
	Cert string
	Key  string
	CA   string
}

func (f *TLSFiles) complete() bool {
	return f != nil && f.Cert != "" && f.Key != "" && f.CA != ""
}

// TLSStore holds the server side's certificate, key and CA, and swaps them on Reload
// (SIGHUP) without closing a listener: every new handshake uses the current set, and
// connections already made keep theirs.
type TLSStore struct {
	files TLSFiles
	cur   atomic.Pointer[tlsSet]
}

// tlsSet is one loaded certificate, key and CA, immutable once loaded.
type tlsSet struct {
	leaf   *x509.Certificate
	config *tls.Config
}

// LoadTLS loads files for a TCP listener. It refuses a key that does not match the
// certificate, a certificate that is expired or not yet valid, and a CA file without
// a certificate.
func LoadTLS(files TLSFiles) (*TLSStore, error) {
	if !files.complete() {
		return nil, errors.New("--tls-cert, --tls-key and --tls-ca are required")
	}
	s := &TLSStore{files: files}
	set, err := loadServerSet(files, time.Now())
	if err != nil {
		return nil, err
	}
	s.cur.Store(set)
	return s, nil
}

// Reload reads the files again. A set that does not load is refused and the current
// one kept; the error says why.
func (s *TLSStore) Reload() error {
	set, err := loadServerSet(s.files, time.Now())
	if err != nil {
		return fmt.Errorf("tls reload refused, keeping the certificate valid until %s: %w",
			s.NotAfter().UTC().Format(time.RFC3339), err)
	}
	s.cur.Store(set)
	return nil
}

// NotAfter is when the current certificate expires.
func (s *TLSStore) NotAfter() time.Time { return s.cur.Load().leaf.NotAfter }

// Subject is the current certificate's subject, for status and logs.
func (s *TLSStore) Subject() string { return s.cur.Load().leaf.Subject.String() }

// serverConfig requires and verifies a client certificate issued by the CA; the
// certificate and CA are whatever the store holds when a client says hello.
func (s *TLSStore) serverConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2"},
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return s.cur.Load().config, nil
		},
	}
}

func loadServerSet(f TLSFiles, now time.Time) (*tlsSet, error) {
	cert, pool, err := f.load()
	if err != nil {
		return nil, err
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("certificate %s: %w", f.Cert, err)
		}
	}
	switch {
	case now.After(leaf.NotAfter):
		return nil, fmt.Errorf("certificate %s expired at %s", f.Cert, leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return nil, fmt.Errorf("certificate %s is not valid before %s", f.Cert, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return &tlsSet{leaf: leaf, config: &tls.Config{
		MinVersion:   tls.VersionTLS12, // 1.3 is negotiated whenever the client has it
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		NextProtos:   []string{"h2"},
	}}, nil
}

// clientConfig verifies the server's certificate against the CA for serverName (an IP
// address or DNS name that must be among the certificate's SANs).
func (f *TLSFiles) clientConfig(serverName string) (*tls.Config, error) {
	cert, pool, err := f.load()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ServerName:   serverName,
		NextProtos:   []string{"h2"},
	}, nil
}

func (f *TLSFiles) load() (tls.Certificate, *x509.CertPool, error) {
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("load certificate %s and key %s: %w", f.Cert, f.Key, err)
	}
	pool, err := loadCAPool(f.CA)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return cert, pool, nil
}

func loadCAPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA %s: %w", path, errors.New("no PEM certificate found"))
	}
	return pool, nil
}
