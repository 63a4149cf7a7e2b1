package events

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/models"
)

func taskEvent(guid string) Event {
	return WithName("task_created", &models.TaskCreatedEvent{Task: &models.Task{TaskGuid: guid}})
}

func guidOf(t *testing.T, ev Event) string {
	t.Helper()
	m, ok := Message(ev).(*models.TaskCreatedEvent)
	if !ok {
		t.Fatalf("event %T is not a TaskCreatedEvent", Message(ev))
	}
	return m.GetTask().GetTaskGuid()
}

// next receives one event or fails the test after a deadline.
func next(t *testing.T, s *Subscription) (Event, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := s.Next(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("no event within 10s")
	}
	return ev, err
}

func mustSubscribe(t *testing.T, h *Hub) *Subscription {
	t.Helper()
	s, err := h.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHubFansOutInOrder(t *testing.T) {
	h := NewHub()
	defer h.Close()
	subs := []*Subscription{mustSubscribe(t, h), mustSubscribe(t, h), mustSubscribe(t, h)}
	if n := h.SubscriberCount(); n != 3 {
		t.Fatalf("SubscriberCount = %d, want 3", n)
	}
	for i := range 5 {
		h.Emit(taskEvent(fmt.Sprint(i)))
	}
	for si, s := range subs {
		for i := range 5 {
			ev, err := next(t, s)
			if err != nil {
				t.Fatalf("subscriber %d: %v", si, err)
			}
			if g := guidOf(t, ev); g != fmt.Sprint(i) {
				t.Fatalf("subscriber %d event %d: guid %q", si, i, g)
			}
		}
	}
}

func TestHubCutsOffOnlyTheSlowSubscriber(t *testing.T) {
	h := NewHub()
	defer h.Close()
	slow, fast := mustSubscribe(t, h), mustSubscribe(t, h)

	for i := range SubscriberBuffer + 1 {
		h.Emit(taskEvent(fmt.Sprint(i)))
		if ev, err := next(t, fast); err != nil || guidOf(t, ev) != fmt.Sprint(i) {
			t.Fatalf("fast subscriber, event %d: %v", i, err)
		}
		if i == SubscriberBuffer-1 && h.SlowConsumersDropped() != 0 {
			t.Fatal("cut off with a full but not overflowing buffer")
		}
	}
	if got := h.SlowConsumersDropped(); got != 1 {
		t.Fatalf("SlowConsumersDropped = %d, want 1", got)
	}
	if got := h.SubscriberCount(); got != 1 {
		t.Fatalf("SubscriberCount = %d, want 1", got)
	}

	// The slow one still gets what it had buffered, then the end.
	for i := range SubscriberBuffer {
		ev, err := next(t, slow)
		if err != nil {
			t.Fatalf("slow subscriber, buffered event %d: %v", i, err)
		}
		if g := guidOf(t, ev); g != fmt.Sprint(i) {
			t.Fatalf("slow subscriber event %d: guid %q", i, g)
		}
	}
	if _, err := next(t, slow); !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("after the buffer: %v, want ErrSlowConsumer", err)
	}
	if !errors.Is(slow.Err(), ErrSlowConsumer) {
		t.Fatalf("Err = %v", slow.Err())
	}

	// The fast one goes on.
	h.Emit(taskEvent("after"))
	if ev, err := next(t, fast); err != nil || guidOf(t, ev) != "after" {
		t.Fatalf("fast subscriber after the cut: %v", err)
	}
	slow.Close() // harmless on an ended subscription
	if got := h.SlowConsumersDropped(); got != 1 {
		t.Fatalf("SlowConsumersDropped = %d after Close, want 1", got)
	}
}

