package store_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/locket"
	"github.com/diego-go/diego/internal/locket/locketpb"
	"github.com/diego-go/diego/internal/locket/store"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
	"github.com/tedsuo/ifrit"
)

func res(key, owner, value string, code locketpb.TypeCode) *locketpb.Resource {
	return &locketpb.Resource{Key: key, Owner: owner, Value: value, TypeCode: code}
}

// modes runs fn with heartbeats applied one by one and with a running
// Batcher, which must not change any outcome.
func modes(t *testing.T, fn func(t *testing.T, cfg sqldb.Config, batched bool)) {
	for _, flavor := range sqltest.Dialects(t) {
		t.Run(string(flavor), func(t *testing.T) {
			t.Run("direct", func(t *testing.T) { fn(t, sqltest.NewDatabase(t, flavor), false) })
			t.Run("batched", func(t *testing.T) { fn(t, sqltest.NewDatabase(t, flavor), true) })
		})
	}
}

func newStore(t *testing.T, cfg sqldb.Config, batched bool) (*store.Store, *sqldb.DB) {
	s, db, _ := newBatchedStore(t, cfg, batched)
	return s, db
}

func newBatchedStore(t *testing.T, cfg sqldb.Config, batched bool) (*store.Store, *sqldb.DB, *store.Batcher) {
	t.Helper()
	db := sqltest.Open(t, cfg)
	s := store.New(db)
	var b *store.Batcher
	if batched {
		b = store.NewBatcher(s, 2, 8, 10*time.Second)
		p := ifrit.Invoke(b)
		t.Cleanup(func() {
			p.Signal(os.Interrupt)
			<-p.Wait()
		})
	}
	if err := s.CreateTables(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	// Creating the tables again is harmless, as on every reference start.
	if err := s.CreateTables(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	return s, db, b
}

func TestStore(t *testing.T) {
	modes(t, func(t *testing.T, cfg sqldb.Config, batched bool) {
		ctx := context.Background()
		s, db := newStore(t, cfg, batched)

		l1, err := s.Lock(ctx, res("bbs", "a", "v1", locketpb.TypeCode_LOCK), 15)
		if err != nil {
			t.Fatal(err)
		}
		if l1.ModifiedIndex != 1 || l1.ModifiedID == "" || l1.Type != "lock" {
			t.Fatalf("new lock %+v", l1)
		}
		l2, err := s.Lock(ctx, res("bbs", "a", "v2", locketpb.TypeCode_LOCK), 20)
		if err != nil {
			t.Fatal(err)
		}
		if l2.ModifiedIndex != 2 || l2.ModifiedID != l1.ModifiedID || l2.Value != "v2" || l2.TTLInSeconds != 20 {
			t.Fatalf("refreshed lock %+v after %+v", l2, l1)
		}
		if _, err := s.Lock(ctx, res("bbs", "b", "v", locketpb.TypeCode_LOCK), 15); !errors.Is(err, locket.ErrLockCollision) {
			t.Fatalf("other owner: %v", err)
		}
		got, err := s.Fetch(ctx, "bbs")
		if err != nil || *got != *l2 {
			t.Fatalf("fetched %+v, %v; want %+v", got, err, l2)
		}

		// An old-style writer that sent only the type string.
		if _, err := s.Lock(ctx, &locketpb.Resource{Key: "old", Owner: "o", Type: "presence"}, 15); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Lock(ctx, res("cell-1", "rep", `{"cell_id":"cell-1"}`, locketpb.TypeCode_PRESENCE), 15); err != nil {
			t.Fatal(err)
		}
		presences, err := s.FetchAll(ctx, "presence")
		if err != nil || len(presences) != 2 {
			t.Fatalf("presences %v, %v", presences, err)
		}
		all, err := s.FetchAll(ctx, "")
		if err != nil || len(all) != 3 {
			t.Fatalf("all %v, %v", all, err)
		}
		if n, err := s.Count(ctx, "presence"); err != nil || n != 2 {
			t.Fatalf("count %d, %v", n, err)
		}

		// Compare-and-release: a stale view does not delete, a current one does.
		if ok, err := s.FetchAndRelease(ctx, l1); err != nil || ok {
			t.Fatalf("released a refreshed lock: %v %v", ok, err)
		}
		if ok, err := s.FetchAndRelease(ctx, l2); err != nil || !ok {
			t.Fatalf("did not release the current lock: %v %v", ok, err)
		}
		if ok, err := s.FetchAndRelease(ctx, l2); err != nil || ok {
			t.Fatalf("released a missing lock: %v %v", ok, err)
		}
		if _, err := s.Fetch(ctx, "bbs"); !errors.Is(err, locket.ErrResourceNotFound) {
			t.Fatalf("fetch after release: %v", err)
		}

		// Release: missing is fine, another owner collides.
		if err := s.Release(ctx, res("missing", "x", "", locketpb.TypeCode_LOCK)); err != nil {
			t.Fatal(err)
		}
		if err := s.Release(ctx, res("cell-1", "other", "", locketpb.TypeCode_PRESENCE)); !errors.Is(err, locket.ErrLockCollision) {
			t.Fatalf("release by another owner: %v", err)
		}
		if err := s.Release(ctx, res("cell-1", "rep", "", locketpb.TypeCode_PRESENCE)); err != nil {
			t.Fatal(err)
		}

		// Too long for the columns, on every flavor, and nothing written.
		long := []*locketpb.Resource{
			res(strings.Repeat("k", 256), "o", "", locketpb.TypeCode_LOCK),
			res("k", strings.Repeat("o", 256), "", locketpb.TypeCode_LOCK),
			res("k", "o", strings.Repeat("v", 4097), locketpb.TypeCode_PRESENCE),
		}
		for _, r := range long {
			if _, err := s.Lock(ctx, r, 15); !errors.Is(err, sqldb.ErrDataTooLong) {
				t.Fatalf("too long %q/%q: %v", r.Key[:1], r.Owner[:1], err)
			}
		}
		if _, err := s.Lock(ctx, res("k", "o", strings.Repeat("v", 4096), locketpb.TypeCode_PRESENCE), 15); err != nil {
			t.Fatalf("a 4096-character value must fit: %v", err)
		}

		if err := s.HealthCheck(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := s.HealthCheck(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}

		// Rows written by the reference may carry NULLs in nullable columns.
		if _, err := db.ExecContext(ctx, "INSERT INTO locks (path, owner) VALUES ('nulls', 'o')"); err != nil {
			t.Fatal(err)
		}
		n, err := s.Fetch(ctx, "nulls")
		if err != nil || n.Value != "" || n.Type != "" || n.ModifiedIndex != 0 {
			t.Fatalf("row with defaults: %+v, %v", n, err)
		}
		// Its owner's next Lock gives it a modified id.
		n, err = s.Lock(ctx, res("nulls", "o", "v", locketpb.TypeCode_LOCK), 15)
		if err != nil || n.ModifiedIndex != 1 || n.ModifiedID == "" {
			t.Fatalf("lock of a legacy row: %+v, %v", n, err)
		}
		n2, err := s.Lock(ctx, res("nulls", "o", "v", locketpb.TypeCode_LOCK), 15)
		if err != nil || n2.ModifiedIndex != 2 || n2.ModifiedID != n.ModifiedID {
			t.Fatalf("heartbeat of a legacy row: %+v, %v", n2, err)
		}
	})
}

func TestConcurrentContenders(t *testing.T) {
	modes(t, func(t *testing.T, cfg sqldb.Config, batched bool) {
		ctx := context.Background()
		s, _ := newStore(t, cfg, batched)
		const contenders = 8
		var wg sync.WaitGroup
		winners := make(chan string, contenders)
		for i := 0; i < contenders; i++ {
			wg.Add(1)
			owner := string(rune('a' + i))
			go func() {
				defer wg.Done()
				if _, err := s.Lock(ctx, res("auctioneer", owner, "", locketpb.TypeCode_LOCK), 15); err == nil {
					winners <- owner
				}
			}()
		}
		wg.Wait()
		close(winners)
		var won []string
		for w := range winners {
			won = append(won, w)
		}
		if len(won) != 1 {
			t.Fatalf("winners %v, want exactly one", won)
		}
		got, err := s.Fetch(ctx, "auctioneer")
		if err != nil || got.Owner != won[0] || got.ModifiedIndex != 1 {
			t.Fatalf("row %+v, %v; winner %s", got, err, won[0])
		}

		// The holder's heartbeats race with each other and all land.
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.Lock(ctx, res("auctioneer", won[0], "", locketpb.TypeCode_LOCK), 15); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got, err = s.Fetch(ctx, "auctioneer")
		if err != nil || got.ModifiedIndex != 11 {
			t.Fatalf("after 10 heartbeats: %+v, %v", got, err)
		}
	})
}

// TestBatchedHeartbeats sends many heartbeats at once, from several owners,
// some for the same key, some for keys another owner holds, some for new
// keys, and checks every answer and the final rows.
func TestBatchedHeartbeats(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		ctx := context.Background()
		s, _, b := newBatchedStore(t, cfg, true)
		const cells = 40
		for i := 0; i < cells; i++ {
			if _, err := s.Lock(ctx, res(cellKey(i), "rep", "v0", locketpb.TypeCode_PRESENCE), 15); err != nil {
				t.Fatal(err)
			}
		}
		const rounds = 3
		var wg sync.WaitGroup
		errs := make(chan error, cells*rounds*3)
		for r := 0; r < rounds; r++ {
			for i := 0; i < cells; i++ {
				wg.Add(3)
				go func(i int) { // the holder, twice per round
					defer wg.Done()
					if _, err := s.Lock(ctx, res(cellKey(i), "rep", "v1", locketpb.TypeCode_PRESENCE), 20); err != nil {
						errs <- err
					}
				}(i)
				go func(i int) {
					defer wg.Done()
					if _, err := s.Lock(ctx, res(cellKey(i), "rep", "v1", locketpb.TypeCode_PRESENCE), 20); err != nil {
						errs <- err
					}
				}(i)
				go func(i int) { // an intruder, always refused
					defer wg.Done()
					if _, err := s.Lock(ctx, res(cellKey(i), "intruder", "x", locketpb.TypeCode_PRESENCE), 20); !errors.Is(err, locket.ErrLockCollision) {
						errs <- err
					}
				}(i)
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("unexpected answer: %v", err)
		}
		for i := 0; i < cells; i++ {
			l, err := s.Fetch(ctx, cellKey(i))
			if err != nil {
				t.Fatal(err)
			}
			if l.Owner != "rep" || l.Value != "v1" || l.TTLInSeconds != 20 || l.ModifiedIndex != 1+2*rounds {
				t.Fatalf("%s: %+v, want owner rep, value v1, ttl 20, index %d", cellKey(i), l, 1+2*rounds)
			}
		}
		batches, heartbeats := b.Stats()
		t.Logf("%d heartbeats in %d batches", heartbeats, batches)
		if batches == 0 || heartbeats <= batches {
			t.Fatalf("%d heartbeats in %d batches: concurrent heartbeats were not grouped", heartbeats, batches)
		}
	})
}

func cellKey(i int) string { return "cell-" + strconv.Itoa(i) }
