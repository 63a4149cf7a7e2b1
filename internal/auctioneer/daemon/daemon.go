package daemon

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/auction"
	"github.com/diego-go/diego/internal/auctioneer/runner"
	"github.com/diego-go/diego/internal/auctioneer/server"
	"github.com/diego-go/diego/internal/bbs/cells"
	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/clock"
	"github.com/diego-go/diego/internal/daemon"
	"github.com/diego-go/diego/internal/debugserver"
	"github.com/diego-go/diego/internal/locket"
	locketclient "github.com/diego-go/diego/internal/locket/client"
	"github.com/diego-go/diego/internal/locket/locketpb"
	"github.com/diego-go/diego/internal/rep/repclient"
	"github.com/diego-go/diego/internal/tlsconfig"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/tedsuo/ifrit"
	"github.com/tedsuo/ifrit/grouper"
)

// LockKey is the locket key the active auctioneer holds.
const LockKey = "auctioneer"

// Auctioneer is an assembled daemon, ready to run.
type Auctioneer struct {
	Members grouper.Members
	// Listening receives the API's bound address once it listens.
	Listening chan net.Addr
	closers   daemon.Closers
}

// Close releases what New opened.
func (a *Auctioneer) Close() error { return a.closers.Close() }

// New connects to locket and assembles the members in the reference's
// order (§1.1): debug server, lock, auction runner, API server, then the
// metrics reporter. The API listens only once the lock is held: standby
// auctioneers do not accept connections at all, and the BBS reaches
// whichever holds the lock. Losing the lock ends the process.
func New(logger lager.Logger, sink debugserver.LevelSetter, cfg Config) (*Auctioneer, error) {
	a := &Auctioneer{Listening: make(chan net.Addr, 1)}
	fail := func(err error) (*Auctioneer, error) {
		a.Close()
		return nil, err
	}
	var serverTLS *tls.Config
	if cfg.ServesTLS() {
		var err error
		serverTLS, err = tlsconfig.Server(tlsconfig.Files{CAFile: cfg.CACertFile, CertFile: cfg.ServerCertFile, KeyFile: cfg.ServerKeyFile})
		if err != nil {
			return fail(fmt.Errorf("invalid-tls-config: %w", err))
		}
		serverTLS.NextProtos = []string{"http/1.1"}
	}
	bbs, err := bbsclient.New(bbsclient.Config{
		URL: cfg.BBSAddress, CAFile: cfg.BBSCACertFile, CertFile: cfg.BBSClientCertFile, KeyFile: cfg.BBSClientKeyFile,
		RequestTimeout: cfg.CommunicationTimeout.D(), ClientSessionCacheSize: cfg.BBSClientSessionCacheSize,
		MaxIdleConnsPerHost: cfg.BBSMaxIdleConnsPerHost,
	})
	if err != nil {
		return fail(err)
	}
	reps, err := repclient.NewAuctionClient(repclient.AuctionConfig{
		CAFile: cfg.RepCACert, CertFile: cfg.RepClientCert, KeyFile: cfg.RepClientKey,
		SessionCacheSize: cfg.RepClientSessionCacheSize,
		StateTimeout:     cfg.CellStateTimeout.D(), WorkTimeout: cfg.CommunicationTimeout.D(),
	})
	if err != nil {
		return fail(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := locketclient.Dial(ctx, cfg.Locket)
	if err != nil {
		return fail(fmt.Errorf("failed-to-connect-to-locket: %w", err))
	}
	a.closers.Add(conn.Close)
	// The reference lists cells through the BBS, which reads these very
	// presences from locket; reading them here saves a hop.
	cellLookup := cells.NewLocket(conn, cells.Config{Timeout: cfg.CommunicationTimeout.D(), Logger: logger})

	reg := debugserver.NewRegistry()
	requestMetrics := server.NewMetrics(reg)
	lockHeld := prometheus.NewGauge(prometheus.GaugeOpts{Name: "LockHeld", Help: "1 while this auctioneer holds the auctioneer lock."})
	reg.MustRegister(lockHeld)

	batch := runner.NewBatch()
	auctions, err := runner.New(runner.Config{
		Logger: logger, Batch: batch, Cells: cellLookup, Reps: reps, BBS: bbs,
		Metrics: runner.NewMetrics(reg),
		Options: auction.Options{
			StartingContainerWeight:       cfg.StartingContainerWeight,
			BinPackFirstFitWeight:         cfg.BinPackFirstFitWeight,
			StartingContainerCountMaximum: cfg.StartingContainerCountMaximum,
		},
		Workers: cfg.AuctionRunnerWorkers,
	})
	if err != nil {
		return fail(err)
	}
	api := server.New(server.Config{Logger: logger, Scheduler: batch, Metrics: requestMetrics})

	lock := locketclient.NewLockRunner(logger, conn,
		&locketpb.Resource{Key: LockKey, Owner: cfg.UUID, TypeCode: locketpb.TypeCode_LOCK, Type: locket.LockType},
		locket.DefaultSessionTTLInSeconds, clock.New(), locket.SQLRetryInterval)
	lock.OnChange = func(held bool) {
		if held {
			lockHeld.Set(1)
		} else {
			lockHeld.Set(0)
		}
	}

	var members grouper.Members
	if cfg.DebugAddress != "" {
		members = append(members, grouper.Member{Name: "debug-server", Runner: debugserver.Runner(cfg.DebugAddress, sink, reg)})
	}
	members = append(members,
		grouper.Member{Name: "lock", Runner: lock},
		grouper.Member{Name: "auction-runner", Runner: auctions},
		grouper.Member{Name: "auction-server", Runner: &apiServer{logger: logger, address: cfg.ListenAddress, tls: serverTLS, handler: api, listening: a.Listening}},
		grouper.Member{Name: "periodic-metrics", Runner: reporter(cfg.ReportInterval.D(), requestMetrics)},
	)
	a.Members = members
	return a, nil
}

// apiServer serves the API, over mutual TLS when configured (HTTP/1.1
// only, as the reference).
type apiServer struct {
	logger    lager.Logger
	address   string
	tls       *tls.Config // nil: plain HTTP
	handler   http.Handler
	listening chan net.Addr
}

func (s *apiServer) Run(signals <-chan os.Signal, ready chan<- struct{}) error {
	ln, err := net.Listen("tcp", s.address)
	if err != nil {
		return err
	}
	served := ln
	if s.tls != nil {
		served = tls.NewListener(ln, s.tls)
	}
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(served) }()
	select {
	case s.listening <- ln.Addr():
	default:
	}
	s.logger.Info("listening", lager.Data{"address": ln.Addr().String(), "tls": s.tls != nil})
	close(ready)
	select {
	case err := <-errc:
		return err
	case <-signals:
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		return nil
	}
}

// reporter starts a new request latency interval every report interval.
func reporter(interval time.Duration, m *server.Metrics) ifrit.Runner {
	return ifrit.RunFunc(func(signals <-chan os.Signal, ready chan<- struct{}) error {
		t := time.NewTicker(interval)
		defer t.Stop()
		close(ready)
		for {
			select {
			case <-signals:
				return nil
			case <-t.C:
				m.Report()
			}
		}
	})
}
