package main_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/bbs/encryption"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
	"google.golang.org/protobuf/proto"
)

// The reference BBS's tables at its last schema version (1772581987), as
// DDL in MySQL's dialect (sqldb rebinds it for PostgreSQL and SQLite).
var referenceSchema = []string{
	`CREATE TABLE configurations (id VARCHAR(255) PRIMARY KEY, value VARCHAR(255))`,
	`CREATE TABLE domains (domain VARCHAR(255) PRIMARY KEY, expire_time BIGINT DEFAULT 0)`,
	`CREATE TABLE desired_lrps (process_guid VARCHAR(255) PRIMARY KEY, domain VARCHAR(255) NOT NULL,
		log_guid VARCHAR(255) NOT NULL, annotation LONGTEXT, instances INT NOT NULL, memory_mb INT NOT NULL,
		disk_mb INT NOT NULL, rootfs VARCHAR(1024) NOT NULL, routes LONGTEXT NOT NULL, volume_placement LONGTEXT NOT NULL,
		modification_tag_epoch VARCHAR(255) NOT NULL, modification_tag_index INT, run_info LONGTEXT NOT NULL,
		placement_tags TEXT, max_pids INTEGER DEFAULT 0, metric_tags MEDIUMTEXT, update_strategy INT NOT NULL DEFAULT 0)`,
	`CREATE TABLE actual_lrps (process_guid VARCHAR(255) NOT NULL, instance_index INT NOT NULL, presence INT NOT NULL DEFAULT 0,
		evacuating BOOL NOT NULL DEFAULT false, domain VARCHAR(255) NOT NULL, state VARCHAR(255) NOT NULL,
		instance_guid VARCHAR(255) NOT NULL DEFAULT '', cell_id VARCHAR(255) NOT NULL DEFAULT '',
		placement_error VARCHAR(1024) NOT NULL DEFAULT '', since BIGINT DEFAULT 0, net_info LONGTEXT NOT NULL,
		internal_routes MEDIUMTEXT, metric_tags MEDIUMTEXT, routable BOOL DEFAULT false,
		availability_zone VARCHAR(255) NOT NULL DEFAULT '', modification_tag_epoch VARCHAR(255) NOT NULL,
		modification_tag_index INT, crash_count INT NOT NULL DEFAULT 0, crash_reason VARCHAR(1024) NOT NULL DEFAULT '',
		expire_time BIGINT DEFAULT 0, PRIMARY KEY (process_guid, instance_index, presence))`,
	`CREATE TABLE tasks (guid VARCHAR(255) PRIMARY KEY, domain VARCHAR(255) NOT NULL, updated_at BIGINT DEFAULT 0,
		created_at BIGINT DEFAULT 0, first_completed_at BIGINT DEFAULT 0, state INT, cell_id VARCHAR(255) NOT NULL DEFAULT '',
		result LONGTEXT, failed BOOL DEFAULT false, failure_reason VARCHAR(1024) NOT NULL DEFAULT '',
		task_definition LONGTEXT NOT NULL, rejection_count INTEGER NOT NULL DEFAULT 0,
		rejection_reason VARCHAR(1024) NOT NULL DEFAULT '')`,
	`CREATE TABLE bbs_health_check (id SERIAL PRIMARY KEY, time BIGINT NOT NULL)`,
	`CREATE INDEX domains_expire_time_idx ON domains (expire_time)`,
	`CREATE INDEX desired_lrps_domain_idx ON desired_lrps (domain)`,
	`CREATE INDEX actual_lrps_domain_idx ON actual_lrps (domain)`,
	`CREATE INDEX actual_lrps_cell_id_idx ON actual_lrps (cell_id)`,
	`CREATE INDEX actual_lrps_since_idx ON actual_lrps (since)`,
	`CREATE INDEX actual_lrps_state_idx ON actual_lrps (state)`,
	`CREATE INDEX actual_lrps_expire_time_idx ON actual_lrps (expire_time)`,
	`CREATE INDEX tasks_domain_idx ON tasks (domain)`,
	`CREATE INDEX tasks_state_idx ON tasks (state)`,
	`CREATE INDEX tasks_cell_id_idx ON tasks (cell_id)`,
	`CREATE INDEX tasks_updated_at_idx ON tasks (updated_at)`,
	`CREATE INDEX tasks_created_at_idx ON tasks (created_at)`,
	`CREATE INDEX tasks_first_completed_at_idx ON tasks (first_completed_at)`,
}

