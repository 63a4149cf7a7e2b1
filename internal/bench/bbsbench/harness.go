// Package bbsbench is the BBS scenarios of diego-bench: bbs-list,
// bbs-writes, convergence and bbs-events. Each seeds a fresh database with
// a simulated cluster straight through SQL (encrypted as the BBS encrypts),
// starts locket and the BBS under test as separate processes (so that
// their memory and CPU can be read from /proc), simulates cells (locket
// presences and rep-like API clients) and measures from the client side.
// Given a second BBS binary (the reference, -ref-bbs-bin), a scenario runs
// against both, each on its own fresh database, and prints them side by
// side with ratios.
//
//	seed (SQL) --> MariaDB <-- locket (bin/locket) <-- presences of N cells
//	                  ^                 ^
//	                  +---- BBS (bin/bbs or reference) <-- rep-like clients,
//	                         |                             list callers,
//	                         +--> fake auctioneer          event subscribers
package bbsbench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"code.cloudfoundry.org/lager/v3/lagerflags"
	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	bbsdaemon "github.com/diego-go/diego/internal/bbs/daemon"
	"github.com/diego-go/diego/internal/bbs/encryption"
	"github.com/diego-go/diego/internal/bench/benchdb"
	"github.com/diego-go/diego/internal/certs"
	"github.com/diego-go/diego/internal/durationjson"
	locketclient "github.com/diego-go/diego/internal/locket/client"
	locketdaemon "github.com/diego-go/diego/internal/locket/daemon"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"google.golang.org/protobuf/proto"
)

// Config is what every BBS scenario needs.
type Config struct {
	Driver   string // mysql (postgres works too)
	AdminDSN string // a user who may create databases
	// BBSBin is the BBS under test; RefBBSBin, if set, is run too and
	// compared. LocketBin is the locket both use.
	BBSBin, RefBBSBin, LocketBin string
	Fleet                        Fleet
	Duration                     time.Duration // the measured steady phase
	// ConvergeInterval is the BBS's converge_repeat_interval.
	ConvergeInterval time.Duration
	// ProfileDir, if set, receives CPU profiles of the BBS taken during the
	// main phases (from its debug address, /debug/pprof/profile).
	ProfileDir string
	// KeepDir keeps the work directory (configs and daemon logs).
	KeepDir bool
	// DBPid is the database server's pid, for its CPU time (0: unknown).
	DBPid int
	Out   io.Writer
}

// DefaultConfig is the sizes: 200,000 LRPs of one instance on
// 1,000 cells.
func DefaultConfig() Config {
	pid, _ := strconv.Atoi(os.Getenv("DIEGO_TEST_MYSQL_PID"))
	return Config{
		Driver: "mysql", AdminDSN: os.Getenv("DIEGO_TEST_MYSQL_DSN"),
		Fleet:    Fleet{LRPs: 200000, Instances: 1, Cells: 1000},
		Duration: time.Minute, ConvergeInterval: 30 * time.Second, DBPid: pid, Out: os.Stdout,
	}
}

// Target is one BBS binary to measure.
type Target struct {
	Name string // "ours" or "reference"
	Bin  string
}

// Targets are the BBS under test and, if configured, the reference.
func (c Config) Targets() []Target {
	t := []Target{{Name: "ours", Bin: c.BBSBin}}
	if c.RefBBSBin != "" {
		t = append(t, Target{Name: "reference", Bin: c.RefBBSBin})
	}
	return t
}

var benchKeys = encryption.Config{ActiveKeyLabel: "bench-key", EncryptionKeys: map[string]string{"bench-key": "a passphrase for the bench"}}

// Env is one seeded database with locket, a BBS and the cells' presences.
type Env struct {
	Cfg    Config
	Target Target
	Dir    string
	PKI    struct{ BBS, Locket, Client certs.Paths }

	BBS         *Proc
	BBSConfig   bbsdaemon.Config
	Locket      *Proc
	Auctioneer  *Auctioneer
	Cells       *Cells
	CPU         *CPUMeter
	SeedElapsed time.Duration
	// ViewLoadWait is how long after its first answer our BBS took to
	// load its views of actual and desired LRPs.
	ViewLoadWait time.Duration

	closers []func()
}

