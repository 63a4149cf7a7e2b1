// Package daemon assembles the locket server from its JSON configuration:
// storage, expiry, metrics, the gRPC server and the debug server, as one
// ordered group of processes.
package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/clock"
	"github.com/diego-go/diego/internal/daemon"
	"github.com/diego-go/diego/internal/debugserver"
	"github.com/diego-go/diego/internal/durationjson"
	"github.com/diego-go/diego/internal/locket"
	"github.com/diego-go/diego/internal/locket/expiry"
	"github.com/diego-go/diego/internal/locket/server"
	"github.com/diego-go/diego/internal/locket/store"
	"github.com/diego-go/diego/internal/logging"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqlmetrics"
	"github.com/diego-go/diego/internal/tlsconfig"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/tedsuo/ifrit"
	"github.com/tedsuo/ifrit/grouper"
)

// Config is the locket JSON configuration, with the reference's keys.
type Config struct {
	ListenAddress string `json:"listen_address"`
	CAFile        string `json:"ca_file"`
	CertFile      string `json:"cert_file"`
	KeyFile       string `json:"key_file"`

	sqldb.Config
	DBOperationTimeout durationjson.Duration `json:"db_operation_timeout,omitempty"`

	ReportInterval              durationjson.Duration `json:"report_interval,omitempty"`
	EnableDBHealthCheck         bool                  `json:"enable_db_health_check,omitempty"`
	HealthCheckInterval         durationjson.Duration `json:"health_check_interval,omitempty"`
	HealthCheckTimeout          durationjson.Duration `json:"health_check_timeout,omitempty"`
	HealthCheckFailureThreshold int                   `json:"health_check_failure_threshold,omitempty"`

	// Loggregator is accepted for compatibility with existing config files;
	// metrics are served as Prometheus text on the debug address instead.
	Loggregator json.RawMessage `json:"loggregator,omitempty"`

	debugserver.DebugServerConfig
	logging.LagerConfig
}

// DefaultConfig returns the defaults the reference applies.
func DefaultConfig() Config {
	return Config{
		DBOperationTimeout:          durationjson.Duration(locket.DefaultDBOperationTimeout),
		ReportInterval:              durationjson.Duration(time.Minute),
		HealthCheckInterval:         durationjson.Duration(locket.DBHealthCheckInterval),
		HealthCheckTimeout:          durationjson.Duration(locket.DBHealthCheckTimeout),
		HealthCheckFailureThreshold: locket.DBHealthCheckFailureThreshold,
		LagerConfig:                 logging.DefaultConfig(),
	}
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if c.ListenAddress == "" {
		errs = append(errs, errors.New("listen_address is required"))
	} else if _, _, err := net.SplitHostPort(c.ListenAddress); err != nil {
		errs = append(errs, fmt.Errorf("listen_address: %w", err))
	}
	for key, v := range map[string]string{"ca_file": c.CAFile, "cert_file": c.CertFile, "key_file": c.KeyFile} {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is required", key))
		}
	}
	if err := c.Config.Validate(); err != nil {
		errs = append(errs, err)
	}
	for key, d := range map[string]durationjson.Duration{"db_operation_timeout": c.DBOperationTimeout, "report_interval": c.ReportInterval} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", key))
		}
	}
	if c.EnableDBHealthCheck {
		if c.HealthCheckInterval <= 0 || c.HealthCheckTimeout <= 0 || c.HealthCheckFailureThreshold <= 0 {
			errs = append(errs, errors.New("health_check_interval, health_check_timeout and health_check_failure_threshold must be positive"))
		}
	}
	if _, err := logging.ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("log_level: %w", err))
	}
	return errors.Join(errs...)
}

// Heartbeat batching: concurrent batches and heartbeats per batch. Two
// batches in flight keep the database busy without crowding it (measured
// with diego-bench locket: more workers, or a bigger pool, lengthen the
// tail); 64 keys keep each statement small.
const (
	HeartbeatWorkers = 2
	HeartbeatBatch   = 64
)

// Locket is an assembled server, ready to run.
type Locket struct {
	Members grouper.Members
	DB      *sqldb.DB
	// Listening receives the bound gRPC address once the server listens.
	Listening chan net.Addr
}

// Close releases what New opened.
func (l *Locket) Close() error { return l.DB.Close() }

