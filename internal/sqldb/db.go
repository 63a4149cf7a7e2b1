package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the transaction retry policy, the reference's.
const (
	DefaultAttempts  = 3
	DefaultRetryWait = 500 * time.Millisecond
)

// Querier is what DB and Tx have in common, for store code that runs either
// inside or outside a transaction. Queries are canonical (see Flavor.Rebind)
// and rebound automatically; errors are classified (see Classify).
type Querier interface {
	Flavor() Flavor
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *Row
}

var (
	_ Querier = (*DB)(nil)
	_ Querier = (*Tx)(nil)
)

// DB is a connection pool of one flavor. It is safe for concurrent use.
type DB struct {
	sql      *sql.DB
	flavor   Flavor
	attempts int
	wait     time.Duration
	txOpts   *sql.TxOptions
	rebinds  *rebindCache
	monitor  *monitor
	// writer serializes this process's SQLite transactions, so they queue
	// in Go instead of spinning in SQLite's busy handler. nil elsewhere.
	writer chan struct{}
}

// Flavor returns the dialect of the database.
func (db *DB) Flavor() Flavor { return db.flavor }

// SQL returns the underlying pool, an escape hatch: queries passed to it are
// not rebound and its errors are not classified.
func (db *DB) SQL() *sql.DB { return db.sql }

// Close closes the pool (shared with every copy made by WithRetry).
func (db *DB) Close() error { return db.sql.Close() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return Classify(db.sql.PingContext(ctx)) }

// Rebind translates a canonical query to this database's flavor (see
// Flavor.Rebind). The methods of DB and Tx do it for you.
func (db *DB) Rebind(query string) string { return db.rebinds.get(db.flavor, query) }

// WithRetry returns a copy of db, sharing its pool, whose Transact makes at
// most attempts attempts (at least 1) waiting wait between them.
func (db *DB) WithRetry(attempts int, wait time.Duration) *DB {
	c := *db
	c.attempts = max(attempts, 1)
	c.wait = max(wait, 0)
	return &c
}

// WithReadCommitted returns a copy of db, sharing its pool, whose
// transactions run at READ COMMITTED on MySQL instead of its default
// REPEATABLE READ, so that a locking read of a missing row takes no gap
// lock: concurrent inserts of different keys then never wait for or
// deadlock with each other. PostgreSQL runs at READ COMMITTED already and
// SQLite serializes writers, so nothing changes for them.
func (db *DB) WithReadCommitted() *DB {
	c := *db
	if db.flavor == MySQL {
		c.txOpts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	return &c
}

// ExecContext runs a canonical statement outside any transaction.
func (db *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	done := db.monitor.start()
	r, err := db.sql.ExecContext(ctx, db.Rebind(query), args...)
	done(err)
	return r, Classify(err)
}

// QueryContext runs a canonical query outside any transaction. Errors of the
// returned rows are not classified: pass them through Classify, or return
// them from a Transact callback, which does.
func (db *DB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	done := db.monitor.start()
	rows, err := db.sql.QueryContext(ctx, db.Rebind(query), args...)
	done(err)
	return rows, Classify(err)
}

// QueryRowContext runs a canonical query expected to return at most one row.
func (db *DB) QueryRowContext(ctx context.Context, query string, args ...any) *Row {
	done := db.monitor.start()
	return &Row{row: db.sql.QueryRowContext(ctx, db.Rebind(query), args...), done: done}
}

// Transact runs fn in one transaction and commits it if fn returns nil.
// When the transaction fails with ErrDeadlock or ErrUnavailable (from fn, the
// begin or the commit) it is rolled back and fn runs again in a new
// transaction, at most the configured number of attempts (default 3, 500 ms
// apart). fn must therefore be safe to re-run: keep its effects inside tx and
// reset any state it builds outside at its start. Other errors, including
// fn's own, roll back and are returned at once (classified). A done ctx stops
// the retries.
//
// Use only tx inside fn: a statement on db itself, or a nested Transact,
// waits for locks this transaction holds (on SQLite it blocks until ctx is
// done). A panic in fn rolls back and propagates.
func (db *DB) Transact(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = db.transactOnce(ctx, fn)
		if err == nil || !retryable(err) {
			return err
		}
		if attempt >= db.attempts {
			if attempt == 1 {
				return err
			}
			return fmt.Errorf("sqldb: transaction failed after %d attempts: %w", attempt, err)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("sqldb: transaction abandoned: %w; last attempt: %w", ctx.Err(), err)
		}
		t := time.NewTimer(db.wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("sqldb: transaction abandoned: %w; last attempt: %w", ctx.Err(), err)
		case <-t.C:
		}
	}
}

