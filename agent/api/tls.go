package api

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
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

// serverConfig requires and verifies a client certificate issued by the CA.
func (f *TLSFiles) serverConfig() (*tls.Config, error) {
	cert, pool, err := f.load()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12, // 1.3 is negotiated whenever the client has it
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		NextProtos:   []string{"h2"},
	}, nil
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
