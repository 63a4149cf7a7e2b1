// Package db is the BBS's SQL storage: the reference's final schema and
// migration history on MySQL/MariaDB, PostgreSQL and SQLite, with the
// sensitive columns encrypted as the reference does, and every read and
// write the API and convergence need. Errors are *models.Error values.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/bbs/encryption"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
)

// DB is the BBS store. It is safe for concurrent use.
type DB struct {
	sql     *sqldb.DB
	crypt   *encryption.Cryptor
	logger  lager.Logger
	now     func() time.Time
	newGUID func() (string, error)

	maxTaskRetries int
	sizes          snapshotSizes // of the last convergence snapshot

	// view is the in-memory copy of actual_lrps (actual_view.go), off
	// until EnableViews.
	view *actualView
	// dview is the in-memory copy of the desired LRPs' scheduling infos
	// (desired_view.go), enabled with view.
	dview *desiredView
}

// Deps are what New needs. Now and NewGUID default to the wall clock and
// random UUIDv4s.
type Deps struct {
	SQL     *sqldb.DB
	Cryptor *encryption.Cryptor
	Logger  lager.Logger
	Now     func() time.Time
	NewGUID func() (string, error)

	// MaxTaskRetries is max_task_retries: a task rejected this many times
	// fails on its next rejection (0: on the first).
	MaxTaskRetries int
}

// New returns a store.
func New(d Deps) *DB {
	db := &DB{sql: d.SQL, crypt: d.Cryptor, logger: d.Logger, now: d.Now, newGUID: d.NewGUID, maxTaskRetries: d.MaxTaskRetries}
	if db.now == nil {
		db.now = time.Now
	}
	if db.newGUID == nil {
		db.newGUID = func() (string, error) {
			u, err := uuid.NewRandom()
			if err != nil {
				return "", err
			}
			return u.String(), nil
		}
	}
	if db.logger == nil {
		db.logger = lager.NewLogger("bbs-db")
	}
	db.view = newActualView(db)
	db.dview = newDesiredView(db)
	return db
}

// SQL returns the underlying database, for migrations and tests.
func (db *DB) SQL() *sqldb.DB { return db.sql }

// Flavor is the SQL dialect.
func (db *DB) Flavor() sqldb.Flavor { return db.sql.Flavor() }

// transact runs fn in one transaction, retried on deadlocks, and converts
// the failure to a *models.Error.
func (db *DB) transact(ctx context.Context, fn func(ctx context.Context, tx *sqldb.Tx) error) error {
	return convertError(db.sql.Transact(ctx, fn))
}

// guid returns a new GUID or ErrGUIDGeneration.
func (db *DB) guid() (string, error) {
	g, err := db.newGUID()
	if err != nil {
		return "", models.ErrGUIDGeneration
	}
	return g, nil
}

// convertError is the one place SQL failures become API errors.
func convertError(err error) error {
	if err == nil {
		return nil
	}
	var me *models.Error
	if errors.As(err, &me) {
		return me
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return models.ErrResourceNotFound
	case errors.Is(err, sqldb.ErrDuplicateKey):
		return models.ErrResourceExists
	case errors.Is(err, sqldb.ErrDeadlock):
		return models.ErrDeadlock
	case errors.Is(err, sqldb.ErrDataTooLong):
		return models.ErrBadRequest
	case errors.Is(err, sqldb.ErrUnrecoverable):
		return models.ErrUnrecoverable(err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return models.NewError(models.Error_UnknownError, err.Error())
	}
	if code, flavor, ok := sqldb.ErrorCode(err); ok {
		return models.NewError(models.Error_UnknownError, fmt.Sprintf("sql-unknown, error code: %s, flavor: %s", code, flavor))
	}
	return models.NewError(models.Error_UnknownError, err.Error())
}

// Truncated marks a reason cut to fit its column.
const Truncated = "(truncated)"

// truncate cuts s to fit a VARCHAR(max) column as the reference does (a
// value of max bytes or more ends in "(truncated)"), but on a rune boundary,
// so that the stored text stays valid UTF-8 (protobuf strings must be).
func truncate(s string, max int) string {
	if len(s) < max {
		return s
	}
	cut := max - len(Truncated)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + Truncated
}

// encryptModel and decryptModel handle the protobuf columns (run_info,
// volume_placement, net_info, task_definition).
func (db *DB) encryptModel(m proto.Message) ([]byte, error) {
	b, err := db.crypt.MarshalModel(m)
	if err != nil {
		return nil, models.NewError(models.Error_InvalidRecord, err.Error())
	}
	return b, nil
}

func (db *DB) decryptModel(stored []byte, m proto.Message) error {
	if err := db.crypt.UnmarshalModel(stored, m); err != nil {
		return models.ErrDeserialize
	}
	return nil
}

// encryptJSON and decryptJSON handle the JSON columns (routes, metric tags,
// internal routes).
func (db *DB) encryptJSON(plain []byte) ([]byte, error) {
	return db.crypt.Encrypt(plain)
}

func (db *DB) decryptJSON(stored []byte) ([]byte, error) {
	b, err := db.crypt.Decrypt(stored)
	if err != nil {
		return nil, models.ErrDeserialize
	}
	return b, nil
}
