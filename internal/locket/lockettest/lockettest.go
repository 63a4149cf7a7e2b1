// Package lockettest runs a real locket server inside a test process, on
// loopback with mutual TLS and SQL storage, for the tests of every package
// that talks to locket.
package lockettest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"code.cloudfoundry.org/lager/v3/lagertest"
	"github.com/diego-go/diego/internal/certs"
	"github.com/diego-go/diego/internal/locket/client"
	"github.com/diego-go/diego/internal/locket/daemon"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/tedsuo/ifrit"
	"github.com/tedsuo/ifrit/grouper"
)

// PKI is a CA with a server certificate for locket and a client one.
type PKI struct {
	Dir    string
	Server certs.Paths
	Client certs.Paths
}

// NewPKI writes a fresh CA and certificates into a temporary directory.
func NewPKI(t testing.TB) PKI {
	t.Helper()
	dir := t.TempDir()
	ca, err := certs.NewAuthority("lockettest CA")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.WriteLeaf(dir, "server", certs.LocalNames("locket", "locket.service.cf.internal"))
	if err != nil {
		t.Fatal(err)
	}
	cli, err := ca.WriteLeaf(dir, "client", certs.LocalNames("client"))
	if err != nil {
		t.Fatal(err)
	}
	return PKI{Dir: dir, Server: srv, Client: cli}
}

// Server is a running locket.
type Server struct {
	t       testing.TB
	Address string
	PKI     PKI
	Config  daemon.Config
	Logger  *lagertest.TestLogger

	process ifrit.Process
	closer  func() error
}

// FreeAddress returns a loopback address nobody listens on right now.
func FreeAddress(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Start runs a locket on db (SQLite in a temporary directory when db is the
// zero Config) and stops it at the end of the test.
func Start(t testing.TB, db sqldb.Config) *Server {
	t.Helper()
	if db.DriverName == "" {
		db = sqldb.Config{DriverName: "sqlite", ConnectionString: filepath.Join(t.TempDir(), "locket.db")}
	}
	pki := NewPKI(t)
	cfg := daemon.DefaultConfig()
	cfg.ListenAddress = FreeAddress(t)
	cfg.CAFile, cfg.CertFile, cfg.KeyFile = pki.Server.CAFile, pki.Server.CertFile, pki.Server.KeyFile
	cfg.Config = db
	s := &Server{t: t, Address: cfg.ListenAddress, PKI: pki, Config: cfg, Logger: lagertest.NewTestLogger("locket")}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start() {
	s.t.Helper()
	l, err := daemon.New(s.Logger, lager.NewReconfigurableSink(lagertest.NewTestSink(), lager.DEBUG), s.Config)
	if err != nil {
		s.t.Fatal(err)
	}
	s.closer = l.Close
	s.process = ifrit.Background(grouper.NewOrdered(os.Interrupt, l.Members))
	select {
	case <-s.process.Ready():
	case err := <-s.process.Wait():
		s.t.Fatalf("locket exited at start: %v", err)
	case <-time.After(30 * time.Second):
		s.t.Fatal("locket did not start within 30s")
	}
}

// Stop stops the server; it may be called more than once.
func (s *Server) Stop() {
	if s.process == nil {
		return
	}
	s.process.Signal(os.Interrupt)
	select {
	case <-s.process.Wait():
	case <-time.After(30 * time.Second):
		s.t.Error("locket did not stop within 30s")
	}
	_ = s.closer()
	s.process = nil
}

// Restart stops the server and starts it again on the same address and
// database.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// Wait returns the server's exit, for tests that make it fail.
func (s *Server) Wait() <-chan error { return s.process.Wait() }

// ClientConfig is the locket client block for this server.
func (s *Server) ClientConfig() client.Config {
	return client.Config{
		LocketAddress:        s.Address,
		LocketCACertFile:     s.PKI.Client.CAFile,
		LocketClientCertFile: s.PKI.Client.CertFile,
		LocketClientKeyFile:  s.PKI.Client.KeyFile,
	}
}

// Dial connects a client and closes it at the end of the test.
func (s *Server) Dial() *client.Conn {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, s.ClientConfig())
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { c.Close() })
	return c
}
