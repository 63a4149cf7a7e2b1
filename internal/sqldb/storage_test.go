package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/diego-go/diego/internal/durationjson"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustExec(t *testing.T, q sqldb.Querier, query string, args ...any) {
	t.Helper()
	if _, err := q.ExecContext(testContext(t), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// driverError reports whether err still carries the flavor's driver error.
func driverError(f sqldb.Flavor, err error) bool {
	switch f {
	case sqldb.MySQL:
		var e *mysql.MySQLError
		return errors.As(err, &e)
	case sqldb.Postgres:
		var e *pgconn.PgError
		return errors.As(err, &e)
	default:
		var e *sqlite.Error
		return errors.As(err, &e)
	}
}

func TestSchemaTypesAndHelpers(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		ctx := testContext(t)
		db := sqltest.Open(t, cfg)
		mustExec(t, db, `CREATE TABLE IF NOT EXISTS things (
			id SERIAL PRIMARY KEY,
			name VARCHAR(255) NOT NULL,
			body MEDIUMTEXT,
			blob_data LONGBLOB,
			flag BOOL DEFAULT false,
			n BIGINT DEFAULT 0,
			UNIQUE (name))`)
		payload := []byte{0, 1, 2, 0xff}
		for _, name := range []string{"a", "b"} {
			mustExec(t, db, "INSERT INTO things (name, body, blob_data, flag, n) VALUES (?, ?, ?, ?, ?)",
				name, strings.Repeat("x", 70000), payload, true, int64(1)<<40)
		}
		rows, err := db.QueryContext(ctx, "SELECT id, body, blob_data, flag, n FROM things ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var ids []int64
		for rows.Next() {
			var (
				id   int64
				body string
				data []byte
				flag bool
				n    int64
			)
			if err := rows.Scan(&id, &body, &data, &flag, &n); err != nil {
				t.Fatal(err)
			}
			if len(body) != 70000 || string(data) != string(payload) || !flag || n != 1<<40 {
				t.Fatalf("row %d read back wrong: %d %x %v %d", id, len(body), data, flag, n)
			}
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if len(ids) != 2 || ids[0] == ids[1] {
			t.Fatalf("SERIAL ids %v, want two distinct", ids)
		}

		// InsertIgnore: 1 row affected, then 0; Upsert inserts then updates.
		for i, want := range []int64{1, 0} {
			res, err := db.ExecContext(ctx, db.Flavor().InsertIgnore("things", "name", "n"), "c", 5)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := res.RowsAffected(); got != want {
				t.Fatalf("insert-ignore %d affected %d rows, want %d", i, got, want)
			}
		}
		upsert := db.Flavor().Upsert("things", []string{"name"}, []string{"n", "body"})
		for _, n := range []int64{7, 8} {
			if _, err := db.ExecContext(ctx, upsert, "d", n, "body"); err != nil {
				t.Fatal(err)
			}
		}
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT n FROM things WHERE name = ?", "d").Scan(&n); err != nil || n != 8 {
			t.Fatalf("upserted n = %d, %v; want 8", n, err)
		}
		err = db.QueryRowContext(ctx, "SELECT n FROM things WHERE name = ?", "zz").Scan(&n)
		if !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("missing row: %v, want sql.ErrNoRows", err)
		}
	})
}

