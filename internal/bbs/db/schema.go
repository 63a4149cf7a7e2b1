package db

import (
	"context"

	"github.com/diego-go/diego/internal/sqldb"
)

// The reference's final schema (version 1772581987), created in one step on
// a fresh database. Columns come in the order the reference's migration
// chain leaves them, so a fresh database and a migrated one look alike.
// Types are MySQL's, rebound for PostgreSQL (LONGTEXT and MEDIUMTEXT become
// TEXT) and SQLite; the few differences between the reference's MySQL and
// PostgreSQL tables (rootfs's default, the health check id) are kept, and
// SQLite follows PostgreSQL there. Primary key columns are declared NOT
// NULL, which MySQL and PostgreSQL imply and SQLite does not; so is the
// legacy actual_lrps.evacuating, which the reference's chain leaves NOT
// NULL on both servers (it was part of the primary key until 1529530809,
// and dropping that key keeps the constraint).

// Table names (actual_lrps is named in the actual LRP files).
const (
	configurationsTable = "configurations"
	domainsTable        = "domains"
	desiredLRPsTable    = "desired_lrps"
	tasksTable          = "tasks"
	healthCheckTable    = "bbs_health_check"
)

// createConfigurationsSQL runs at every start, before the migrations.
const createConfigurationsSQL = `CREATE TABLE IF NOT EXISTS configurations (
	id VARCHAR(255) NOT NULL PRIMARY KEY,
	value VARCHAR(255)
)`

const createDomainsSQL = `CREATE TABLE domains (
	domain VARCHAR(255) NOT NULL PRIMARY KEY,
	expire_time BIGINT DEFAULT 0
)`

func createDesiredLRPsSQL(f sqldb.Flavor) string {
	rootfs := "rootfs VARCHAR(1024) NOT NULL"
	if f == sqldb.MySQL {
		rootfs += " DEFAULT ''"
	}
	return `CREATE TABLE desired_lrps (
	process_guid VARCHAR(255) NOT NULL PRIMARY KEY,
	domain VARCHAR(255) NOT NULL,
	log_guid VARCHAR(255) NOT NULL,
	annotation LONGTEXT,
	instances INT NOT NULL,
	memory_mb INT NOT NULL,
	disk_mb INT NOT NULL,
	` + rootfs + `,
	routes LONGTEXT NOT NULL,
	volume_placement LONGTEXT NOT NULL,
	modification_tag_epoch VARCHAR(255) NOT NULL,
	modification_tag_index INT,
	run_info LONGTEXT NOT NULL,
	placement_tags TEXT,
	max_pids INTEGER DEFAULT 0,
	metric_tags MEDIUMTEXT,
	update_strategy INT NOT NULL DEFAULT 0
)`
}

const createActualLRPsSQL = `CREATE TABLE actual_lrps (
	process_guid VARCHAR(255) NOT NULL,
	instance_index INT NOT NULL,
	evacuating BOOL NOT NULL DEFAULT false,
	domain VARCHAR(255) NOT NULL,
	state VARCHAR(255) NOT NULL,
	instance_guid VARCHAR(255) NOT NULL DEFAULT '',
	cell_id VARCHAR(255) NOT NULL DEFAULT '',
	placement_error VARCHAR(1024) NOT NULL DEFAULT '',
	since BIGINT DEFAULT 0,
	net_info LONGTEXT NOT NULL,
	modification_tag_epoch VARCHAR(255) NOT NULL,
	modification_tag_index INT,
	crash_count INT NOT NULL DEFAULT 0,
	crash_reason VARCHAR(1024) NOT NULL DEFAULT '',
	expire_time BIGINT DEFAULT 0,
	presence INT NOT NULL DEFAULT 0,
	internal_routes MEDIUMTEXT,
	metric_tags MEDIUMTEXT,
	routable BOOL DEFAULT false,
	availability_zone VARCHAR(255) NOT NULL DEFAULT '',
	PRIMARY KEY (process_guid, instance_index, presence)
)`

const createTasksSQL = `CREATE TABLE tasks (
	guid VARCHAR(255) NOT NULL PRIMARY KEY,
	domain VARCHAR(255) NOT NULL,
	updated_at BIGINT DEFAULT 0,
	created_at BIGINT DEFAULT 0,
	first_completed_at BIGINT DEFAULT 0,
	state INT,
	cell_id VARCHAR(255) NOT NULL DEFAULT '',
	result LONGTEXT,
	failed BOOL DEFAULT false,
	failure_reason VARCHAR(1024) NOT NULL DEFAULT '',
	task_definition LONGTEXT NOT NULL,
	rejection_count INTEGER NOT NULL DEFAULT 0,
	rejection_reason VARCHAR(1024) NOT NULL DEFAULT ''
)`

// createHealthCheckSQL is the table of enable_db_health_check; it is
// created IF NOT EXISTS, by the fresh schema and by migration 1764949919.
func createHealthCheckSQL(f sqldb.Flavor) string {
	if f == sqldb.MySQL {
		return "CREATE TABLE IF NOT EXISTS bbs_health_check (id INT NOT NULL AUTO_INCREMENT, PRIMARY KEY (id), time BIGINT NOT NULL)"
	}
	return "CREATE TABLE IF NOT EXISTS bbs_health_check (id SERIAL PRIMARY KEY, time BIGINT NOT NULL)"
}

// indexSQL are the reference's indexes, all created by its first migration.
var indexSQL = []string{
	"CREATE INDEX domains_expire_time_idx ON domains (expire_time)",
	"CREATE INDEX desired_lrps_domain_idx ON desired_lrps (domain)",
	"CREATE INDEX actual_lrps_domain_idx ON actual_lrps (domain)",
	"CREATE INDEX actual_lrps_cell_id_idx ON actual_lrps (cell_id)",
	"CREATE INDEX actual_lrps_since_idx ON actual_lrps (since)",
	"CREATE INDEX actual_lrps_state_idx ON actual_lrps (state)",
	"CREATE INDEX actual_lrps_expire_time_idx ON actual_lrps (expire_time)",
	"CREATE INDEX tasks_domain_idx ON tasks (domain)",
	"CREATE INDEX tasks_state_idx ON tasks (state)",
	"CREATE INDEX tasks_cell_id_idx ON tasks (cell_id)",
	"CREATE INDEX tasks_updated_at_idx ON tasks (updated_at)",
	"CREATE INDEX tasks_created_at_idx ON tasks (created_at)",
	"CREATE INDEX tasks_first_completed_at_idx ON tasks (first_completed_at)",
}

// dataTables are the tables the reference's first migration drops and
// creates; a database without a schema version gets them afresh.
var dataTables = []string{domainsTable, tasksTable, desiredLRPsTable, "actual_lrps"}

// createFinalSchema replaces the four data tables by empty ones of the
// final schema, with their indexes, and creates the health check table.
func createFinalSchema(ctx context.Context, tx *sqldb.Tx) error {
	f := tx.Flavor()
	for _, t := range dataTables {
		if _, err := tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+t); err != nil {
			return err
		}
	}
	stmts := []string{createDomainsSQL, createDesiredLRPsSQL(f), createActualLRPsSQL, createTasksSQL, createHealthCheckSQL(f)}
	stmts = append(stmts, indexSQL...)
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	return nil
}
