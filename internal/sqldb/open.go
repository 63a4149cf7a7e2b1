package sqldb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Open validates cfg, opens a connection pool and pings the database within
// db_connection_timeout (and ctx). The returned DB retries transactions 3
// times, 500 ms apart (see WithRetry).
//
// Per flavor:
//   - MySQL: dial/read/write timeouts from the config, client-side parameter
//     interpolation (one round trip per statement) unless the DSN sets
//     interpolateParams, and the session variable group_concat_max_len the
//     reference BBS needs, unless the DSN sets it.
//   - PostgreSQL: connect timeout from the config; TLS as configured.
//   - SQLite: the file is created if missing; WAL journal with
//     synchronous=NORMAL (a power cut may lose the last commits, never the
//     file), foreign keys on, busy timeout = db_connection_timeout, and every
//     read-write transaction begins IMMEDIATE (takes the write lock up front)
//     so that concurrent writers wait for each other instead of failing
//     half-way.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	flavor, _ := cfg.Flavor()
	var (
		sdb *sql.DB
		err error
	)
	switch flavor {
	case MySQL:
		sdb, err = openMySQL(cfg)
	case Postgres:
		sdb, err = openPostgres(cfg)
	case SQLite:
		sdb, err = openSQLite(cfg)
	}
	if err != nil {
		return nil, err
	}
	setPool(sdb, cfg)

	pingCtx, cancel := context.WithTimeout(ctx, orDefault(cfg.ConnectionTimeout))
	defer cancel()
	if err := sdb.PingContext(pingCtx); err != nil {
		_ = sdb.Close()
		return nil, fmt.Errorf("sqldb: connecting to %s database: %w", flavor, Classify(err))
	}
	db := &DB{sql: sdb, flavor: flavor, attempts: DefaultAttempts, wait: DefaultRetryWait, rebinds: &rebindCache{}, monitor: &monitor{}}
	if flavor == SQLite {
		db.writer = make(chan struct{}, 1)
	}
	return db, nil
}

func setPool(sdb *sql.DB, cfg Config) {
	sdb.SetMaxOpenConns(cfg.MaxOpenConnections)
	idle := cfg.MaxIdleConnections
	if idle == 0 {
		idle = cfg.MaxOpenConnections
	}
	if idle == 0 {
		idle = 10
	}
	sdb.SetMaxIdleConns(idle)
	sdb.SetConnMaxLifetime(cfg.MaxConnectionLifetime.D())
}

func openMySQL(cfg Config) (*sql.DB, error) {
	mc, err := mysql.ParseDSN(cfg.ConnectionString)
	if err != nil {
		return nil, fmt.Errorf("%w: database_connection_string: %v", ErrInvalidConfig, err)
	}
	mc.Timeout = orDefault(cfg.ConnectionTimeout)
	mc.ReadTimeout = orDefault(cfg.ReadTimeout)
	mc.WriteTimeout = orDefault(cfg.WriteTimeout)
	if !strings.Contains(cfg.ConnectionString, "interpolateParams=") {
		mc.InterpolateParams = true
	}
	if _, ok := mc.Params["group_concat_max_len"]; !ok {
		if mc.Params == nil {
			mc.Params = map[string]string{}
		}
		mc.Params["group_concat_max_len"] = "78888889"
	}
	if cfg.CACertFile != "" {
		host := mc.Addr
		if h, _, err := net.SplitHostPort(mc.Addr); err == nil {
			host = h
		}
		tc, err := clientTLS(cfg, host)
		if err != nil {
			return nil, err
		}
		mc.TLS = tc
	}
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, fmt.Errorf("%w: database_connection_string: %v", ErrInvalidConfig, err)
	}
	return sql.OpenDB(conn), nil
}

func openPostgres(cfg Config) (*sql.DB, error) {
	pc, err := pgx.ParseConfig(cfg.ConnectionString)
	if err != nil {
		// pgx masks the password in its message.
		return nil, fmt.Errorf("%w: database_connection_string: %v", ErrInvalidConfig, err)
	}
	pc.ConnectTimeout = orDefault(cfg.ConnectionTimeout)
	if cfg.CACertFile != "" {
		tc, err := clientTLS(cfg, pc.Host)
		if err != nil {
			return nil, err
		}
		pc.TLSConfig = tc
		pc.Fallbacks = nil // no plain-text fallback once TLS is asked for
	}
	return stdlib.OpenDB(*pc), nil
}

func openSQLite(cfg Config) (*sql.DB, error) {
	busy := orDefault(cfg.ConnectionTimeout)
	dsn := sqliteDSN(cfg.ConnectionString, busy)
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	return sdb, nil
}

// sqliteDSN turns a file path (or a file: URI) into a modernc.org/sqlite DSN
// with the pragmas every connection needs.
func sqliteDSN(path string, busy time.Duration) string {
	params := url.Values{}
	params.Set("_txlock", "immediate")
	params.Add("_pragma", "busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")")
	params.Add("_pragma", "journal_mode(WAL)")
	params.Add("_pragma", "synchronous(NORMAL)")
	params.Add("_pragma", "foreign_keys(1)")
	if strings.HasPrefix(path, "file:") {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		return path + sep + params.Encode()
	}
	// In a URI, '%', '?' and '#' in the path must be escaped.
	esc := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
	return "file:" + esc + "?" + params.Encode()
}

// clientTLS builds the TLS config of sql_ca_cert_file and
// sql_enable_identity_verification: the server's chain is always verified
// against the CA; its name only when identity verification is on.
func clientTLS(cfg Config, host string) (*tls.Config, error) {
	pem, err := os.ReadFile(cfg.CACertFile)
	if err != nil {
		return nil, fmt.Errorf("%w: sql_ca_cert_file: %v", ErrInvalidConfig, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%w: sql_ca_cert_file %s holds no PEM certificate", ErrInvalidConfig, cfg.CACertFile)
	}
	tc := &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12}
	if !cfg.EnableIdentityVerification {
		// Verify the chain ourselves, without the host name check.
		tc.InsecureSkipVerify = true
		tc.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("sqldb: database server sent no certificate")
			}
			certs := make([]*x509.Certificate, len(raw))
			for i, r := range raw {
				c, err := x509.ParseCertificate(r)
				if err != nil {
					return fmt.Errorf("sqldb: database server certificate: %w", err)
				}
				certs[i] = c
			}
			inter := x509.NewCertPool()
			for _, c := range certs[1:] {
				inter.AddCert(c)
			}
			_, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter})
			return err
		}
	}
	return tc, nil
}
