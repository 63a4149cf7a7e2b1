package events

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"

	"github.com/diego-go/diego/internal/models"
)

// StreamOptions adjust what Stream writes.
type StreamOptions struct {
	// Keep, if set, drops the events it returns false for (the cell filter
	// of the LRP streams).
	Keep func(Event) bool
	// Convert, if set, replaces each kept event before it is written (the
	// model down-conversion of the deprecated streams). Events are shared
	// between subscribers: Convert must return a new event, not change ev.
	Convert func(Event) Event
}

// maxDrain bounds how much of an unread request body Stream discards.
const maxDrain = 64 << 10

// Stream answers an event-stream request: it writes the §2.2 headers, then
// every event arriving on subs as one SSE frame
//
//	id: <n>\nevent: <name>\ndata: <base64 of the protobuf>\n\n
//
// with n counting from 0 on this connection, flushing after each frame.
// It returns when the client goes away (the request's context ends), when
// any subscription ends (ErrSlowConsumer, ErrHubClosed, ...; the events it
// buffered before are written first), or when a write fails. Returning
// lets the server end the response with the final empty chunk, which
// clients read as a clean end of stream.
//
// Stream does not close subs; their owner does.
func Stream(w http.ResponseWriter, r *http.Request, opts StreamOptions, subs ...*Subscription) error {
	if len(subs) == 0 {
		return errors.New("events: stream without a subscription")
	}
	// Go's server notices a client hanging up only once the request body
	// has been read to its end, so read what the handler left.
	_, _ = io.CopyN(io.Discard, r.Body, maxDrain)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	if r.ProtoMajor == 1 { // connection-specific headers are invalid in HTTP/2
		h.Set("Connection", "keep-alive")
		h.Set("Transfer-Encoding", "chunked")
	}
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return err
	}

	ctx := r.Context()
	next := receiver(subs)
	var frame []byte
	for id := 0; ; {
		ev, err := next(ctx)
		if err != nil {
			return err
		}
		if opts.Keep != nil && !opts.Keep(ev) {
			continue
		}
		if opts.Convert != nil {
			if ev = opts.Convert(ev); ev == nil {
				continue
			}
		}
		frame, err = AppendFrame(frame[:0], id, ev)
		if err != nil {
			return err
		}
		if _, err := w.Write(frame); err != nil {
			return err
		}
		if err := rc.Flush(); err != nil {
			return err
		}
		id++
	}
}

// AppendFrame appends the SSE frame of ev with the given id to dst.
func AppendFrame(dst []byte, id int, ev Event) ([]byte, error) {
	payload, err := models.Marshal(Message(ev))
	if err != nil {
		return dst, fmt.Errorf("events: marshal %s: %w", ev.EventType(), err)
	}
	dst = append(dst, "id: "...)
	dst = strconv.AppendInt(dst, int64(id), 10)
	dst = append(dst, "\nevent: "...)
	dst = append(dst, ev.EventType()...)
	dst = append(dst, "\ndata: "...)
	dst = base64.StdEncoding.AppendEncode(dst, payload)
	dst = append(dst, "\n\n"...)
	return dst, nil
}

// receiver returns a function that waits for the next event of any of
// subs; it fails with the reason of the first subscription that ends, or
// with ctx's error.
func receiver(subs []*Subscription) func(context.Context) (Event, error) {
	if len(subs) <= 2 {
		a := subs[0]
		b := a // a second receive from a is harmless when there is one
		if len(subs) == 2 {
			b = subs[1]
		}
		return func(ctx context.Context) (Event, error) {
			select {
			case ev, ok := <-a.ch:
				if !ok {
					return nil, a.reason
				}
				return ev, nil
			case ev, ok := <-b.ch:
				if !ok {
					return nil, b.reason
				}
				return ev, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	cases := make([]reflect.SelectCase, len(subs)+1)
	for i, s := range subs {
		cases[i] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(s.ch)}
	}
	return func(ctx context.Context) (Event, error) {
		cases[len(subs)] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())}
		i, v, ok := reflect.Select(cases)
		if i == len(subs) {
			return nil, ctx.Err()
		}
		if !ok {
			return nil, subs[i].reason
		}
		ev, _ := v.Interface().(Event)
		return ev, nil
	}
}
