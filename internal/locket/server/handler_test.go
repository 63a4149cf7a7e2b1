package server_test

import (
	"context"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/lager/v3/lagertest"
	"github.com/diego-go/diego/internal/locket"
	"github.com/diego-go/diego/internal/locket/locketpb"
	"github.com/diego-go/diego/internal/locket/server"
	"github.com/diego-go/diego/internal/locket/store"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

type registrations struct{ locks []*locket.Lock }

func (r *registrations) Register(l *locket.Lock) { r.locks = append(r.locks, l) }

type fixture struct {
	h       *server.Handler
	db      *sqldb.DB
	reg     *registrations
	metrics *prometheus.Registry
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{DriverName: "sqlite", ConnectionString: filepath.Join(t.TempDir(), "locket.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := store.New(db)
	if err := st.CreateTables(ctx, false); err != nil {
		t.Fatal(err)
	}
	reg := &registrations{}
	metrics := prometheus.NewRegistry()
	h := &server.Handler{
		Logger:    lagertest.NewTestLogger("locket"),
		Store:     st,
		Expiry:    reg,
		Metrics:   server.NewRequestMetrics(metrics),
		MapError:  server.SQLErrors,
		OpTimeout: 5 * time.Second,
	}
	return &fixture{h: h, db: db, reg: reg, metrics: metrics}
}

func lockReq(key, owner string, code locketpb.TypeCode, ttl int64) *locketpb.LockRequest {
	return &locketpb.LockRequest{Resource: &locketpb.Resource{Key: key, Owner: owner, Value: "v", TypeCode: code}, TtlInSeconds: ttl}
}

// rows returns the table as "key owner value type index ttl" lines, to
// check that a refused request changed nothing.
func (f *fixture) rows(t *testing.T) []string {
	t.Helper()
	rows, err := f.db.QueryContext(context.Background(), "SELECT path, owner, value, type, modified_index, ttl FROM locks")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k, o, v, ty string
		var idx, ttl int64
		if err := rows.Scan(&k, &o, &v, &ty, &idx, &ttl); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Join([]string{k, o, v, ty, itoa(idx), itoa(ttl)}, " "))
	}
	sort.Strings(out)
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func wantStatus(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	s, ok := status.FromError(err)
	if !ok || s.Code() != code || s.Message() != msg {
		t.Fatalf("got error %v, want code %v message %q", err, code, msg)
	}
}

func TestLockValidation(t *testing.T) {
	cases := []struct {
		name string
		req  *locketpb.LockRequest
		code codes.Code
		msg  string
	}{
		{"no resource", &locketpb.LockRequest{TtlInSeconds: 10}, codes.InvalidArgument, "invalid-resource"},
		{"unknown type code", lockReq("k", "o", locketpb.TypeCode_UNKNOWN, 10), codes.NotFound, "invalid-type"},
		{"type code out of range", lockReq("k", "o", locketpb.TypeCode(7), 10), codes.NotFound, "invalid-type"},
		{"only the deprecated type string", &locketpb.LockRequest{Resource: &locketpb.Resource{Key: "k", Owner: "o", Type: "lock"}, TtlInSeconds: 10}, codes.NotFound, "invalid-type"},
		{"zero ttl", lockReq("k", "o", locketpb.TypeCode_LOCK, 0), codes.InvalidArgument, "invalid-ttl"},
		{"negative ttl", lockReq("k", "o", locketpb.TypeCode_LOCK, -1), codes.InvalidArgument, "invalid-ttl"},
		{"empty owner", lockReq("k", "", locketpb.TypeCode_PRESENCE, 10), codes.InvalidArgument, "invalid-owner"},
		{"value too long", &locketpb.LockRequest{Resource: &locketpb.Resource{Key: "k", Owner: "o", Value: strings.Repeat("x", 4097), TypeCode: locketpb.TypeCode_PRESENCE}, TtlInSeconds: 10}, codes.Unknown, "sql-bad-request"},
		{"key too long", lockReq(strings.Repeat("k", 256), "o", locketpb.TypeCode_LOCK, 10), codes.Unknown, "sql-bad-request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if _, err := f.h.Lock(context.Background(), lockReq("other", "o", locketpb.TypeCode_LOCK, 10)); err != nil {
				t.Fatal(err)
			}
			before := f.rows(t)
			_, err := f.h.Lock(context.Background(), tc.req)
			wantStatus(t, err, tc.code, tc.msg)
			if after := f.rows(t); strings.Join(after, "|") != strings.Join(before, "|") {
				t.Fatalf("a refused request changed the table: %v -> %v", before, after)
			}
		})
	}
}

