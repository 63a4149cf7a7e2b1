package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/bbs/cells"
	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/bbs/controllers"
	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/bbs/routes"
	"github.com/diego-go/diego/internal/models"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Deps are what the API needs.
type Deps struct {
	Logger      lager.Logger
	DB          *db.DB
	Controllers *controllers.Controllers
	Hubs        controllers.Hubs
	Cells       cells.Lookup
	Metrics     *Metrics
	Gate        *Gate
	// MaxBodyBytes bounds request bodies.
	MaxBodyBytes int64
	// Unrecoverable is told about a storage error the server cannot go on
	// after (a missing table); the daemon stops.
	Unrecoverable func(error)
}

// routeFunc serves one route.
type routeFunc func(logger lager.Logger, w http.ResponseWriter, r *http.Request)

// api is the set of route handlers.
type api struct {
	Deps
}

// New returns the API: every route of the reference behind the migration
// gate, with metrics and a logging session per request. Unknown paths get a
// plain 404 and known paths with another method a 405 with Allow, as the
// reference's router does.
func New(d Deps) (http.Handler, error) {
	a := &api{Deps: d}
	table := a.table()
	mux := http.NewServeMux()
	for _, rt := range routes.All() {
		f, ok := table[rt.Name]
		if !ok {
			return nil, fmt.Errorf("handlers: no handler for route %s", rt.Name)
		}
		var h http.Handler = withLogger(d.Logger, rt.Name, f)
		if d.Metrics != nil {
			h = d.Metrics.Wrap(rt.Name, rt.Stream, h)
		}
		mux.Handle(rt.Method+" "+rt.Path, h)
	}
	var out http.Handler = mux
	if d.Gate != nil {
		out = d.Gate.Wrap(out)
	}
	return out, nil
}

// requestContext carries the caller's trace id to controllers, events and
// outbound calls.
func requestContext(r *http.Request) context.Context {
	return bbsclient.WithRequestID(r.Context(), r.Header.Get(RequestIDHeader))
}

// validator is a request with the reference's validation.
type validator interface {
	Validate() error
}

// unary serves the common shape of a route: decode req (a bad body is the
// reference's bad request), validate it, run fn, and answer resp with the
// error, if any, in field 1.
func (a *api) unary(logger lager.Logger, w http.ResponseWriter, r *http.Request, req, resp proto.Message, fn func(ctx context.Context) error) {
	err := readRequest(r, req, a.MaxBodyBytes)
	if err == nil {
		if v, ok := req.(validator); ok {
			err = v.Validate()
		}
		if err != nil {
			logger.Error("invalid-request", err)
		}
	} else {
		logger.Error("failed-to-parse-request", err)
	}
	if err == nil {
		err = fn(requestContext(r))
	}
	a.respond(logger, w, resp, err)
}

// unaryEncoded is unary for the bulk lists: fn sends the list, already
// encoded as the response's repeated field, to a sink, and that is the
// whole body on success. The first streamThreshold bytes are held, so a
// failure before then is still an in-band error; past it the body streams
// (chunked, as the reference's large answers are too), and a failure
// aborts the connection, which the client sees as a failed request.
func (a *api) unaryEncoded(logger lager.Logger, w http.ResponseWriter, r *http.Request, req, resp proto.Message, fn func(ctx context.Context, sink db.Sink) error) {
	body := &streamedBody{w: w}
	a.unary(logger, w, r, req, &encodedResponse{Message: resp, body: body}, func(ctx context.Context) error {
		err := fn(ctx, body.write)
		if err != nil && body.started {
			logger.Error("failed-while-streaming", err)
			panic(http.ErrAbortHandler)
		}
		return err
	})
}

// streamThreshold is how much of a bulk list is held before streaming.
var streamThreshold = 4 << 20 // a variable for the tests

// streamedBody writes a bulk list: held up to streamThreshold, then streamed.
type streamedBody struct {
	w       http.ResponseWriter
	held    []byte
	started bool
}

func (b *streamedBody) write(p []byte) error {
	if !b.started {
		b.held = append(b.held, p...)
		if len(b.held) < streamThreshold {
			return nil
		}
		b.started = true
		b.w.Header().Set("Content-Type", ProtobufContentType)
		b.w.WriteHeader(http.StatusOK)
		p, b.held = b.held, nil
	}
	_, err := b.w.Write(p)
	return err
}

// finish ends a successful list.
func (b *streamedBody) finish() {
	if b.started {
		return
	}
	b.w.Header().Set("Content-Type", ProtobufContentType)
	b.w.Header().Set("Content-Length", strconv.Itoa(len(b.held)))
	b.w.WriteHeader(http.StatusOK)
	_, _ = b.w.Write(b.held)
}

// encodedResponse lets unary's respond finish a bulk list.
type encodedResponse struct {
	proto.Message
	body *streamedBody
}

// respond writes resp with err in its error field.
func (a *api) respond(logger lager.Logger, w http.ResponseWriter, resp proto.Message, err error) {
	if err != nil {
		e := wireError(err)
		setError(resp, e)
		if e.GetType() == models.Error_Unrecoverable && a.Unrecoverable != nil {
			logger.Error("unrecoverable-error", err)
			a.Unrecoverable(err)
		}
	}
	if e, ok := resp.(*encodedResponse); ok {
		if err == nil {
			e.body.finish()
			return
		}
		resp = e.Message
	}
	writeResponse(w, logger, resp)
}

// setError sets field 1, the error of every BBS response.
func setError(resp proto.Message, e *models.Error) {
	m := resp.ProtoReflect()
	fd := m.Descriptor().Fields().ByNumber(1)
	if fd == nil || fd.Message() == nil || fd.Message().FullName() != "models.Error" {
		return
	}
	m.Set(fd, protoreflect.ValueOfMessage(e.ProtoReflect()))
}

// isNotFound reports whether err is the ResourceNotFound error.
func isNotFound(err error) bool {
	return errors.Is(err, models.ErrResourceNotFound)
}
