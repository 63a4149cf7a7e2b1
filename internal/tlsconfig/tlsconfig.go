// Package tlsconfig builds the mutual-TLS configurations every daemon and
// client of the cluster uses. The settings are the reference's "internal
// service defaults": TLS 1.2 to 1.3, and for TLS 1.2 only the two ECDHE-RSA
// AES-GCM suites, so every server key must be RSA. Any certificate signed by
// the configured CA is accepted; there is no further authorization.
package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"
)

// CipherSuites are the only TLS 1.2 suites offered or accepted. TLS 1.3
// suites are not configurable in Go and are all allowed.
var CipherSuites = []uint16{
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
}

// Files names the PEM files of one side of a mutual-TLS connection.
type Files struct {
	CAFile   string
	CertFile string
	KeyFile  string
}

// base returns a config with the internal service defaults applied.
func base() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		MaxVersion:   tls.VersionTLS13,
		CipherSuites: append([]uint16(nil), CipherSuites...),
	}
}

// Server returns a config that presents the certificate in f and requires
// every client to present one signed by f.CAFile.
func Server(f Files) (*tls.Config, error) {
	cfg := base()
	cert, err := LoadKeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return nil, err
	}
	cfg.Certificates = []tls.Certificate{cert}
	pool, err := LoadCAPool(f.CAFile)
	if err != nil {
		return nil, err
	}
	cfg.ClientCAs = pool
	cfg.ClientAuth = tls.RequireAndVerifyClientCert
	return cfg, nil
}

// Client returns a config that presents the certificate in f and verifies the
// server against f.CAFile. serverName is checked against the server's
// certificate; leave it empty to let the dialler derive it from the address.
func Client(f Files, serverName string) (*tls.Config, error) {
	cfg := base()
	cert, err := LoadKeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return nil, err
	}
	cfg.Certificates = []tls.Certificate{cert}
	pool, err := LoadCAPool(f.CAFile)
	if err != nil {
		return nil, err
	}
	cfg.RootCAs = pool
	cfg.ServerName = serverName
	return cfg, nil
}

// ClientSkipVerify returns a client config that presents the certificate in
// certFile/keyFile but does not verify the server (cfdot --skipCertVerify).
func ClientSkipVerify(certFile, keyFile string) (*tls.Config, error) {
	cfg := base()
	cert, err := LoadKeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	cfg.Certificates = []tls.Certificate{cert}
	cfg.InsecureSkipVerify = true
	return cfg, nil
}

// LoadKeyPair reads a certificate and its key and refuses certificates that
// are expired or not yet valid.
func LoadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	if certFile == "" || keyFile == "" {
		return tls.Certificate{}, errors.New("failed to load keypair: certificate and key files are required")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("failed to load keypair: %w", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("failed to load keypair: %w", err)
	}
	now := time.Now()
	if now.After(leaf.NotAfter) {
		return tls.Certificate{}, fmt.Errorf("failed to load keypair: certificate %s expired at %s", certFile, leaf.NotAfter.Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return tls.Certificate{}, fmt.Errorf("failed to load keypair: certificate %s is not valid before %s", certFile, leaf.NotBefore.Format(time.RFC3339))
	}
	cert.Leaf = leaf
	return cert, nil
}

// LoadCAPool reads a PEM bundle of one or more CA certificates.
func LoadCAPool(caFile string) (*x509.CertPool, error) {
	if caFile == "" {
		return nil, errors.New("failed to load CA: a CA file is required")
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("failed to load CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("failed to load CA: no certificate found in %s", caFile)
	}
	return pool, nil
}