func TestLockSemantics(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)

	// First lock: index 1, both type fields in answers.
	if _, err := f.h.Lock(ctx, lockReq("bbs", "a", locketpb.TypeCode_LOCK, 15)); err != nil {
		t.Fatal(err)
	}
	if got := f.rows(t); len(got) != 1 || got[0] != "bbs a v lock 1 15" {
		t.Fatalf("rows %v", got)
	}
	first := f.reg.locks[0]
	if first.ModifiedIndex != 1 || first.ModifiedID == "" {
		t.Fatalf("first registration %+v", first)
	}

	// Heartbeat by the owner: index+1, same modified id, value and ttl change.
	req := lockReq("bbs", "a", locketpb.TypeCode_LOCK, 20)
	req.Resource.Value = "new"
	if _, err := f.h.Lock(ctx, req); err != nil {
		t.Fatal(err)
	}
	second := f.reg.locks[1]
	if second.ModifiedIndex != 2 || second.ModifiedID != first.ModifiedID || second.Value != "new" || second.TTLInSeconds != 20 {
		t.Fatalf("heartbeat registered %+v after %+v", second, first)
	}

	// Another owner collides, on Lock and on Release, and changes nothing.
	before := f.rows(t)
	_, err := f.h.Lock(ctx, lockReq("bbs", "b", locketpb.TypeCode_LOCK, 15))
	wantStatus(t, err, codes.AlreadyExists, "lock-collision")
	_, err = f.h.Release(ctx, &locketpb.ReleaseRequest{Resource: &locketpb.Resource{Key: "bbs", Owner: "b"}})
	wantStatus(t, err, codes.AlreadyExists, "lock-collision")
	if after := f.rows(t); strings.Join(after, "|") != strings.Join(before, "|") {
		t.Fatalf("collisions changed the table: %v -> %v", before, after)
	}

	// Fetch returns both type fields.
	got, err := f.h.Fetch(ctx, &locketpb.FetchRequest{Key: "bbs"})
	if err != nil {
		t.Fatal(err)
	}
	if r := got.Resource; r.Key != "bbs" || r.Owner != "a" || r.Value != "new" || r.Type != "lock" || r.TypeCode != locketpb.TypeCode_LOCK {
		t.Fatalf("fetched %v", r)
	}

	// Presences and locks are listed apart.
	if _, err := f.h.Lock(ctx, lockReq("cell-1", "rep-uuid", locketpb.TypeCode_PRESENCE, 15)); err != nil {
		t.Fatal(err)
	}
	all, err := f.h.FetchAll(ctx, &locketpb.FetchAllRequest{TypeCode: locketpb.TypeCode_PRESENCE})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Resources) != 1 || all.Resources[0].Key != "cell-1" || all.Resources[0].Type != "presence" || all.Resources[0].TypeCode != locketpb.TypeCode_PRESENCE {
		t.Fatalf("presences %v", all.Resources)
	}
	_, err = f.h.FetchAll(ctx, &locketpb.FetchAllRequest{Type: "presence"})
	wantStatus(t, err, codes.NotFound, "invalid-type")

	// Release by the owner deletes; releasing again succeeds.
	for i := 0; i < 2; i++ {
		if _, err := f.h.Release(ctx, &locketpb.ReleaseRequest{Resource: &locketpb.Resource{Key: "bbs", Owner: "a"}}); err != nil {
			t.Fatalf("release %d: %v", i, err)
		}
	}
	_, err = f.h.Fetch(ctx, &locketpb.FetchRequest{Key: "bbs"})
	wantStatus(t, err, codes.NotFound, "resource-not-found")

	// A row without an owner is invisible to Fetch and FetchAll, and anyone
	// may take it.
	if _, err := f.db.ExecContext(ctx, "INSERT INTO locks (path, owner, value, type, modified_index, modified_id, ttl) VALUES ('orphan', '', '', 'lock', 4, 'id-4', 15)"); err != nil {
		t.Fatal(err)
	}
	_, err = f.h.Fetch(ctx, &locketpb.FetchRequest{Key: "orphan"})
	wantStatus(t, err, codes.NotFound, "resource-not-found")
	locks, err := f.h.FetchAll(ctx, &locketpb.FetchAllRequest{TypeCode: locketpb.TypeCode_LOCK})
	if err != nil || len(locks.Resources) != 0 {
		t.Fatalf("locks %v, %v", locks, err)
	}
	if _, err := f.h.Lock(ctx, lockReq("orphan", "c", locketpb.TypeCode_LOCK, 15)); err != nil {
		t.Fatal(err)
	}
	taken := f.reg.locks[len(f.reg.locks)-1]
	if taken.ModifiedIndex != 5 || taken.ModifiedID != "id-4" {
		t.Fatalf("taking an ownerless row registered %+v", taken)
	}

	// Collisions count as successes; validation errors as failures.
	if n := metricValue(t, f.metrics, "RequestsSucceeded", "Lock"); n < 4 {
		t.Fatalf("RequestsSucceeded{Lock} = %v", n)
	}
	if n := metricValue(t, f.metrics, "RequestsFailed", "FetchAll"); n != 1 {
		t.Fatalf("RequestsFailed{FetchAll} = %v", n)
	}
}

// metricValue reads a counter or gauge of the request metrics.
func metricValue(t *testing.T, reg *prometheus.Registry, name, requestType string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if l.GetName() == "request_type" && l.GetValue() == requestType {
					if m.Counter != nil {
						return m.Counter.GetValue()
					}
					return m.Gauge.GetValue()
				}
			}
		}
	}
	t.Fatalf("metric %s{request_type=%s} not found", name, requestType)
	return 0
}

func TestMissingTableIsUnrecoverable(t *testing.T) {
	f := newFixture(t)
	var stopped error
	f.h.Unrecoverable = func(err error) { stopped = err }
	if _, err := f.db.ExecContext(context.Background(), "DROP TABLE locks"); err != nil {
		t.Fatal(err)
	}
	_, err := f.h.Fetch(context.Background(), &locketpb.FetchRequest{Key: "k"})
	wantStatus(t, err, codes.Unknown, "sql-unrecoverable")
	if stopped == nil {
		t.Fatal("the server was not told to stop")
	}
}