// New opens the database, creates the tables and assembles the processes.
func New(logger lager.Logger, sink debugserver.LevelSetter, cfg Config) (*Locket, error) {
	tlsCfg, err := tlsconfig.Server(tlsconfig.Files{CAFile: cfg.CAFile, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile})
	if err != nil {
		return nil, fmt.Errorf("invalid-tls-config: %w", err)
	}
	openTimeout := cfg.ConnectionTimeout.D()
	if openTimeout <= 0 {
		openTimeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout+cfg.DBOperationTimeout.D())
	defer cancel()
	db, err := sqldb.Open(ctx, cfg.Config)
	if err != nil {
		return nil, fmt.Errorf("failed-to-open-sql: %w", err)
	}
	db = db.WithRetry(sqldb.DefaultAttempts, sqldb.DefaultRetryWait)
	st := store.New(db)
	if err := st.CreateTables(ctx, cfg.EnableDBHealthCheck); err != nil {
		db.Close()
		return nil, fmt.Errorf("failed-to-create-lock-table: %w", err)
	}

	clk := clock.New()
	reg := debugserver.NewRegistry()
	reg.MustRegister(sqlmetrics.NewCollector(db))
	requests := server.NewRequestMetrics(reg)
	pick := expiry.NewPick(logger, st, clk, cfg.DBOperationTimeout.D())
	lockMetrics := server.NewLockMetrics(reg, pick.ExpiredCounts)

	unrecoverable := make(chan error, 1)
	handler := &server.Handler{
		Logger:    logger,
		Store:     st,
		Expiry:    pick,
		Metrics:   requests,
		MapError:  server.SQLErrors,
		OpTimeout: cfg.DBOperationTimeout.D(),
		Unrecoverable: func(err error) {
			select {
			case unrecoverable <- err:
			default:
			}
		},
	}
	l := &Locket{DB: db, Listening: make(chan net.Addr, 1)}
	grpcRunner := &server.GRPCRunner{
		Logger:    logger,
		Address:   cfg.ListenAddress,
		TLSConfig: tlsCfg,
		Handler:   handler,
		Listening: func(a net.Addr) { l.Listening <- a },
	}
	batcher := store.NewBatcher(st, HeartbeatWorkers, HeartbeatBatch, cfg.DBOperationTimeout.D())
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "locket_heartbeat_batches_total", Help: "Batched UPDATEs that refreshed heartbeats."},
			func() float64 { n, _ := batcher.Stats(); return float64(n) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "locket_heartbeats_batched_total", Help: "Heartbeats carried by those batches."},
			func() float64 { _, n := batcher.Stats(); return float64(n) }),
	)
	var members grouper.Members
	if cfg.DebugAddress != "" {
		members = append(members, grouper.Member{Name: "debug-server", Runner: debugserver.Runner(cfg.DebugAddress, sink, reg)})
	}
	if cfg.EnableDBHealthCheck {
		members = append(members, grouper.Member{Name: "db-health-check", Runner: &daemon.DBHealthCheck{
			Logger: logger, DB: st, Clock: clk,
			Interval: cfg.HealthCheckInterval.D(), Timeout: cfg.HealthCheckTimeout.D(),
			FailureThreshold: cfg.HealthCheckFailureThreshold,
		}})
	}
	members = append(members,
		grouper.Member{Name: "heartbeat-batcher", Runner: batcher},
		grouper.Member{Name: "server", Runner: grpcRunner},
		grouper.Member{Name: "burglar", Runner: &expiry.Burglar{
			Logger: logger, Store: st, Pick: pick, Clock: clk,
			Interval: locket.RetryInterval, OpTimeout: cfg.DBOperationTimeout.D(),
		}},
		grouper.Member{Name: "metrics-reporter", Runner: &server.Reporter{
			Logger: logger, Clock: clk, Interval: cfg.ReportInterval.D(),
			Counter: countFunc(func(typ string) (int, error) {
				ctx, cancel := context.WithTimeout(context.Background(), cfg.DBOperationTimeout.D())
				defer cancel()
				return st.Count(ctx, typ)
			}),
			Locks: lockMetrics, Requests: requests,
			OnReport: func() { db.ResetMax() },
		}},
		grouper.Member{Name: "unrecoverable-error-watch", Runner: ifrit.RunFunc(func(signals <-chan os.Signal, ready chan<- struct{}) error {
			close(ready)
			select {
			case <-signals:
				return nil
			case err := <-unrecoverable:
				logger.Error("shutting-down-due-to-unrecoverable-error", err)
				return fmt.Errorf("unrecoverable database error: %w", err)
			}
		})},
	)
	l.Members = members
	return l, nil
}

type countFunc func(typ string) (int, error)

func (f countFunc) Count(typ string) (int, error) { return f(typ) }
