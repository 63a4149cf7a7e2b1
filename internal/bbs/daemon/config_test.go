package daemon_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/bbs/daemon"
)

const referenceConfig = `{
  "listen_address": "0.0.0.0:8889", "health_address": "127.0.0.1:8890",
  "ca_file": "/ca", "cert_file": "/cert", "key_file": "/key",
  "database_driver": "mysql", "database_connection_string": "diego:pw@tcp(db:3306)/diego",
  "max_open_database_connections": 200, "max_idle_database_connections": 200,
  "active_key_label": "key-2024", "encryption_keys": {"key-2024": "pass", "key-2023": "old"},
  "uuid": "bbs-0", "lock_ttl": "15s", "lock_retry_interval": "5s",
  "locket_address": "locket.service.cf.internal:8891", "locket_ca_cert_file": "/lca",
  "locket_client_cert_file": "/lcert", "locket_client_key_file": "/lkey",
  "locket_client_keepalive_time": 10, "locket_client_keepalive_timeout": 22,
  "auctioneer_address": "https://auctioneer.service.cf.internal:9016",
  "converge_repeat_interval": "30s", "max_task_retries": 3, "log_level": "info",
  "advanced_metrics": {"enabled": false}, "loggregator": {"loggregator_use_v2_api": true},
  "require_ssl": true, "some_future_key": 1
}`

func TestReferenceConfigLoads(t *testing.T) {
	cfg := daemon.DefaultConfig()
	if err := json.Unmarshal([]byte(referenceConfig), &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("a reference config does not validate: %v", err)
	}
	if cfg.SQL.DriverName != "mysql" || cfg.Encryption.ActiveKeyLabel != "key-2024" || cfg.Locket.LocketAddress != "locket.service.cf.internal:8891" ||
		cfg.Locket.LocketClientKeepAliveTimeout != 22 || cfg.UUID != "bbs-0" || cfg.ConvergeRepeatInterval.D() != 30*time.Second {
		t.Fatalf("config read wrong: %+v", cfg)
	}
	// Defaults survive where the file is silent.
	if cfg.ExpireCompletedTaskDuration.D() != 2*time.Minute || cfg.TaskCallbackWorkers != 1000 || cfg.MaxRequestBodyBytes != 64<<20 {
		t.Fatalf("defaults lost: %+v", cfg)
	}
	// And it writes back to the same flat layout.
	out, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var again daemon.Config
	if err := json.Unmarshal(out, &again); err != nil || again.Encryption.EncryptionKeys["key-2023"] != "old" || again.SQL.MaxOpenConnections != 200 {
		t.Fatalf("round trip: %v %+v", err, again)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := map[string]string{
		`"uuid": "bbs-0"`:                                                     "uuid is required",
		`"active_key_label": "key-2024"`:                                      "active_key_label",
		`"locket_address": "locket.service.cf.internal:8891"`:                 "locket_address is required",
		`"auctioneer_address": "https://auctioneer.service.cf.internal:9016"`: "auctioneer_address is required",
		`"database_driver": "mysql"`:                                          "database_driver",
	}
	for field, want := range cases {
		cfg := daemon.DefaultConfig()
		text := strings.Replace(referenceConfig, field, `"x_removed": 0`, 1)
		if err := json.Unmarshal([]byte(text), &cfg); err != nil {
			t.Fatal(err)
		}
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("without %s: %v, want %q", field, err, want)
		}
	}
}
