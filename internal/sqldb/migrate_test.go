package sqldb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
)

// testMigrations: every Up logs itself in the table runs, so the database
// itself tells how often each was applied.
func testMigrations() []sqldb.Migration {
	logRun := func(ctx context.Context, tx *sqldb.Tx, v int64) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO runs (version) VALUES (?)", v)
		return err
	}
	return []sqldb.Migration{
		{Version: 1461790966, Name: "init", Up: func(ctx context.Context, tx *sqldb.Tx) error {
			for _, q := range []string{
				"CREATE TABLE IF NOT EXISTS runs (id SERIAL PRIMARY KEY, version BIGINT NOT NULL)",
				"CREATE TABLE IF NOT EXISTS tasks (guid VARCHAR(255) PRIMARY KEY, result MEDIUMTEXT)",
			} {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return err
				}
			}
			return logRun(ctx, tx, 1461790966)
		}},
		{Version: 1471030898, Name: "widen-result", Up: func(ctx context.Context, tx *sqldb.Tx) error {
			var q string
			switch tx.Flavor() {
			case sqldb.MySQL:
				q = "ALTER TABLE tasks MODIFY result LONGTEXT"
			case sqldb.Postgres:
				q = "ALTER TABLE tasks ALTER COLUMN result TYPE TEXT"
			}
			if q != "" {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return err
				}
			}
			return logRun(ctx, tx, 1471030898)
		}},
		{Version: 1522700600, Name: "add-rejection-count", Up: func(ctx context.Context, tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, "ALTER TABLE tasks ADD COLUMN rejection_count INTEGER NOT NULL DEFAULT 0")
			if err != nil && !errors.Is(err, sqldb.ErrObjectExists) {
				return err
			}
			return logRun(ctx, tx, 1522700600)
		}},
	}
}

// runCounts returns how many times each version's Up committed.
func runCounts(t *testing.T, db *sqldb.DB) map[int64]int {
	t.Helper()
	rows, err := db.QueryContext(testContext(t), "SELECT version, COUNT(*) FROM runs GROUP BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	counts := map[int64]int{}
	for rows.Next() {
		var v int64
		var n int
		if err := rows.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		counts[v] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return counts
}

func recordedVersions(t *testing.T, db *sqldb.DB, table string) []int64 {
	t.Helper()
	rows, err := db.QueryContext(testContext(t), "SELECT version FROM "+table+" ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func wantOnce(t *testing.T, counts map[int64]int, ms []sqldb.Migration) {
	t.Helper()
	if len(counts) != len(ms) {
		t.Fatalf("applied %v, want each of %d migrations once", counts, len(ms))
	}
	for _, m := range ms {
		if counts[m.Version] != 1 {
			t.Fatalf("migration %d applied %d times (all: %v)", m.Version, counts[m.Version], counts)
		}
	}
}

func TestMigrateFreshRerunAndUpgrade(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		ctx := testContext(t)
		db := sqltest.Open(t, cfg)
		ms := testMigrations()

		// Given out of order: Migrate sorts.
		shuffled := []sqldb.Migration{ms[2], ms[0], ms[1]}
		if err := sqldb.Migrate(ctx, db, "migrations", shuffled); err != nil {
			t.Fatal(err)
		}
		wantOnce(t, runCounts(t, db), ms)
		mustExec(t, db, "INSERT INTO tasks (guid, result, rejection_count) VALUES (?, ?, ?)", "g", strings.Repeat("r", 100000), 2)

		// Restart: nothing runs again.
		if err := sqldb.Migrate(ctx, db, "migrations", ms); err != nil {
			t.Fatal(err)
		}
		wantOnce(t, runCounts(t, db), ms)

		// A newer binary brings one more migration: only it runs.
		newer := append(testMigrations(), sqldb.Migration{Version: 1676360874, Name: "add-metric-tags",
			Up: func(ctx context.Context, tx *sqldb.Tx) error {
				if _, err := tx.ExecContext(ctx, "ALTER TABLE tasks ADD COLUMN metric_tags MEDIUMTEXT"); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, "INSERT INTO runs (version) VALUES (?)", 1676360874)
				return err
			}})
		if err := sqldb.Migrate(ctx, db, "migrations", newer); err != nil {
			t.Fatal(err)
		}
		wantOnce(t, runCounts(t, db), newer)
		if got := fmt.Sprint(recordedVersions(t, db, "migrations")); got != "[1461790966 1471030898 1522700600 1676360874]" {
			t.Fatalf("recorded versions %s", got)
		}

		// The older binary refuses the newer schema.
		err := sqldb.Migrate(ctx, db, "migrations", ms)
		if !errors.Is(err, sqldb.ErrSchemaTooNew) {
			t.Fatalf("older binary: got %v, want ErrSchemaTooNew", err)
		}
		// So does one with no migrations at all.
		if err := sqldb.Migrate(ctx, db, "migrations", nil); !errors.Is(err, sqldb.ErrSchemaTooNew) {
			t.Fatalf("no migrations: got %v, want ErrSchemaTooNew", err)
		}

		// A separate table keeps a separate history.
		if err := sqldb.Migrate(ctx, db, "other_migrations", nil); err != nil {
			t.Fatal(err)
		}
	})
}

