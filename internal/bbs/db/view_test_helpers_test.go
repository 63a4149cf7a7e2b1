package db

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"google.golang.org/protobuf/proto"
)

// viewPair is one database seen through two stores: viewed serves reads
// from the views, plain reads SQL only.
type viewPair struct {
	t      *testing.T
	ctx    context.Context
	viewed *DB
	plain  *DB
}

func newViewPair(t *testing.T, cfg sqldb.Config) *viewPair {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	viewed := openActualLRPTestDBAt(t, cfg, time.Now)
	var n int
	var mu sync.Mutex
	viewed.newGUID = func() (string, error) {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("epoch-%d", n), nil
	}
	plain := New(Deps{SQL: viewed.sql, Cryptor: viewed.crypt})
	return &viewPair{t: t, ctx: ctx, viewed: viewed, plain: plain}
}

// enable turns the views on and waits until they serve.
func (p *viewPair) enable() {
	p.t.Helper()
	p.viewed.EnableViews(p.ctx)
	p.t.Cleanup(p.viewed.StopViews)
	deadline := time.Now().Add(30 * time.Second)
	for !p.viewed.ViewsLoaded() {
		if time.Now().After(deadline) {
			p.t.Fatal("the views did not load within 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wrote fails the test unless err is nil or a models.Error: random writes
// may conflict or miss, but fail no other way.
func (p *viewPair) wrote(err error) {
	p.t.Helper()
	var me *models.Error
	if err != nil && !errors.As(err, &me) {
		p.t.Fatalf("write: %v", err)
	}
}

// skipSQLite skips the concurrent-load tests on SQLite.
func skipSQLite(t *testing.T, cfg sqldb.Config) {
	t.Helper()
	if f, _ := cfg.Flavor(); f == sqldb.SQLite {
		t.Skip("SQLite serializes writers; the concurrency is exercised on the servers")
	}
}

// numberedGUIDs returns n process guids, pg-00 on.
func numberedGUIDs(n int) []string {
	guids := make([]string, n)
	for i := range guids {
		guids[i] = fmt.Sprintf("pg-%02d", i)
	}
	return guids
}

// sameMessages fails the test unless got (from the view) and want (from
// SQL) hold equal messages once both are ordered by compare.
func sameMessages[M proto.Message](t *testing.T, what string, got, want []M, compare func(a, b M) int) {
	t.Helper()
	got, want = slices.Clone(got), slices.Clone(want)
	slices.SortFunc(got, compare)
	slices.SortFunc(want, compare)
	if len(got) != len(want) {
		t.Fatalf("%s: the view has %d rows, SQL %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := proto.CloneOf(got[i]), proto.CloneOf(want[i])
		models.FillNonNullable(g)
		models.FillNonNullable(w)
		if !proto.Equal(g, w) {
			t.Fatalf("%s: row %d differs:\nview %v\nSQL  %v", what, i, g, w)
		}
	}
}

// encodedList runs an encoded list into one buffer and decodes it into
// resp; it returns the number of elements the list reported.
func encodedList(t *testing.T, resp proto.Message, list func(Sink) (int, error)) int {
	t.Helper()
	var enc []byte
	n, err := list(func(b []byte) error { enc = append(enc, b...); return nil })
	if err != nil {
		t.Fatalf("encoded list: %v", err)
	}
	if err := proto.Unmarshal(enc, resp); err != nil {
		t.Fatalf("decoding the encoded list: %v", err)
	}
	return n
}
