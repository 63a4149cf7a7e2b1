package sqltest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/diego-go/diego/internal/sqldb"
)

// recorder stands in for a testing.TB to watch Skipf and Fatalf, which end
// the goroutine as the real ones do.
type recorder struct {
	testing.TB
	skipped, fatal string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func newDatabaseIn(r *recorder, f sqldb.Flavor) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		NewDatabase(r, f)
	}()
	<-done
}

func TestMissingServerSkipsOrFails(t *testing.T) {
	t.Setenv(EnvMySQLDSN, "")
	t.Setenv(EnvPostgresDSN, "")

	t.Setenv(EnvRequireDBs, "")
	r := &recorder{TB: t}
	newDatabaseIn(r, sqldb.MySQL)
	if !strings.Contains(r.skipped, "skipping mysql: DIEGO_TEST_MYSQL_DSN is not set") || r.fatal != "" {
		t.Fatalf("without %s: skipped %q, fatal %q", EnvRequireDBs, r.skipped, r.fatal)
	}

	t.Setenv(EnvRequireDBs, "1")
	r = &recorder{TB: t}
	newDatabaseIn(r, sqldb.Postgres)
	if !strings.Contains(r.fatal, "postgres required") || !strings.Contains(r.fatal, EnvPostgresDSN) || r.skipped != "" {
		t.Fatalf("with %s=1: skipped %q, fatal %q", EnvRequireDBs, r.skipped, r.fatal)
	}

	if ok, _ := Available(sqldb.SQLite); !ok {
		t.Fatal("sqlite must always be available")
	}
}

func TestUniqueName(t *testing.T) {
	valid := regexp.MustCompile(`^dt_[a-z0-9_]{0,32}_[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		n := uniqueName(t)
		if !valid.MatchString(n) || len(n) > 63 {
			t.Fatalf("bad name %q", n)
		}
		if seen[n] {
			t.Fatalf("name %q given twice", n)
		}
		seen[n] = true
	}
}

// TestDatabasesAreSeparate: two databases of one flavor do not share tables,
// and the config works with sqldb.Open.
func TestDatabasesAreSeparate(t *testing.T) {
	for _, f := range Dialects(t) {
		t.Run(string(f), func(t *testing.T) {
			ctx := context.Background()
			a, b := Open(t, NewDatabase(t, f)), Open(t, NewDatabase(t, f))
			if _, err := a.ExecContext(ctx, "CREATE TABLE only_in_a (id INT PRIMARY KEY)"); err != nil {
				t.Fatal(err)
			}
			_, err := b.ExecContext(ctx, "SELECT id FROM only_in_a")
			if !errors.Is(err, sqldb.ErrUnrecoverable) {
				t.Fatalf("second database sees the first's table: %v", err)
			}
		})
	}
}
