package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/sqldb"
)

// Schema versions are the reference's: Unix timestamps, the current one
// stored as the JSON {"CurrentVersion":N} in the configurations row
// "version", so that the reference and we read each other's databases.
//
//   - No version (or one older than the reference's first migration): the
//     four data tables are dropped and the final schema created in one
//     step, recorded as ReferenceSchemaVersion. The reference's first
//     migration drops them too.
//   - A version of the reference's history: the remaining steps run in
//     order, each in its own transaction together with writing its version,
//     each safe to run again (MySQL commits DDL on its own, so a failed step
//     may be half done). On SQLite, which the reference never used, only
//     databases at 1529530809 or later can be migrated (earlier steps
//     change a primary key, which SQLite cannot alter).
//   - Our own later migrations, if any, come after ReferenceSchemaVersion.
//   - A version newer than every migration known here: Migrate fails, as
//     the reference does, so that an old binary never writes a newer schema.
//
// Each step locks the version row, so concurrent starters on PostgreSQL and
// SQLite serialize; on MySQL the BBS lock in locket keeps starters apart, as
// it does for the reference.

// ReferenceSchemaVersion is the reference's newest migration, the schema
// schema.go creates.
const ReferenceSchemaVersion int64 = 1772581987

const (
	// initVersion is the reference's first migration (create the tables).
	initVersion int64 = 1461790966
	// minSQLiteVersion is the oldest version migratable on SQLite.
	minSQLiteVersion int64 = 1529530809

	versionID            = "version"
	encryptionKeyLabelID = "encryption_key_label"
)

// schemaVersion is the stored JSON form of a version.
type schemaVersion struct {
	CurrentVersion int64
}

type migration struct {
	version int64
	name    string
	up      func(ctx context.Context, db *DB, tx *sqldb.Tx) error
}

// freshSchema is the step of a database without a schema.
var freshSchema = migration{ReferenceSchemaVersion, "create-final-schema",
	func(ctx context.Context, _ *DB, tx *sqldb.Tx) error { return createFinalSchema(ctx, tx) }}

// ownMigrations are this implementation's steps after the reference's
// final schema, in version order; each version must exceed
// ReferenceSchemaVersion.
var ownMigrations []migration

// allMigrations returns every known step after the first, in order.
func allMigrations() []migration {
	return append(append([]migration(nil), referenceMigrations...), ownMigrations...)
}

// LatestSchemaVersion is the newest schema this binary knows.
func LatestSchemaVersion() int64 {
	all := allMigrations()
	return all[len(all)-1].version
}

// Migrate creates the configurations table if needed and brings the schema
// to LatestSchemaVersion. It is idempotent.
func (db *DB) Migrate(ctx context.Context) error {
	logger := db.logger.Session("migrate")
	start := time.Now()
	// Concurrent CREATE TABLE IF NOT EXISTS can still collide on
	// PostgreSQL's catalog: the table exists then.
	if _, err := db.sql.ExecContext(ctx, createConfigurationsSQL); err != nil &&
		!errors.Is(err, sqldb.ErrObjectExists) && !errors.Is(err, sqldb.ErrDuplicateKey) {
		return fmt.Errorf("creating the configurations table: %w", err)
	}
	// Like the reference, record version 0 when there is none, so that
	// every step below has a row to lock.
	zero, _ := json.Marshal(schemaVersion{})
	if _, err := db.sql.ExecContext(ctx, db.Flavor().InsertIgnore(configurationsTable, "id", "value"), versionID, string(zero)); err != nil {
		return fmt.Errorf("initializing the schema version: %w", err)
	}
	for {
		done, err := db.migrateStep(ctx, logger)
		if err != nil {
			logger.Error("migration-failed", err)
			return err
		}
		if done {
			logger.Info("migrations-finished", lager.Data{"duration": time.Since(start).String()})
			return nil
		}
	}
}

