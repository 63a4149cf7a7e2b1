// Package expiry removes locks and presences whose owners stopped
// refreshing them.
//
// Every locket server keeps an in-memory timer per (key, modified id),
// armed for the row's TTL whenever it sees a newer modified index: after
// each Lock it serves, and from a full scan of the table at start and every
// RetryInterval (the "burglar"). When a timer fires, the row is deleted only
// if it is still the version the timer was armed for. So a holder that
// refreshes within its TTL never expires, one that stops disappears between
// TTL and TTL+RetryInterval after its last refresh, and after a restart every
// row gets a full TTL from the first scan: the reference's observable timing.
package expiry

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/clock"
	"github.com/diego-go/diego/internal/locket"
)

// Store is what expiry needs of the lock storage.
type Store interface {
	// FetchAll returns the rows of one type ("" for all) with an owner.
	FetchAll(ctx context.Context, typ string) ([]*locket.Lock, error)
	// FetchAndRelease deletes the row of seen.Key if it is still the same
	// version as seen, and reports whether it did.
	FetchAndRelease(ctx context.Context, seen *locket.Lock) (bool, error)
}

type timerKey struct {
	key string
	id  string
}

type armed struct {
	index int64
	timer clock.Timer
}

// Pick holds the expiry timers.
type Pick struct {
	logger    lager.Logger
	store     Store
	clock     clock.Clock
	opTimeout time.Duration

	mu     sync.Mutex
	timers map[timerKey]armed
	closed bool

	locksExpired     atomic.Uint64
	presencesExpired atomic.Uint64
	// OnExpire, if set, is called after a row was deleted for expiry.
	OnExpire func(*locket.Lock)
}

// NewPick returns an empty timer registry. opTimeout bounds each deletion.
func NewPick(logger lager.Logger, store Store, clk clock.Clock, opTimeout time.Duration) *Pick {
	return &Pick{
		logger:    logger.Session("lock-pick"),
		store:     store,
		clock:     clk,
		opTimeout: opTimeout,
		timers:    make(map[timerKey]armed),
	}
}

// Register arms the timer of lock unless one is armed for the same or a newer
// index; a newer index replaces the older timer.
func (p *Pick) Register(lock *locket.Lock) {
	k := timerKey{key: lock.Key, id: lock.ModifiedID}
	seen := *lock
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if cur, ok := p.timers[k]; ok {
		if cur.index >= lock.ModifiedIndex {
			return
		}
		cur.timer.Stop()
	}
	ttl := time.Duration(lock.TTLInSeconds) * time.Second
	p.timers[k] = armed{
		index: lock.ModifiedIndex,
		timer: p.clock.AfterFunc(ttl, func() { p.expire(k, &seen) }),
	}
}

func (p *Pick) expire(k timerKey, seen *locket.Lock) {
	defer func() {
		p.mu.Lock()
		if cur, ok := p.timers[k]; ok && cur.index == seen.ModifiedIndex {
			delete(p.timers, k)
		}
		p.mu.Unlock()
	}()
	logger := p.logger.Session("expire", lager.Data{"key": seen.Key, "owner": seen.Owner, "modified-index": seen.ModifiedIndex, "type": seen.Type})
	ctx, cancel := context.WithTimeout(context.Background(), p.opTimeout)
	defer cancel()
	released, err := p.store.FetchAndRelease(ctx, seen)
	if err != nil {
		logger.Error("failed-compare-and-release", err)
		return
	}
	if !released {
		return
	}
	logger.Info("lock-expired")
	if seen.Type == locket.PresenceType {
		p.presencesExpired.Add(1)
	} else {
		p.locksExpired.Add(1)
	}
	if p.OnExpire != nil {
		p.OnExpire(seen)
	}
}

// ExpiredCounts returns how many locks and presences expired since start.
func (p *Pick) ExpiredCounts() (locks, presences uint64) {
	return p.locksExpired.Load(), p.presencesExpired.Load()
}

// Armed is the number of timers currently armed.
func (p *Pick) Armed() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.timers)
}

// Close stops every timer; later registrations are ignored.
func (p *Pick) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for k, a := range p.timers {
		a.timer.Stop()
		delete(p.timers, k)
	}
}

// Burglar scans the table at start and every interval and registers every
// row with the Pick. It is an ifrit runner.
type Burglar struct {
	Logger   lager.Logger
	Store    Store
	Pick     *Pick
	Clock    clock.Clock
	Interval time.Duration
	// OpTimeout bounds each scan.
	OpTimeout time.Duration
}

// Run implements ifrit.Runner.
func (b *Burglar) Run(signals <-chan os.Signal, ready chan<- struct{}) error {
	logger := b.Logger.Session("burglar")
	logger.Info("started")
	defer logger.Info("complete")
	b.scan(logger)
	ticker := b.Clock.NewTicker(b.Interval)
	defer ticker.Stop()
	close(ready)
	for {
		select {
		case <-signals:
			b.Pick.Close()
			return nil
		case <-ticker.C():
			b.scan(logger)
		}
	}
}

func (b *Burglar) scan(logger lager.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), b.OpTimeout)
	defer cancel()
	locks, err := b.Store.FetchAll(ctx, "")
	if err != nil {
		logger.Error("failed-fetching-locks", err)
		return
	}
	for _, l := range locks {
		b.Pick.Register(l)
	}
}
