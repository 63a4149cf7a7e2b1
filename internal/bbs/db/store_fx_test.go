package db

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/bbs/encryption"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
)

// storeFx is a migrated store on a private database with a settable clock
// and predictable GUIDs.
type storeFx struct {
	t   *testing.T
	ctx context.Context
	cfg sqldb.Config
	sql *sqldb.DB
	db  *DB

	mu    sync.Mutex
	clock time.Time
	guids int
}

var fxStart = time.Unix(1700000000, 123456789)

type fxOption func(*Deps)

func withCryptor(c *encryption.Cryptor) fxOption { return func(d *Deps) { d.Cryptor = c } }
func withMaxTaskRetries(n int) fxOption          { return func(d *Deps) { d.MaxTaskRetries = n } }

// newStoreFx opens cfg, builds a store (key "k1" active unless told) and
// migrates it.
func newStoreFx(t *testing.T, cfg sqldb.Config, opts ...fxOption) *storeFx {
	t.Helper()
	fx := newUnmigratedFx(t, cfg, sqltest.Open(t, cfg), opts...)
	if err := fx.db.Migrate(fx.ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return fx
}

// newUnmigratedFx builds a store on an open database without migrating.
func newUnmigratedFx(t *testing.T, cfg sqldb.Config, sdb *sqldb.DB, opts ...fxOption) *storeFx {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	fx := &storeFx{t: t, ctx: ctx, cfg: cfg, sql: sdb, clock: fxStart}
	deps := Deps{
		SQL:     sdb,
		Cryptor: fxCryptor(t, "k1", map[string]string{"k1": "first passphrase"}),
		Logger:  lager.NewLogger("test"),
		Now:     fx.now,
		NewGUID: fx.newGUID,
	}
	for _, o := range opts {
		o(&deps)
	}
	fx.db = New(deps)
	return fx
}

func (fx *storeFx) now() time.Time {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	return fx.clock
}

func (fx *storeFx) advance(d time.Duration) time.Time {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	fx.clock = fx.clock.Add(d)
	return fx.clock
}

func (fx *storeFx) newGUID() (string, error) {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	fx.guids++
	return fmt.Sprintf("epoch-%d", fx.guids), nil
}

// exec runs a canonical statement on the database directly.
func (fx *storeFx) exec(query string, args ...any) {
	fx.t.Helper()
	if _, err := fx.sql.ExecContext(fx.ctx, query, args...); err != nil {
		fx.t.Fatalf("%s: %v", query, err)
	}
}

// column returns one stored value as bytes (nil for NULL).
func (fx *storeFx) column(table, column, where string, args ...any) []byte {
	fx.t.Helper()
	var b []byte
	if err := fx.sql.QueryRowContext(fx.ctx, "SELECT "+column+" FROM "+table+" WHERE "+where, args...).Scan(&b); err != nil {
		fx.t.Fatalf("reading %s.%s: %v", table, column, err)
	}
	return b
}

// count counts the rows of a table matching where.
func (fx *storeFx) count(table, where string, args ...any) int {
	fx.t.Helper()
	var n int
	if err := fx.sql.QueryRowContext(fx.ctx, "SELECT COUNT(*) FROM "+table+" WHERE "+where, args...).Scan(&n); err != nil {
		fx.t.Fatalf("counting %s: %v", table, err)
	}
	return n
}

func fxCryptor(t *testing.T, active string, keys map[string]string) *encryption.Cryptor {
	t.Helper()
	c, err := encryption.New(encryption.Config{ActiveKeyLabel: active, EncryptionKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantErr checks err against want: nil, or a *models.Error of the same
// type whose message contains want's (when want has one).
func wantErr(t *testing.T, what string, err error, want *models.Error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("%s: unexpected error %v", what, err)
		}
		return
	}
	var got *models.Error
	if !errors.As(err, &got) {
		t.Fatalf("%s: got %v (%T), want %s %q", what, err, err, want.GetType(), want.GetMessage())
	}
	if got.GetType() != want.GetType() || !strings.Contains(got.GetMessage(), want.GetMessage()) {
		t.Fatalf("%s: got %s %q, want %s %q", what, got.GetType(), got.GetMessage(), want.GetType(), want.GetMessage())
	}
}
