package main_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/bbs/daemon"
	"github.com/diego-go/diego/internal/bbs/encryption"
	"github.com/diego-go/diego/internal/certs"
	"github.com/diego-go/diego/internal/durationjson"
	"github.com/diego-go/diego/internal/locket/lockettest"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/testutil/daemontest"
)

var bbsBin string

func TestMain(m *testing.M) { daemontest.Main(m, "bbs", &bbsBin) }

// cluster is a locket and the certificates a BBS needs.
type cluster struct {
	t      *testing.T
	locket *lockettest.Server
	server certs.Paths // the BBS's own certificate
	client certs.Paths // an API client's
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	return newClusterOn(t, sqldb.Config{})
}

// newClusterOn is newCluster with locket's storage on lockDB (SQLite in a
// temporary directory when it is the zero Config).
func newClusterOn(t *testing.T, lockDB sqldb.Config) *cluster {
	t.Helper()
	dir := t.TempDir()
	ca, err := certs.NewAuthority("bbs test CA")
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, locket: lockettest.Start(t, lockDB)}
	if c.server, err = ca.WriteLeaf(dir, "bbs", certs.LocalNames("bbs", "bbs.service.cf.internal")); err != nil {
		t.Fatal(err)
	}
	if c.client, err = ca.WriteLeaf(dir, "client", certs.LocalNames("client")); err != nil {
		t.Fatal(err)
	}
	return c
}

// config returns a BBS config on db with the given encryption keys.
func (c *cluster) config(db sqldb.Config, uuid string, enc encryption.Config) daemon.Config {
	cfg := daemon.DefaultConfig()
	cfg.ListenAddress = lockettest.FreeAddress(c.t)
	cfg.HealthAddress = lockettest.FreeAddress(c.t)
	cfg.DebugAddress = lockettest.FreeAddress(c.t)
	cfg.CAFile, cfg.CertFile, cfg.KeyFile = c.server.CAFile, c.server.CertFile, c.server.KeyFile
	cfg.SQL = db
	if cfg.SQL.ConnectionTimeout == 0 {
		cfg.SQL.ConnectionTimeout = durationjson.Duration(30 * time.Second)
	}
	cfg.Encryption = enc
	cfg.UUID = uuid
	cfg.Locket = c.locket.ClientConfig()
	cfg.AuctioneerAddress = "https://" + lockettest.FreeAddress(c.t)
	cfg.AuctioneerCACert, cfg.AuctioneerClientCert, cfg.AuctioneerClientKey = c.server.CAFile, c.server.CertFile, c.server.KeyFile
	cfg.RepCACert, cfg.RepClientCert, cfg.RepClientKey = c.server.CAFile, c.server.CertFile, c.server.KeyFile
	cfg.LogLevel = "debug"
	return cfg
}

var testKeys = encryption.Config{ActiveKeyLabel: "key-1", EncryptionKeys: map[string]string{"key-1": "a passphrase"}}

// start runs a BBS with cfg and waits until it serves.
func (c *cluster) start(cfg daemon.Config) *daemontest.Process {
	c.t.Helper()
	return daemontest.StartReady(c.t, "bbs", bbsBin, daemontest.WriteConfig(c.t, cfg))
}

// clientFor returns an API client of the BBS configured by cfg.
func (c *cluster) clientFor(cfg daemon.Config) *bbsclient.Client {
	c.t.Helper()
	cl, err := bbsclient.New(bbsclient.Config{
		URL: "https://" + cfg.ListenAddress, CAFile: c.client.CAFile, CertFile: c.client.CertFile, KeyFile: c.client.KeyFile,
		Retries: 1, RequestTimeout: 30 * time.Second,
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return cl
}

func sqliteDB(t *testing.T) sqldb.Config {
	return sqldb.Config{DriverName: "sqlite", ConnectionString: filepath.Join(t.TempDir(), "bbs.db")}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