func TestErrorVocabulary(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		ctx := testContext(t)
		db := sqltest.Open(t, cfg)
		f := db.Flavor()
		mustExec(t, db, "CREATE TABLE locks (path VARCHAR(255) PRIMARY KEY, owner VARCHAR(8) NOT NULL, UNIQUE (owner))")
		mustExec(t, db, "INSERT INTO locks (path, owner) VALUES (?, ?)", "p", "o")

		t.Run("duplicate primary key", func(t *testing.T) {
			_, err := db.ExecContext(ctx, "INSERT INTO locks (path, owner) VALUES (?, ?)", "p", "o2")
			if !errors.Is(err, sqldb.ErrDuplicateKey) || !driverError(f, err) {
				t.Fatalf("got %v, want ErrDuplicateKey wrapping the driver error", err)
			}
		})
		t.Run("duplicate unique index in Transact, not retried", func(t *testing.T) {
			calls := 0
			err := db.Transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
				calls++
				_, err := tx.ExecContext(ctx, "INSERT INTO locks (path, owner) VALUES (?, ?)", "p2", "o")
				return err
			})
			if !errors.Is(err, sqldb.ErrDuplicateKey) || calls != 1 {
				t.Fatalf("got %v after %d calls, want ErrDuplicateKey after 1", err, calls)
			}
		})
		t.Run("missing table", func(t *testing.T) {
			var s string
			err := db.QueryRowContext(ctx, "SELECT owner FROM no_such_table WHERE path = ?", "p").Scan(&s)
			if !errors.Is(err, sqldb.ErrUnrecoverable) || !driverError(f, err) {
				t.Fatalf("query: got %v, want ErrUnrecoverable", err)
			}
			_, err = db.ExecContext(ctx, "DELETE FROM no_such_table")
			if !errors.Is(err, sqldb.ErrUnrecoverable) {
				t.Fatalf("exec: got %v, want ErrUnrecoverable", err)
			}
		})
		t.Run("data too long", func(t *testing.T) {
			_, err := db.ExecContext(ctx, "INSERT INTO locks (path, owner) VALUES (?, ?)", "p3", "far-too-long")
			if f == sqldb.SQLite {
				// SQLite does not enforce VARCHAR(n); CheckLength is the callers' tool.
				if err != nil {
					t.Fatalf("sqlite: %v", err)
				}
				if err := sqldb.CheckLength("owner", "far-too-long", 8); !errors.Is(err, sqldb.ErrDataTooLong) {
					t.Fatalf("CheckLength: %v", err)
				}
				return
			}
			if !errors.Is(err, sqldb.ErrDataTooLong) || !driverError(f, err) {
				t.Fatalf("got %v, want ErrDataTooLong", err)
			}
		})
		t.Run("schema object exists", func(t *testing.T) {
			_, err := db.ExecContext(ctx, "CREATE TABLE locks (path VARCHAR(255) PRIMARY KEY)")
			if !errors.Is(err, sqldb.ErrObjectExists) {
				t.Fatalf("table: got %v, want ErrObjectExists", err)
			}
			mustExec(t, db, "ALTER TABLE locks ADD COLUMN ttl BIGINT DEFAULT 0")
			_, err = db.ExecContext(ctx, "ALTER TABLE locks ADD COLUMN ttl BIGINT DEFAULT 0")
			if !errors.Is(err, sqldb.ErrObjectExists) {
				t.Fatalf("column: got %v, want ErrObjectExists", err)
			}
		})
		t.Run("error code", func(t *testing.T) {
			_, err := db.ExecContext(ctx, "INSERT INTO locks (path, owner) VALUES (?, ?)", "p", "o9")
			code, flavor, ok := sqldb.ErrorCode(err)
			want := map[sqldb.Flavor]string{sqldb.MySQL: "1062", sqldb.Postgres: "23505", sqldb.SQLite: "1555"}[f]
			if !ok || flavor != f || code != want {
				t.Fatalf("ErrorCode = %q, %q, %v; want %q", code, flavor, ok, want)
			}
		})
	})
}

func TestTransactCommitRollbackPanic(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		ctx := testContext(t)
		db := sqltest.Open(t, cfg)
		mustExec(t, db, "CREATE TABLE kv (k VARCHAR(64) PRIMARY KEY, v BIGINT NOT NULL)")
		insert := func(k string) func(ctx context.Context, tx *sqldb.Tx) error {
			return func(ctx context.Context, tx *sqldb.Tx) error {
				_, err := tx.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES (?, ?)", k, 1)
				return err
			}
		}
		if err := db.Transact(ctx, insert("committed")); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		err := db.Transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
			if err := insert("rolled-back")(ctx, tx); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("got %v, want boom", err)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("panic did not propagate")
				}
			}()
			_ = db.Transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
				_ = insert("panicked")(ctx, tx)
				panic("callback bug")
			})
		}()
		// The database is still usable (SQLite's writer slot was released).
		if err := db.Transact(ctx, insert("after-panic")); err != nil {
			t.Fatal(err)
		}
		got := keys(t, db)
		if strings.Join(got, ",") != "after-panic,committed" {
			t.Fatalf("keys %v, want only after-panic and committed", got)
		}
	})
}

