package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/auctioneer/auctioneerclient"
	"github.com/diego-go/diego/internal/bbs/cells"
	"github.com/diego-go/diego/internal/bbs/controllers"
	"github.com/diego-go/diego/internal/bbs/converger"
	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/bbs/encryption"
	"github.com/diego-go/diego/internal/bbs/handlers"
	"github.com/diego-go/diego/internal/bbs/taskcallback"
	"github.com/diego-go/diego/internal/clock"
	"github.com/diego-go/diego/internal/daemon"
	"github.com/diego-go/diego/internal/debugserver"
	locketclient "github.com/diego-go/diego/internal/locket/client"
	"github.com/diego-go/diego/internal/locket/locketpb"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/rep/repclient"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqlmetrics"
	"github.com/diego-go/diego/internal/tlsconfig"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/tedsuo/ifrit"
	"github.com/tedsuo/ifrit/grouper"
)

// LockKey is the locket key the active BBS holds.
const LockKey = "bbs"

// BBS is an assembled server, ready to run.
type BBS struct {
	Members grouper.Members
	// Listening receives the API's bound address once it listens.
	Listening chan net.Addr
	closers   daemon.Closers
}

// Close releases what New opened.
func (b *BBS) Close() error { return b.closers.Close() }

// New connects to the database and locket and assembles the processes, in
// the reference's order: health server, debug server, lock, callback
// workers, API server (503 until migrated), migrations, re-encryption,
// convergence, hub maintenance, metrics.
func New(logger lager.Logger, sink debugserver.LevelSetter, cfg Config) (*BBS, error) {
	b := &BBS{Listening: make(chan net.Addr, 1)}
	fail := func(err error) (*BBS, error) {
		b.Close()
		return nil, err
	}
	serverFiles := tlsconfig.Files{CAFile: cfg.CAFile, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile}
	serverTLS, err := tlsconfig.Server(serverFiles)
	if err != nil {
		return fail(fmt.Errorf("invalid-tls-config: %w", err))
	}
	serverTLS.NextProtos = []string{"http/1.1"}

	crypt, err := encryption.New(cfg.Encryption)
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sqlDB, err := sqldb.Open(ctx, cfg.SQL)
	if err != nil {
		return fail(fmt.Errorf("failed-to-open-sql: %w", err))
	}
	b.closers.Add(sqlDB.Close)
	store := db.New(db.Deps{SQL: sqlDB, Cryptor: crypt, Logger: logger, MaxTaskRetries: cfg.MaxTaskRetries})

	locket, err := locketclient.Dial(ctx, cfg.Locket)
	if err != nil {
		return fail(fmt.Errorf("failed-to-connect-to-locket: %w", err))
	}
	b.closers.Add(locket.Close)
	cellTimeout := cfg.SQL.ConnectionTimeout.D()
	if cellTimeout <= 0 {
		// The reference passes 0 through and every locket call expires at
		// once; we use a working bound instead.
		cellTimeout = 30 * time.Second
	}
	cellLookup := cells.NewLocket(locket, cells.Config{Timeout: cellTimeout, Logger: logger})

	auctioneer, err := auctioneerclient.New(auctioneerclient.Config{
		URL: cfg.AuctioneerAddress, CAFile: cfg.AuctioneerCACert, CertFile: cfg.AuctioneerClientCert, KeyFile: cfg.AuctioneerClientKey,
		RequireTLS: cfg.AuctioneerRequireTLS, Timeout: cfg.CommunicationTimeout.D(),
	})
	if err != nil {
		return fail(err)
	}
	reps, err := newReps(cfg)
	if err != nil {
		return fail(err)
	}

	reg := debugserver.NewRegistry()
	reg.MustRegister(sqlmetrics.NewCollector(sqlDB))
	metrics := newMetrics(reg)
	requestMetrics := handlers.NewMetrics(reg)

	hubs := controllers.NewHubs()
	metrics.watchHubs(reg, hubs)
	callbackClient, err := taskcallback.NewHTTPClient(serverFiles, cfg.CommunicationTimeout.D())
	if err != nil {
		return fail(err)
	}
	callbacks, err := taskcallback.New(taskcallback.Config{
		Logger: logger, DB: store, HTTPClient: callbackClient, Workers: cfg.TaskCallbackWorkers,
		Emit: func(e models.Event) { hubs.Task.Emit(e) },
	})
	if err != nil {
		return fail(err)
	}
	ctrl := controllers.New(controllers.Deps{
		Logger: logger, DB: store, Hubs: hubs, Auctioneer: auctioneer, Reps: reps,
		Cells: cellLookup, Callbacks: callbacks, UpdateWorkers: cfg.UpdateWorkers,
	})
	reg.MustRegister(newTaskCollector(ctrl), openFileDescriptors())
	convergenceMetrics := converger.NewMetrics()
	reg.MustRegister(convergenceMetrics.Collectors()...)
	conv, err := converger.New(converger.Deps{Logger: logger, DB: store, Controllers: ctrl, Metrics: convergenceMetrics}, converger.Config{
		RepeatInterval:              cfg.ConvergeRepeatInterval.D(),
		KickTaskDuration:            cfg.KickTaskDuration.D(),
		ExpirePendingTaskDuration:   cfg.ExpirePendingTaskDuration.D(),
		ExpireCompletedTaskDuration: cfg.ExpireCompletedTaskDuration.D(),
		Workers:                     cfg.ConvergenceWorkers,
	})
	if err != nil {
		return fail(err)
	}
	gate := &handlers.Gate{}
	unrecoverable := make(chan error, 1)
	api, err := handlers.New(handlers.Deps{
		Logger: logger, DB: store, Controllers: ctrl, Hubs: hubs, Cells: cellLookup,
		Metrics: requestMetrics, Gate: gate, MaxBodyBytes: cfg.MaxRequestBodyBytes,
		Unrecoverable: func(err error) {
			select {
			case unrecoverable <- err:
			default:
			}
		},
	})
	if err != nil {
		return fail(err)
	}

	lock := locketclient.NewLockRunner(logger, locket,
		&locketpb.Resource{Key: LockKey, Owner: cfg.UUID, TypeCode: locketpb.TypeCode_LOCK, Type: "lock"},
		int64(cfg.LockTTL.D()/time.Second), clock.New(), cfg.LockRetryInterval.D())
	lock.OnChange = metrics.lockHeld

	var members grouper.Members
	members = append(members, grouper.Member{Name: "healthcheck", Runner: healthServer(cfg.HealthAddress)})
	if cfg.DebugAddress != "" {
		members = append(members, grouper.Member{Name: "debug-server", Runner: debugserver.Runner(cfg.DebugAddress, sink, reg)})
	}
	if cfg.EnableDBHealthCheck {
		members = append(members, grouper.Member{Name: "db-health-check", Runner: &daemon.DBHealthCheck{
			Logger: logger, DB: store, Clock: clock.New(), Interval: cfg.HealthCheckInterval.D(),
			Timeout: cfg.HealthCheckTimeout.D(), FailureThreshold: cfg.HealthCheckFailureThreshold,
		}})
	}
	members = append(members,
		grouper.Member{Name: "lock", Runner: lock},
		grouper.Member{Name: "workpool", Runner: callbacks},
		grouper.Member{Name: "server", Runner: &apiServer{logger: logger, address: cfg.ListenAddress, tls: serverTLS, handler: api, listening: b.Listening}},
		grouper.Member{Name: "migration-manager", Runner: migrations(logger, store, gate, metrics)},
		grouper.Member{Name: "encryptor", Runner: encryptor(logger, store, metrics)},
		grouper.Member{Name: "converger", Runner: conv},
		grouper.Member{Name: "hub-maintainer", Runner: hubMaintainer(hubs)},
		grouper.Member{Name: "periodic-metrics", Runner: metrics.reporter(cfg.ReportInterval.D(), sqlDB, requestMetrics)},
		grouper.Member{Name: "unrecoverable-error-watch", Runner: watchUnrecoverable(logger, unrecoverable)},
	)
	b.Members = members
	return b, nil
}

