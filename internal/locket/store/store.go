// Package store keeps locks and presences in the SQL table `locks`, with the
// reference's schema, on MySQL/MariaDB, PostgreSQL and SQLite.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/diego-go/diego/internal/locket"
	"github.com/diego-go/diego/internal/locket/locketpb"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/google/uuid"
)

// Store is the lock table.
type Store struct {
	db      *sqldb.DB
	newGUID func() string
	batcher atomic.Pointer[Batcher]
}

// New returns a store on db. Its transactions run at READ COMMITTED: a
// first Lock of a key reads a missing row FOR UPDATE, and under MySQL's
// REPEATABLE READ that takes a gap lock on which thousands of cells
// registering at once would queue and deadlock.
func New(db *sqldb.DB) *Store {
	return &Store{db: db.WithReadCommitted(), newGUID: uuid.NewString}
}

// The reference creates its table this way on every start; the same DDL
// works on the three flavors.
const createLocks = `CREATE TABLE IF NOT EXISTS locks (
	path VARCHAR(255) PRIMARY KEY,
	owner VARCHAR(255),
	value VARCHAR(4096),
	type VARCHAR(255) DEFAULT '',
	modified_index BIGINT DEFAULT 0,
	modified_id VARCHAR(255) DEFAULT '',
	ttl BIGINT DEFAULT 0
)`

var createHealthCheck = map[sqldb.Flavor]string{
	sqldb.MySQL:    "CREATE TABLE IF NOT EXISTS locket_health_check (id INT NOT NULL AUTO_INCREMENT, PRIMARY KEY (id), time BIGINT NOT NULL)",
	sqldb.Postgres: "CREATE TABLE IF NOT EXISTS locket_health_check (id SERIAL PRIMARY KEY, time BIGINT NOT NULL)",
	sqldb.SQLite:   "CREATE TABLE IF NOT EXISTS locket_health_check (id INTEGER PRIMARY KEY, time BIGINT NOT NULL)",
}

// CreateTables creates the locks table and, if asked, the health-check table.
func (s *Store) CreateTables(ctx context.Context, healthCheck bool) error {
	if _, err := s.db.ExecContext(ctx, createLocks); err != nil {
		return fmt.Errorf("create table locks: %w", err)
	}
	if healthCheck {
		if _, err := s.db.ExecContext(ctx, createHealthCheck[s.db.Flavor()]); err != nil {
			return fmt.Errorf("create table locket_health_check: %w", err)
		}
	}
	return nil
}

const columns = "path, COALESCE(owner, ''), COALESCE(value, ''), COALESCE(type, ''), COALESCE(modified_index, 0), COALESCE(modified_id, ''), COALESCE(ttl, 0)"

func scanLock(scan func(...any) error) (*locket.Lock, error) {
	var l locket.Lock
	if err := scan(&l.Key, &l.Owner, &l.Value, &l.Type, &l.ModifiedIndex, &l.ModifiedID, &l.TTLInSeconds); err != nil {
		return nil, err
	}
	return &l, nil
}

func fetchForUpdate(ctx context.Context, tx *sqldb.Tx, key string) (*locket.Lock, error) {
	return scanLock(tx.QueryRowContext(ctx, "SELECT "+columns+" FROM locks WHERE path = ? LIMIT 1 FOR UPDATE", key).Scan)
}

func checkLengths(res *locketpb.Resource, typ string) error {
	return errors.Join(
		sqldb.CheckLength("path", res.GetKey(), locket.MaxKeyLength),
		sqldb.CheckLength("owner", res.GetOwner(), locket.MaxKeyLength),
		sqldb.CheckLength("value", res.GetValue(), locket.MaxValueLength),
		sqldb.CheckLength("type", typ, locket.MaxKeyLength),
	)
}

// Lock creates the row of res.Key for res.Owner, or refreshes it when the
// owner already holds it (or nobody does): the modified index goes up by
// one, the modified id stays. Another owner gets locket.ErrLockCollision.
func (s *Store) Lock(ctx context.Context, res *locketpb.Resource, ttl int64) (*locket.Lock, error) {
	typ := locket.TypeOf(res.GetTypeCode(), res.GetType())
	if err := checkLengths(res, typ); err != nil {
		return nil, err
	}
	next := &locket.Lock{Key: res.GetKey(), Owner: res.GetOwner(), Value: res.GetValue(), Type: typ, TTLInSeconds: ttl}
	// Almost every Lock is a holder's heartbeat, which a running Batcher
	// settles together with others.
	if b := s.batcher.Load(); b != nil {
		r := b.submit(ctx, next)
		switch {
		case r.err != nil:
			return nil, r.err
		case r.refreshed:
			return next, nil
		}
	}
	return s.lockTx(ctx, next)
}

