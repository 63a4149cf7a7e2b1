package executor

import (
	"context"
	"errors"
	"sync"
)

// ErrSubscriptionClosed is returned by Next once the subscription or the
// executor is closed.
var ErrSubscriptionClosed = errors.New("executor: event subscription closed")

// hub hands events to subscribers. Each subscriber has its own unbounded
// queue, so a slow reader never blocks the executor nor loses events.
type hub struct {
	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	closed bool
}

func newHub() *hub { return &hub{subs: map[*Subscription]struct{}{}} }

// Subscription receives the events emitted after it was made, in order.
type Subscription struct {
	h      *hub
	mu     sync.Mutex
	queue  []Event
	wake   chan struct{}
	closed bool
}

func (h *hub) subscribe() *Subscription {
	s := &Subscription{h: h, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		s.closed = true
		return s
	}
	h.subs[s] = struct{}{}
	return s
}

// emit queues e for every subscriber; callers serialise emits that must
// stay ordered.
func (h *hub) emit(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.push(e)
	}
}

func (h *hub) close() {
	h.mu.Lock()
	subs := h.subs
	h.subs = map[*Subscription]struct{}{}
	h.closed = true
	h.mu.Unlock()
	for s := range subs {
		s.shut()
	}
}

func (s *Subscription) push(e Event) {
	s.mu.Lock()
	s.queue = append(s.queue, e)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Subscription) shut() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Next returns the next event, waiting for one; it fails once the
// subscription is closed and its queue drained, or when ctx ends.
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			e := s.queue[0]
			s.queue[0] = Event{}
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return e, nil
		}
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return Event{}, ErrSubscriptionClosed
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// Close ends the subscription; events already queued can still be read.
func (s *Subscription) Close() {
	s.h.mu.Lock()
	delete(s.h.subs, s)
	s.h.mu.Unlock()
	s.shut()
}
