// Package daemon assembles the auctioneer from its JSON configuration
// (auction-rep-executor §1.1, §1.10): the locket lock, the batch runner, the
// HTTP API, the debug server and the metrics.
package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/diego-go/diego/internal/daemon"
	"github.com/diego-go/diego/internal/debugserver"
	"github.com/diego-go/diego/internal/durationjson"
	locketclient "github.com/diego-go/diego/internal/locket/client"
	"github.com/diego-go/diego/internal/logging"
	"github.com/diego-go/diego/internal/tlsconfig"
)

// Config is the auctioneer JSON configuration with the reference's keys.
// Defaults are the BOSH job's.
type Config struct {
	ListenAddress string `json:"listen_address,omitempty"`

	// The API's mutual TLS: all three or none (then plain HTTP, as the
	// reference allows).
	CACertFile     string `json:"ca_cert_file,omitempty"`
	ServerCertFile string `json:"server_cert_file,omitempty"`
	ServerKeyFile  string `json:"server_key_file,omitempty"`

	BBSAddress                string `json:"bbs_address,omitempty"`
	BBSCACertFile             string `json:"bbs_ca_cert_file,omitempty"`
	BBSClientCertFile         string `json:"bbs_client_cert_file,omitempty"`
	BBSClientKeyFile          string `json:"bbs_client_key_file,omitempty"`
	BBSClientSessionCacheSize int    `json:"bbs_client_session_cache_size,omitempty"`
	BBSMaxIdleConnsPerHost    int    `json:"bbs_max_idle_conns_per_host,omitempty"`

	RepCACert                 string `json:"rep_ca_cert,omitempty"`
	RepClientCert             string `json:"rep_client_cert,omitempty"`
	RepClientKey              string `json:"rep_client_key,omitempty"`
	RepClientSessionCacheSize int    `json:"rep_client_session_cache_size,omitempty"`

	AuctionRunnerWorkers          int                   `json:"auction_runner_workers,omitempty"`
	CellStateTimeout              durationjson.Duration `json:"cell_state_timeout,omitempty"`
	CommunicationTimeout          durationjson.Duration `json:"communication_timeout,omitempty"`
	StartingContainerWeight       float64               `json:"starting_container_weight"`
	StartingContainerCountMaximum int                   `json:"starting_container_count_maximum"`
	BinPackFirstFitWeight         float64               `json:"bin_pack_first_fit_weight"`

	UUID string `json:"uuid,omitempty"`
	// Parsed and unused, as in the reference: the lock's TTL is 15s and it
	// is retried every second.
	LockTTL           durationjson.Duration `json:"lock_ttl,omitempty"`
	LockRetryInterval durationjson.Duration `json:"lock_retry_interval,omitempty"`

	ReportInterval durationjson.Duration `json:"report_interval,omitempty"`

	// Locket is a block of the same flat JSON object (locket_address,
	// locket_ca_cert_file, ...).
	Locket locketclient.Config `json:"-"`

	// Accepted for compatibility with existing config files; metrics are
	// served as Prometheus text on the debug address instead.
	Loggregator json.RawMessage `json:"loggregator,omitempty"`

	debugserver.DebugServerConfig
	logging.LagerConfig
}

// DefaultConfig returns the BOSH job's defaults.
func DefaultConfig() Config {
	return Config{
		ListenAddress:             "0.0.0.0:9016",
		RepClientSessionCacheSize: 4096,
		AuctionRunnerWorkers:      1000,
		CellStateTimeout:          durationjson.Duration(10 * time.Second),
		CommunicationTimeout:      durationjson.Duration(10 * time.Second),
		StartingContainerWeight:   0.25,
		LockTTL:                   durationjson.Duration(15 * time.Second),
		LockRetryInterval:         durationjson.Duration(5 * time.Second),
		ReportInterval:            durationjson.Duration(time.Minute),
		LagerConfig:               logging.DefaultConfig(),
	}
}

