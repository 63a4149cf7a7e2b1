package sqldb

import (
	"sync/atomic"
	"time"
)

// QueryStats are the statement counters of a DB (and every copy made by
// WithRetry or WithReadCommitted), for the reference's DBQueries* metrics.
type QueryStats struct {
	Total, Succeeded, Failed uint64
	InFlight                 int64
	// MaxDuration is the longest statement since the last ResetMax.
	MaxDuration time.Duration
}

type monitor struct {
	total, succeeded, failed atomic.Uint64
	inFlight                 atomic.Int64
	max                      atomic.Int64
}

// start counts a statement and returns its completion.
func (m *monitor) start() func(err error) {
	m.total.Add(1)
	m.inFlight.Add(1)
	t0 := time.Now()
	return func(err error) {
		d := int64(time.Since(t0))
		m.inFlight.Add(-1)
		if err != nil {
			m.failed.Add(1)
		} else {
			m.succeeded.Add(1)
		}
		for {
			cur := m.max.Load()
			if d <= cur || m.max.CompareAndSwap(cur, d) {
				break
			}
		}
	}
}

// Stats returns the statement counters.
func (db *DB) Stats() QueryStats {
	m := db.monitor
	return QueryStats{
		Total: m.total.Load(), Succeeded: m.succeeded.Load(), Failed: m.failed.Load(),
		InFlight: m.inFlight.Load(), MaxDuration: time.Duration(m.max.Load()),
	}
}

// ResetMax starts a new interval for QueryStats.MaxDuration and returns the
// maximum of the interval that ends.
func (db *DB) ResetMax() time.Duration {
	return time.Duration(db.monitor.max.Swap(0))
}