// StartEnv seeds a fresh database and starts locket, the fake auctioneer,
// the cells' presences and the BBS of target.
func StartEnv(ctx context.Context, cfg Config, target Target, log func(string, ...any)) (env *Env, err error) {
	if err := raiseFileLimit(200000); err != nil {
		log("could not raise the open file limit: %v", err)
	}
	e := &Env{Cfg: cfg, Target: target}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if e.Dir, err = os.MkdirTemp("", "bbsbench-"+target.Name+"-"); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, func() {
		if !cfg.KeepDir {
			os.RemoveAll(e.Dir)
		}
	})
	if err := e.writePKI(); err != nil {
		return nil, err
	}

	bbsDB, dropBBS, err := benchdb.Create(ctx, cfg.Driver, cfg.AdminDSN, "diego_bench_bbs")
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, dropBBS)
	locketDB, dropLocket, err := benchdb.Create(ctx, cfg.Driver, cfg.AdminDSN, "diego_bench_locket")
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, dropLocket)

	log("seeding %d desired LRPs x %d instances on %d cells (%s)", cfg.Fleet.LRPs, cfg.Fleet.Instances, cfg.Fleet.Cells, target.Name)
	start := time.Now()
	if err := seedDB(ctx, bbsDB, cfg.Fleet); err != nil {
		return nil, err
	}
	e.SeedElapsed = time.Since(start)
	log("seeded in %s", e.SeedElapsed.Round(time.Millisecond))

	if err := e.startLocket(ctx, locketDB); err != nil {
		return nil, err
	}
	if e.Auctioneer, err = StartAuctioneer(e.PKI.BBS); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, e.Auctioneer.Close)
	if e.Cells, err = StartCells(ctx, e.locketClientConfig(), cfg.Fleet.Cells); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, e.Cells.Close)
	if err := e.startBBS(ctx, bbsDB); err != nil {
		return nil, err
	}
	e.CPU = &CPUMeter{pids: map[string]int{"bbs": e.BBS.Pid(), "locket": e.Locket.Pid()}}
	if cfg.DBPid > 0 {
		e.CPU.pids["mariadb"] = cfg.DBPid
	}
	return e, nil
}

func seedDB(ctx context.Context, cfg sqldb.Config, f Fleet) error {
	crypt, err := encryption.New(benchKeys)
	if err != nil {
		return err
	}
	cfg.MaxOpenConnections = seedWorkers + 2
	sqlDB, err := sqldb.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	return Seed(ctx, sqlDB, crypt, f)
}

func (e *Env) writePKI() error {
	ca, err := certs.NewAuthority("bbsbench CA")
	if err != nil {
		return err
	}
	if e.PKI.BBS, err = ca.WriteLeaf(e.Dir, "bbs", certs.LocalNames("bbs", "bbs.service.cf.internal")); err != nil {
		return err
	}
	if e.PKI.Locket, err = ca.WriteLeaf(e.Dir, "locket", certs.LocalNames("locket", "locket.service.cf.internal")); err != nil {
		return err
	}
	e.PKI.Client, err = ca.WriteLeaf(e.Dir, "client", certs.LocalNames("client"))
	return err
}

func (e *Env) locketClientConfig() locketclient.Config {
	return locketclient.Config{LocketAddress: e.Locket.addr, LocketCACertFile: e.PKI.Client.CAFile,
		LocketClientCertFile: e.PKI.Client.CertFile, LocketClientKeyFile: e.PKI.Client.KeyFile}
}

func (e *Env) startLocket(ctx context.Context, db sqldb.Config) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cfg := locketdaemon.DefaultConfig()
	cfg.ListenAddress = addr
	cfg.CAFile, cfg.CertFile, cfg.KeyFile = e.PKI.Locket.CAFile, e.PKI.Locket.CertFile, e.PKI.Locket.KeyFile
	cfg.Config = db
	cfg.MaxOpenConnections, cfg.MaxIdleConnections = 200, 200 // the BOSH defaults
	cfg.LogLevel = "info"
	p, err := startProc(e.Dir, "locket", e.Cfg.LocketBin, cfg)
	if err != nil {
		return err
	}
	p.addr = addr
	e.Locket = p
	e.closers = append(e.closers, p.Stop)
	return p.WaitForLog(ctx, "locket.started", time.Minute)
}