// ServesTLS reports whether the API speaks mutual TLS.
func (c Config) ServesTLS() bool {
	return c.CACertFile != "" || c.ServerCertFile != "" || c.ServerKeyFile != ""
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
	if c.DebugAddress != "" {
		hostPort("debug_address", c.DebugAddress)
	}
	if c.ServesTLS() {
		need("ca_cert_file", c.CACertFile)
		need("server_cert_file", c.ServerCertFile)
		need("server_key_file", c.ServerKeyFile)
	}
	need("bbs_address", c.BBSAddress)
	if c.BBSAddress != "" {
		if u, err := url.Parse(c.BBSAddress); err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, fmt.Errorf("bbs_address %q: want https://host:port", c.BBSAddress))
		}
	}
	need("bbs_ca_cert_file", c.BBSCACertFile)
	need("bbs_client_cert_file", c.BBSClientCertFile)
	need("bbs_client_key_file", c.BBSClientKeyFile)
	// Reps only speak mutual TLS (the reference requires TLS towards them).
	need("rep_ca_cert", c.RepCACert)
	need("rep_client_cert", c.RepClientCert)
	need("rep_client_key", c.RepClientKey)
	need("uuid", c.UUID)
	hostPort("locket_address", c.Locket.LocketAddress)
	need("locket_ca_cert_file", c.Locket.LocketCACertFile)
	need("locket_client_cert_file", c.Locket.LocketClientCertFile)
	need("locket_client_key_file", c.Locket.LocketClientKeyFile)

	positive := []struct {
		key string
		d   durationjson.Duration
	}{
		{"cell_state_timeout", c.CellStateTimeout},
		{"communication_timeout", c.CommunicationTimeout},
		{"report_interval", c.ReportInterval},
	}
	for _, p := range positive {
		if p.d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", p.key))
		}
	}
	if c.AuctionRunnerWorkers <= 0 {
		errs = append(errs, errors.New("auction_runner_workers must be positive"))
	}
	if c.StartingContainerWeight < 0 {
		errs = append(errs, errors.New("starting_container_weight must not be negative"))
	}
	if c.BinPackFirstFitWeight < 0 {
		errs = append(errs, errors.New("bin_pack_first_fit_weight must not be negative"))
	}
	if c.StartingContainerCountMaximum < 0 {
		errs = append(errs, errors.New("starting_container_count_maximum must not be negative (0 means no limit)"))
	}
	if c.RepClientSessionCacheSize < 0 || c.BBSClientSessionCacheSize < 0 || c.BBSMaxIdleConnsPerHost < 0 {
		errs = append(errs, errors.New("session cache sizes and bbs_max_idle_conns_per_host must not be negative"))
	}
	errs = append(errs, c.checkTLSFiles()...)
	if _, err := logging.ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("log_level: %w", err))
	}
	return errors.Join(errs...)
}

// checkTLSFiles loads every configured certificate, key and CA, so that
// an unreadable or mismatched file is a configuration error.
func (c Config) checkTLSFiles() []error {
	var errs []error
	check := func(what string, f tlsconfig.Files, server bool) {
		if f.CAFile == "" || f.CertFile == "" || f.KeyFile == "" {
			return // reported as missing above
		}
		var err error
		if server {
			_, err = tlsconfig.Server(f)
		} else {
			_, err = tlsconfig.Client(f, "")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		}
	}
	if c.ServesTLS() {
		check("ca_cert_file, server_cert_file, server_key_file", tlsconfig.Files{CAFile: c.CACertFile, CertFile: c.ServerCertFile, KeyFile: c.ServerKeyFile}, true)
	}
	check("bbs_ca_cert_file, bbs_client_cert_file, bbs_client_key_file", tlsconfig.Files{CAFile: c.BBSCACertFile, CertFile: c.BBSClientCertFile, KeyFile: c.BBSClientKeyFile}, false)
	check("rep_ca_cert, rep_client_cert, rep_client_key", tlsconfig.Files{CAFile: c.RepCACert, CertFile: c.RepClientCert, KeyFile: c.RepClientKey}, false)
	check("locket_ca_cert_file, locket_client_cert_file, locket_client_key_file", tlsconfig.Files{CAFile: c.Locket.LocketCACertFile, CertFile: c.Locket.LocketClientCertFile, KeyFile: c.Locket.LocketClientKeyFile}, false)
	return errs
}

// configFields is Config without its methods, for the flat JSON codec.
type configFields Config

// UnmarshalJSON reads the flat reference layout into Config and its blocks.
func (c *Config) UnmarshalJSON(data []byte) error {
	return daemon.UnmarshalFlat(data, (*configFields)(c), &c.Locket)
}

// MarshalJSON writes the flat reference layout.
func (c Config) MarshalJSON() ([]byte, error) {
	return daemon.MarshalFlat(configFields(c), c.Locket)
}