// migrateStep applies the next step, if any, in one transaction.
func (db *DB) migrateStep(ctx context.Context, logger lager.Logger) (done bool, err error) {
	err = db.sql.Transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		done = false
		current, err := readSchemaVersion(ctx, tx, true)
		if err != nil {
			return err
		}
		step, err := nextMigration(tx.Flavor(), current)
		if err != nil || step == nil {
			done = step == nil
			return err
		}
		logger.Info("running-migration", lager.Data{"current_version": current, "migration_version": step.version, "name": step.name})
		if err := step.up(ctx, db, tx); err != nil {
			return fmt.Errorf("migration %d %s: %w", step.version, step.name, err)
		}
		return writeSchemaVersion(ctx, tx, step.version)
	})
	return done, err
}

// nextMigration returns the step after version current, nil when current
// is the latest.
func nextMigration(f sqldb.Flavor, current int64) (*migration, error) {
	latest := LatestSchemaVersion()
	switch {
	case current > latest:
		return nil, fmt.Errorf("%w: Existing DB version (%d) exceeds bbs version (%d)", sqldb.ErrSchemaTooNew, current, latest)
	case current < initVersion:
		return &freshSchema, nil
	case f == sqldb.SQLite && current < minSQLiteVersion:
		return nil, fmt.Errorf("sqlite databases at schema version %d cannot be migrated (the oldest supported is %d)", current, minSQLiteVersion)
	}
	for _, m := range allMigrations() {
		if m.version > current {
			return &m, nil
		}
	}
	return nil, nil
}

// SchemaVersion returns the stored schema version; found is false when
// there is none.
func (db *DB) SchemaVersion(ctx context.Context) (version int64, found bool, err error) {
	version, err = readSchemaVersion(ctx, db.sql, false)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return version, err == nil, err
}

func readSchemaVersion(ctx context.Context, q sqldb.Querier, lock bool) (int64, error) {
	query := "SELECT value FROM configurations WHERE id = ?"
	if lock {
		query += " FOR UPDATE"
	}
	var value sql.NullString
	if err := q.QueryRowContext(ctx, query, versionID).Scan(&value); err != nil {
		return 0, err
	}
	var v schemaVersion
	if err := json.Unmarshal([]byte(value.String), &v); err != nil || !value.Valid {
		return 0, fmt.Errorf("configurations.version %q is not a schema version", value.String)
	}
	return v.CurrentVersion, nil
}

func writeSchemaVersion(ctx context.Context, q sqldb.Querier, version int64) error {
	return setConfiguration(ctx, q, versionID, mustJSON(schemaVersion{CurrentVersion: version}))
}

func setConfiguration(ctx context.Context, q sqldb.Querier, id, value string) error {
	_, err := q.ExecContext(ctx, q.Flavor().Upsert(configurationsTable, []string{"id"}, []string{"value"}), id, value)
	return err
}

func mustJSON(v schemaVersion) string {
	b, _ := json.Marshal(v) // a struct of one int64 always marshals
	return string(b)
}

// addColumn adds a column unless it exists: PostgreSQL says IF NOT EXISTS
// (an error would abort its transaction); MySQL and SQLite report the
// duplicate, which is ignored.
func addColumn(ctx context.Context, tx *sqldb.Tx, table, definition string) error {
	if tx.Flavor() == sqldb.Postgres {
		_, err := tx.ExecContext(ctx, "ALTER TABLE "+table+" ADD COLUMN IF NOT EXISTS "+definition)
		return err
	}
	_, err := tx.ExecContext(ctx, "ALTER TABLE "+table+" ADD COLUMN "+definition)
	if errors.Is(err, sqldb.ErrObjectExists) {
		return nil
	}
	return err
}

// execFor runs the statements given for tx's flavor, if any.
func execFor(ctx context.Context, tx *sqldb.Tx, stmts map[sqldb.Flavor][]string) error {
	for _, s := range stmts[tx.Flavor()] {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	return nil
}
