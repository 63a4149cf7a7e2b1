// Package fakeclock is a clock.Clock that only moves when a test says so.
package fakeclock

import (
	"sort"
	"sync"
	"time"

	"github.com/diego-go/diego/internal/clock"
)

// Clock is a manually advanced clock.
type Clock struct {
	mu       sync.Mutex
	now      time.Time
	waiters  []*waiter
	changed  chan struct{} // closed and replaced whenever waiters change
	sequence int
}

type waiter struct {
	clock    *Clock
	at       time.Time
	period   time.Duration // tickers only
	ch       chan time.Time
	fn       func()
	seq      int
	stopped  bool
	isTicker bool
}

var _ clock.Clock = (*Clock)(nil)

// New returns a fake clock reading now.
func New(now time.Time) *Clock {
	return &Clock{now: now, changed: make(chan struct{})}
}

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *Clock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

func (c *Clock) add(w *waiter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sequence++
	w.seq = c.sequence
	c.waiters = append(c.waiters, w)
	c.notify()
}

func (c *Clock) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Clock) AfterFunc(d time.Duration, f func()) clock.Timer {
	w := &waiter{clock: c, at: c.Now().Add(d), fn: f}
	c.add(w)
	return w
}

func (c *Clock) NewTimer(d time.Duration) clock.Timer {
	w := &waiter{clock: c, at: c.Now().Add(d), ch: make(chan time.Time, 1)}
	c.add(w)
	return w
}

func (c *Clock) NewTicker(d time.Duration) clock.Ticker {
	w := &waiter{clock: c, at: c.Now().Add(d), period: d, ch: make(chan time.Time, 1), isTicker: true}
	c.add(w)
	return ticker{w}
}

// ticker adapts a waiter to clock.Ticker, whose Stop returns nothing.
type ticker struct{ w *waiter }

func (t ticker) C() <-chan time.Time { return t.w.ch }
func (t ticker) Stop()               { t.w.Stop() }

// Increment moves the clock forward by d and fires, in time order, every
// timer, ticker and function that falls due.
func (c *Clock) Increment(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	var due []*waiter
	var keep []*waiter
	for _, w := range c.waiters {
		if w.stopped {
			continue
		}
		if !w.at.After(target) {
			due = append(due, w)
		}
		if w.isTicker || w.at.After(target) {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
	sort.SliceStable(due, func(i, j int) bool {
		if due[i].at.Equal(due[j].at) {
			return due[i].seq < due[j].seq
		}
		return due[i].at.Before(due[j].at)
	})
	c.now = target
	for _, w := range due {
		if w.isTicker {
			for !w.at.After(target) {
				w.at = w.at.Add(w.period)
			}
		}
	}
	c.notify()
	c.mu.Unlock()

	for _, w := range due {
		switch {
		case w.fn != nil:
			go w.fn()
		default:
			select {
			case w.ch <- target:
			default:
			}
		}
	}
}

// WatcherCount is the number of live timers, tickers and functions waiting.
func (c *Clock) WatcherCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, w := range c.waiters {
		if !w.stopped {
			n++
		}
	}
	return n
}

// WaitForWatchers blocks until at least n watchers are registered or the
// deadline passes; it reports whether they were.
func (c *Clock) WaitForWatchers(n int, deadline time.Duration) bool {
	timeout := time.After(deadline)
	for {
		c.mu.Lock()
		ch := c.changed
		c.mu.Unlock()
		if c.WatcherCount() >= n {
			return true
		}
		select {
		case <-ch:
		case <-timeout:
			return false
		}
	}
}

func (w *waiter) C() <-chan time.Time { return w.ch }

func (w *waiter) Stop() bool {
	c := w.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	wasActive := !w.stopped && c.contains(w)
	w.stopped = true
	c.remove(w)
	c.notify()
	return wasActive
}

func (w *waiter) Reset(d time.Duration) bool {
	c := w.clock
	c.mu.Lock()
	wasActive := !w.stopped && c.contains(w)
	c.remove(w)
	w.stopped = false
	w.at = c.now.Add(d)
	c.sequence++
	w.seq = c.sequence
	c.waiters = append(c.waiters, w)
	c.notify()
	c.mu.Unlock()
	return wasActive
}

func (c *Clock) contains(w *waiter) bool {
	for _, x := range c.waiters {
		if x == w {
			return true
		}
	}
	return false
}

func (c *Clock) remove(w *waiter) {
	for i, x := range c.waiters {
		if x == w {
			c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
			return
		}
	}
}
