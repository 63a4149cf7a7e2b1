package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/diego-go/diego/internal/bbs/events"
	"github.com/diego-go/diego/internal/bbs/routes"
	"github.com/diego-go/diego/internal/models"
)

// ErrSourceClosed is returned by Next during or after Close.
var ErrSourceClosed = errors.New("bbs client: event source closed")

// SubscribeToInstanceEvents streams desired LRP and actual LRP instance
// events (`/v1/events/lrp_instances.r1`).
func (c *Client) SubscribeToInstanceEvents(ctx context.Context) (*EventSource, error) {
	return c.Subscribe(ctx, routes.LRPInstanceEventStream, "")
}

// SubscribeToInstanceEventsByCellID is SubscribeToInstanceEvents with the
// actual LRP events limited to cellID (desired LRP events all pass).
func (c *Client) SubscribeToInstanceEventsByCellID(ctx context.Context, cellID string) (*EventSource, error) {
	return c.Subscribe(ctx, routes.LRPInstanceEventStream, cellID)
}

// SubscribeToTaskEvents streams task events (`/v1/events/tasks.r1`).
func (c *Client) SubscribeToTaskEvents(ctx context.Context) (*EventSource, error) {
	return c.Subscribe(ctx, routes.TaskEventStream, "")
}

// SubscribeToEvents streams desired LRP and actual LRP group events
// (`GET /v1/events.r1`).
//
// Deprecated: use SubscribeToInstanceEvents.
func (c *Client) SubscribeToEvents(ctx context.Context) (*EventSource, error) {
	return c.Subscribe(ctx, routes.LRPGroupEventStream, "")
}

// SubscribeToEventsByCellID is SubscribeToEvents limited to cellID.
//
// Deprecated: use SubscribeToInstanceEventsByCellID.
func (c *Client) SubscribeToEventsByCellID(ctx context.Context, cellID string) (*EventSource, error) {
	return c.Subscribe(ctx, routes.LRPGroupEventStream, cellID)
}

// Subscribe opens the event stream route called name (one of the Stream
// routes of the table, including the deprecated r0 streams), sending
// cellID as the stream's cell filter. It returns once the BBS has answered
// 200. Connection errors are retried Retries times and 500, 502, 503 and
// 504 answers without limit, StreamRetryInterval apart; another status
// fails with an InvalidResponse error.
//
// ctx bounds the whole subscription: when it ends, the source ends as if
// closed. The caller must Close the source.
func (c *Client) Subscribe(ctx context.Context, name string, cellID string) (*EventSource, error) {
	route, err := routeByName(name)
	if err != nil {
		return nil, err
	}
	if !route.Stream {
		return nil, fmt.Errorf("bbs client: %s is not an event stream", name)
	}
	body, err := models.Marshal(&models.EventsByCellId{CellId: cellID})
	if err != nil {
		return nil, fmt.Errorf("bbs client: encoding stream request: %w", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	s := &EventSource{c: c, route: route, body: body, requestID: requestIDFor(ctx), ctx: sctx, cancel: cancel}
	if err := s.connect(); err != nil {
		cancel()
		return nil, err
	}
	return s, nil
}

// EventSource is an open event stream. Next is for one goroutine; Close
// may be called from any.
//
// A connection that breaks mid-stream is re-established silently after
// StreamRetryInterval (events in between are lost: the BBS does not
// replay); a stream the BBS ends cleanly (it is shutting down, or this
// subscriber was too slow) makes Next return io.EOF, after which the
// consumer resubscribes and re-syncs by listing.
type EventSource struct {
	c         *Client
	route     routes.Route
	body      []byte
	requestID string
	ctx       context.Context
	cancel    context.CancelFunc

	// Owned by the goroutine calling Next.
	reader *events.Reader
	lastID string
	ended  bool

	closed atomic.Bool
	mu     sync.Mutex    // guards resp against Close
	resp   io.ReadCloser // body of the current connection
}

// Next returns the next event. Events of a type this client does not know
// come back as an error matching events.ErrUnrecognizedEventType, which
// consumers skip; a payload that does not decode is an
// *events.InvalidPayloadError. The stream goes on after both.
func (s *EventSource) Next() (events.Event, error) {
	for {
		if s.closed.Load() {
			return nil, ErrSourceClosed
		}
		if s.ended {
			return nil, io.EOF
		}
		if s.reader == nil {
			if err := s.connect(); err != nil {
				return nil, s.stopped(fmt.Errorf("bbs client: reconnecting to %s: %w", s.route.Path, err))
			}
		}
		raw, err := s.reader.Next()
		if err == nil {
			s.lastID = raw.ID
			return events.Decode(raw)
		}
		s.dropConnection()
		if errors.Is(err, io.EOF) {
			s.ended = true
			if ctxErr := s.ctx.Err(); ctxErr != nil {
				// The transport may report a body cut short by the
				// context as a clean end; the context is why.
				return nil, s.stopped(ctxErr)
			}
			return nil, s.stopped(io.EOF)
		}
		if errors.Is(err, events.ErrEventTooLarge) {
			return nil, s.stopped(err)
		}
		// The connection broke: wait, then reconnect on the next turn.
		if !sleep(s.ctx, s.c.streamRetryInterval) {
			return nil, s.stopped(s.ctx.Err())
		}
	}
}

// Close ends the stream and interrupts a Next in progress. It is safe to
// call more than once.
func (s *EventSource) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resp != nil {
		_ = s.resp.Close()
		s.resp = nil
	}
	return nil
}

// stopped returns err, or ErrSourceClosed if the source was closed (which
// is why err happened), or ctx's error if the caller's context ended.
func (s *EventSource) stopped(err error) error {
	if s.closed.Load() {
		return ErrSourceClosed
	}
	if ctxErr := s.ctx.Err(); ctxErr != nil && !errors.Is(err, io.EOF) {
		return ctxErr
	}
	return err
}

func (s *EventSource) dropConnection() {
	s.reader = nil
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resp != nil {
		_ = s.resp.Close()
		s.resp = nil
	}
}

// connect opens a connection, retrying as Subscribe describes.
func (s *EventSource) connect() error {
	failures := 0
	for {
		res, err := s.open()
		switch {
		case err != nil:
			if s.ctx.Err() != nil {
				return s.stopped(s.ctx.Err())
			}
			failures++
			if failures > s.c.retries {
				return transportError(err)
			}
		case res.StatusCode == http.StatusOK:
			return s.install(res)
		case retryableStatus(res.StatusCode):
			drain(res.Body)
			_ = res.Body.Close()
		default:
			drain(res.Body)
			_ = res.Body.Close()
			return models.NewError(models.Error_InvalidResponse, fmt.Sprintf(InvalidResponseMessage, res.StatusCode))
		}
		if !sleep(s.ctx, s.c.streamRetryInterval) {
			return s.stopped(s.ctx.Err())
		}
	}
}

func (s *EventSource) open() (*http.Response, error) {
	req, err := http.NewRequestWithContext(s.ctx, s.route.Method, s.c.baseURL+s.route.Path, bytes.NewReader(s.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", routes.ProtobufContentType)
	req.Header.Set(routes.RequestIDHeader, s.requestID)
	if s.lastID != "" {
		req.Header.Set("Last-Event-ID", s.lastID)
	}
	return s.c.stream.Do(req)
}

func (s *EventSource) install(res *http.Response) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		_ = res.Body.Close()
		return ErrSourceClosed
	}
	s.resp = res.Body
	s.reader = events.NewReader(res.Body)
	return nil
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}
