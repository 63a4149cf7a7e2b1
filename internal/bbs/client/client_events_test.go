package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/diego-go/diego/internal/bbs/events"
	"github.com/diego-go/diego/internal/models"
)

func taskCreated(guid string) events.Event {
	return events.WithName("task_created", &models.TaskCreatedEvent{Task: &models.Task{TaskGuid: guid}})
}

// hubHandler streams hub's events like the BBS.
func hubHandler(hub *events.Hub) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		sub, err := hub.Subscribe()
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		defer sub.Close()
		_ = events.Stream(w, r, events.StreamOptions{}, sub)
	}
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

// nextResult is what Next returned.
type nextResult struct {
	ev  events.Event
	err error
}

// nextWithin calls Next and fails the test if it does not return in time.
// The goroutine it starts ends with Next; Close ends Next.
func nextWithin(t *testing.T, s *EventSource) (events.Event, error) {
	t.Helper()
	ch := make(chan nextResult, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		ev, err := s.Next()
		ch <- nextResult{ev, err}
	})
	defer wg.Wait()
	select {
	case r := <-ch:
		return r.ev, r.err
	case <-time.After(20 * time.Second):
		s.Close()
		t.Fatal("Next did not return")
		return nil, nil
	}
}

func taskGuid(t *testing.T, ev events.Event) string {
	t.Helper()
	m, ok := events.Message(ev).(*models.TaskCreatedEvent)
	if !ok || ev.EventType() != "task_created" {
		t.Fatalf("event %q %T", ev.EventType(), events.Message(ev))
	}
	return m.GetTask().GetTaskGuid()
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

func TestSubscriptionRoutes(t *testing.T) {
	cases := []struct {
		name   string
		sub    func(context.Context, *Client) (*EventSource, error)
		method string
		path   string
		cell   string
	}{
		{"instance events", func(ctx context.Context, c *Client) (*EventSource, error) { return c.SubscribeToInstanceEvents(ctx) },
			http.MethodPost, "/v1/events/lrp_instances.r1", ""},
		{"instance events by cell", func(ctx context.Context, c *Client) (*EventSource, error) {
			return c.SubscribeToInstanceEventsByCellID(ctx, "cell-1")
		}, http.MethodPost, "/v1/events/lrp_instances.r1", "cell-1"},
		{"task events", func(ctx context.Context, c *Client) (*EventSource, error) { return c.SubscribeToTaskEvents(ctx) },
			http.MethodPost, "/v1/events/tasks.r1", ""},
		{"group events", func(ctx context.Context, c *Client) (*EventSource, error) { return c.SubscribeToEvents(ctx) },
			http.MethodGet, "/v1/events.r1", ""},
		{"group events by cell", func(ctx context.Context, c *Client) (*EventSource, error) {
			return c.SubscribeToEventsByCellID(ctx, "cell-2")
		}, http.MethodGet, "/v1/events.r1", "cell-2"},
		{"deprecated r0 stream", func(ctx context.Context, c *Client) (*EventSource, error) {
			return c.Subscribe(ctx, "LrpInstanceEventStream_r0", "cell-3")
		}, http.MethodPost, "/v1/events/lrp_instances", "cell-3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bbs := newFakeBBS(t)
			hub := events.NewHub()
			defer hub.Close()
			bbs.setHandler(hubHandler(hub))
			c := bbs.client(t, nil)
			src, err := tc.sub(testContext(t), c)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			hub.Emit(taskCreated("t1"))
			ev, err := nextWithin(t, src)
			if err != nil {
				t.Fatal(err)
			}
			if g := taskGuid(t, ev); g != "t1" {
				t.Fatalf("guid %q", g)
			}
			reqs := bbs.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			if r.method != tc.method || r.path != tc.path {
				t.Fatalf("sent %s %s, want %s %s", r.method, r.path, tc.method, tc.path)
			}
			if got := decodeAs(t, &models.EventsByCellId{}, r.body).(*models.EventsByCellId); got.GetCellId() != tc.cell {
				t.Fatalf("cell filter %q, want %q", got.GetCellId(), tc.cell)
			}
			if !hexID.MatchString(r.requestID) || r.contentType != "application/x-protobuf" {
				t.Fatalf("headers %+v", r)
			}
			if err := src.Close(); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, "the server to see the client leave", func() bool { return hub.SubscriberCount() == 0 })
		})
	}
}

