package sqldb

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Migration is one versioned schema change.
type Migration struct {
	// Version orders migrations and is recorded once applied; the reference
	// uses Unix timestamps. Must be positive and unique.
	Version int64
	// Name describes the change in errors, e.g. "add-tasks-rejection-count".
	Name string
	// Up applies the change. It may branch on tx.Flavor(). It runs in the
	// same transaction that records Version, and may run again after a
	// deadlock. On MySQL every DDL statement commits implicitly, so a
	// failure half-way leaves the earlier statements applied: write DDL
	// that can run twice (CREATE ... IF NOT EXISTS, or ignore
	// ErrObjectExists).
	Up func(ctx context.Context, tx *Tx) error
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Migrate brings the database up to date: it creates table (version
// BIGINT PRIMARY KEY, applied_at BIGINT) if needed and applies, in Version
// order, every migration whose version is not recorded there, each in its
// own transaction together with recording its version. It is idempotent, and
// concurrent callers, in this process or others, never apply a migration
// twice: MySQL holds a named lock (GET_LOCK) for the whole run, PostgreSQL
// takes a transaction-level advisory lock in each transaction, SQLite's
// transactions take the database write lock.
//
// It fails with ErrSchemaTooNew when the database records a version newer
// than every migration given (the database was migrated by a newer binary).
func Migrate(ctx context.Context, db *DB, table string, migrations []Migration) error {
	if !identifier.MatchString(table) {
		return fmt.Errorf("sqldb: migrate: table name %q is not a plain identifier", table)
	}
	ms, err := sortedMigrations(migrations)
	if err != nil {
		return err
	}
	m := migrator{db: db, table: table, lockKey: advisoryKey(table)}
	if db.flavor == MySQL {
		unlock, err := m.lockMySQL(ctx)
		if err != nil {
			return err
		}
		defer unlock()
	}

	var applied map[int64]bool
	err = db.Transact(ctx, func(ctx context.Context, tx *Tx) error {
		if err := m.lockTx(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+table+
			" (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)"); err != nil {
			return err
		}
		applied, err = m.appliedVersions(ctx, tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqldb: migrate: reading %s: %w", table, err)
	}
	if newest := maxKey(applied); newest > lastVersion(ms) {
		return fmt.Errorf("%w: %s records version %d, this binary knows up to %d", ErrSchemaTooNew, table, newest, lastVersion(ms))
	}

	for _, mig := range ms {
		if applied[mig.Version] {
			continue
		}
		if err := db.Transact(ctx, func(ctx context.Context, tx *Tx) error { return m.apply(ctx, tx, mig) }); err != nil {
			return fmt.Errorf("sqldb: migration %d %s: %w", mig.Version, mig.Name, err)
		}
	}
	return nil
}

func sortedMigrations(migrations []Migration) ([]Migration, error) {
	ms := slices.Clone(migrations)
	slices.SortFunc(ms, func(a, b Migration) int { return cmp.Compare(a.Version, b.Version) })
	for i, m := range ms {
		if m.Version <= 0 {
			return nil, fmt.Errorf("sqldb: migrate: migration %q has version %d, want > 0", m.Name, m.Version)
		}
		if m.Up == nil {
			return nil, fmt.Errorf("sqldb: migrate: migration %d %s has no Up", m.Version, m.Name)
		}
		if i > 0 && ms[i-1].Version == m.Version {
			return nil, fmt.Errorf("sqldb: migrate: version %d given twice", m.Version)
		}
	}
	return ms, nil
}

type migrator struct {
	db      *DB
	table   string
	lockKey int64
}

// apply runs one migration unless a concurrent starter has applied it since
// we last looked (we hold the lock now, so the check is reliable).
func (m migrator) apply(ctx context.Context, tx *Tx, mig Migration) error {
	if err := m.lockTx(ctx, tx); err != nil {
		return err
	}
	var one int
	err := tx.QueryRowContext(ctx, "SELECT 1 FROM "+m.table+" WHERE version = ?", mig.Version).Scan(&one)
	switch {
	case err == nil:
		return nil // already applied
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	if err := mig.Up(ctx, tx); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO "+m.table+" (version, applied_at) VALUES (?, ?)",
		mig.Version, time.Now().UnixNano())
	return err
}

func (m migrator) appliedVersions(ctx context.Context, tx *Tx) (map[int64]bool, error) {
	rows, err := tx.QueryContext(ctx, "SELECT version FROM "+m.table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	applied := map[int64]bool{}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

// lockTx takes PostgreSQL's advisory lock for the rest of the transaction.
// MySQL is locked by lockMySQL, SQLite by BEGIN IMMEDIATE.
func (m migrator) lockTx(ctx context.Context, tx *Tx) error {
	if tx.Flavor() != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", m.lockKey)
	return err
}

// lockMySQL takes a named lock on a dedicated connection and returns its
// release. The name covers the database, since MySQL's named locks are
// server-wide. GET_LOCK is polled so that ctx can stop the wait.
func (m migrator) lockMySQL(ctx context.Context) (unlock func(), err error) {
	conn, err := m.db.sql.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqldb: migrate: %w", Classify(err))
	}
	var dbName string
	if err := conn.QueryRowContext(ctx, "SELECT COALESCE(DATABASE(), '')").Scan(&dbName); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("sqldb: migrate: %w", Classify(err))
	}
	sum := sha256.Sum256([]byte(dbName + "." + m.table))
	name := "diego-migrate-" + hex.EncodeToString(sum[:16]) // 46 chars, under MySQL's 64
	for {
		var got *int64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 1)", name).Scan(&got); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("sqldb: migrate: taking lock: %w", Classify(err))
		}
		if got != nil && *got == 1 {
			break
		}
		if err := ctx.Err(); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("sqldb: migrate: waiting for lock: %w", err)
		}
	}
	return func() {
		// A fresh context: the lock must go even when ctx is done. Closing
		// the connection would release it too, but returns it to nobody.
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = conn.ExecContext(rctx, "SELECT RELEASE_LOCK(?)", name)
		_ = conn.Close()
	}, nil
}

// advisoryKey derives PostgreSQL's advisory lock key from the table name.
func advisoryKey(table string) int64 {
	sum := sha256.Sum256([]byte("diego-migrate:" + table))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

func maxKey(m map[int64]bool) int64 {
	var n int64
	for k := range m {
		n = max(n, k)
	}
	return n
}

func lastVersion(ms []Migration) int64 {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}
