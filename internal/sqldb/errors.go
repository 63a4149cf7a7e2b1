package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The error vocabulary. Every error returned by this package's DB, Tx and Row
// methods, by Transact and by Migrate is classified: if the driver's error
// falls into one of these kinds, the returned error matches the sentinel with
// errors.Is and still wraps the driver's own error (errors.As to
// *mysql.MySQLError, *pgconn.PgError or *sqlite.Error works). Errors of no
// kind pass through unchanged.
var (
	// ErrInvalidConfig: the Config cannot be used (unknown driver, empty
	// connection string, unreadable CA file, ...).
	ErrInvalidConfig = errors.New("sqldb: invalid config")

	// ErrDuplicateKey: an INSERT or UPDATE hit a primary key or unique index
	// (MySQL 1062, PG 23505, SQLite SQLITE_CONSTRAINT_PRIMARYKEY/UNIQUE).
	ErrDuplicateKey = errors.New("sqldb: duplicate key")

	// ErrDeadlock: the transaction lost a lock conflict and was rolled back;
	// re-running it may succeed (MySQL 1213 deadlock and 1205 lock wait
	// timeout; PG 40001 serialization failure, 40P01 deadlock, 55P03 lock not
	// available; SQLite SQLITE_BUSY and SQLITE_LOCKED). Transact retries it.
	ErrDeadlock = errors.New("sqldb: deadlock")

	// ErrDataTooLong: a value does not fit its column (MySQL 1406, PG 22001,
	// SQLite SQLITE_TOOBIG). SQLite does not enforce VARCHAR lengths: use
	// CheckLength before writing when every flavor must reject the same input.
	ErrDataTooLong = errors.New("sqldb: data too long")

	// ErrUnrecoverable: the schema is broken under us, a table is missing
	// (MySQL 1146, PG 42P01, SQLite "no such table"). The reference daemons
	// exit on it.
	ErrUnrecoverable = errors.New("sqldb: unrecoverable: missing table")

	// ErrUnavailable: the connection broke or the server refuses work
	// (driver.ErrBadConn, network errors, MySQL 1040/1053, PG class 08,
	// 53300, 57P01-57P03, SQLite SQLITE_CANTOPEN). Transact retries it.
	ErrUnavailable = errors.New("sqldb: database unavailable")

	// ErrObjectExists: DDL created a table, column or index that is already
	// there (MySQL 1050/1060/1061, PG 42P07/42701/42710, SQLite "already
	// exists"/"duplicate column name"). Migrations that must be re-runnable on
	// MySQL, where DDL is not transactional, ignore it.
	ErrObjectExists = errors.New("sqldb: schema object already exists")

	// ErrSchemaTooNew: Migrate found a version applied that is newer than
	// every migration this binary knows; the reference refuses to start then.
	ErrSchemaTooNew = errors.New("sqldb: database schema is newer than this binary")
)

// classifiedError joins a sentinel of the vocabulary with the driver's error.
type classifiedError struct {
	kind error
	err  error
}

func (e *classifiedError) Error() string   { return e.kind.Error() + ": " + e.err.Error() }
func (e *classifiedError) Unwrap() []error { return []error{e.kind, e.err} }

// Classify maps a driver error onto the vocabulary (see ErrDuplicateKey and
// its siblings). Errors already classified, context errors, sql.ErrNoRows and
// errors of no known kind are returned unchanged. DB, Tx, Row, Transact and
// Migrate call it for you; call it yourself on errors from *sql.Rows
// (Next/Scan/Err) or from the escape hatches DB.SQL and Tx.SQL.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var c *classifiedError
	if errors.As(err, &c) {
		return err
	}
	kind := kindOf(err)
	if kind == nil {
		return err
	}
	return &classifiedError{kind: kind, err: err}
}

func kindOf(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return mysqlKind(me.Number)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return postgresKind(pe.Code)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return sqliteKind(se.Code(), se.Error())
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, mysql.ErrInvalidConn),
		errors.Is(err, sql.ErrConnDone), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed),
		errors.As(err, &ce), errors.As(err, &ne), pgconn.SafeToRetry(err):
		return ErrUnavailable
	}
	return nil
}

func mysqlKind(number uint16) error {
	switch number {
	case 1062, 1586: // ER_DUP_ENTRY, ER_DUP_ENTRY_WITH_KEY_NAME
		return ErrDuplicateKey
	case 1213, 1205: // ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT
		return ErrDeadlock
	case 1406: // ER_DATA_TOO_LONG
		return ErrDataTooLong
	case 1146: // ER_NO_SUCH_TABLE
		return ErrUnrecoverable
	case 1050, 1060, 1061: // ER_TABLE_EXISTS_ERROR, ER_DUP_FIELDNAME, ER_DUP_KEYNAME
		return ErrObjectExists
	case 1040, 1053, 1927: // ER_CON_COUNT_ERROR, ER_SERVER_SHUTDOWN, ER_CONNECTION_KILLED
		return ErrUnavailable
	}
	return nil
}

func postgresKind(code string) error {
	switch code {
	case "23505": // unique_violation
		return ErrDuplicateKey
	case "40001", "40P01", "55P03": // serialization_failure, deadlock_detected, lock_not_available
		return ErrDeadlock
	case "22001": // string_data_right_truncation
		return ErrDataTooLong
	case "42P01": // undefined_table
		return ErrUnrecoverable
	case "42P07", "42701", "42710": // duplicate_table, duplicate_column, duplicate_object
		return ErrObjectExists
	case "53300", "57P01", "57P02", "57P03": // too_many_connections, admin/crash shutdown, cannot_connect_now
		return ErrUnavailable
	}
	if strings.HasPrefix(code, "08") { // connection_exception class
		return ErrUnavailable
	}
	return nil
}

func sqliteKind(code int, msg string) error {
	switch code {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return ErrDuplicateKey
	}
	switch code & 0xff { // the primary result code
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return ErrDeadlock
	case sqlite3.SQLITE_TOOBIG:
		return ErrDataTooLong
	case sqlite3.SQLITE_CANTOPEN:
		return ErrUnavailable
	case sqlite3.SQLITE_ERROR:
		switch {
		case strings.Contains(msg, "no such table"):
			return ErrUnrecoverable
		case strings.Contains(msg, "duplicate column name"), strings.Contains(msg, "already exists"):
			return ErrObjectExists
		}
	}
	return nil
}

// ErrorCode returns the driver's own code of err, for messages such as the
// reference's "sql-unknown, error code: C, flavor: F": the MySQL error number,
// the PostgreSQL SQLSTATE or the SQLite extended result code. ok is false when
// err carries no driver error.
func ErrorCode(err error) (code string, flavor Flavor, ok bool) {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return strconv.Itoa(int(me.Number)), MySQL, true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, Postgres, true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return strconv.Itoa(se.Code()), SQLite, true
	}
	return "", "", false
}
