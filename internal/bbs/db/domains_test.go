package db

import (
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
)

func TestDomains(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newStoreFx(t, cfg)
		fresh := func() []string {
			t.Helper()
			d, err := fx.db.FreshDomains(fx.ctx)
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(d)
			return d
		}
		if d := fresh(); d != nil {
			t.Fatalf("fresh domains of an empty store: %v", d)
		}
		for _, u := range []struct {
			domain string
			ttl    uint32
		}{{"forever", 0}, {"short", 10}, {"long", 3600}} {
			if err := fx.db.UpsertDomain(fx.ctx, u.domain, u.ttl); err != nil {
				t.Fatal(err)
			}
		}
		var expire int64
		if err := fx.sql.QueryRowContext(fx.ctx, "SELECT expire_time FROM domains WHERE domain = 'forever'").Scan(&expire); err != nil || expire != math.MaxInt64 {
			t.Fatalf("ttl 0 stored as %d (%v)", expire, err)
		}
		if err := fx.sql.QueryRowContext(fx.ctx, "SELECT expire_time FROM domains WHERE domain = 'short'").Scan(&expire); err != nil || expire != fxStart.Add(10*time.Second).UnixNano() {
			t.Fatalf("ttl 10 stored as %d (%v)", expire, err)
		}
		steps := []struct {
			advance time.Duration
			want    []string
		}{
			{0, []string{"forever", "long", "short"}},
			{9 * time.Second, []string{"forever", "long", "short"}},
			{2 * time.Second, []string{"forever", "long"}},
			{time.Hour, []string{"forever"}},
		}
		for _, s := range steps {
			fx.advance(s.advance)
			if got := fresh(); !slices.Equal(got, s.want) {
				t.Fatalf("after %v: %v, want %v", s.advance, got, s.want)
			}
		}
		// Upserting again renews.
		if err := fx.db.UpsertDomain(fx.ctx, "short", 10); err != nil {
			t.Fatal(err)
		}
		if got := fresh(); !slices.Equal(got, []string{"forever", "short"}) {
			t.Fatalf("after renewal: %v", got)
		}
		wantErr(t, "too long a domain", fx.db.UpsertDomain(fx.ctx, strings.Repeat("d", 256), 1), models.ErrBadRequest)
	})
}
