package daemon_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/auctioneer/daemon"
	"github.com/diego-go/diego/internal/certs"
)

// A BOSH-rendered auctioneer.json (keys as the reference job writes them).
const boshConfig = `{
  "auction_runner_workers": 500,
  "bbs_address": "https://bbs.service.cf.internal:8889",
  "bbs_ca_cert_file": "CA", "bbs_client_cert_file": "CERT", "bbs_client_key_file": "KEY",
  "bbs_client_session_cache_size": 0, "bbs_max_idle_conns_per_host": 0,
  "bin_pack_first_fit_weight": 0.5,
  "ca_cert_file": "CA", "server_cert_file": "CERT", "server_key_file": "KEY",
  "cell_state_timeout": "2s", "communication_timeout": "15s",
  "debug_address": "127.0.0.1:17001", "listen_address": "0.0.0.0:9016",
  "lock_retry_interval": "5s", "lock_ttl": "15s",
  "locket_address": "locket.service.cf.internal:8891",
  "locket_ca_cert_file": "CA", "locket_client_cert_file": "CERT", "locket_client_key_file": "KEY",
  "locket_client_keepalive_time": 10, "locket_client_keepalive_timeout": 22,
  "log_level": "info",
  "loggregator": {"loggregator_use_v2_api": true, "loggregator_api_port": 3458},
  "rep_ca_cert": "CA", "rep_client_cert": "CERT", "rep_client_key": "KEY", "rep_client_session_cache_size": 1000,
  "report_interval": "1m",
  "starting_container_count_maximum": 7, "starting_container_weight": 0.33,
  "uuid": "instance-guid"
}`

func TestConfigReadsTheReferenceKeys(t *testing.T) {
	cfg := daemon.DefaultConfig()
	if err := json.Unmarshal([]byte(boshConfig), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.AuctionRunnerWorkers != 500 || cfg.BinPackFirstFitWeight != 0.5 || cfg.StartingContainerWeight != 0.33 ||
		cfg.StartingContainerCountMaximum != 7 || cfg.CellStateTimeout.D() != 2*time.Second || cfg.CommunicationTimeout.D() != 15*time.Second ||
		cfg.UUID != "instance-guid" || cfg.Locket.LocketAddress != "locket.service.cf.internal:8891" || cfg.Locket.LocketClientKeepAliveTime != 10 ||
		cfg.RepClientSessionCacheSize != 1000 || cfg.DebugAddress != "127.0.0.1:17001" || !cfg.ServesTLS() {
		t.Fatalf("decoded %+v", cfg)
	}
	// Written back, the keys are the same.
	out, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var in, back map[string]any
	json.Unmarshal([]byte(boshConfig), &in)
	json.Unmarshal(out, &back)
	for k := range in {
		if _, ok := back[k]; !ok && !strings.HasSuffix(k, "_size") && !strings.HasSuffix(k, "per_host") {
			t.Errorf("key %q lost when written back", k)
		}
	}
}

func TestDefaultsAreTheBOSHJobs(t *testing.T) {
	cfg := daemon.DefaultConfig()
	if cfg.ListenAddress != "0.0.0.0:9016" || cfg.CellStateTimeout.D() != 10*time.Second || cfg.CommunicationTimeout.D() != 10*time.Second ||
		cfg.StartingContainerWeight != 0.25 || cfg.AuctionRunnerWorkers != 1000 || cfg.ReportInterval.D() != time.Minute ||
		cfg.RepClientSessionCacheSize != 4096 || cfg.BinPackFirstFitWeight != 0 || cfg.StartingContainerCountMaximum != 0 {
		t.Fatalf("defaults %+v", cfg)
	}
	// An explicit zero weight stays zero.
	if err := json.Unmarshal([]byte(`{"starting_container_weight": 0}`), &cfg); err != nil || cfg.StartingContainerWeight != 0 {
		t.Fatalf("weight %v, %v", cfg.StartingContainerWeight, err)
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	ca, err := certs.NewAuthority("CA")
	if err != nil {
		t.Fatal(err)
	}
	p, err := ca.WriteLeaf(dir, "leaf", certs.LocalNames("leaf"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := daemon.DefaultConfig()
	cfg.BBSAddress = "https://127.0.0.1:8889"
	cfg.BBSCACertFile, cfg.BBSClientCertFile, cfg.BBSClientKeyFile = p.CAFile, p.CertFile, p.KeyFile
	cfg.RepCACert, cfg.RepClientCert, cfg.RepClientKey = p.CAFile, p.CertFile, p.KeyFile
	cfg.Locket.LocketAddress = "127.0.0.1:8891"
	cfg.Locket.LocketCACertFile, cfg.Locket.LocketClientCertFile, cfg.Locket.LocketClientKeyFile = p.CAFile, p.CertFile, p.KeyFile
	cfg.UUID = "u"
	if err := cfg.Validate(); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	cfg.ServerCertFile = p.CertFile // one of the three server files
	cfg.RepClientKey = p.CAFile     // not a key
	err = cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "ca_cert_file is required") || !strings.Contains(err.Error(), "rep_ca_cert, rep_client_cert, rep_client_key") {
		t.Fatalf("got %v", err)
	}
}
