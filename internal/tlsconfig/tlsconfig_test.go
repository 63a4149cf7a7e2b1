package tlsconfig_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/certs"
	"github.com/diego-go/diego/internal/tlsconfig"
)

type pki struct {
	server, client, stranger certs.Paths
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	ca, err := certs.NewAuthority("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	other, err := certs.NewAuthority("other-ca")
	if err != nil {
		t.Fatal(err)
	}
	var p pki
	if p.server, err = ca.WriteLeaf(dir, "server", certs.LocalNames("server")); err != nil {
		t.Fatal(err)
	}
	if p.client, err = ca.WriteLeaf(dir, "client", certs.LocalNames("client")); err != nil {
		t.Fatal(err)
	}
	if p.stranger, err = other.WriteLeaf(filepath.Join(dir, "other"), "client", certs.LocalNames("client")); err != nil {
		t.Fatal(err)
	}
	return p
}

// serve accepts connections and completes handshakes until the listener closes.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if err := c.(*tls.Conn).Handshake(); err != nil {
					return
				}
				_, _ = c.Write([]byte("ok"))
			}()
		}
	}()
	return ln.Addr().String()
}

func dial(addr string, cfg *tls.Config) error {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2)
	// With TLS 1.3 a rejected client certificate only shows on the first read.
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != "ok" {
		return errors.New("unexpected reply")
	}
	return nil
}

func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	srv, err := tlsconfig.Server(tlsconfig.Files{CAFile: p.server.CAFile, CertFile: p.server.CertFile, KeyFile: p.server.KeyFile})
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, srv)

	good, err := tlsconfig.Client(tlsconfig.Files{CAFile: p.client.CAFile, CertFile: p.client.CertFile, KeyFile: p.client.KeyFile}, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	if err := dial(addr, good); err != nil {
		t.Fatalf("client signed by the CA was refused: %v", err)
	}

	tls12 := good.Clone()
	tls12.MaxVersion = tls.VersionTLS12
	if err := dial(addr, tls12); err != nil {
		t.Fatalf("TLS 1.2 with the allowed suites was refused: %v", err)
	}

	weak := tls12.Clone()
	weak.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}
	if err := dial(addr, weak); err == nil {
		t.Fatal("TLS 1.2 with a suite outside the defaults was accepted")
	}

	old := good.Clone()
	old.MinVersion, old.MaxVersion = tls.VersionTLS11, tls.VersionTLS11
	if err := dial(addr, old); err == nil {
		t.Fatal("TLS 1.1 was accepted")
	}

	noCert := good.Clone()
	noCert.Certificates = nil
	if err := dial(addr, noCert); err == nil {
		t.Fatal("client without a certificate was accepted")
	}

	stranger, err := tlsconfig.Client(tlsconfig.Files{CAFile: p.client.CAFile, CertFile: p.stranger.CertFile, KeyFile: p.stranger.KeyFile}, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	if err := dial(addr, stranger); err == nil {
		t.Fatal("client certificate from another CA was accepted")
	}

	wrongName := good.Clone()
	wrongName.ServerName = "bbs.service.cf.internal"
	if err := dial(addr, wrongName); err == nil {
		t.Fatal("server certificate was accepted for a name it does not cover")
	}

	skip, err := tlsconfig.ClientSkipVerify(p.client.CertFile, p.client.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	skip.ServerName = "bbs.service.cf.internal"
	if err := dial(addr, skip); err != nil {
		t.Fatalf("skip-verify client was refused: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	ca, err := certs.NewAuthority("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	expired, err := ca.WriteLeaf(dir, "expired", certs.Leaf{
		CommonName: "expired",
		NotBefore:  time.Now().Add(-48 * time.Hour),
		NotAfter:   time.Now().Add(-24 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.crt")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]tlsconfig.Files{
		"missing cert":  {CAFile: expired.CAFile, CertFile: filepath.Join(dir, "nope.crt"), KeyFile: expired.KeyFile},
		"empty cert":    {CAFile: expired.CAFile},
		"expired cert":  {CAFile: expired.CAFile, CertFile: expired.CertFile, KeyFile: expired.KeyFile},
		"missing CA":    {CAFile: filepath.Join(dir, "nope.crt"), CertFile: expired.CertFile, KeyFile: expired.KeyFile},
		"CA is not PEM": {CAFile: garbage, CertFile: expired.CertFile, KeyFile: expired.KeyFile},
	}
	for name, f := range cases {
		if _, err := tlsconfig.Server(f); err == nil {
			t.Errorf("%s: Server accepted it", name)
		}
	}
}
