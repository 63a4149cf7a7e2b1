package sqldb_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/diego-go/diego/internal/sqldb"
)

func TestQueryStats(t *testing.T) {
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{DriverName: "sqlite", ConnectionString: filepath.Join(t.TempDir(), "m.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (k VARCHAR(10) PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO nope (k) VALUES (?)", "x"); err == nil {
		t.Fatal("insert into a missing table succeeded")
	}
	var k string
	_ = db.QueryRowContext(ctx, "SELECT k FROM t WHERE k = ?", "none").Scan(&k) // no row: not a failure
	err = db.Transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO t (k) VALUES (?)", "a")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s := db.Stats()
	if s.Total != 4 || s.Succeeded != 3 || s.Failed != 1 || s.InFlight != 0 || s.MaxDuration <= 0 {
		t.Fatalf("stats %+v, want 4 total, 3 succeeded, 1 failed, none in flight", s)
	}
	// Copies share the counters.
	if c := db.WithRetry(1, 0).Stats(); c.Total != 4 {
		t.Fatalf("a copy counts %d", c.Total)
	}
	if db.ResetMax() <= 0 || db.Stats().MaxDuration != 0 {
		t.Fatal("ResetMax did not start a new interval")
	}
}