func (e *Env) startBBS(ctx context.Context, db sqldb.Config) error {
	cfg := bbsdaemon.DefaultConfig()
	var err error
	for _, a := range []*string{&cfg.ListenAddress, &cfg.HealthAddress, &cfg.DebugAddress} {
		if *a, err = freeAddr(); err != nil {
			return err
		}
	}
	cfg.CAFile, cfg.CertFile, cfg.KeyFile = e.PKI.BBS.CAFile, e.PKI.BBS.CertFile, e.PKI.BBS.KeyFile
	cfg.SQL = db
	cfg.SQL.MaxOpenConnections, cfg.SQL.MaxIdleConnections = 200, 200 // the BOSH defaults
	// Non-zero: the reference also bounds its locket calls with it.
	cfg.SQL.ConnectionTimeout = durationjson.Duration(time.Minute)
	cfg.Encryption = benchKeys
	cfg.UUID = "bbs-bench-" + e.Target.Name
	cfg.Locket = e.locketClientConfig()
	cfg.AuctioneerAddress = e.Auctioneer.URL
	cfg.AuctioneerCACert, cfg.AuctioneerClientCert, cfg.AuctioneerClientKey = e.PKI.BBS.CAFile, e.PKI.BBS.CertFile, e.PKI.BBS.KeyFile
	cfg.AuctioneerRequireTLS = true
	cfg.RepCACert, cfg.RepClientCert, cfg.RepClientKey = e.PKI.BBS.CAFile, e.PKI.BBS.CertFile, e.PKI.BBS.KeyFile
	cfg.ConvergeRepeatInterval = durationjson.Duration(e.Cfg.ConvergeInterval)
	cfg.LogLevel = "info"
	cfg.TimeFormat = lagerflags.FormatRFC3339
	e.BBSConfig = cfg
	p, err := startProc(e.Dir, "bbs", e.Target.Bin, cfg)
	if err != nil {
		return err
	}
	e.BBS = p
	e.closers = append(e.closers, p.Stop)
	if err := p.WaitForLog(ctx, "bbs.started", 2*time.Minute); err != nil {
		return err
	}
	c, err := e.Client(30*time.Second, 1)
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(2 * time.Minute)
	for !c.Ping(ctx) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s BBS did not answer ping within 2m; log: %s", e.Target.Name, p.LogPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.Exited():
			return fmt.Errorf("%s BBS exited; log: %s", e.Target.Name, p.LogPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if e.Target.Name == "ours" {
		// Our BBS serves from its actual LRP view once loaded (SQL before);
		// the measurements are of the loaded state.
		start := time.Now()
		for _, view := range []string{"actual-lrp-view.loaded", "desired-lrp-view.loaded"} {
			if err := p.WaitForLog(ctx, view, 5*time.Minute); err != nil {
				return err
			}
		}
		e.ViewLoadWait = time.Since(start)
	}
	return checkHeartbeat(ctx, c, e.Cfg.Fleet)
}

// checkHeartbeat makes sure a rep's repeated StartActualLRP of a seeded
// instance changes nothing on this BBS (same modification tag after), as
// the bulk loop assumes.
func checkHeartbeat(ctx context.Context, c *bbsclient.Client, f Fleet) error {
	lrp, index := f.LRPs-1, f.Instances-1
	read := func() (*models.ModificationTag, error) {
		i := int32(index)
		lrps, err := c.ActualLRPs(ctx, bbsclient.ActualLRPFilter{ProcessGuid: ProcessGUID(lrp), Index: &i})
		if err != nil || len(lrps) != 1 {
			return nil, fmt.Errorf("reading the seeded instance back: %d rows, %v", len(lrps), err)
		}
		return lrps[0].GetModificationTag(), nil
	}
	before, err := read()
	if err != nil {
		return err
	}
	if err := c.StartActualLRP(ctx, f.StartRequest(lrp, index)); err != nil {
		return fmt.Errorf("heartbeat start of a seeded instance: %w", err)
	}
	after, err := read()
	if err != nil {
		return err
	}
	if !proto.Equal(before, after) {
		return fmt.Errorf("a heartbeat start changed a seeded instance (modification tag %v -> %v): the seed and the rep's request differ", before, after)
	}
	return nil
}

// Client returns a new API client (its own connection pool) with the
// given per-request timeout (0: none) and attempts.
func (e *Env) Client(timeout time.Duration, retries int) (*bbsclient.Client, error) {
	return bbsclient.New(bbsclient.Config{
		URL:    "https://" + e.BBSConfig.ListenAddress,
		CAFile: e.PKI.Client.CAFile, CertFile: e.PKI.Client.CertFile, KeyFile: e.PKI.Client.KeyFile,
		RequestTimeout: timeout, Retries: retries, MaxIdleConnsPerHost: 30000, ClientSessionCacheSize: 1024,
	})
}

// DebugURL is the BBS's debug server (pprof, /metrics for ours).
func (e *Env) DebugURL() string { return "http://" + e.BBSConfig.DebugAddress }

// Memory is the BBS's resident memory now and at its peak.
func (e *Env) Memory() (rss, peak int64) { return Memory(e.BBS.Pid()) }

// Close stops everything in reverse order and drops the databases.
func (e *Env) Close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
}

// LogDir says where the daemon logs are (kept with KeepDir).
func (e *Env) LogDir() string { return filepath.Clean(e.Dir) }