func TestMigrateFailureRecordsNothing(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		ctx := testContext(t)
		db := sqltest.Open(t, cfg)
		ms := testMigrations()
		boom := errors.New("boom")
		failing := append(testMigrations(), sqldb.Migration{Version: 1700000000, Name: "broken",
			Up: func(ctx context.Context, tx *sqldb.Tx) error {
				if _, err := tx.ExecContext(ctx, "INSERT INTO runs (version) VALUES (?)", 1700000000); err != nil {
					return err
				}
				return boom
			}})
		err := sqldb.Migrate(ctx, db, "migrations", failing)
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "1700000000 broken") {
			t.Fatalf("got %v, want boom naming the migration", err)
		}
		wantOnce(t, runCounts(t, db), ms) // the broken one's row was rolled back
		if got := len(recordedVersions(t, db, "migrations")); got != 3 {
			t.Fatalf("%d versions recorded, want 3", got)
		}
		fixed := append(testMigrations(), sqldb.Migration{Version: 1700000000, Name: "fixed",
			Up: func(ctx context.Context, tx *sqldb.Tx) error {
				_, err := tx.ExecContext(ctx, "INSERT INTO runs (version) VALUES (?)", 1700000000)
				return err
			}})
		if err := sqldb.Migrate(ctx, db, "migrations", fixed); err != nil {
			t.Fatal(err)
		}
		wantOnce(t, runCounts(t, db), fixed)
	})
}

// TestMigrateConcurrentStarters: several starters, each with its own pool
// as if in its own process, migrate the same database at once.
func TestMigrateConcurrentStarters(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		ctx := testContext(t)
		const starters = 6
		dbs := make([]*sqldb.DB, starters)
		for i := range dbs {
			dbs[i] = sqltest.Open(t, cfg)
		}
		start := make(chan struct{})
		errs := make([]error, starters)
		var wg sync.WaitGroup
		for i, db := range dbs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = sqldb.Migrate(ctx, db, "migrations", testMigrations())
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("starter %d: %v", i, err)
			}
		}
		wantOnce(t, runCounts(t, dbs[0]), testMigrations())
		if got := len(recordedVersions(t, dbs[0], "migrations")); got != 3 {
			t.Fatalf("%d versions recorded, want 3", got)
		}
	})
}

func TestMigrateRejectsBadInput(t *testing.T) {
	db := sqltest.Open(t, sqltest.NewDatabase(t, sqldb.SQLite))
	ctx := testContext(t)
	up := func(context.Context, *sqldb.Tx) error { return nil }
	cases := []struct {
		name  string
		table string
		ms    []sqldb.Migration
		want  string
	}{
		{"table name", "migrations; DROP TABLE x", nil, "not a plain identifier"},
		{"empty table name", "", nil, "not a plain identifier"},
		{"zero version", "m", []sqldb.Migration{{Version: 0, Up: up}}, "want > 0"},
		{"nil up", "m", []sqldb.Migration{{Version: 1}}, "has no Up"},
		{"duplicate", "m", []sqldb.Migration{{Version: 2, Up: up}, {Version: 2, Up: up}}, "given twice"},
	}
	for _, c := range cases {
		err := sqldb.Migrate(ctx, db, c.table, c.ms)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master").Scan(&n); err != nil || n != 0 {
		t.Fatalf("bad input touched the database: %d objects, %v", n, err)
	}
}
