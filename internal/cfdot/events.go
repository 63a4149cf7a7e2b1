package cfdot

import (
	"errors"
	"fmt"
	"io"
	"strings"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/bbs/events"
	"github.com/diego-go/diego/internal/models"
)

// eventLine is one line of lrp-events and task-events.
type eventLine struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

// streamItem is what a stream reader hands over: an event or the error
// that ended the stream.
type streamItem struct {
	event  events.Event
	err    error
	source int // index of the stream
}

// readStream forwards the events of src until it ends. Events the client
// cannot decode are skipped; the stream goes on after them. done closes
// when the consumer stops listening.
func readStream(src *bbsclient.EventSource, source int, to chan<- streamItem, done <-chan struct{}) {
	for {
		ev, err := src.Next()
		var unknown *events.UnrecognizedEventTypeError
		var invalid *events.InvalidPayloadError
		if errors.As(err, &unknown) || errors.As(err, &invalid) {
			continue
		}
		select {
		case to <- streamItem{event: ev, err: err, source: source}:
		case <-done:
			return
		}
		if err != nil {
			return
		}
	}
}

// subscribeErr is a failure to open an event stream: always reported as a
// BBS error, as the reference does.
func subscribeErr(err error) error {
	var bbsErr *models.Error
	if !errors.As(err, &bbsErr) {
		bbsErr = models.NewError(models.Error_UnknownError, err.Error())
	}
	return commandErr(bbsErr)
}

// streamErrors is what ended the streams: nil if every stream ended
// cleanly, else the errors listed.
func streamErrors(errs []error) error {
	var failed []error
	for _, err := range errs {
		if !errors.Is(err, io.EOF) {
			failed = append(failed, err)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	var b strings.Builder
	if len(failed) == 1 {
		b.WriteString("1 error occurred:\n")
	} else {
		fmt.Fprintf(&b, "%d errors occurred:\n", len(failed))
	}
	for _, err := range failed {
		fmt.Fprintf(&b, "\t* %s\n", err)
	}
	b.WriteString("\n")
	return commandErr(errors.New(b.String()))
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }
