// Package server is the locket gRPC service: request validation, the
// reference's error codes, request metrics, the expiry hook, and the runner
// that serves it over mutual TLS.
package server

import (
	"context"
	"errors"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/locket"
	"github.com/diego-go/diego/internal/locket/locketpb"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Store is the lock storage the handler uses.
type Store interface {
	Lock(ctx context.Context, res *locketpb.Resource, ttl int64) (*locket.Lock, error)
	Release(ctx context.Context, res *locketpb.Resource) error
	Fetch(ctx context.Context, key string) (*locket.Lock, error)
	FetchAll(ctx context.Context, typ string) ([]*locket.Lock, error)
}

// Registrar arms the expiry timer of a lock just written.
type Registrar interface {
	Register(lock *locket.Lock)
}

// ErrorMapper turns a storage error into the wire error the reference
// returns, and says whether the server must stop (a missing table).
type ErrorMapper func(error) (wire error, unrecoverable bool)

// Handler implements locketpb.LocketServer.
type Handler struct {
	Logger    lager.Logger
	Store     Store
	Expiry    Registrar
	Metrics   *RequestMetrics
	MapError  ErrorMapper
	OpTimeout time.Duration
	// Unrecoverable is called once storage reports an unrecoverable error;
	// the daemon shuts down.
	Unrecoverable func(error)
}

var _ locketpb.LocketServer = (*Handler)(nil)

// Lock acquires or refreshes a lock or presence.
func (h *Handler) Lock(ctx context.Context, req *locketpb.LockRequest) (*locketpb.LockResponse, error) {
	res := req.GetResource()
	err := h.serve(ctx, "Lock", res.GetKey(), res.GetOwner(), func(logger lager.Logger, dbCtx context.Context) error {
		if res == nil {
			return locket.ErrInvalidResource
		}
		if !locket.ValidTypeCode(res.GetTypeCode()) {
			logger.Error("invalid-request", locket.ErrInvalidType, lager.Data{"type-code": res.GetTypeCode()})
			return locket.ErrInvalidType
		}
		if req.GetTtlInSeconds() <= 0 {
			logger.Error("failed-locking-lock", locket.ErrInvalidTTL)
			return locket.ErrInvalidTTL
		}
		if res.GetOwner() == "" {
			logger.Error("failed-locking-lock", locket.ErrInvalidOwner)
			return locket.ErrInvalidOwner
		}
		lock, err := h.Store.Lock(dbCtx, res, req.GetTtlInSeconds())
		if err != nil {
			if !errors.Is(err, locket.ErrLockCollision) {
				logger.Error("failed-locking-lock", err)
			}
			return err
		}
		h.Expiry.Register(lock)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &locketpb.LockResponse{}, nil
}

// Release deletes a lock held by the request's owner. A missing lock is
// released already.
func (h *Handler) Release(ctx context.Context, req *locketpb.ReleaseRequest) (*locketpb.ReleaseResponse, error) {
	res := req.GetResource()
	err := h.serve(ctx, "Release", res.GetKey(), res.GetOwner(), func(logger lager.Logger, dbCtx context.Context) error {
		if res == nil {
			return locket.ErrInvalidResource
		}
		err := h.Store.Release(dbCtx, res)
		if err != nil {
			logger.Error("failed-releasing-lock", err)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &locketpb.ReleaseResponse{}, nil
}

// Fetch returns one resource by key.
func (h *Handler) Fetch(ctx context.Context, req *locketpb.FetchRequest) (*locketpb.FetchResponse, error) {
	var out *locketpb.FetchResponse
	err := h.serve(ctx, "Fetch", req.GetKey(), "", func(logger lager.Logger, dbCtx context.Context) error {
		lock, err := h.Store.Fetch(dbCtx, req.GetKey())
		if err != nil {
			return err
		}
		out = &locketpb.FetchResponse{Resource: lock.Resource()}
		return nil
	})
	return out, err
}

// FetchAll returns every resource of one type.
func (h *Handler) FetchAll(ctx context.Context, req *locketpb.FetchAllRequest) (*locketpb.FetchAllResponse, error) {
	var out *locketpb.FetchAllResponse
	err := h.serve(ctx, "FetchAll", "", "", func(logger lager.Logger, dbCtx context.Context) error {
		if !locket.ValidTypeCode(req.GetTypeCode()) {
			logger.Error("invalid-request", locket.ErrInvalidType, lager.Data{"type-code": req.GetTypeCode()})
			return locket.ErrInvalidType
		}
		locks, err := h.Store.FetchAll(dbCtx, locket.TypeOf(req.GetTypeCode(), ""))
		if err != nil {
			return err
		}
		out = &locketpb.FetchAllResponse{Resources: make([]*locketpb.Resource, 0, len(locks))}
		for _, l := range locks {
			out.Resources = append(out.Resources, l.Resource())
		}
		return nil
	})
	return out, err
}

// serve wraps one RPC: logging session, storage deadline, metrics, and the
// conversion of storage errors to the wire. Storage work is bounded by the
// operation timeout and by the caller's context: unlike the reference, work
// for a caller that gave up is abandoned (its transaction rolls back), so an
// overloaded server sheds the backlog instead of serving requests nobody
// waits for.
func (h *Handler) serve(ctx context.Context, requestType, key, owner string, f func(lager.Logger, context.Context) error) error {
	data := lager.Data{"request-type": requestType, "key": key, "owner": owner}
	if id := requestID(ctx); id != "" {
		data["request-uuid"] = id
	}
	logger := h.Logger.Session(sessionName[requestType], data)
	logger.Debug("started")
	defer logger.Debug("complete")

	done := h.Metrics.begin(requestType)
	start := time.Now()
	dbCtx, cancel := context.WithTimeout(ctx, h.OpTimeout)
	err := f(logger, dbCtx)
	cancel()

	cancelled := errors.Is(ctx.Err(), context.Canceled)
	if cancelled {
		logger.Info("context-cancelled")
	} else if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		logger.Info("context-deadline-exceeded")
	}
	wire := h.toWire(logger, err)
	done(wire == nil || errors.Is(wire, locket.ErrLockCollision), cancelled, time.Since(start))
	return wire
}

var sessionName = map[string]string{"Lock": "lock", "Release": "release", "Fetch": "fetch", "FetchAll": "fetch-all"}

func (h *Handler) toWire(logger lager.Logger, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	wire, unrecoverable := h.MapError(err)
	if unrecoverable && h.Unrecoverable != nil {
		logger.Error("unrecoverable-error", err)
		h.Unrecoverable(err)
	}
	return wire
}

func requestID(ctx context.Context) string {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return ""
	}
	if v := md.Get("uuid"); len(v) > 0 {
		return v[0]
	}
	return ""
}