// lockTx is the general case in one transaction: create the row, take an
// ownerless one, give a legacy row its modified id, or collide.
func (s *Store) lockTx(ctx context.Context, next *locket.Lock) (*locket.Lock, error) {
	err := s.db.Transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		cur, err := fetchForUpdate(ctx, tx, next.Key)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if cur == nil {
			next.ModifiedIndex = 1
			next.ModifiedID = s.newGUID()
			_, err = tx.ExecContext(ctx,
				"INSERT INTO locks (path, owner, value, type, modified_index, modified_id, ttl) VALUES (?, ?, ?, ?, ?, ?, ?)",
				next.Key, next.Owner, next.Value, next.Type, next.ModifiedIndex, next.ModifiedID, next.TTLInSeconds)
			return err
		}
		if cur.Owner != "" && cur.Owner != next.Owner {
			return locket.ErrLockCollision
		}
		next.ModifiedIndex = cur.ModifiedIndex + 1
		next.ModifiedID = cur.ModifiedID
		if next.ModifiedID == "" {
			next.ModifiedID = s.newGUID()
		}
		_, err = tx.ExecContext(ctx,
			"UPDATE locks SET owner = ?, value = ?, type = ?, modified_index = ?, modified_id = ?, ttl = ? WHERE path = ?",
			next.Owner, next.Value, next.Type, next.ModifiedIndex, next.ModifiedID, next.TTLInSeconds, next.Key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return next, nil
}

// Release deletes the row of res.Key if res.Owner holds it. A missing row
// is not an error; another owner's row is locket.ErrLockCollision.
func (s *Store) Release(ctx context.Context, res *locketpb.Resource) error {
	return s.db.Transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		cur, err := fetchForUpdate(ctx, tx, res.GetKey())
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if cur.Owner != res.GetOwner() {
			return locket.ErrLockCollision
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM locks WHERE path = ?", res.GetKey())
		return err
	})
}

// Fetch returns the row of key; a missing row or one without an owner is
// locket.ErrResourceNotFound.
func (s *Store) Fetch(ctx context.Context, key string) (*locket.Lock, error) {
	l, err := scanLock(s.db.QueryRowContext(ctx, "SELECT "+columns+" FROM locks WHERE path = ? LIMIT 1", key).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, locket.ErrResourceNotFound
	}
	if err != nil {
		return nil, err
	}
	if l.Owner == "" {
		return nil, locket.ErrResourceNotFound
	}
	return l, nil
}

// FetchAll returns the rows of type typ ("" for every type) that have an
// owner.
func (s *Store) FetchAll(ctx context.Context, typ string) ([]*locket.Lock, error) {
	q := "SELECT " + columns + " FROM locks WHERE owner <> ''"
	var args []any
	if typ != "" {
		q += " AND type = ?"
		args = append(args, typ)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*locket.Lock
	for rows.Next() {
		l, err := scanLock(rows.Scan)
		if err != nil {
			return nil, sqldb.Classify(err)
		}
		out = append(out, l)
	}
	return out, sqldb.Classify(rows.Err())
}

// FetchAndRelease deletes the row of seen.Key if it is still the version
// seen (same owner, modified id and index) and reports whether it did.
func (s *Store) FetchAndRelease(ctx context.Context, seen *locket.Lock) (bool, error) {
	released := false
	err := s.db.Transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		released = false
		cur, err := fetchForUpdate(ctx, tx, seen.Key)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if !seen.SameVersion(cur) {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM locks WHERE path = ?", seen.Key); err != nil {
			return err
		}
		released = true
		return nil
	})
	return released, err
}

// Count returns the number of rows of type typ that have an owner.
func (s *Store) Count(ctx context.Context, typ string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM locks WHERE owner <> '' AND type = ?", typ).Scan(&n)
	return n, err
}

// HealthCheck writes now into the health-check table and reads it back.
func (s *Store) HealthCheck(ctx context.Context, now time.Time) error {
	q := s.db.Flavor().Upsert("locket_health_check", []string{"id"}, []string{"time"})
	if _, err := s.db.ExecContext(ctx, q, 1, now.UnixNano()); err != nil {
		return fmt.Errorf("failed upserting health check time: %w", err)
	}
	var got int64
	if err := s.db.QueryRowContext(ctx, "SELECT time FROM locket_health_check WHERE id = ?", 1).Scan(&got); err != nil {
		return fmt.Errorf("failed querying for health check time: %w", err)
	}
	return nil
}