func TestStreamSkipsUnknownEventsAndEndsCleanly(t *testing.T) {
	bbs := newFakeBBS(t)
	hub := events.NewHub()
	bbs.setHandler(hubHandler(hub))
	c := bbs.client(t, nil)
	src, err := c.SubscribeToTaskEvents(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	hub.Emit(events.WithName("task_teleported", &models.TaskCreatedEvent{Task: &models.Task{TaskGuid: "x"}}))
	hub.Emit(taskCreated("t2"))
	if _, err := nextWithin(t, src); !errors.Is(err, events.ErrUnrecognizedEventType) {
		t.Fatalf("unknown event: %v", err)
	}
	ev, err := nextWithin(t, src)
	if err != nil || taskGuid(t, ev) != "t2" {
		t.Fatalf("after the unknown event: %v", err)
	}
	changed := &models.TaskChangedEvent{Before: &models.Task{TaskGuid: "t2", State: models.Task_Pending}, After: &models.Task{TaskGuid: "t2", State: models.Task_Running}}
	hub.Emit(events.WithName("task_changed", changed))
	ev, err = nextWithin(t, src)
	if err != nil || !proto.Equal(events.Message(ev), changed) {
		t.Fatalf("task_changed: %v %v", ev, err)
	}

	hub.Close() // the BBS stops
	for range 2 {
		if _, err := nextWithin(t, src); err != io.EOF {
			t.Fatalf("after the hub closed: %v, want io.EOF", err)
		}
	}
	if n := len(bbs.requests()); n != 1 {
		t.Fatalf("%d connections, want 1 (a clean end is not retried)", n)
	}
}

func TestStreamReconnectsSilentlyAfterABreak(t *testing.T) {
	bbs := newFakeBBS(t)
	var conns atomic.Int32
	bbs.setHandler(func(w http.ResponseWriter, r *http.Request, _ []byte) {
		n := conns.Add(1)
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		frame, _ := events.AppendFrame(nil, 0, taskCreated("conn-"+string('0'+rune(n))))
		_, _ = w.Write(frame)
		_ = http.NewResponseController(w).Flush()
		if n == 1 {
			hangUp(w) // the connection breaks mid-stream
			return
		}
		<-r.Context().Done()
	})
	c := bbs.client(t, nil)
	ctx := WithRequestID(testContext(t), "stream-trace")
	src, err := c.SubscribeToInstanceEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, want := range []string{"conn-1", "conn-2"} {
		ev, err := nextWithin(t, src)
		if err != nil {
			t.Fatalf("waiting for %s: %v", want, err)
		}
		if g := taskGuid(t, ev); g != want {
			t.Fatalf("guid %q, want %q", g, want)
		}
	}
	reqs := bbs.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d connections, want 2", len(reqs))
	}
	if reqs[0].lastEventID != "" || reqs[1].lastEventID != "0" {
		t.Fatalf("Last-Event-ID %q then %q, want none then 0", reqs[0].lastEventID, reqs[1].lastEventID)
	}
	for _, r := range reqs {
		if r.requestID != "stream-trace" {
			t.Fatalf("X-Vcap-Request-Id %q", r.requestID)
		}
	}
}

func TestStreamGivesUpReconnectingAfterRetries(t *testing.T) {
	bbs := newFakeBBS(t)
	var conns atomic.Int32
	bbs.setHandler(func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if conns.Add(1) > 1 {
			hangUp(w)
			return
		}
		w.WriteHeader(http.StatusOK)
		frame, _ := events.AppendFrame(nil, 0, taskCreated("only"))
		_, _ = w.Write(frame)
		_ = http.NewResponseController(w).Flush()
		hangUp(w)
	})
	c := bbs.client(t, func(cfg *Config) { cfg.Retries = 2 })
	src, err := c.SubscribeToTaskEvents(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := nextWithin(t, src); err != nil {
		t.Fatal(err)
	}
	_, err = nextWithin(t, src)
	if err == nil || err == io.EOF || errors.Is(err, ErrSourceClosed) {
		t.Fatalf("error %v, want a connection error", err)
	}
	if n := conns.Load(); n != 1+3 {
		t.Fatalf("%d connections, want 1 + retries+1", n)
	}
}