const refLabel, refPassphrase = "key-2024", "the reference's passphrase"

// seal encrypts as the reference stores a column, spelled out step by step
// (not with our encryption package): "02" + base64(len(label) ‖ label ‖
// nonce ‖ AES-256-GCM(SHA-256(passphrase)) ciphertext and tag).
func seal(t *testing.T, plaintext []byte) string {
	t.Helper()
	key := sha256.Sum256([]byte(refPassphrase))
	block, err := aes.NewCipher(key[:])
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, 12)
	if _, err := rand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	raw := append([]byte{byte(len(refLabel))}, refLabel...)
	raw = append(raw, nonce...)
	raw = append(raw, gcm.Seal(nil, nonce, plaintext, nil)...)
	return "02" + base64.StdEncoding.EncodeToString(raw)
}

// sealModel is a serialized model column: the 0x02 0x00 envelope, the
// protobuf bytes, sealed.
func sealModel(t *testing.T, m proto.Message) string {
	t.Helper()
	b, err := models.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return seal(t, append([]byte{0x02, 0x00}, b...))
}

func seedReference(t *testing.T, db *sqldb.DB) {
	t.Helper()
	ctx := context.Background()
	for _, q := range referenceSchema {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	runInfo := &models.DesiredLRPRunInfo{
		DesiredLrpKey:        &models.DesiredLRPKey{ProcessGuid: "app-ref", Domain: "cf-apps", LogGuid: "log-ref"},
		EnvironmentVariables: []*models.EnvironmentVariable{{Name: "PORT", Value: "8080"}},
		Action:               &models.Action{RunAction: &models.RunAction{Path: "/bin/web", User: "vcap"}},
		Monitor:              &models.Action{RunAction: &models.RunAction{Path: "/bin/healthcheck", User: "vcap"}},
		CpuWeight:            3, Ports: []uint32{8080, 2222}, LogSource: "APP", MetricsGuid: "app-ref",
		CreatedAt: 1700000000000000000, StartTimeoutMs: 60000, ImageUsername: "u", ImagePassword: "p",
		EgressRules: []*models.SecurityGroupRule{{Protocol: "tcp", Destinations: []string{"0.0.0.0/0"}, Ports: []uint32{443}}},
	}
	rows := []struct {
		q    string
		args []any
	}{
		{"INSERT INTO configurations (id, value) VALUES (?, ?)", []any{"version", `{"CurrentVersion":1772581987}`}},
		{"INSERT INTO configurations (id, value) VALUES (?, ?)", []any{"encryption_key_label", refLabel}},
		{"INSERT INTO domains (domain, expire_time) VALUES (?, ?)", []any{"cf-apps", int64(9223372036854775807)}},
		{`INSERT INTO desired_lrps (process_guid, domain, log_guid, annotation, instances, memory_mb, disk_mb, rootfs,
			routes, volume_placement, modification_tag_epoch, modification_tag_index, run_info, placement_tags, max_pids,
			metric_tags, update_strategy) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			[]any{"app-ref", "cf-apps", "log-ref", "etag-2024", 2, 1024, 2048, "preloaded:cflinuxfs4",
				seal(t, []byte(`{"cf-router":[{"hostnames":["ref.example.com"],"port":8080}],"internal-router":[{"hostname":"ref.apps.internal"}]}`)),
				sealModel(t, &models.VolumePlacement{DriverNames: []string{"nfs"}}), "epoch-ref", 7,
				sealModel(t, runInfo), `["isolated"]`, 1024,
				seal(t, []byte(`{"source_id":{"static":"app-ref"},"instance":{"dynamic":"INDEX"}}`)), 1}},
		{`INSERT INTO actual_lrps (process_guid, instance_index, presence, domain, state, instance_guid, cell_id,
			since, net_info, internal_routes, metric_tags, routable, availability_zone, modification_tag_epoch,
			modification_tag_index, crash_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			[]any{"app-ref", 0, 0, "cf-apps", "RUNNING", "ig-0", "cell-z1-0", int64(1700000001000000000),
				sealModel(t, &models.ActualLRPNetInfo{Address: "10.0.1.5", InstanceAddress: "10.255.0.9",
					Ports: []*models.PortMapping{{ContainerPort: 8080, HostPort: 61000}}, PreferredAddress: models.ActualLRPNetInfo_HOST}),
				seal(t, []byte(`[{"hostname":"ref.apps.internal"}]`)), seal(t, []byte(`{"source_id":"app-ref","instance":"0"}`)),
				true, "z1", "actual-epoch-0", 3, 1}},
		{`INSERT INTO actual_lrps (process_guid, instance_index, presence, domain, state, since, net_info,
			internal_routes, metric_tags, modification_tag_epoch, modification_tag_index, placement_error)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			[]any{"app-ref", 1, 0, "cf-apps", "UNCLAIMED", int64(1700000002000000000), sealModel(t, &models.ActualLRPNetInfo{}),
				seal(t, []byte(`[]`)), seal(t, []byte(`{}`)), "actual-epoch-1", 0, "insufficient resources: memory"}},
		{`INSERT INTO tasks (guid, domain, updated_at, created_at, first_completed_at, state, cell_id, result, failed,
			failure_reason, task_definition, rejection_count, rejection_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			[]any{"task-ref", "cf-tasks", int64(1700000003000000000), int64(1700000002500000000), int64(1700000003000000000),
				int32(models.Task_Completed), "", "42\n", false, "",
				sealModel(t, &models.TaskDefinition{RootFs: "preloaded:cflinuxfs4", Action: &models.Action{RunAction: &models.RunAction{Path: "/bin/migrate", User: "vcap"}},
					MemoryMb: 512, DiskMb: 1024, ResultFile: "/tmp/result", CompletionCallbackUrl: "", Annotation: "task-etag", PlacementTags: []string{"isolated"}}),
				1, "cell full"}},
	}
	for _, r := range rows {
		if _, err := db.ExecContext(ctx, r.q, r.args...); err != nil {
			t.Fatalf("%s: %v", r.q, err)
		}
	}
}

// TestUpgradeFromReferenceDatabase starts our BBS on a database last
// written by the reference (schema, version row and encrypted columns made
// by SQL) and reads every LRP and task back; then restarts it with a new
// active key and checks that everything was re-encrypted and still reads.
func TestUpgradeFromReferenceDatabase(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		db := sqltest.Open(t, cfg)
		seedReference(t, db)
		c := newCluster(t)
		keys := encryption.Config{ActiveKeyLabel: refLabel, EncryptionKeys: map[string]string{refLabel: refPassphrase}}
		bbsCfg := c.config(cfg, "bbs-0", keys)
		p := c.start(bbsCfg)
		client := c.clientFor(bbsCfg)
		checkReferenceData(t, client)
		if code := p.Stop(); code != 0 {
			t.Fatalf("stop exit %d", code)
		}

		rotated := encryption.Config{ActiveKeyLabel: "key-2026", EncryptionKeys: map[string]string{refLabel: refPassphrase, "key-2026": "new"}}
		bbsCfg2 := c.config(cfg, "bbs-0", rotated)
		p = c.start(bbsCfg2)
		p.WaitForLog("encryption-finished", 30*time.Second)
		checkReferenceData(t, c.clientFor(bbsCfg2))
		var label string
		if err := db.QueryRowContext(context.Background(), "SELECT value FROM configurations WHERE id = ?", "encryption_key_label").Scan(&label); err != nil || label != "key-2026" {
			t.Fatalf("stored label %q, %v", label, err)
		}
		var runInfo string
		if err := db.QueryRowContext(context.Background(), "SELECT run_info FROM desired_lrps WHERE process_guid = ?", "app-ref").Scan(&runInfo); err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(runInfo, "02"))
		if !bytes.HasPrefix(raw, append([]byte{8}, "key-2026"...)) {
			t.Fatalf("run_info not re-encrypted under key-2026: %x", raw[:min(len(raw), 12)])
		}
	})
}

