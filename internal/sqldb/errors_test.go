package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	sqlite3 "modernc.org/sqlite/lib"
)

var kinds = []error{ErrDuplicateKey, ErrDeadlock, ErrDataTooLong, ErrUnrecoverable, ErrUnavailable, ErrObjectExists}

func TestClassifySynthesizedDriverErrors(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want error // nil: no kind, returned unchanged
	}{
		{"mysql dup", &mysql.MySQLError{Number: 1062, SQLState: [5]byte{'2', '3', '0', '0', '0'}, Message: "Duplicate entry 'a' for key 'PRIMARY'"}, ErrDuplicateKey},
		{"mysql deadlock", &mysql.MySQLError{Number: 1213, Message: "Deadlock found"}, ErrDeadlock},
		{"mysql lock wait timeout", &mysql.MySQLError{Number: 1205}, ErrDeadlock},
		{"mysql too long", &mysql.MySQLError{Number: 1406}, ErrDataTooLong},
		{"mysql no table", &mysql.MySQLError{Number: 1146}, ErrUnrecoverable},
		{"mysql dup column", &mysql.MySQLError{Number: 1060}, ErrObjectExists},
		{"mysql table exists", &mysql.MySQLError{Number: 1050}, ErrObjectExists},
		{"mysql too many connections", &mysql.MySQLError{Number: 1040}, ErrUnavailable},
		{"mysql syntax", &mysql.MySQLError{Number: 1064}, nil},
		{"mysql invalid conn", mysql.ErrInvalidConn, ErrUnavailable},
		{"pg dup", &pgconn.PgError{Code: "23505", Message: "duplicate key value violates unique constraint"}, ErrDuplicateKey},
		{"pg serialization", &pgconn.PgError{Code: "40001"}, ErrDeadlock},
		{"pg deadlock", &pgconn.PgError{Code: "40P01"}, ErrDeadlock},
		{"pg too long", &pgconn.PgError{Code: "22001"}, ErrDataTooLong},
		{"pg no table", &pgconn.PgError{Code: "42P01"}, ErrUnrecoverable},
		{"pg dup column", &pgconn.PgError{Code: "42701"}, ErrObjectExists},
		{"pg connection failure", &pgconn.PgError{Code: "08006"}, ErrUnavailable},
		{"pg shutdown", &pgconn.PgError{Code: "57P01"}, ErrUnavailable},
		{"pg syntax", &pgconn.PgError{Code: "42601"}, nil},
		{"bad conn", driver.ErrBadConn, ErrUnavailable},
		{"conn done", sql.ErrConnDone, ErrUnavailable},
		{"unexpected eof", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), ErrUnavailable},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, ErrUnavailable},
		{"wrapped mysql", fmt.Errorf("storing lock: %w", &mysql.MySQLError{Number: 1062}), ErrDuplicateKey},
		{"no rows", sql.ErrNoRows, nil},
		{"canceled", context.Canceled, nil},
		{"deadline wrapping a net error", fmt.Errorf("%w: %w", context.DeadlineExceeded, &net.OpError{Op: "read", Err: syscall.ECONNRESET}), nil},
		{"plain", errors.New("invalid-owner"), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Classify(c.err)
			if c.want == nil {
				if got != c.err {
					t.Fatalf("got %v, want the error unchanged", got)
				}
				return
			}
			for _, k := range kinds {
				if errors.Is(got, k) != (k == c.want) {
					t.Errorf("errors.Is(%v, %v) = %v", got, k, !(k == c.want))
				}
			}
			if !errors.Is(got, c.err) {
				t.Errorf("driver error not wrapped: %v", got)
			}
			if !strings.HasSuffix(got.Error(), c.err.Error()) {
				t.Errorf("message %q lost the driver's %q", got, c.err)
			}
			if again := Classify(got); again != got {
				t.Errorf("classifying twice changed it: %v", again)
			}
		})
	}
}

func TestClassifyKeepsDriverTypes(t *testing.T) {
	err := Classify(fmt.Errorf("x: %w", &pgconn.PgError{Code: "23505"}))
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		t.Fatalf("errors.As to *pgconn.PgError failed on %v", err)
	}
	if Classify(nil) != nil {
		t.Fatal("Classify(nil) != nil")
	}
}

func TestSQLiteKind(t *testing.T) {
	cases := []struct {
		code int
		msg  string
		want error
	}{
		{sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, "constraint failed: UNIQUE constraint failed: t.id (1555)", ErrDuplicateKey},
		{sqlite3.SQLITE_CONSTRAINT_UNIQUE, "constraint failed: UNIQUE constraint failed: t.name (2067)", ErrDuplicateKey},
		{sqlite3.SQLITE_CONSTRAINT_NOTNULL, "NOT NULL constraint failed", nil},
		{sqlite3.SQLITE_BUSY, "database is locked (5)", ErrDeadlock},
		{sqlite3.SQLITE_BUSY_SNAPSHOT, "database is locked (517)", ErrDeadlock},
		{sqlite3.SQLITE_LOCKED, "database table is locked (6)", ErrDeadlock},
		{sqlite3.SQLITE_TOOBIG, "string or blob too big (18)", ErrDataTooLong},
		{sqlite3.SQLITE_ERROR, "SQL logic error: no such table: locks (1)", ErrUnrecoverable},
		{sqlite3.SQLITE_ERROR, "SQL logic error: duplicate column name: x (1)", ErrObjectExists},
		{sqlite3.SQLITE_ERROR, "SQL logic error: table t already exists (1)", ErrObjectExists},
		{sqlite3.SQLITE_ERROR, "SQL logic error: near \"SELEC\": syntax error (1)", nil},
		{sqlite3.SQLITE_CANTOPEN, "unable to open database file (14)", ErrUnavailable},
	}
	for _, c := range cases {
		if got := sqliteKind(c.code, c.msg); got != c.want {
			t.Errorf("sqliteKind(%d, %q) = %v, want %v", c.code, c.msg, got, c.want)
		}
	}
}

func TestErrorCode(t *testing.T) {
	cases := []struct {
		err    error
		code   string
		flavor Flavor
		ok     bool
	}{
		{Classify(&mysql.MySQLError{Number: 1062}), "1062", MySQL, true},
		{fmt.Errorf("x: %w", &pgconn.PgError{Code: "42P01"}), "42P01", Postgres, true},
		{errors.New("plain"), "", "", false},
	}
	for _, c := range cases {
		code, flavor, ok := ErrorCode(c.err)
		if code != c.code || flavor != c.flavor || ok != c.ok {
			t.Errorf("ErrorCode(%v) = %q, %q, %v; want %q, %q, %v", c.err, code, flavor, ok, c.code, c.flavor, c.ok)
		}
	}
}