func retryable(err error) bool {
	return errors.Is(err, ErrDeadlock) || errors.Is(err, ErrUnavailable)
}

func (db *DB) transactOnce(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) (err error) {
	if db.writer != nil {
		select {
		case db.writer <- struct{}{}:
			defer func() { <-db.writer }()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	stx, err := db.sql.BeginTx(ctx, db.txOpts)
	if err != nil {
		return Classify(err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = stx.Rollback()
		}
	}()
	if err := fn(ctx, &Tx{tx: stx, db: db}); err != nil {
		return Classify(err)
	}
	if err := stx.Commit(); err != nil {
		committed = true // Commit ends the transaction even when it fails.
		return Classify(err)
	}
	committed = true
	return nil
}

// Tx is one transaction, handed to a Transact callback. Do not keep it after
// the callback returns.
type Tx struct {
	tx *sql.Tx
	db *DB
}

// Flavor returns the dialect of the database.
func (tx *Tx) Flavor() Flavor { return tx.db.flavor }

// SQL returns the underlying transaction, an escape hatch: queries passed to
// it are not rebound and its errors are not classified.
func (tx *Tx) SQL() *sql.Tx { return tx.tx }

// Rebind translates a canonical query to this database's flavor.
func (tx *Tx) Rebind(query string) string { return tx.db.Rebind(query) }

// ExecContext runs a canonical statement in the transaction.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	done := tx.db.monitor.start()
	r, err := tx.tx.ExecContext(ctx, tx.db.Rebind(query), args...)
	done(err)
	return r, Classify(err)
}

// QueryContext runs a canonical query in the transaction. Close the rows
// before the next statement; their errors are classified when returned from
// the Transact callback.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	done := tx.db.monitor.start()
	rows, err := tx.tx.QueryContext(ctx, tx.db.Rebind(query), args...)
	done(err)
	return rows, Classify(err)
}

// QueryRowContext runs a canonical query expected to return at most one row.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *Row {
	done := tx.db.monitor.start()
	return &Row{row: tx.tx.QueryRowContext(ctx, tx.db.Rebind(query), args...), done: done}
}

// Row is the result of QueryRowContext.
type Row struct {
	row  *sql.Row
	done func(error) // the statement's monitor, settled by the first Scan
}

// Scan copies the row's columns into dest. It returns sql.ErrNoRows when
// there was no row, and classified errors otherwise.
func (r *Row) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if r.done != nil {
		if errors.Is(err, sql.ErrNoRows) {
			r.done(nil) // no row is an answer, not a failure
		} else {
			r.done(err)
		}
		r.done = nil
	}
	return Classify(err)
}

// Err returns the error of running the query, if any, without scanning.
func (r *Row) Err() error { return Classify(r.row.Err()) }

// rebindCache remembers rebound queries. Queries are mostly constants; it
// stops growing at maxCachedQueries so generated queries cannot fill memory.
type rebindCache struct {
	m sync.Map // canonical query -> rebound query
	n atomic.Int64
}

const maxCachedQueries = 4096

func (c *rebindCache) get(f Flavor, q string) string {
	if f == MySQL {
		return q
	}
	if v, ok := c.m.Load(q); ok {
		return v.(string)
	}
	r := f.Rebind(q)
	if c.n.Load() < maxCachedQueries {
		if _, loaded := c.m.LoadOrStore(q, r); !loaded {
			c.n.Add(1)
		}
	}
	return r
}
