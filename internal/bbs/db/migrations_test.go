package db

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
)

// referenceInitSchema is the reference's first migration (1461790966), in
// canonical DDL (MEDIUMTEXT becomes TEXT on PostgreSQL, as the reference
// rebinds it).
var referenceInitSchema = []string{
	`CREATE TABLE domains(domain VARCHAR(255) PRIMARY KEY, expire_time BIGINT DEFAULT 0)`,
	`CREATE TABLE desired_lrps(process_guid VARCHAR(255) PRIMARY KEY, domain VARCHAR(255) NOT NULL,
		log_guid VARCHAR(255) NOT NULL, annotation MEDIUMTEXT, instances INT NOT NULL, memory_mb INT NOT NULL,
		disk_mb INT NOT NULL, rootfs VARCHAR(255) NOT NULL, routes MEDIUMTEXT NOT NULL, volume_placement MEDIUMTEXT NOT NULL,
		modification_tag_epoch VARCHAR(255) NOT NULL, modification_tag_index INT, run_info MEDIUMTEXT NOT NULL)`,
	`CREATE TABLE actual_lrps(process_guid VARCHAR(255), instance_index INT, evacuating BOOL DEFAULT false,
		domain VARCHAR(255) NOT NULL, state VARCHAR(255) NOT NULL, instance_guid VARCHAR(255) NOT NULL DEFAULT '',
		cell_id VARCHAR(255) NOT NULL DEFAULT '', placement_error VARCHAR(255) NOT NULL DEFAULT '', since BIGINT DEFAULT 0,
		net_info MEDIUMTEXT NOT NULL, modification_tag_epoch VARCHAR(255) NOT NULL, modification_tag_index INT,
		crash_count INT NOT NULL DEFAULT 0, crash_reason VARCHAR(255) NOT NULL DEFAULT '', expire_time BIGINT DEFAULT 0,
		PRIMARY KEY(process_guid, instance_index, evacuating))`,
	`CREATE TABLE tasks(guid VARCHAR(255) PRIMARY KEY, domain VARCHAR(255) NOT NULL, updated_at BIGINT DEFAULT 0,
		created_at BIGINT DEFAULT 0, first_completed_at BIGINT DEFAULT 0, state INT, cell_id VARCHAR(255) NOT NULL DEFAULT '',
		result MEDIUMTEXT, failed BOOL DEFAULT false, failure_reason VARCHAR(255) NOT NULL DEFAULT '',
		task_definition MEDIUMTEXT NOT NULL)`,
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

// referenceFinalSchema is what the reference's migrations leave (version
// 1772581987), written out by hand.
func referenceFinalSchema(f sqldb.Flavor) []string {
	rootfsDefault, healthCheck := "", "CREATE TABLE bbs_health_check (id SERIAL PRIMARY KEY, time bigint NOT NULL)"
	if f == sqldb.MySQL {
		rootfsDefault = " DEFAULT ''"
		healthCheck = "CREATE TABLE bbs_health_check (id int NOT NULL AUTO_INCREMENT, PRIMARY KEY (id), time bigint NOT NULL)"
	}
	return append([]string{
		`CREATE TABLE configurations(id VARCHAR(255) PRIMARY KEY, value VARCHAR(255))`,
		`CREATE TABLE domains(domain VARCHAR(255) PRIMARY KEY, expire_time BIGINT DEFAULT 0)`,
		`CREATE TABLE desired_lrps(process_guid VARCHAR(255) PRIMARY KEY, domain VARCHAR(255) NOT NULL,
			log_guid VARCHAR(255) NOT NULL, annotation LONGTEXT, instances INT NOT NULL, memory_mb INT NOT NULL,
			disk_mb INT NOT NULL, rootfs VARCHAR(1024) NOT NULL` + rootfsDefault + `, routes LONGTEXT NOT NULL,
			volume_placement LONGTEXT NOT NULL, modification_tag_epoch VARCHAR(255) NOT NULL, modification_tag_index INT,
			run_info LONGTEXT NOT NULL, placement_tags TEXT, max_pids INTEGER DEFAULT 0, metric_tags MEDIUMTEXT,
			update_strategy INT NOT NULL DEFAULT 0)`,
		`CREATE TABLE actual_lrps(process_guid VARCHAR(255) NOT NULL, instance_index INT NOT NULL,
			evacuating BOOL NOT NULL DEFAULT false, domain VARCHAR(255) NOT NULL, state VARCHAR(255) NOT NULL,
			instance_guid VARCHAR(255) NOT NULL DEFAULT '', cell_id VARCHAR(255) NOT NULL DEFAULT '',
			placement_error VARCHAR(1024) NOT NULL DEFAULT '', since BIGINT DEFAULT 0, net_info LONGTEXT NOT NULL,
			modification_tag_epoch VARCHAR(255) NOT NULL, modification_tag_index INT, crash_count INT NOT NULL DEFAULT 0,
			crash_reason VARCHAR(1024) NOT NULL DEFAULT '', expire_time BIGINT DEFAULT 0, presence INT NOT NULL DEFAULT 0,
			internal_routes MEDIUMTEXT, metric_tags MEDIUMTEXT, routable BOOL DEFAULT false,
			availability_zone VARCHAR(255) NOT NULL DEFAULT '', PRIMARY KEY (process_guid, instance_index, presence))`,
		`CREATE TABLE tasks(guid VARCHAR(255) PRIMARY KEY, domain VARCHAR(255) NOT NULL, updated_at BIGINT DEFAULT 0,
			created_at BIGINT DEFAULT 0, first_completed_at BIGINT DEFAULT 0, state INT, cell_id VARCHAR(255) NOT NULL DEFAULT '',
			result LONGTEXT, failed BOOL DEFAULT false, failure_reason VARCHAR(1024) NOT NULL DEFAULT '',
			task_definition LONGTEXT NOT NULL, rejection_count INTEGER NOT NULL DEFAULT 0,
			rejection_reason VARCHAR(1024) NOT NULL DEFAULT '')`,
		healthCheck,
	}, referenceInitSchema[4:]...)
}

// seedReferenceRows writes, as the reference would, a desired LRP (whose
// run info still carries its metric tags), a task, an ordinary and an
// evacuating running instance, and a domain. plainRoutes stores the routes
// unencrypted (before migration 1474993971); final uses the final columns.
func seedReferenceRows(fx *storeFx, final, plainRoutes bool) {
	fx.t.Helper()
	c := fx.db.crypt
	seal := func(b []byte) string {
		s, err := c.Encrypt(b)
		if err != nil {
			fx.t.Fatal(err)
		}
		return string(s)
	}
	run, err := c.MarshalModel(&models.DesiredLRPRunInfo{
		DesiredLrpKey: &models.DesiredLRPKey{ProcessGuid: "old-app", Domain: "cf-apps", LogGuid: "log"},
		Action:        &models.Action{RunAction: &models.RunAction{Path: "/bin/true", User: "vcap"}},
		Ports:         []uint32{8080},
		MetricTags:    map[string]*models.MetricTagValue{"source_id": {Static: "old-app"}},
		CreatedAt:     42,
	})
	if err != nil {
		fx.t.Fatal(err)
	}
	placement, _ := c.MarshalModel(&models.VolumePlacement{})
	routes := `{"cf-router":[{"hostnames":["old.example.com"],"port":8080}]}`
	storedRoutes := seal([]byte(routes))
	if plainRoutes {
		storedRoutes = routes
	}
	if final {
		fx.exec(`INSERT INTO desired_lrps (process_guid, domain, log_guid, annotation, instances, memory_mb, disk_mb,
			rootfs, routes, volume_placement, modification_tag_epoch, modification_tag_index, run_info, placement_tags,
			max_pids, metric_tags, update_strategy) VALUES ('old-app', 'cf-apps', 'log', 'note', 2, 128, 256,
			'preloaded:cflinuxfs4', ?, ?, 'e', 3, ?, '["zone-a"]', 7, ?, 1)`,
			storedRoutes, string(placement), string(run), seal([]byte(`{"source_id":{"static":"old-app"}}`)))
	} else {
		fx.exec(`INSERT INTO desired_lrps (process_guid, domain, log_guid, annotation, instances, memory_mb, disk_mb,
			rootfs, routes, volume_placement, modification_tag_epoch, modification_tag_index, run_info)
			VALUES ('old-app', 'cf-apps', 'log', 'note', 2, 128, 256, 'preloaded:cflinuxfs4', ?, ?, 'e', 3, ?)`,
			storedRoutes, string(placement), string(run))
	}
	def, _ := c.MarshalModel(&models.TaskDefinition{RootFs: "preloaded:cflinuxfs4", Action: &models.Action{RunAction: &models.RunAction{Path: "ls"}}})
	fx.exec(`INSERT INTO tasks (guid, domain, updated_at, created_at, first_completed_at, state, cell_id, failed,
		failure_reason, task_definition) VALUES ('old-task', 'cf-tasks', 2, 1, 0, 2, 'cell-1', false, '', ?)`, string(def))
	net, _ := c.MarshalModel(&models.ActualLRPNetInfo{Address: "10.0.0.1"})
	for _, evac := range []bool{false, true} {
		if final {
			presence := 0
			if evac {
				presence = 1
			}
			fx.exec(`INSERT INTO actual_lrps (process_guid, instance_index, presence, domain, state, instance_guid,
				cell_id, since, net_info, modification_tag_epoch, modification_tag_index, routable)
				VALUES ('old-app', 0, ?, 'cf-apps', 'RUNNING', ?, 'cell-1', 5, ?, 'a', 1, true)`, presence, fmt.Sprint("ig-", evac), string(net))
			continue
		}
		fx.exec(`INSERT INTO actual_lrps (process_guid, instance_index, evacuating, domain, state, instance_guid,
			cell_id, since, net_info, modification_tag_epoch, modification_tag_index)
			VALUES ('old-app', 0, ?, 'cf-apps', 'RUNNING', ?, 'cell-1', 5, ?, 'a', 1)`, evac, fmt.Sprint("ig-", evac), string(net))
	}
	fx.exec(`INSERT INTO domains (domain, expire_time) VALUES ('cf-apps', 9223372036854775807)`)
}

func TestMigrateFreshAndRestart(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newStoreFx(t, cfg)
		if raw := fx.column("configurations", "value", "id = 'version'"); string(raw) != `{"CurrentVersion":1772581987}` {
			t.Fatalf("stored version %q", raw)
		}
		schema := fx.describeSchema()
		if err := fx.db.UpsertDomain(fx.ctx, "cf-apps", 0); err != nil {
			t.Fatal(err)
		}
		again := newUnmigratedFx(t, cfg, fx.sql)
		for i := 0; i < 2; i++ {
			if err := again.db.Migrate(fx.ctx); err != nil {
				t.Fatalf("migrating again: %v", err)
			}
		}
		if v, found, err := again.db.SchemaVersion(fx.ctx); err != nil || !found || v != ReferenceSchemaVersion {
			t.Fatalf("version %d %v %v", v, found, err)
		}
		if a, b := schemaDiff(schema, fx.describeSchema()); a != nil || b != nil {
			t.Fatalf("restart changed the schema:\n-%s\n+%s", strings.Join(a, "\n-"), strings.Join(b, "\n+"))
		}
		if d, _ := fx.db.FreshDomains(fx.ctx); len(d) != 1 {
			t.Fatalf("restart lost data: %v", d)
		}
	})
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newStoreFx(t, cfg)
		newer := LatestSchemaVersion() + 1
		fx.exec("UPDATE configurations SET value = ? WHERE id = 'version'", fmt.Sprintf(`{"CurrentVersion":%d}`, newer))
		err := fx.db.Migrate(fx.ctx)
		want := fmt.Sprintf("Existing DB version (%d) exceeds bbs version (%d)", newer, LatestSchemaVersion())
		if !errors.Is(err, sqldb.ErrSchemaTooNew) || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want %q", err, want)
		}
		fx.exec("UPDATE configurations SET value = 'garbage' WHERE id = 'version'")
		if err := fx.db.Migrate(fx.ctx); err == nil || !strings.Contains(err.Error(), "not a schema version") {
			t.Fatalf("bad version JSON: %v", err)
		}
	})
}

