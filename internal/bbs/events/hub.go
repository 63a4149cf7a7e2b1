package events

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/diego-go/diego/internal/models"
)

// SubscriberBuffer is how many events a subscriber may fall behind before
// it is cut off (the reference's MAX_PENDING_SUBSCRIBER_EVENTS).
const SubscriberBuffer = 1024

// Why a subscription ended.
var (
	// ErrSlowConsumer: the subscriber fell more than SubscriberBuffer
	// events behind.
	ErrSlowConsumer = errors.New("slow consumer")
	// ErrHubClosed: the hub was closed (the BBS is stopping or lost its
	// lock); also returned by Subscribe on a closed hub.
	ErrHubClosed = errors.New("hub closed")
	// ErrSubscriptionClosed: the subscriber closed its subscription.
	ErrSubscriptionClosed = errors.New("subscription closed")
)

// Hub fans events out to its subscribers. Emit never blocks: a subscriber
// whose buffer is full is cut off instead. The zero value is not usable;
// call NewHub.
type Hub struct {
	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	closed bool

	dropped atomic.Uint64
}

// NewHub returns an open hub without subscribers.
func NewHub() *Hub {
	return &Hub{subs: make(map[*Subscription]struct{})}
}

// Subscribe registers a new subscriber that receives every event emitted
// from now on. The caller must Close it when done.
func (h *Hub) Subscribe() (*Subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrHubClosed
	}
	s := &Subscription{hub: h, ch: make(chan Event, SubscriberBuffer)}
	h.subs[s] = struct{}{}
	return s, nil
}

// Emit hands ev to every subscriber. A subscriber that already holds
// SubscriberBuffer undelivered events is cut off and counted. Emit on a
// closed hub, or of a nil event, does nothing.
//
// Every subscriber shares ev; nobody may change it after Emit. Emit fills
// its non-nullable fields first, so that concurrent marshalling only reads.
func (h *Hub) Emit(ev Event) {
	if ev == nil || Message(ev) == nil {
		return
	}
	models.FillNonNullable(Message(ev))
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- ev:
		default:
			h.endLocked(s, ErrSlowConsumer)
			h.dropped.Add(1)
		}
	}
}

// Close ends every subscription with ErrHubClosed (each still delivers what
// it had buffered) and refuses new ones. Closing twice is harmless.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for s := range h.subs {
		h.endLocked(s, ErrHubClosed)
	}
}

// SubscriberCount is the number of live subscriptions.
func (h *Hub) SubscriberCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// SlowConsumersDropped counts the subscribers cut off for falling behind
// since the hub was made.
func (h *Hub) SlowConsumersDropped() uint64 {
	return h.dropped.Load()
}

// endLocked removes s and closes its channel; h.mu is held. The reason is
// written before the close, so a receiver that sees the channel closed
// also sees the reason.
func (h *Hub) endLocked(s *Subscription, reason error) {
	delete(h.subs, s)
	s.reason = reason
	close(s.ch)
}

// Subscription is one subscriber's buffered view of a hub.
type Subscription struct {
	hub    *Hub
	ch     chan Event
	reason error // set once, under hub.mu, before ch is closed
}

// C returns the channel the events arrive on. It is closed when the
// subscription ends, after the events buffered before the end; Err then
// tells why.
func (s *Subscription) C() <-chan Event { return s.ch }

// Err returns why the subscription ended. Call it only after C was seen
// closed (or Next returned an error).
func (s *Subscription) Err() error { return s.reason }

// Next returns the next event, blocking until one arrives, the
// subscription ends (ErrSlowConsumer, ErrHubClosed, ErrSubscriptionClosed)
// or ctx ends.
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	select {
	case ev, ok := <-s.ch:
		if !ok {
			return nil, s.reason
		}
		return ev, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close ends the subscription with ErrSubscriptionClosed and discards what
// it had buffered. Closing an ended subscription does nothing.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	_, live := s.hub.subs[s]
	if live {
		s.hub.endLocked(s, ErrSubscriptionClosed)
	}
	s.hub.mu.Unlock()
	if live {
		for range s.ch {
		}
	}
}
