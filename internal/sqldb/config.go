package sqldb

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/diego-go/diego/internal/durationjson"
)

// Flavor names one SQL dialect. Its string is the value of the
// `database_driver` config key.
type Flavor string

// The supported flavors.
const (
	MySQL    Flavor = "mysql"    // MySQL or MariaDB, github.com/go-sql-driver/mysql
	Postgres Flavor = "postgres" // PostgreSQL, github.com/jackc/pgx/v5 through database/sql
	SQLite   Flavor = "sqlite"   // SQLite, modernc.org/sqlite (pure Go), one file
)

// Flavors lists every supported flavor.
func Flavors() []Flavor { return []Flavor{MySQL, Postgres, SQLite} }

// DefaultTimeout is used for db_connection_timeout, db_read_timeout and
// db_write_timeout when they are zero, as the reference does.
const DefaultTimeout = 10 * time.Minute

// Config holds the database keys shared by the locket and BBS JSON configs.
// Embed it in a daemon's config struct (as an anonymous field) so that the
// keys sit at the top level of the JSON file, as in the reference:
//
//	type LocketConfig struct {
//		ListenAddress string `json:"listen_address"`
//		sqldb.Config
//	}
type Config struct {
	// DriverName is "mysql", "postgres" or "sqlite".
	DriverName string `json:"database_driver,omitempty"`
	// ConnectionString is a MySQL DSN (`user:pass@tcp(host:port)/db`,
	// `user@unix(/path/to/socket)/db`), a PostgreSQL URL or keyword/value string
	// (`postgres://user:pass@host:port/db?sslmode=disable`) or, for SQLite, the
	// path of the database file.
	ConnectionString string `json:"database_connection_string,omitempty"`
	// MaxOpenConnections bounds the pool; 0 means unlimited.
	MaxOpenConnections int `json:"max_open_database_connections,omitempty"`
	// MaxIdleConnections bounds the idle part of the pool; 0 means the same as
	// MaxOpenConnections (or 10 when that is unlimited too).
	MaxIdleConnections int `json:"max_idle_database_connections,omitempty"`
	// MaxConnectionLifetime closes connections older than this; 0 keeps them.
	MaxConnectionLifetime durationjson.Duration `json:"max_database_connection_lifetime,omitempty"`
	// ConnectionTimeout bounds dialing and the ping in Open (0: DefaultTimeout).
	// For SQLite it is the busy timeout: how long a writer waits for the lock.
	ConnectionTimeout durationjson.Duration `json:"db_connection_timeout,omitempty"`
	// ReadTimeout and WriteTimeout are the MySQL driver's socket I/O timeouts
	// (0: DefaultTimeout). pgx and SQLite have no such setting; bound their
	// calls with a context.
	ReadTimeout  durationjson.Duration `json:"db_read_timeout,omitempty"`
	WriteTimeout durationjson.Duration `json:"db_write_timeout,omitempty"`
	// CACertFile, when set, turns on TLS to the database server, verified
	// against this PEM bundle.
	CACertFile string `json:"sql_ca_cert_file,omitempty"`
	// EnableIdentityVerification also checks the server's host name against
	// its certificate (PG sslmode=verify-full instead of verify-ca).
	EnableIdentityVerification bool `json:"sql_enable_identity_verification,omitempty"`
}

// Flavor returns the configured flavor, or an ErrInvalidConfig error.
func (c Config) Flavor() (Flavor, error) {
	switch f := Flavor(c.DriverName); f {
	case MySQL, Postgres, SQLite:
		return f, nil
	case "":
		return "", fmt.Errorf("%w: database_driver is empty; want one of mysql, postgres, sqlite", ErrInvalidConfig)
	default:
		return "", fmt.Errorf("%w: unknown database_driver %q; want one of mysql, postgres, sqlite", ErrInvalidConfig, c.DriverName)
	}
}

// Validate checks the config without touching the network or the file
// system beyond stat'ing the files it names. Errors match ErrInvalidConfig.
func (c Config) Validate() error {
	f, err := c.Flavor()
	if err != nil {
		return err
	}
	if strings.TrimSpace(c.ConnectionString) == "" {
		return fmt.Errorf("%w: database_connection_string is empty", ErrInvalidConfig)
	}
	if c.MaxOpenConnections < 0 {
		return fmt.Errorf("%w: max_open_database_connections is negative", ErrInvalidConfig)
	}
	if c.MaxIdleConnections < 0 {
		return fmt.Errorf("%w: max_idle_database_connections is negative", ErrInvalidConfig)
	}
	for name, d := range map[string]durationjson.Duration{
		"max_database_connection_lifetime": c.MaxConnectionLifetime,
		"db_connection_timeout":            c.ConnectionTimeout,
		"db_read_timeout":                  c.ReadTimeout,
		"db_write_timeout":                 c.WriteTimeout,
	} {
		if d < 0 {
			return fmt.Errorf("%w: %s is negative", ErrInvalidConfig, name)
		}
	}
	if c.CACertFile != "" {
		if f == SQLite {
			return fmt.Errorf("%w: sql_ca_cert_file makes no sense with sqlite", ErrInvalidConfig)
		}
		if _, err := os.Stat(c.CACertFile); err != nil {
			return fmt.Errorf("%w: sql_ca_cert_file: %v", ErrInvalidConfig, err)
		}
	}
	if f == SQLite {
		return validateSQLitePath(c.ConnectionString)
	}
	return nil
}

func validateSQLitePath(p string) error {
	if p == ":memory:" || strings.Contains(p, "mode=memory") || strings.HasPrefix(p, "file::memory:") {
		return fmt.Errorf("%w: in-memory sqlite databases are not supported (each pooled connection would see its own); use a file path", ErrInvalidConfig)
	}
	path := strings.TrimPrefix(p, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 && strings.HasPrefix(p, "file:") {
		path = path[:i]
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%w: sqlite database directory: %v", ErrInvalidConfig, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: sqlite database directory %q is not a directory", ErrInvalidConfig, dir)
	}
	return nil
}

func orDefault(d durationjson.Duration) time.Duration {
	if d <= 0 {
		return DefaultTimeout
	}
	return d.D()
}