// freshDescription is the schema of a newly created database of cfg's flavor.
func freshDescription(t *testing.T, cfg sqldb.Config) []string {
	t.Helper()
	f, _ := cfg.Flavor()
	return newStoreFx(t, sqltest.NewDatabase(t, f)).describeSchema()
}

func checkSameSchema(t *testing.T, fx *storeFx, want []string) {
	t.Helper()
	if a, b := schemaDiff(want, fx.describeSchema()); a != nil || b != nil {
		t.Fatalf("schema differs from a fresh one:\nfresh only:\n  %s\nmigrated only:\n  %s", strings.Join(a, "\n  "), strings.Join(b, "\n  "))
	}
}

func TestMigrateAcceptsReferenceFinalSchema(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newUnmigratedFx(t, cfg, sqltest.Open(t, cfg))
		for _, s := range referenceFinalSchema(fx.sql.Flavor()) {
			fx.exec(s)
		}
		fx.exec(`INSERT INTO configurations (id, value) VALUES ('version', '{"CurrentVersion":1772581987}'), ('encryption_key_label', 'k1')`)
		seedReferenceRows(fx, true, false)
		before := fx.describeSchema()
		if err := fx.db.Migrate(fx.ctx); err != nil {
			t.Fatal(err)
		}
		if a, b := schemaDiff(before, fx.describeSchema()); a != nil || b != nil {
			t.Fatalf("migrating a final schema changed it:\n-%s\n+%s", strings.Join(a, "\n-"), strings.Join(b, "\n+"))
		}
		if raw := fx.column("configurations", "value", "id = 'version'"); string(raw) != `{"CurrentVersion":1772581987}` {
			t.Fatalf("version rewritten: %q", raw)
		}
		if fx.sql.Flavor() != sqldb.SQLite { // the reference never ran on SQLite; ours adds NOT NULL there
			checkSameSchema(t, fx, freshDescription(t, cfg))
		}
		lrp, err := fx.db.DesiredLRPByProcessGuid(fx.ctx, "old-app")
		if err != nil {
			t.Fatal(err)
		}
		if lrp.MaxPids != 7 || lrp.UpdateStrategy != models.DesiredLRP_RECREATE || lrp.PlacementTags[0] != "zone-a" ||
			lrp.MetricTags["source_id"].GetStatic() != "old-app" || string(lrp.Routes.Raw("cf-router")) == "" {
			t.Fatalf("read back %v", lrp)
		}
		if task, err := fx.db.TaskByGuid(fx.ctx, "old-task"); err != nil || task.State != models.Task_Running || task.CellId != "cell-1" {
			t.Fatalf("task %v, %v", task, err)
		}
	})
}

