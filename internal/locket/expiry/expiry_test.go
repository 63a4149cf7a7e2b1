package expiry_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/lager/v3/lagertest"
	"github.com/diego-go/diego/internal/clock/fakeclock"
	"github.com/diego-go/diego/internal/locket"
	"github.com/diego-go/diego/internal/locket/expiry"
)

// memStore is a map of rows with the same compare-and-delete rule as SQL.
type memStore struct {
	mu   sync.Mutex
	rows map[string]locket.Lock
}

func newMemStore(rows ...locket.Lock) *memStore {
	s := &memStore{rows: map[string]locket.Lock{}}
	for _, r := range rows {
		s.rows[r.Key] = r
	}
	return s
}

func (s *memStore) FetchAll(ctx context.Context, typ string) ([]*locket.Lock, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*locket.Lock
	for _, r := range s.rows {
		if r.Owner != "" && (typ == "" || r.Type == typ) {
			r := r
			out = append(out, &r)
		}
	}
	return out, nil
}

func (s *memStore) FetchAndRelease(ctx context.Context, seen *locket.Lock) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.rows[seen.Key]
	if !ok || !seen.SameVersion(&cur) {
		return false, nil
	}
	delete(s.rows, seen.Key)
	return true, nil
}

func (s *memStore) put(l locket.Lock) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows[l.Key] = l
}

func (s *memStore) has(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.rows[key]
	return ok
}

// eventually polls cond until it holds or a second passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// consistently checks that cond holds for a short while, for the effects of
// timers that must not fire.
func consistently(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) {
		if !cond() {
			t.Fatalf("%s stopped holding", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func row(key string, index int64, ttl int64) locket.Lock {
	return locket.Lock{Key: key, Owner: "o", Type: locket.LockType, ModifiedID: "id-" + key, ModifiedIndex: index, TTLInSeconds: ttl}
}

func TestPick(t *testing.T) {
	type step struct {
		advance  time.Duration
		register *locket.Lock // registered before advancing
		refresh  *locket.Lock // written to the store before advancing
		present  bool         // whether the row exists after advancing
	}
	r1, r2, r3 := row("k", 1, 10), row("k", 2, 10), row("k", 3, 10)
	presence := r1
	presence.Type = locket.PresenceType
	cases := []struct {
		name          string
		initial       locket.Lock
		steps         []step
		locks, pres   uint64
		armedAtTheEnd int
	}{
		{
			name:    "expires exactly at its ttl",
			initial: r1,
			steps: []step{
				{register: &r1, advance: 9999 * time.Millisecond, present: true},
				{advance: time.Millisecond, present: false},
			},
			locks: 1,
		},
		{
			name:    "a newer index restarts the timer",
			initial: r1,
			steps: []step{
				{register: &r1, advance: 6 * time.Second, present: true},
				{refresh: &r2, register: &r2, advance: 6 * time.Second, present: true},
				{advance: 4 * time.Second, present: false},
			},
			locks: 1,
		},
		{
			name:    "the same index does not restart the timer",
			initial: r1,
			steps: []step{
				{register: &r1, advance: 6 * time.Second, present: true},
				{register: &r1, advance: 4 * time.Second, present: false},
			},
			locks: 1,
		},
		{
			name:    "an older index is ignored",
			initial: r2,
			steps: []step{
				{register: &r2, advance: 6 * time.Second, present: true},
				{register: &r1, advance: 4 * time.Second, present: false},
			},
			locks: 1,
		},
		{
			name:    "a row refreshed elsewhere is not deleted",
			initial: r1,
			steps: []step{
				{register: &r1, refresh: &r3, advance: 10 * time.Second, present: true},
			},
			armedAtTheEnd: 0,
		},
		{
			name:    "presences are counted apart",
			initial: presence,
			steps:   []step{{register: &presence, advance: 10 * time.Second, present: false}},
			pres:    1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := fakeclock.New(time.Unix(1000, 0))
			st := newMemStore(tc.initial)
			pick := expiry.NewPick(lagertest.NewTestLogger("test"), st, clk, time.Second)
			defer pick.Close()
			for _, s := range tc.steps {
				if s.refresh != nil {
					st.put(*s.refresh)
				}
				if s.register != nil {
					pick.Register(s.register)
				}
				clk.Increment(s.advance)
				if s.present {
					consistently(t, "row present", func() bool { return st.has("k") })
				} else {
					eventually(t, "row deleted", func() bool { return !st.has("k") })
				}
			}
			eventually(t, "expiry counts", func() bool {
				l, p := pick.ExpiredCounts()
				return l == tc.locks && p == tc.pres
			})
			eventually(t, "timers cleaned up", func() bool { return pick.Armed() == tc.armedAtTheEnd })
		})
	}
}

func TestBurglarArmsEveryRowAtStartAndOnEachScan(t *testing.T) {
	clk := fakeclock.New(time.Unix(1000, 0))
	a, b := row("a", 1, 10), row("b", 1, 20)
	st := newMemStore(a, b)
	pick := expiry.NewPick(lagertest.NewTestLogger("test"), st, clk, time.Second)
	burglar := &expiry.Burglar{Logger: lagertest.NewTestLogger("test"), Store: st, Pick: pick, Clock: clk, Interval: 5 * time.Second, OpTimeout: time.Second}
	signals := make(chan os.Signal)
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- burglar.Run(signals, ready) }()
	<-ready
	if got := pick.Armed(); got != 2 {
		t.Fatalf("armed %d timers at start, want 2", got)
	}
	// A row written by another locket server appears on the next scan and
	// gets a full ttl from then.
	c := row("c", 1, 10)
	st.put(c)
	clk.Increment(5 * time.Second)
	eventually(t, "scan armed c", func() bool { return pick.Armed() == 3 })
	clk.Increment(5 * time.Second) // t=10: a expires, c has 5 s left
	eventually(t, "a deleted", func() bool { return !st.has("a") })
	consistently(t, "c present", func() bool { return st.has("c") })
	clk.Increment(5 * time.Second) // t=15: c expires
	eventually(t, "c deleted", func() bool { return !st.has("c") })
	if !st.has("b") {
		t.Fatal("b expired before its ttl")
	}
	close(signals)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if pick.Armed() != 0 {
		t.Fatal("timers left armed after the burglar stopped")
	}
}