func keys(t *testing.T, db *sqldb.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(testContext(t), "SELECT k FROM kv ORDER BY k")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ks []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		ks = append(ks, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ks
}

func TestTransactRetryPolicy(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		db := sqltest.Open(t, cfg).WithRetry(4, time.Millisecond)
		deadlock := sqldb.Classify(&mysql.MySQLError{Number: 1213, Message: "Deadlock found"})

		calls := 0
		err := db.Transact(testContext(t), func(context.Context, *sqldb.Tx) error { calls++; return deadlock })
		if !errors.Is(err, sqldb.ErrDeadlock) || calls != 4 {
			t.Fatalf("always deadlocking: %v after %d calls, want ErrDeadlock after 4", err, calls)
		}

		calls = 0
		err = db.Transact(testContext(t), func(context.Context, *sqldb.Tx) error {
			calls++
			if calls < 3 {
				return sqldb.Classify(&pgconn.PgError{Code: "40001"})
			}
			return nil
		})
		if err != nil || calls != 3 {
			t.Fatalf("deadlocking twice: %v after %d calls, want success after 3", err, calls)
		}

		calls = 0
		err = db.Transact(testContext(t), func(context.Context, *sqldb.Tx) error { calls++; return sql.ErrConnDone })
		if !errors.Is(err, sqldb.ErrUnavailable) || calls != 4 {
			t.Fatalf("bad connection: %v after %d calls, want ErrUnavailable after 4", err, calls)
		}

		ctx, cancel := context.WithCancel(testContext(t))
		calls = 0
		err = db.WithRetry(3, time.Hour).Transact(ctx, func(context.Context, *sqldb.Tx) error {
			calls++
			cancel()
			return deadlock
		})
		if !errors.Is(err, context.Canceled) || !errors.Is(err, sqldb.ErrDeadlock) || calls != 1 {
			t.Fatalf("canceled: %v after %d calls, want Canceled and ErrDeadlock after 1", err, calls)
		}
	})
}

// TestTransactConcurrentIncrements checks that read-modify-write under
// SELECT ... FOR UPDATE loses no update on any flavor (SQLite has no FOR
// UPDATE: Rebind drops it and BEGIN IMMEDIATE does the job).
func TestTransactConcurrentIncrements(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		ctx := testContext(t)
		db := sqltest.Open(t, cfg).WithRetry(10, time.Millisecond)
		mustExec(t, db, "CREATE TABLE counter (id INT PRIMARY KEY, n BIGINT NOT NULL)")
		mustExec(t, db, "INSERT INTO counter (id, n) VALUES (1, 0)")
		const workers, each = 8, 10
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					err := db.Transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
						var n int64
						if err := tx.QueryRowContext(ctx, "SELECT n FROM counter WHERE id = ? FOR UPDATE", 1).Scan(&n); err != nil {
							return err
						}
						_, err := tx.ExecContext(ctx, "UPDATE counter SET n = ? WHERE id = ?", n+1, 1)
						return err
					})
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT n FROM counter WHERE id = 1").Scan(&n); err != nil || n != workers*each {
			t.Fatalf("counter = %d, %v; want %d", n, err, workers*each)
		}
	})
}

// TestTransactRealDeadlock makes two transactions lock two rows in opposite
// orders; the server aborts one of them. With one attempt the victim's error
// is ErrDeadlock; with retries both transactions commit, each exactly once.
func TestTransactRealDeadlock(t *testing.T) {
	// SQLite takes the write lock at BEGIN: its writers never deadlock but
	// time out busy (TestSQLiteBusyIsDeadlock).
	for _, f := range []sqldb.Flavor{sqldb.MySQL, sqldb.Postgres} {
		t.Run(string(f), func(t *testing.T) { testRealDeadlock(t, sqltest.NewDatabase(t, f)) })
	}
}

