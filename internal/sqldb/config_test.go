package sqldb

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/durationjson"
)

func TestConfigJSON(t *testing.T) {
	in := `{
		"database_driver": "mysql",
		"database_connection_string": "diego:secret@tcp(db:3306)/diego",
		"max_open_database_connections": 200,
		"max_database_connection_lifetime": "1h",
		"db_connection_timeout": "600s",
		"db_read_timeout": 1000000000,
		"db_write_timeout": "1m",
		"sql_ca_cert_file": "/ca.pem",
		"sql_enable_identity_verification": true,
		"listen_address": "ignored by this struct"
	}`
	var c Config
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	want := Config{
		DriverName: "mysql", ConnectionString: "diego:secret@tcp(db:3306)/diego",
		MaxOpenConnections: 200, MaxConnectionLifetime: hour(1),
		ConnectionTimeout: hour(0) + 600e9, ReadTimeout: 1e9, WriteTimeout: 60e9,
		CACertFile: "/ca.pem", EnableIdentityVerification: true,
	}
	if c != want {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
}

func hour(n int64) durationjson.Duration { return durationjson.Duration(n * int64(time.Hour)) }

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" for valid
	}{
		{"empty driver", Config{ConnectionString: "x"}, "database_driver is empty"},
		{"unknown driver", Config{DriverName: "oracle", ConnectionString: "x"}, `unknown database_driver "oracle"`},
		{"empty connection string", Config{DriverName: "postgres", ConnectionString: "  "}, "database_connection_string is empty"},
		{"negative pool", Config{DriverName: "mysql", ConnectionString: "x", MaxOpenConnections: -1}, "max_open_database_connections is negative"},
		{"negative timeout", Config{DriverName: "mysql", ConnectionString: "x", ReadTimeout: -1}, "db_read_timeout is negative"},
		{"missing CA", Config{DriverName: "mysql", ConnectionString: "x", CACertFile: filepath.Join(dir, "nope.pem")}, "sql_ca_cert_file"},
		{"sqlite memory", Config{DriverName: "sqlite", ConnectionString: ":memory:"}, "in-memory"},
		{"sqlite missing dir", Config{DriverName: "sqlite", ConnectionString: filepath.Join(dir, "no", "db")}, "sqlite database directory"},
		{"sqlite ok", Config{DriverName: "sqlite", ConnectionString: filepath.Join(dir, "db")}, ""},
		{"mysql ok", Config{DriverName: "mysql", ConnectionString: "root@tcp(127.0.0.1:3306)/"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want ErrInvalidConfig mentioning %q", err, c.want)
			}
		})
	}
}

func TestOpenRejectsBadConnectionStrings(t *testing.T) {
	ctx := context.Background()
	for _, c := range []Config{
		{DriverName: "mysql", ConnectionString: "not a dsn"},
		{DriverName: "postgres", ConnectionString: "postgres://u:secretpw@host:notaport/db"},
		{DriverName: "nope", ConnectionString: "x"},
	} {
		db, err := Open(ctx, c)
		if err == nil {
			_ = db.Close()
			t.Fatalf("%s %q: no error", c.DriverName, c.ConnectionString)
		}
		if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: got %v, want ErrInvalidConfig", c.DriverName, err)
		}
		if strings.Contains(err.Error(), "secretpw") {
			t.Errorf("%s: error shows the password: %v", c.DriverName, err)
		}
	}
}

func TestOpenUnreachableServerIsUnavailable(t *testing.T) {
	// A port nobody listens on: connection refused, quickly.
	cfg := Config{DriverName: "postgres", ConnectionString: "postgres://u@127.0.0.1:1/db?sslmode=disable", ConnectionTimeout: durationjson.Duration(5 * time.Second)}
	_, err := Open(context.Background(), cfg)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
	cfg = Config{DriverName: "mysql", ConnectionString: "u@tcp(127.0.0.1:1)/db", ConnectionTimeout: durationjson.Duration(5 * time.Second)}
	_, err = Open(context.Background(), cfg)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
}

func TestSQLiteDSN(t *testing.T) {
	got := sqliteDSN("/tmp/a dir/x?#%.db", 5*time.Second)
	if !strings.HasPrefix(got, "file:/tmp/a dir/x%3F%23%25.db?") {
		t.Errorf("path not escaped: %s", got)
	}
	for _, want := range []string{"_txlock=immediate", "busy_timeout%285000%29", "journal_mode%28WAL%29", "foreign_keys%281%29"} {
		if !strings.Contains(got, want) {
			t.Errorf("%s lacks %s", got, want)
		}
	}
	if got := sqliteDSN("file:x.db?cache=private", time.Second); !strings.HasPrefix(got, "file:x.db?cache=private&_pragma=") {
		t.Errorf("file: URI: %s", got)
	}
}

func TestOpenSQLiteCreatesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd ?name#.db")
	db, err := Open(context.Background(), Config{DriverName: "sqlite", ConnectionString: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRowContext(context.Background(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode %q, %v", mode, err)
	}
	var fk int
	if err := db.QueryRowContext(context.Background(), "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys %d, %v", fk, err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}
}