func TestSubscribeRetries(t *testing.T) {
	t.Run("connection errors up to the retries", func(t *testing.T) {
		bbs := newFakeBBS(t)
		bbs.setHandler(func(w http.ResponseWriter, _ *http.Request, _ []byte) { hangUp(w) })
		c := bbs.client(t, func(cfg *Config) { cfg.Retries = 2 })
		if _, err := c.SubscribeToTaskEvents(testContext(t)); err == nil {
			t.Fatal("subscribed to a server that hangs up")
		}
		if n := len(bbs.requests()); n != 3 {
			t.Fatalf("%d attempts, want retries+1 = 3", n)
		}
	})
	t.Run("5xx without limit", func(t *testing.T) {
		bbs := newFakeBBS(t)
		hub := events.NewHub()
		defer hub.Close()
		var n atomic.Int32
		codes := []int{500, 502, 503, 504, 503, 503}
		stream := hubHandler(hub)
		bbs.setHandler(func(w http.ResponseWriter, r *http.Request, body []byte) {
			if i := int(n.Add(1)) - 1; i < len(codes) {
				w.WriteHeader(codes[i])
				return
			}
			stream(w, r, body)
		})
		c := bbs.client(t, func(cfg *Config) { cfg.Retries = 1 })
		src, err := c.SubscribeToInstanceEvents(testContext(t))
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		if got := len(bbs.requests()); got != len(codes)+1 {
			t.Fatalf("%d attempts, want %d", got, len(codes)+1)
		}
	})
	t.Run("other statuses fail at once", func(t *testing.T) {
		for _, code := range []int{http.StatusNotFound, http.StatusBadRequest, http.StatusMethodNotAllowed} {
			bbs := newFakeBBS(t)
			bbs.setHandler(status(code))
			c := bbs.client(t, nil)
			_, err := c.SubscribeToInstanceEvents(testContext(t))
			var e *models.Error
			if !errors.As(err, &e) || e.GetType() != models.Error_InvalidResponse {
				t.Fatalf("status %d: %v", code, err)
			}
			if n := len(bbs.requests()); n != 1 {
				t.Fatalf("status %d: %d attempts, want 1", code, n)
			}
		}
	})
	t.Run("context ends the retries", func(t *testing.T) {
		bbs := newFakeBBS(t)
		ctx, cancel := context.WithCancel(testContext(t))
		bbs.setHandler(func(w http.ResponseWriter, _ *http.Request, _ []byte) {
			cancel()
			w.WriteHeader(http.StatusServiceUnavailable)
		})
		c := bbs.client(t, func(cfg *Config) { cfg.StreamRetryInterval = time.Hour })
		if _, err := c.SubscribeToTaskEvents(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
	})
}

func TestCloseInterruptsNext(t *testing.T) {
	bbs := newFakeBBS(t)
	hub := events.NewHub()
	defer hub.Close()
	bbs.setHandler(hubHandler(hub))
	c := bbs.client(t, nil)
	src, err := c.SubscribeToTaskEvents(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		_, err := src.Next()
		ch <- err
	})
	// Next blocks: nothing is emitted. Close must end it.
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ch:
		if !errors.Is(err, ErrSourceClosed) {
			t.Fatalf("Next returned %v, want ErrSourceClosed", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not interrupt Next")
	}
	wg.Wait()
	if _, err := src.Next(); !errors.Is(err, ErrSourceClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	if err := src.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	waitUntil(t, "the server to see the client leave", func() bool { return hub.SubscriberCount() == 0 })
}

func TestContextEndsTheStream(t *testing.T) {
	bbs := newFakeBBS(t)
	hub := events.NewHub()
	defer hub.Close()
	bbs.setHandler(hubHandler(hub))
	c := bbs.client(t, nil)
	ctx, cancel := context.WithCancel(testContext(t))
	src, err := c.SubscribeToTaskEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	cancel()
	if _, err := nextWithin(t, src); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after the context ended: %v", err)
	}
}