// newReps builds the rep client; without rep TLS files every call fails,
// since reps only speak mutual TLS.
func newReps(cfg Config) (controllers.Reps, error) {
	if cfg.RepCACert == "" && cfg.RepClientCert == "" && cfg.RepClientKey == "" {
		return noReps{}, nil
	}
	return repclient.New(repclient.Config{
		CAFile: cfg.RepCACert, CertFile: cfg.RepClientCert, KeyFile: cfg.RepClientKey,
		SessionCacheSize: cfg.RepClientSessionCacheSize, Timeout: cfg.CommunicationTimeout.D(),
	})
}

var errNoRepTLS = errors.New("rep client: rep_ca_cert, rep_client_cert and rep_client_key are not configured")

type noReps struct{}

func (noReps) StopLRPInstance(context.Context, string, *models.ActualLRPKey, *models.ActualLRPInstanceKey) error {
	return errNoRepTLS
}
func (noReps) CancelTask(context.Context, string, string) error { return errNoRepTLS }
func (noReps) UpdateLRPInstance(context.Context, string, *repclient.LRPUpdate) error {
	return errNoRepTLS
}

// healthServer answers 200 with an empty body on any path, in plain HTTP.
func healthServer(address string) ifrit.Runner {
	return &plainServer{address: address, handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})}
}

