// Package certs makes a private certificate authority and the server and
// client certificates signed by it, for tests and for the local cluster that
// diego-dev starts. Keys are RSA because the internal TLS 1.2 suites need RSA.
package certs

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// KeyBits is the size of every generated RSA key.
const KeyBits = 2048

// Authority is a self-signed CA that issues leaf certificates.
type Authority struct {
	cert    *x509.Certificate
	key     *rsa.PrivateKey
	certPEM []byte
}

// NewAuthority creates a CA named commonName, valid for ten years.
func NewAuthority(commonName string) (*Authority, error) {
	key, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"diego"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("sign CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Authority{cert: cert, key: key, certPEM: encode("CERTIFICATE", der)}, nil
}

// CertPEM returns the CA certificate in PEM form.
func (a *Authority) CertPEM() []byte { return a.certPEM }

// Leaf describes a certificate to issue.
type Leaf struct {
	CommonName string
	DNSNames   []string
	IPs        []net.IP
	NotBefore  time.Time // zero: an hour ago
	NotAfter   time.Time // zero: in two years
}

// Issue signs a certificate usable both as a TLS server and a TLS client
// certificate and returns it and its key in PEM form.
func (a *Authority) Issue(l Leaf) (certPEM, keyPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	notBefore, notAfter := l.NotBefore, l.NotAfter
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-time.Hour)
	}
	if notAfter.IsZero() {
		notAfter = time.Now().AddDate(2, 0, 0)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: l.CommonName, Organization: []string{"diego"}},
		DNSNames:     l.DNSNames,
		IPAddresses:  l.IPs,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return nil, nil, fmt.Errorf("sign certificate %q: %w", l.CommonName, err)
	}
	return encode("CERTIFICATE", der), encode("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key)), nil
}

// Paths names the files WriteSet writes.
type Paths struct {
	CAFile   string
	CertFile string
	KeyFile  string
}

// WriteLeaf issues l and writes name.crt and name.key into dir, returning
// the paths together with the CA file path (dir/ca.crt, written if missing).
func (a *Authority) WriteLeaf(dir, name string, l Leaf) (Paths, error) {
	certPEM, keyPEM, err := a.Issue(l)
	if err != nil {
		return Paths{}, err
	}
	p := Paths{
		CAFile:   filepath.Join(dir, "ca.crt"),
		CertFile: filepath.Join(dir, name+".crt"),
		KeyFile:  filepath.Join(dir, name+".key"),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Paths{}, err
	}
	if err := os.WriteFile(p.CAFile, a.certPEM, 0o644); err != nil {
		return Paths{}, err
	}
	if err := os.WriteFile(p.CertFile, certPEM, 0o644); err != nil {
		return Paths{}, err
	}
	if err := os.WriteFile(p.KeyFile, keyPEM, 0o600); err != nil {
		return Paths{}, err
	}
	return p, nil
}

// LocalNames are the names and addresses a certificate for a daemon of the
// local cluster covers: loopback plus the reference's service names.
func LocalNames(commonName string, serviceNames ...string) Leaf {
	return Leaf{
		CommonName: commonName,
		DNSNames:   append([]string{"localhost"}, serviceNames...),
		IPs:        []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
}

func encode(kind string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		// crypto/rand does not fail on Linux; a fixed serial still yields a
		// valid certificate.
		return big.NewInt(1)
	}
	return n
}
