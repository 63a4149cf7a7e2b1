package main_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"code.cloudfoundry.org/lager/v3/lagertest"
	auctioneerdaemon "github.com/diego-go/diego/internal/auctioneer/daemon"
	"github.com/diego-go/diego/internal/auctioneer/simrep"
	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	bbsdaemon "github.com/diego-go/diego/internal/bbs/daemon"
	"github.com/diego-go/diego/internal/bbs/encryption"
	"github.com/diego-go/diego/internal/certs"
	"github.com/diego-go/diego/internal/clock"
	"github.com/diego-go/diego/internal/durationjson"
	locketclient "github.com/diego-go/diego/internal/locket/client"
	"github.com/diego-go/diego/internal/locket/locketpb"
	"github.com/diego-go/diego/internal/locket/lockettest"
	"github.com/diego-go/diego/internal/rep/repmodels"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/testutil/daemontest"
	"github.com/diego-go/diego/internal/tlsconfig"
	"github.com/tedsuo/ifrit"
	"github.com/tedsuo/ifrit/grouper"
)

var auctioneerBin string

func TestMain(m *testing.M) { daemontest.Main(m, "auctioneer", &auctioneerBin) }

// cluster is a real locket and BBS in the test process, simulated reps
// holding locket presences, and the certificates an auctioneer needs.
type cluster struct {
	t      *testing.T
	locket *lockettest.Server
	bbsCfg bbsdaemon.Config
	bbs    *bbsclient.Client
	reps   map[string]*simrep.Rep

	auctioneerAddr string // where the BBS sends auctions
	server         certs.Paths
	client         certs.Paths
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{t: t, locket: lockettest.Start(t, sqldb.Config{}), reps: map[string]*simrep.Rep{}}
	dir := t.TempDir()
	ca, err := certs.NewAuthority("auctioneer test CA")
	if err != nil {
		t.Fatal(err)
	}
	if c.server, err = ca.WriteLeaf(dir, "server", certs.LocalNames("server", "bbs.service.cf.internal", "auctioneer.service.cf.internal")); err != nil {
		t.Fatal(err)
	}
	if c.client, err = ca.WriteLeaf(dir, "client", certs.LocalNames("client")); err != nil {
		t.Fatal(err)
	}
	c.auctioneerAddr = lockettest.FreeAddress(t)
	c.startBBS()
	return c
}

// startBBS runs a BBS on SQLite that sends its auctions to auctioneerAddr.
func (c *cluster) startBBS() {
	t := c.t
	cfg := bbsdaemon.DefaultConfig()
	cfg.ListenAddress = lockettest.FreeAddress(t)
	cfg.HealthAddress = lockettest.FreeAddress(t)
	cfg.CAFile, cfg.CertFile, cfg.KeyFile = c.server.CAFile, c.server.CertFile, c.server.KeyFile
	cfg.SQL = sqldb.Config{DriverName: "sqlite", ConnectionString: filepath.Join(t.TempDir(), "bbs.db"), ConnectionTimeout: durationjson.Duration(30 * time.Second)}
	cfg.Encryption = encryption.Config{ActiveKeyLabel: "k", EncryptionKeys: map[string]string{"k": "a passphrase"}}
	cfg.UUID = "bbs-0"
	cfg.Locket = c.locket.ClientConfig()
	cfg.AuctioneerAddress = "https://" + c.auctioneerAddr
	cfg.AuctioneerCACert, cfg.AuctioneerClientCert, cfg.AuctioneerClientKey = c.client.CAFile, c.client.CertFile, c.client.KeyFile
	cfg.AuctioneerRequireTLS = true
	cfg.RepCACert, cfg.RepClientCert, cfg.RepClientKey = c.client.CAFile, c.client.CertFile, c.client.KeyFile
	c.bbsCfg = cfg

	logger := lagertest.NewTestLogger("bbs")
	b, err := bbsdaemon.New(logger, lager.NewReconfigurableSink(lagertest.NewTestSink(), lager.INFO), cfg)
	if err != nil {
		t.Fatal(err)
	}
	proc := ifrit.Background(grouper.NewOrdered(os.Interrupt, b.Members))
	t.Cleanup(func() {
		proc.Signal(os.Interrupt)
		select {
		case <-proc.Wait():
		case <-time.After(30 * time.Second):
			t.Error("bbs did not stop")
		}
		b.Close()
	})
	select {
	case <-proc.Ready():
	case err := <-proc.Wait():
		t.Fatalf("bbs exited: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("bbs did not start")
	}
	c.bbs, err = bbsclient.New(bbsclient.Config{
		URL: "https://" + cfg.ListenAddress, CAFile: c.client.CAFile, CertFile: c.client.CertFile, KeyFile: c.client.KeyFile,
		Retries: 1, RequestTimeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// addRep starts a simulated rep and holds its presence in locket.
func (c *cluster) addRep(cfg simrep.Config) *simrep.Rep {
	t := c.t
	t.Helper()
	tc, err := tlsconfig.Server(tlsconfig.Files{CAFile: c.server.CAFile, CertFile: c.server.CertFile, KeyFile: c.server.KeyFile})
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLS = tc
	if cfg.Total == (repmodels.Resources{}) {
		cfg.Total = repmodels.Resources{MemoryMB: 4096, DiskMB: 16384, Containers: 100}
	}
	rep, err := simrep.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rep.Close() })
	value, err := json.Marshal(rep.Presence())
	if err != nil {
		t.Fatal(err)
	}
	presence := locketclient.NewPresenceRunner(lagertest.NewTestLogger("rep"), c.locket.Dial(),
		&locketpb.Resource{Key: cfg.CellID, Owner: "rep-" + cfg.CellID, Value: string(value), TypeCode: locketpb.TypeCode_PRESENCE, Type: "presence"},
		15, clock.New(), 5*time.Second)
	proc := ifrit.Background(presence)
	t.Cleanup(func() {
		proc.Signal(os.Interrupt)
		<-proc.Wait()
	})
	select {
	case <-proc.Ready():
	case <-time.After(20 * time.Second):
		t.Fatal("presence not acquired")
	}
	c.reps[cfg.CellID] = rep
	return rep
}

// auctioneerConfig returns a config for an auctioneer serving the BBS.
func (c *cluster) auctioneerConfig(uuid string) auctioneerdaemon.Config {
	cfg := auctioneerdaemon.DefaultConfig()
	cfg.ListenAddress = c.auctioneerAddr
	cfg.DebugAddress = lockettest.FreeAddress(c.t)
	cfg.CACertFile, cfg.ServerCertFile, cfg.ServerKeyFile = c.server.CAFile, c.server.CertFile, c.server.KeyFile
	cfg.BBSAddress = "https://" + c.bbsCfg.ListenAddress
	cfg.BBSCACertFile, cfg.BBSClientCertFile, cfg.BBSClientKeyFile = c.client.CAFile, c.client.CertFile, c.client.KeyFile
	cfg.RepCACert, cfg.RepClientCert, cfg.RepClientKey = c.client.CAFile, c.client.CertFile, c.client.KeyFile
	cfg.Locket = c.locket.ClientConfig()
	cfg.UUID = uuid
	cfg.CellStateTimeout = durationjson.Duration(2 * time.Second)
	cfg.LogLevel = "debug"
	return cfg
}

func (c *cluster) startAuctioneer(cfg auctioneerdaemon.Config) *daemontest.Process {
	c.t.Helper()
	return daemontest.StartReady(c.t, "auctioneer", auctioneerBin, daemontest.WriteConfig(c.t, cfg))
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not reached within %s: %s", what, within, detail)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