func testRealDeadlock(t *testing.T, cfg sqldb.Config) {
	db := sqltest.Open(t, cfg)
	mustExec(t, db, "CREATE TABLE pair (id INT PRIMARY KEY, n INT NOT NULL)")
	mustExec(t, db, "INSERT INTO pair (id, n) VALUES (1, 0), (2, 0)")

	t.Run("classified", func(t *testing.T) {
		errA, errB, _, _ := crossLock(t, db.WithRetry(1, 0))
		var victim error
		switch {
		case errA != nil && errB == nil:
			victim = errA
		case errB != nil && errA == nil:
			victim = errB
		default:
			t.Fatalf("want exactly one victim, got %v and %v", errA, errB)
		}
		if !errors.Is(victim, sqldb.ErrDeadlock) || !driverError(db.Flavor(), victim) {
			t.Fatalf("victim's error %v, want ErrDeadlock wrapping the driver's", victim)
		}
		t.Logf("victim: %v", victim)
	})
	t.Run("retried", func(t *testing.T) {
		before := pairSum(t, db)
		errA, errB, callsA, callsB := crossLock(t, db.WithRetry(3, 10*time.Millisecond))
		if errA != nil || errB != nil {
			t.Fatalf("want both to commit, got %v and %v", errA, errB)
		}
		if callsA+callsB != 3 {
			t.Fatalf("callbacks ran %d+%d times, want 3 (one retry)", callsA, callsB)
		}
		if got := pairSum(t, db) - before; got != 4 {
			t.Fatalf("rows grew by %d, want 4 (each transaction applied once)", got)
		}
	})
}

// crossLock runs transactions A (row 1 then 2) and B (row 2 then 1) so that
// on their first attempt each holds its first row before asking for its
// second.
func crossLock(t *testing.T, db *sqldb.DB) (errA, errB error, callsA, callsB int32) {
	ctx := testContext(t)
	lockedA, lockedB := make(chan struct{}), make(chan struct{})
	var nA, nB atomic.Int32
	run := func(first, second int, mine, other chan struct{}, calls *atomic.Int32) error {
		return db.Transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
			attempt := calls.Add(1)
			if _, err := tx.ExecContext(ctx, "UPDATE pair SET n = n + 1 WHERE id = ?", first); err != nil {
				return err
			}
			if attempt == 1 {
				close(mine)
				select {
				case <-other:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			_, err := tx.ExecContext(ctx, "UPDATE pair SET n = n + 1 WHERE id = ?", second)
			return err
		})
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); errA = run(1, 2, lockedA, lockedB, &nA) }()
	go func() { defer wg.Done(); errB = run(2, 1, lockedB, lockedA, &nB) }()
	wg.Wait()
	return errA, errB, nA.Load(), nB.Load()
}

func pairSum(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	var s int
	if err := db.QueryRowContext(testContext(t), "SELECT SUM(n) FROM pair").Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSQLiteBusyIsDeadlock: two pools on one SQLite file stand for two
// processes; the second writer gives up after its busy timeout with
// ErrDeadlock, and succeeds once retried after the first commits.
func TestSQLiteBusyIsDeadlock(t *testing.T) {
	ctx := testContext(t)
	cfg := sqltest.NewDatabase(t, sqldb.SQLite)
	first := sqltest.Open(t, cfg)
	cfg.ConnectionTimeout = durationjson.Duration(20 * time.Millisecond) // busy timeout
	second := sqltest.Open(t, cfg).WithRetry(1, 0)
	mustExec(t, first, "CREATE TABLE kv (k VARCHAR(64) PRIMARY KEY, v BIGINT NOT NULL)")

	holding, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- first.Transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
			close(holding)
			<-release
			_, err := tx.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES ('first', 1)")
			return err
		})
	}()
	<-holding
	err := second.Transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES ('second', 1)")
		return err
	})
	if !errors.Is(err, sqldb.ErrDeadlock) || !driverError(sqldb.SQLite, err) {
		t.Fatalf("got %v, want ErrDeadlock (SQLITE_BUSY)", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := second.Transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO kv (k, v) VALUES ('second', 1)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
