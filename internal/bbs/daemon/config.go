// Package daemon assembles the BBS from its JSON configuration: storage,
// encryption, the locket lock, migrations, the API and health servers, the
// callback workers and the metrics.
package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/diego-go/diego/internal/bbs/encryption"
	"github.com/diego-go/diego/internal/daemon"
	"github.com/diego-go/diego/internal/debugserver"
	"github.com/diego-go/diego/internal/durationjson"
	locketclient "github.com/diego-go/diego/internal/locket/client"
	"github.com/diego-go/diego/internal/logging"
	"github.com/diego-go/diego/internal/sqldb"
)

// Config is the BBS JSON configuration with the reference's keys. Defaults
// are the BOSH job's.
type Config struct {
	ListenAddress string `json:"listen_address"`
	HealthAddress string `json:"health_address"`
	CAFile        string `json:"ca_file"`
	CertFile      string `json:"cert_file"`
	KeyFile       string `json:"key_file"`
	SessionName   string `json:"session_name,omitempty"`
	AccessLogPath string `json:"access_log_path,omitempty"`

	// SQL, Encryption and Locket are blocks of the same flat JSON object.
	SQL        sqldb.Config        `json:"-"`
	Encryption encryption.Config   `json:"-"`
	Locket     locketclient.Config `json:"-"`

	EnableDBHealthCheck         bool                  `json:"enable_db_health_check,omitempty"`
	HealthCheckInterval         durationjson.Duration `json:"health_check_interval,omitempty"`
	HealthCheckTimeout          durationjson.Duration `json:"health_check_timeout,omitempty"`
	HealthCheckFailureThreshold int                   `json:"health_check_failure_threshold,omitempty"`

	UUID              string                `json:"uuid"`
	LockTTL           durationjson.Duration `json:"lock_ttl,omitempty"`
	LockRetryInterval durationjson.Duration `json:"lock_retry_interval,omitempty"`

	AuctioneerAddress    string `json:"auctioneer_address"`
	AuctioneerCACert     string `json:"auctioneer_ca_cert,omitempty"`
	AuctioneerClientCert string `json:"auctioneer_client_cert,omitempty"`
	AuctioneerClientKey  string `json:"auctioneer_client_key,omitempty"`
	AuctioneerRequireTLS bool   `json:"auctioneer_require_tls,omitempty"`

	RepCACert                 string `json:"rep_ca_cert,omitempty"`
	RepClientCert             string `json:"rep_client_cert,omitempty"`
	RepClientKey              string `json:"rep_client_key,omitempty"`
	RepClientSessionCacheSize int    `json:"rep_client_session_cache_size,omitempty"`

	CommunicationTimeout        durationjson.Duration `json:"communication_timeout,omitempty"`
	ConvergeRepeatInterval      durationjson.Duration `json:"converge_repeat_interval,omitempty"`
	KickTaskDuration            durationjson.Duration `json:"kick_task_duration,omitempty"`
	ExpirePendingTaskDuration   durationjson.Duration `json:"expire_pending_task_duration,omitempty"`
	ExpireCompletedTaskDuration durationjson.Duration `json:"expire_completed_task_duration,omitempty"`
	MaxTaskRetries              int                   `json:"max_task_retries"`
	ConvergenceWorkers          int                   `json:"convergence_workers,omitempty"`
	UpdateWorkers               int                   `json:"update_workers,omitempty"`
	TaskCallbackWorkers         int                   `json:"task_callback_workers,omitempty"`
	ReportInterval              durationjson.Duration `json:"report_interval,omitempty"`
	DebugLRPStartHeartbeats     bool                  `json:"debug_lrp_start_heartbeats,omitempty"`

	// MaxRequestBodyBytes bounds every request body (ours; default 64 MiB).
	MaxRequestBodyBytes int64 `json:"max_request_body_bytes,omitempty"`

	// Accepted for compatibility with existing config files; metrics are
	// served as Prometheus text on the debug address instead.
	AdvancedMetrics json.RawMessage `json:"advanced_metrics,omitempty"`
	Loggregator     json.RawMessage `json:"loggregator,omitempty"`
	// Accepted and unused, as in the reference.
	RequireSSL                bool            `json:"require_ssl,omitempty"`
	AdvertiseURL              string          `json:"advertise_url,omitempty"`
	DesiredLRPCreationTimeout json.RawMessage `json:"desired_lrp_creation_timeout,omitempty"`

	debugserver.DebugServerConfig
	logging.LagerConfig
}