type plainServer struct {
	address string
	handler http.Handler
}

func (s *plainServer) Run(signals <-chan os.Signal, ready chan<- struct{}) error {
	ln, err := net.Listen("tcp", s.address)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	close(ready)
	select {
	case err := <-errc:
		return err
	case <-signals:
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		return nil
	}
}

// apiServer serves the API over TLS (HTTP/1.1 only, as the reference).
type apiServer struct {
	logger    lager.Logger
	address   string
	tls       *tls.Config
	handler   http.Handler
	listening chan net.Addr
}

func (s *apiServer) Run(signals <-chan os.Signal, ready chan<- struct{}) error {
	ln, err := net.Listen("tcp", s.address)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(tls.NewListener(ln, s.tls)) }()
	select {
	case s.listening <- ln.Addr():
	default:
	}
	s.logger.Info("listening", lager.Data{"address": ln.Addr().String()})
	close(ready)
	select {
	case err := <-errc:
		return err
	case <-signals:
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = srv.Shutdown(ctx)
		return nil
	}
}

// migrations brings the schema up to date, then opens the API.
func migrations(logger lager.Logger, store *db.DB, gate *handlers.Gate, m *metrics) ifrit.Runner {
	return ifrit.RunFunc(func(signals <-chan os.Signal, ready chan<- struct{}) error {
		start := time.Now()
		if err := store.Migrate(context.Background()); err != nil {
			logger.Error("failed-to-migrate", err)
			return fmt.Errorf("migrations: %w", err)
		}
		m.migrationDuration.Set(time.Since(start).Seconds())
		// This process holds the lock and the schema is current: from now
		// on it is the only writer, and the views of actual and desired LRPs can load.
		store.EnableViews(context.Background())
		defer store.StopViews()
		gate.Open()
		logger.Info("finished-migrations", lager.Data{"duration": time.Since(start).String()})
		close(ready)
		<-signals
		return nil
	})
}