func TestMigrateFromAnEarlierReferenceVersion(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fresh := freshDescription(t, cfg)
		fx := newStoreFx(t, cfg)
		// Undo what came after 1686692176 and write a row as it then was.
		fx.exec("ALTER TABLE actual_lrps DROP COLUMN availability_zone")
		fx.exec("ALTER TABLE desired_lrps DROP COLUMN metric_tags")
		fx.exec("ALTER TABLE desired_lrps DROP COLUMN update_strategy")
		fx.exec("DROP TABLE bbs_health_check")
		fx.exec(`UPDATE configurations SET value = '{"CurrentVersion":1686692176}' WHERE id = 'version'`)
		c := fx.db.crypt
		run, _ := c.MarshalModel(&models.DesiredLRPRunInfo{
			DesiredLrpKey: &models.DesiredLRPKey{ProcessGuid: "p", Domain: "d", LogGuid: "l"},
			MetricTags:    map[string]*models.MetricTagValue{"index": {Dynamic: models.MetricTagValue_INDEX}},
		})
		routes, _ := c.Encrypt([]byte(`{}`))
		placement, _ := c.MarshalModel(&models.VolumePlacement{})
		fx.exec(`INSERT INTO desired_lrps (process_guid, domain, log_guid, instances, memory_mb, disk_mb, rootfs, routes,
			volume_placement, modification_tag_epoch, modification_tag_index, run_info) VALUES ('p', 'd', 'l', 1, 1, 1, 'docker:///x', ?, ?, 'e', 0, ?)`,
			string(routes), string(placement), string(run))
		if err := fx.db.Migrate(fx.ctx); err != nil {
			t.Fatal(err)
		}
		checkSameSchema(t, fx, fresh)
		lrp, err := fx.db.DesiredLRPByProcessGuid(fx.ctx, "p")
		if err != nil || lrp.MetricTags["index"].GetDynamic() != models.MetricTagValue_INDEX || lrp.UpdateStrategy != models.DesiredLRP_ROLLING {
			t.Fatalf("metric tags not split out: %v, %v", lrp, err)
		}
	})
}