// DefaultMaxRequestBodyBytes bounds request bodies unless configured.
const DefaultMaxRequestBodyBytes = 64 << 20

// DefaultConfig returns the BOSH job's defaults.
func DefaultConfig() Config {
	return Config{
		ListenAddress:               "0.0.0.0:8889",
		HealthAddress:               "127.0.0.1:8890",
		SessionName:                 "bbs",
		HealthCheckInterval:         durationjson.Duration(10 * time.Second),
		HealthCheckTimeout:          durationjson.Duration(5 * time.Second),
		HealthCheckFailureThreshold: 3,
		LockTTL:                     durationjson.Duration(15 * time.Second),
		LockRetryInterval:           durationjson.Duration(5 * time.Second),
		CommunicationTimeout:        durationjson.Duration(10 * time.Second),
		ConvergeRepeatInterval:      durationjson.Duration(30 * time.Second),
		KickTaskDuration:            durationjson.Duration(30 * time.Second),
		ExpirePendingTaskDuration:   durationjson.Duration(30 * time.Minute),
		ExpireCompletedTaskDuration: durationjson.Duration(2 * time.Minute),
		MaxTaskRetries:              3,
		ConvergenceWorkers:          20,
		UpdateWorkers:               1000,
		TaskCallbackWorkers:         1000,
		ReportInterval:              durationjson.Duration(time.Minute),
		MaxRequestBodyBytes:         DefaultMaxRequestBodyBytes,
		LagerConfig:                 logging.DefaultConfig(),
	}
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	need := func(key, v string) {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is required", key))
		}
	}
	hostPort := func(key, v string) {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is required", key))
		} else if _, _, err := net.SplitHostPort(v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	hostPort("listen_address", c.ListenAddress)
	hostPort("health_address", c.HealthAddress)
	need("ca_file", c.CAFile)
	need("cert_file", c.CertFile)
	need("key_file", c.KeyFile)
	need("uuid", c.UUID)
	hostPort("locket_address", c.Locket.LocketAddress)
	need("auctioneer_address", c.AuctioneerAddress)
	if c.AuctioneerAddress != "" {
		if u, err := url.Parse(c.AuctioneerAddress); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("auctioneer_address %q: want http(s)://host:port", c.AuctioneerAddress))
		}
	}
	if err := c.SQL.Validate(); err != nil {
		errs = append(errs, err)
	}
	if _, err := encryption.New(c.Encryption); err != nil {
		errs = append(errs, err)
	}
	positive := map[string]durationjson.Duration{
		"lock_ttl": c.LockTTL, "lock_retry_interval": c.LockRetryInterval,
		"communication_timeout": c.CommunicationTimeout, "converge_repeat_interval": c.ConvergeRepeatInterval,
		"kick_task_duration": c.KickTaskDuration, "expire_pending_task_duration": c.ExpirePendingTaskDuration,
		"expire_completed_task_duration": c.ExpireCompletedTaskDuration, "report_interval": c.ReportInterval,
	}
	for key, d := range positive {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", key))
		}
	}
	if c.MaxTaskRetries < 0 {
		errs = append(errs, errors.New("max_task_retries must not be negative"))
	}
	if c.ConvergenceWorkers <= 0 || c.UpdateWorkers <= 0 || c.TaskCallbackWorkers <= 0 {
		errs = append(errs, errors.New("convergence_workers, update_workers and task_callback_workers must be positive"))
	}
	if c.MaxRequestBodyBytes <= 0 {
		errs = append(errs, errors.New("max_request_body_bytes must be positive"))
	}
	if _, err := logging.ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("log_level: %w", err))
	}
	return errors.Join(errs...)
}

// configFields is Config without its methods, for the flat JSON codec.
type configFields Config

// UnmarshalJSON reads the flat reference layout into Config and its blocks.
func (c *Config) UnmarshalJSON(data []byte) error {
	return daemon.UnmarshalFlat(data, (*configFields)(c), &c.SQL, &c.Encryption, &c.Locket)
}

// MarshalJSON writes the flat reference layout.
func (c Config) MarshalJSON() ([]byte, error) {
	return daemon.MarshalFlat(configFields(c), c.SQL, c.Encryption, c.Locket)
}