func TestHubCloseEndsSubscribersAfterTheirBuffer(t *testing.T) {
	h := NewHub()
	a, b := mustSubscribe(t, h), mustSubscribe(t, h)
	h.Emit(taskEvent("x"))
	h.Close()
	h.Close()
	h.Emit(taskEvent("ignored"))

	for _, s := range []*Subscription{a, b} {
		if ev, err := next(t, s); err != nil || guidOf(t, ev) != "x" {
			t.Fatalf("buffered event: %v", err)
		}
		if _, err := next(t, s); !errors.Is(err, ErrHubClosed) {
			t.Fatalf("after close: %v, want ErrHubClosed", err)
		}
	}
	if _, err := h.Subscribe(); !errors.Is(err, ErrHubClosed) {
		t.Fatalf("Subscribe on a closed hub: %v", err)
	}
	if n := h.SubscriberCount(); n != 0 {
		t.Fatalf("SubscriberCount = %d", n)
	}
	if n := h.SlowConsumersDropped(); n != 0 {
		t.Fatalf("closing counted %d slow consumers", n)
	}
}

func TestSubscriptionClose(t *testing.T) {
	h := NewHub()
	defer h.Close()
	s := mustSubscribe(t, h)
	h.Emit(taskEvent("dropped"))
	s.Close()
	s.Close()
	if n := h.SubscriberCount(); n != 0 {
		t.Fatalf("SubscriberCount = %d", n)
	}
	if _, err := next(t, s); !errors.Is(err, ErrSubscriptionClosed) {
		t.Fatalf("Next after Close: %v, want ErrSubscriptionClosed", err)
	}
	h.Emit(taskEvent("after")) // must not reach or break anything
}

func TestSubscriptionNextHonoursContext(t *testing.T) {
	h := NewHub()
	defer h.Close()
	s := mustSubscribe(t, h)
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with a cancelled context: %v", err)
	}
}

func TestEmitNeverBlocksOnASubscriberThatDoesNotRead(t *testing.T) {
	h := NewHub()
	defer h.Close()
	stuck := mustSubscribe(t, h)
	defer stuck.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 10 * SubscriberBuffer {
			h.Emit(taskEvent(fmt.Sprint(i)))
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Emit blocked")
	}
	if h.SlowConsumersDropped() != 1 {
		t.Fatalf("SlowConsumersDropped = %d", h.SlowConsumersDropped())
	}
}

func TestEmitIgnoresNil(t *testing.T) {
	h := NewHub()
	defer h.Close()
	s := mustSubscribe(t, h)
	defer s.Close()
	h.Emit(nil)
	h.Emit(WithName("task_created", nil))
	h.Emit(taskEvent("real"))
	if ev, err := next(t, s); err != nil || guidOf(t, ev) != "real" {
		t.Fatalf("got %v, %v", ev, err)
	}
}

func TestHubConcurrentEmitAndSubscribe(t *testing.T) {
	h := NewHub()
	var wg sync.WaitGroup
	var emitted atomic.Int64
	stop := make(chan struct{})
	for e := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				h.Emit(taskEvent(fmt.Sprintf("%d-%d", e, i)))
				emitted.Add(1)
			}
		})
	}
	for range 8 {
		wg.Go(func() {
			for range 50 {
				s, err := h.Subscribe()
				if err != nil {
					return // closed at the end
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				for range 10 {
					if _, err := s.Next(ctx); err != nil {
						break
					}
				}
				cancel()
				_ = h.SubscriberCount()
				s.Close()
			}
		})
	}
	// Subscribers that read keep going; one that never reads is cut off.
	idle := mustSubscribe(t, h)
	base := emitted.Load()
	deadline := time.Now().Add(20 * time.Second)
	// Every Emit that finished after the subscription reached idle or cut
	// it off; allow for the four in flight.
	for emitted.Load()-base <= SubscriberBuffer+4 {
		if time.Now().After(deadline) {
			t.Fatal("the idle subscriber was never cut off")
		}
		runtime.Gosched()
	}
	close(stop)
	h.Close()
	wg.Wait()
	for range idle.C() {
	}
	if !errors.Is(idle.Err(), ErrSlowConsumer) {
		t.Fatalf("idle subscriber ended with %v", idle.Err())
	}
	if n := h.SubscriberCount(); n != 0 {
		t.Fatalf("SubscriberCount = %d after Close", n)
	}
}