func TestMigrateFromTheReferenceInitialSchema(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newUnmigratedFx(t, cfg, sqltest.Open(t, cfg))
		for _, s := range referenceInitSchema {
			fx.exec(s)
		}
		fx.exec(createConfigurationsSQL)
		fx.exec(`INSERT INTO configurations (id, value) VALUES ('version', '{"CurrentVersion":1461790966}')`)
		seedReferenceRows(fx, false, true)
		err := fx.db.Migrate(fx.ctx)
		if fx.sql.Flavor() == sqldb.SQLite {
			if err == nil || !strings.Contains(err.Error(), "cannot be migrated") {
				t.Fatalf("sqlite at version 1461790966: %v", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		checkSameSchema(t, fx, freshDescription(t, cfg))
		if raw := fx.column("desired_lrps", "routes", "process_guid = 'old-app'"); !isEncrypted(raw) {
			t.Fatalf("routes left in clear: %q", raw)
		}
		lrp, err := fx.db.DesiredLRPByProcessGuid(fx.ctx, "old-app")
		if err != nil {
			t.Fatal(err)
		}
		if string(lrp.Routes.Raw("cf-router")) != `[{"hostnames":["old.example.com"],"port":8080}]` || lrp.MetricTags["source_id"].GetStatic() != "old-app" {
			t.Fatalf("read back %v", lrp)
		}
		if n := fx.count("actual_lrps", "presence = 1 AND instance_guid = 'ig-true' AND routable = true"); n != 1 {
			t.Fatalf("evacuating row: %d", n)
		}
		if n := fx.count("actual_lrps", "presence = 0 AND instance_guid = 'ig-false' AND routable = true AND availability_zone = ''"); n != 1 {
			t.Fatalf("ordinary row: %d", n)
		}
		if task, err := fx.db.TaskByGuid(fx.ctx, "old-task"); err != nil || task.RejectionCount != 0 || task.RejectionReason != "" {
			t.Fatalf("task %v, %v", task, err)
		}
	})
}

func TestMigrateReplacesTablesWithoutVersion(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newUnmigratedFx(t, cfg, sqltest.Open(t, cfg))
		fx.exec("CREATE TABLE domains (junk INT)")
		if err := fx.db.Migrate(fx.ctx); err != nil {
			t.Fatal(err)
		}
		checkSameSchema(t, fx, freshDescription(t, cfg))
	})
}

func TestMigrateConcurrently(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		if f, _ := cfg.Flavor(); f == sqldb.MySQL {
			t.Skip("on MySQL the BBS lock keeps migrators apart (DDL commits and releases row locks)")
		}
		sdb := sqltest.Open(t, cfg)
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i := range errs {
			fx := newUnmigratedFx(t, cfg, sdb)
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = fx.db.Migrate(fx.ctx)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		checkSameSchema(t, newUnmigratedFx(t, cfg, sdb), freshDescription(t, cfg))
	})
}
