// Package benchdb gives a diego-bench scenario a fresh database on a MySQL
// or PostgreSQL server it is pointed at, and drops it afterwards.
package benchdb

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/diego-go/diego/internal/durationjson"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// Create makes database name on the server of adminDSN (a MySQL DSN or a
// postgres:// URL of a user who may create databases) and returns the
// config to reach it and a function that drops it.
func Create(ctx context.Context, driver, adminDSN, name string) (sqldb.Config, func(), error) {
	cfg := sqldb.Config{DriverName: driver, ConnectionTimeout: durationjson.Duration(30 * time.Second)}
	var sqlDriver string
	switch driver {
	case "mysql":
		sqlDriver = "mysql"
		m, err := mysql.ParseDSN(adminDSN)
		if err != nil {
			return cfg, nil, err
		}
		m.DBName = name
		cfg.ConnectionString = m.FormatDSN()
	case "postgres":
		sqlDriver = "pgx"
		u, err := url.Parse(adminDSN)
		if err != nil {
			return cfg, nil, err
		}
		u.Path = "/" + name
		cfg.ConnectionString = u.String()
	default:
		return cfg, nil, fmt.Errorf("benchdb: unsupported driver %q", driver)
	}
	admin, err := sql.Open(sqlDriver, adminDSN)
	if err != nil {
		return cfg, nil, err
	}
	quoted := name
	if driver == "mysql" {
		quoted = "`" + strings.ReplaceAll(name, "`", "") + "`"
	}
	_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoted)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+quoted); err != nil {
		admin.Close()
		return cfg, nil, fmt.Errorf("benchdb: create database %s: %w", name, err)
	}
	drop := func() {
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+quoted)
		admin.Close()
	}
	return cfg, drop, nil
}
