package store

import (
	"context"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/diego-go/diego/internal/locket"
	"github.com/diego-go/diego/internal/sqldb"
)

// Heartbeats are the bulk of locket's work: every cell refreshes its
// presence every few seconds. A Batcher groups the heartbeats that arrive
// together into one conditional UPDATE and one read-back, so ten thousand
// cells cost the database a few hundred statements a second instead of
// thousands, and few connections. Anything a batch cannot settle (a new key,
// another owner's row, a legacy row without a modified id) falls back to the
// one-key transaction.
type Batcher struct {
	store    *Store
	queue    chan *heartbeat
	workers  int
	maxBatch int
	timeout  time.Duration

	batches, heartbeats atomic.Uint64
}

// Stats returns how many batches ran and how many heartbeats they carried.
func (b *Batcher) Stats() (batches, heartbeats uint64) {
	return b.batches.Load(), b.heartbeats.Load()
}

type heartbeat struct {
	lock *locket.Lock
	done chan heartbeatResult
}

type heartbeatResult struct {
	refreshed bool // the row was this owner's and now has the new version
	err       error
}

// NewBatcher returns a batcher for s with workers concurrent batches of at
// most maxBatch heartbeats, each bounded by timeout. It serves Lock calls
// only while it runs (it is an ifrit runner).
func NewBatcher(s *Store, workers, maxBatch int, timeout time.Duration) *Batcher {
	return &Batcher{store: s, queue: make(chan *heartbeat, workers*maxBatch), workers: max(workers, 1), maxBatch: max(maxBatch, 1), timeout: timeout}
}

// Run implements ifrit.Runner.
func (b *Batcher) Run(signals <-chan os.Signal, ready chan<- struct{}) error {
	stop := make(chan struct{})
	finished := make(chan struct{}, b.workers)
	for i := 0; i < b.workers; i++ {
		go func() {
			defer func() { finished <- struct{}{} }()
			b.work(stop)
		}()
	}
	b.store.batcher.Store(b)
	close(ready)
	<-signals
	b.store.batcher.CompareAndSwap(b, nil)
	close(stop)
	for i := 0; i < b.workers; i++ {
		<-finished
	}
	// Answer what is still queued: callers fall back to the transaction.
	for {
		select {
		case h := <-b.queue:
			h.done <- heartbeatResult{}
		default:
			return nil
		}
	}
}

func (b *Batcher) work(stop <-chan struct{}) {
	batch := make([]*heartbeat, 0, b.maxBatch)
	for {
		select {
		case <-stop:
			return
		case h := <-b.queue:
			batch = append(batch[:0], h)
		}
	fill:
		for len(batch) < b.maxBatch {
			select {
			case h := <-b.queue:
				batch = append(batch, h)
			default:
				break fill
			}
		}
		b.apply(batch)
	}
}

// submit queues a heartbeat and waits for its batch.
func (b *Batcher) submit(ctx context.Context, l *locket.Lock) heartbeatResult {
	h := &heartbeat{lock: l, done: make(chan heartbeatResult, 1)}
	select {
	case b.queue <- h:
	case <-ctx.Done():
		return heartbeatResult{err: ctx.Err()}
	}
	select {
	case r := <-h.done:
		return r
	case <-ctx.Done():
		return heartbeatResult{err: ctx.Err()}
	}
}

// apply settles a batch. A key that appears twice goes to the fallback so
// that each heartbeat bumps the index once.
func (b *Batcher) apply(batch []*heartbeat) {
	seen := make(map[string]bool, len(batch))
	keys := batch[:0:0]
	for _, h := range batch {
		if seen[h.lock.Key] {
			h.done <- heartbeatResult{}
			continue
		}
		seen[h.lock.Key] = true
		keys = append(keys, h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	b.batches.Add(1)
	b.heartbeats.Add(uint64(len(keys)))
	versions, err := b.store.refreshMany(ctx, keys)
	for _, h := range keys {
		if err != nil {
			h.done <- heartbeatResult{err: err}
			continue
		}
		v, ok := versions[h.lock.Key]
		switch {
		case !ok:
			// Not there (a new key): the transaction inserts it.
			h.done <- heartbeatResult{}
		case v.Owner != h.lock.Owner || v.ModifiedID == "":
			h.done <- heartbeatResult{}
		default:
			h.lock.ModifiedIndex, h.lock.ModifiedID = v.ModifiedIndex, v.ModifiedID
			h.done <- heartbeatResult{refreshed: true}
		}
	}
}

// refreshMany applies every heartbeat of the batch in one UPDATE and reads
// the rows back in one SELECT.
func (s *Store) refreshMany(ctx context.Context, batch []*heartbeat) (map[string]*locket.Lock, error) {
	var q strings.Builder
	args := make([]any, 0, len(batch)*11)
	q.WriteString("UPDATE locks SET ")
	for i, col := range []string{"owner", "value", "type", "ttl"} {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(col + " = CASE path")
		then := " WHEN ? THEN ?"
		if col == "ttl" {
			// PostgreSQL types untyped parameters of a CASE as text.
			then = " WHEN ? THEN " + bigint[s.db.Flavor()]
		}
		for _, h := range batch {
			q.WriteString(then)
			args = append(args, h.lock.Key, column(h.lock, col))
		}
		q.WriteString(" END")
	}
	q.WriteString(", modified_index = COALESCE(modified_index, 0) + 1 WHERE modified_id <> '' AND (")
	for i, h := range batch {
		if i > 0 {
			q.WriteString(" OR ")
		}
		q.WriteString("(path = ? AND (owner = ? OR owner = '' OR owner IS NULL))")
		args = append(args, h.lock.Key, h.lock.Owner)
	}
	q.WriteString(")")
	if _, err := s.db.ExecContext(ctx, q.String(), args...); err != nil {
		return nil, err
	}

	keys := make([]any, len(batch))
	for i, h := range batch {
		keys[i] = h.lock.Key
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+columns+" FROM locks WHERE path IN ("+sqldb.Placeholders(len(keys))+")", keys...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]*locket.Lock, len(batch))
	for rows.Next() {
		l, err := scanLock(rows.Scan)
		if err != nil {
			return nil, sqldb.Classify(err)
		}
		out[l.Key] = l
	}
	if err := rows.Err(); err != nil {
		return nil, sqldb.Classify(err)
	}
	return out, nil
}

var bigint = map[sqldb.Flavor]string{
	sqldb.MySQL:    "CAST(? AS SIGNED)",
	sqldb.Postgres: "CAST(? AS BIGINT)",
	sqldb.SQLite:   "CAST(? AS INTEGER)",
}

func column(l *locket.Lock, col string) any {
	switch col {
	case "owner":
		return l.Owner
	case "value":
		return l.Value
	case "type":
		return l.Type
	}
	return l.TTLInSeconds
}