// encryptor checks the stored key label and re-encrypts under the active
// key when it changed. The API serves meanwhile.
func encryptor(logger lager.Logger, store *db.DB, m *metrics) ifrit.Runner {
	return ifrit.RunFunc(func(signals <-chan os.Signal, ready chan<- struct{}) error {
		ctx := context.Background()
		if _, _, err := store.CheckEncryptionKeyLabel(ctx); err != nil {
			logger.Error("invalid-encryption-key-label", err)
			return err
		}
		report, err := store.RotateEncryptionKey(ctx)
		if err != nil {
			logger.Error("failed-to-encrypt", err)
			return err
		}
		m.encryptionDuration.Set(report.Duration.Seconds())
		logger.Info("encryption-finished", lager.Data{"rotated": report.Rotated, "rows": report.Rows, "duration": report.Duration.String()})
		close(ready)
		<-signals
		return nil
	})
}

// hubMaintainer closes the event hubs on shutdown, before the API server
// stops, so that open streams end.
func hubMaintainer(h controllers.Hubs) ifrit.Runner {
	return ifrit.RunFunc(func(signals <-chan os.Signal, ready chan<- struct{}) error {
		close(ready)
		<-signals
		h.Close()
		return nil
	})
}

func watchUnrecoverable(logger lager.Logger, ch <-chan error) ifrit.Runner {
	return ifrit.RunFunc(func(signals <-chan os.Signal, ready chan<- struct{}) error {
		close(ready)
		select {
		case <-signals:
			return nil
		case err := <-ch:
			logger.Error("shutting-down-due-to-unrecoverable-error", err)
			return fmt.Errorf("unrecoverable database error: %w", err)
		}
	})
}

// metrics are the daemon-level figures under the reference's names.
type metrics struct {
	lockHeldGauge, elected, migrationDuration, encryptionDuration prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		lockHeldGauge:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "LockHeld", Help: "1 while this BBS holds the bbs lock."}),
		elected:            prometheus.NewGauge(prometheus.GaugeOpts{Name: "BBSMasterElected", Help: "1 once this BBS was elected."}),
		migrationDuration:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "MigrationDuration", Help: "Seconds the migrations took at election."}),
		encryptionDuration: prometheus.NewGauge(prometheus.GaugeOpts{Name: "EncryptionDuration", Help: "Seconds the re-encryption took at election."}),
	}
	reg.MustRegister(m.lockHeldGauge, m.elected, m.migrationDuration, m.encryptionDuration)
	return m
}

func (m *metrics) lockHeld(held bool) {
	if held {
		m.lockHeldGauge.Set(1)
		m.elected.Set(1)
	} else {
		m.lockHeldGauge.Set(0)
	}
}

// watchHubs publishes the subscribers and slow consumers of every hub.
func (m *metrics) watchHubs(reg prometheus.Registerer, h controllers.Hubs) {
	for name, hub := range map[string]interface {
		SubscriberCount() int
		SlowConsumersDropped() uint64
	}{"desired": h.Desired, "actual_instance": h.ActualInstance, "actual_group": h.ActualGroup, "task": h.Task} {
		hub := hub
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "bbs_event_subscribers", Help: "Open event stream subscriptions.", ConstLabels: prometheus.Labels{"hub": name}},
				func() float64 { return float64(hub.SubscriberCount()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "bbs_event_slow_consumers_dropped_total", Help: "Subscribers cut off for falling more than 1024 events behind.", ConstLabels: prometheus.Labels{"hub": name}},
				func() float64 { return float64(hub.SlowConsumersDropped()) }),
		)
	}
}

// reporter starts a new interval for the maxima every report interval.
func (m *metrics) reporter(interval time.Duration, sqlDB *sqldb.DB, requests *handlers.Metrics) ifrit.Runner {
	return ifrit.RunFunc(func(signals <-chan os.Signal, ready chan<- struct{}) error {
		t := time.NewTicker(interval)
		defer t.Stop()
		close(ready)
		for {
			select {
			case <-signals:
				return nil
			case <-t.C:
				sqlDB.ResetMax()
				requests.Report()
			}
		}
	})
}
