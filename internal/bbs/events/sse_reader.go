package events

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"github.com/diego-go/diego/internal/models"
)

// MaxEventSize bounds one event's data as read by a Reader (the largest
// legal DesiredLRP, base64-encoded, is a few MiB).
const MaxEventSize = 64 << 20

var (
	// ErrUnrecognizedEventType: the event's name is not one the BBS sends.
	// Consumers skip such events. Decode returns an
	// *UnrecognizedEventTypeError, which matches it with errors.Is.
	ErrUnrecognizedEventType = errors.New("unrecognized event type")
	// ErrNoData: the event's data decoded to zero bytes.
	ErrNoData = errors.New("event with no data")
	// ErrEventTooLarge: an event line or its data exceeded MaxEventSize.
	ErrEventTooLarge = errors.New("event too large")
)

// UnrecognizedEventTypeError names the event type Decode did not know.
type UnrecognizedEventTypeError struct {
	EventType string
}

func (e *UnrecognizedEventTypeError) Error() string {
	return fmt.Sprintf("unrecognized event type %q", e.EventType)
}

// Is makes errors.Is(err, ErrUnrecognizedEventType) true.
func (e *UnrecognizedEventTypeError) Is(target error) bool {
	return target == ErrUnrecognizedEventType
}

// InvalidPayloadError is an event whose data is not base64 of a protobuf of
// the named type, or is empty (Err is ErrNoData).
type InvalidPayloadError struct {
	EventType string
	Err       error
}

func (e *InvalidPayloadError) Error() string {
	return fmt.Sprintf("invalid protobuf payload of type %s: %v", e.EventType, e.Err)
}

func (e *InvalidPayloadError) Unwrap() error { return e.Err }

// RawEvent is one server-sent event before decoding.
type RawEvent struct {
	ID   string
	Name string
	Data []byte
}

// Reader parses a server-sent event stream. It accepts the whole format
// (comments, CRLF line ends, several data lines, fields without a value),
// not only what the BBS writes.
type Reader struct {
	br     *bufio.Reader
	line   []byte
	lastID string
}

// NewReader reads events from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 32<<10)}
}

// Next returns the next event that has data. A stream that ends, cleanly
// or inside an event, yields io.EOF; other read errors are returned as
// they are.
func (r *Reader) Next() (RawEvent, error) {
	ev := RawEvent{ID: r.lastID}
	var data []byte
	hasData, hasID := false, false
	for {
		line, err := r.readLine()
		if err != nil {
			return RawEvent{}, err
		}
		if len(line) == 0 {
			if !hasData {
				// An event without data is not dispatched.
				ev, hasID = RawEvent{ID: r.lastID}, false
				continue
			}
			if hasID {
				r.lastID = ev.ID
			}
			ev.Data = data
			return ev, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		switch string(field) {
		case "id":
			ev.ID, hasID = string(value), true
		case "event":
			ev.Name = string(value)
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			hasData = true
			if len(data) > MaxEventSize {
				return RawEvent{}, ErrEventTooLarge
			}
		}
	}
}

// readLine returns the next line without its line end. The slice is valid
// until the next call.
func (r *Reader) readLine() ([]byte, error) {
	r.line = r.line[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			r.line = append(r.line, chunk...)
			if len(r.line) > MaxEventSize {
				return nil, ErrEventTooLarge
			}
			continue
		}
		if err != nil {
			// A line cut off by the end of the stream is dropped with the
			// event it belonged to.
			return nil, err
		}
		line := chunk
		if len(r.line) > 0 {
			r.line = append(r.line, chunk...)
			line = r.line
		}
		line = line[:len(line)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		return line, nil
	}
}

// Decode turns a raw event into its message: base64-decodes the data
// (nothing decoded → *InvalidPayloadError wrapping ErrNoData), picks the message type
// by the event name (unknown → *UnrecognizedEventTypeError) and unmarshals.
func Decode(raw RawEvent) (Event, error) {
	payload, err := base64.StdEncoding.DecodeString(string(raw.Data))
	if len(payload) == 0 {
		return nil, &InvalidPayloadError{EventType: raw.Name, Err: ErrNoData}
	}
	if err != nil {
		return nil, &InvalidPayloadError{EventType: raw.Name, Err: err}
	}
	msg, ok := NewMessage(raw.Name)
	if !ok {
		return nil, &UnrecognizedEventTypeError{EventType: raw.Name}
	}
	if err := models.Unmarshal(payload, msg); err != nil {
		return nil, &InvalidPayloadError{EventType: raw.Name, Err: err}
	}
	return asEvent(raw.Name, msg), nil
}
