// Package sqltest gives tests of any package a fresh database of each SQL
// flavor: SQLite always (a file in t.TempDir()), MySQL/MariaDB and PostgreSQL
// when the private servers of scripts/testdb.sh are running, i.e. when
// DIEGO_TEST_MYSQL_DSN and DIEGO_TEST_POSTGRES_DSN are set (`make test` and
// scripts/with-testdbs.sh set them). A flavor whose variable is missing is
// skipped with a message saying so, or fails the test when
// DIEGO_TEST_REQUIRE_DBS=1.
//
//	func TestStore(t *testing.T) {
//		sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
//			db := sqltest.Open(t, cfg)
//			...
//		})
//	}
//
// Every database gets a unique random name, so test binaries running in
// parallel never share one; it is dropped when the test ends.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/diego-go/diego/internal/durationjson"
	"github.com/diego-go/diego/internal/sqldb"
)

// Environment variables read by this package.
const (
	// EnvMySQLDSN is a MySQL DSN of a user who may create databases, with no
	// database: `root@tcp(127.0.0.1:PORT)/`.
	EnvMySQLDSN = "DIEGO_TEST_MYSQL_DSN"
	// EnvPostgresDSN is a PostgreSQL URL of a user who may create databases:
	// `postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable`.
	EnvPostgresDSN = "DIEGO_TEST_POSTGRES_DSN"
	// EnvRequireDBs set to 1 turns a missing server into a test failure.
	EnvRequireDBs = "DIEGO_TEST_REQUIRE_DBS"
)

const setupTimeout = time.Minute

// Dialects returns every flavor: SQLite, MySQL and PostgreSQL. NewDatabase
// (and so Run) skips a test, or fails it under DIEGO_TEST_REQUIRE_DBS=1,
// for a flavor whose server is not configured; Available tells in advance.
func Dialects(t testing.TB) []sqldb.Flavor {
	t.Helper()
	return []sqldb.Flavor{sqldb.SQLite, sqldb.MySQL, sqldb.Postgres}
}

// Available reports whether flavor's server is configured, and if not, why.
func Available(flavor sqldb.Flavor) (ok bool, why string) {
	switch flavor {
	case sqldb.SQLite:
		return true, ""
	case sqldb.MySQL:
		if os.Getenv(EnvMySQLDSN) == "" {
			return false, EnvMySQLDSN + " is not set (run the tests under scripts/with-testdbs.sh or make test)"
		}
	case sqldb.Postgres:
		if os.Getenv(EnvPostgresDSN) == "" {
			return false, EnvPostgresDSN + " is not set (run the tests under scripts/with-testdbs.sh or make test)"
		}
	default:
		return false, fmt.Sprintf("unknown flavor %q", flavor)
	}
	return true, ""
}

// Run runs fn as one subtest per flavor (named after it), each with a new
// database of its own.
func Run(t *testing.T, fn func(t *testing.T, cfg sqldb.Config)) {
	t.Helper()
	for _, f := range Dialects(t) {
		t.Run(string(f), func(t *testing.T) {
			fn(t, NewDatabase(t, f))
		})
	}
}

// NewDatabase creates an empty database of flavor, dropped (or deleted) when
// t ends, and returns its Config. The driver and connection string are the
// ones a daemon's JSON config would hold; the pool is kept small so that
// many parallel tests fit in the servers' connection limits.
func NewDatabase(t testing.TB, flavor sqldb.Flavor) sqldb.Config {
	t.Helper()
	if ok, why := Available(flavor); !ok {
		if os.Getenv(EnvRequireDBs) == "1" {
			t.Fatalf("sqltest: %s required (%s=1) but %s", flavor, EnvRequireDBs, why)
		}
		t.Skipf("sqltest: skipping %s: %s", flavor, why)
	}
	cfg := sqldb.Config{
		DriverName:         string(flavor),
		MaxOpenConnections: 10,
		ConnectionTimeout:  durationjson.Duration(30 * time.Second),
	}
	switch flavor {
	case sqldb.SQLite:
		cfg.ConnectionString = filepath.Join(t.TempDir(), "diego.db")
	case sqldb.MySQL:
		cfg.ConnectionString = newMySQL(t)
	case sqldb.Postgres:
		cfg.ConnectionString = newPostgres(t)
	}
	return cfg
}

// Open opens cfg (see sqldb.Open) and closes it when t ends.
func Open(t testing.TB, cfg sqldb.Config) *sqldb.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	db, err := sqldb.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("sqltest: open %s: %v", cfg.DriverName, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func newMySQL(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvMySQLDSN)
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("sqltest: %s: %v", EnvMySQLDSN, err)
	}
	admin := adminDB(t, "mysql", dsn)
	name := uniqueName(t)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4"); err != nil {
		t.Fatalf("sqltest: create mysql database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			t.Errorf("sqltest: drop mysql database %s: %v", name, err)
		}
	})
	mc.DBName = name
	return mc.FormatDSN()
}

func newPostgres(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvPostgresDSN)
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("sqltest: %s must be a postgres:// URL", EnvPostgresDSN)
	}
	admin := adminDB(t, "pgx", dsn)
	name := uniqueName(t)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		t.Fatalf("sqltest: create postgres database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		// FORCE ends sessions a test left open.
		if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
			t.Errorf("sqltest: drop postgres database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

var (
	adminMu  sync.Mutex
	adminDBs = map[string]*sql.DB{}
)

// adminDB returns this process's pool on the server's administrative
// connection string; it lives as long as the test binary.
func adminDB(t testing.TB, driver, dsn string) *sql.DB {
	t.Helper()
	adminMu.Lock()
	defer adminMu.Unlock()
	if db, ok := adminDBs[dsn]; ok {
		return db
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("sqltest: %s server: %v", driver, err)
	}
	db.SetMaxOpenConns(4)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		t.Fatalf("sqltest: %s server not reachable: %v", driver, err)
	}
	adminDBs[dsn] = db
	return db
}

// uniqueName returns a database name unique across processes: a readable
// prefix from the test's name and 48 random bits, within MySQL's and
// PostgreSQL's identifier limits (64 and 63).
func uniqueName(t testing.TB) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("sqltest: random: %v", err)
	}
	var prefix strings.Builder
	for _, r := range strings.ToLower(t.Name()) {
		if prefix.Len() >= 32 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			prefix.WriteRune(r)
		default:
			prefix.WriteByte('_')
		}
	}
	return "dt_" + prefix.String() + "_" + hex.EncodeToString(b[:])
}