func checkReferenceData(t *testing.T, client *bbsclient.Client) {
	t.Helper()
	ctx := ctxT(t)
	d, err := client.DesiredLRPByProcessGuid(ctx, "app-ref")
	if err != nil {
		t.Fatal(err)
	}
	if d.GetInstances() != 2 || d.GetMemoryMb() != 1024 || d.GetAnnotation() != "etag-2024" || d.GetMaxPids() != 1024 ||
		d.GetModificationTag().GetEpoch() != "epoch-ref" || d.GetModificationTag().GetIndex() != 7 ||
		d.GetAction().GetRunAction().GetPath() != "/bin/web" || d.GetMonitor().GetRunAction().GetPath() != "/bin/healthcheck" ||
		len(d.GetPorts()) != 2 || d.GetEnvironmentVariables()[0].GetValue() != "8080" || d.GetImagePassword() != "p" ||
		d.GetPlacementTags()[0] != "isolated" || d.GetMetricTags()["instance"].GetDynamic() != models.MetricTagValue_INDEX ||
		d.GetUpdateStrategy() != models.DesiredLRP_RECREATE || d.GetStartTimeoutMs() != 60000 ||
		len(d.GetEgressRules()) != 1 || string(d.GetRoutes().GetRoutes()["internal-router"]) != `[{"hostname":"ref.apps.internal"}]` {
		t.Fatalf("desired LRP read back wrong: %v", d)
	}
	actuals, err := client.ActualLRPs(ctx, bbsclient.ActualLRPFilter{ProcessGuid: "app-ref"})
	if err != nil || len(actuals) != 2 {
		t.Fatalf("actual LRPs %v, %v", actuals, err)
	}
	for _, a := range actuals {
		switch a.GetActualLrpKey().GetIndex() {
		case 0:
			n := a.GetActualLrpNetInfo()
			if a.GetState() != "RUNNING" || n.GetAddress() != "10.0.1.5" || n.GetPorts()[0].GetHostPort() != 61000 ||
				n.GetPreferredAddress() != models.ActualLRPNetInfo_HOST || a.GetActualLrpInternalRoutes()[0].GetHostname() != "ref.apps.internal" ||
				a.GetMetricTags()["instance"] != "0" || !a.GetRoutable() || a.GetAvailabilityZone() != "z1" || a.GetCrashCount() != 1 ||
				a.GetModificationTag().GetIndex() != 3 {
				t.Fatalf("running instance read back wrong: %v", a)
			}
		case 1:
			if a.GetState() != "UNCLAIMED" || a.GetPlacementError() != "insufficient resources: memory" || a.Routable == nil || a.GetRoutable() {
				t.Fatalf("unclaimed instance read back wrong: %v", a)
			}
		}
	}
	task, err := client.TaskByGuid(ctx, "task-ref")
	if err != nil {
		t.Fatal(err)
	}
	if task.GetState() != models.Task_Completed || task.GetResult() != "42\n" || task.GetRejectionCount() != 1 ||
		task.GetTaskDefinition().GetAction().GetRunAction().GetPath() != "/bin/migrate" || task.GetTaskDefinition().GetAnnotation() != "task-etag" {
		t.Fatalf("task read back wrong: %v", task)
	}
	domains, err := client.Domains(ctx)
	if err != nil || len(domains) != 1 || domains[0] != "cf-apps" {
		t.Fatalf("domains %v, %v", domains, err)
	}
}
