package client

import (
	"context"
	"fmt"
	"os"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/clock"
	"github.com/diego-go/diego/internal/locket/locketpb"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Runner holds a lock or a presence in locket. It is an ifrit runner that
// becomes ready the first time the resource is acquired and then refreshes
// it every RetryInterval, each call bounded by RetryInterval.
//
// A lock runner (NewLockRunner) returns an error as soon as a refresh of a
// held lock fails, which ends the daemon: two active BBSes must never
// overlap. A presence runner (NewPresenceRunner) keeps trying instead. On a
// signal the runner releases the resource once and returns.
type Runner struct {
	logger         lager.Logger
	client         locketpb.LocketClient
	resource       *locketpb.Resource
	ttlInSeconds   int64
	clock          clock.Clock
	retryInterval  time.Duration
	exitOnLostLock bool
	// OnChange, if set, is told whenever the resource is acquired or lost.
	OnChange func(held bool)
}

// NewLockRunner returns a runner that exits when it loses the lock.
func NewLockRunner(logger lager.Logger, c locketpb.LocketClient, res *locketpb.Resource, ttlInSeconds int64, clk clock.Clock, retryInterval time.Duration) *Runner {
	return &Runner{logger: logger, client: c, resource: res, ttlInSeconds: ttlInSeconds, clock: clk, retryInterval: retryInterval, exitOnLostLock: true}
}

// NewPresenceRunner returns a runner that keeps trying when it loses the
// presence.
func NewPresenceRunner(logger lager.Logger, c locketpb.LocketClient, res *locketpb.Resource, ttlInSeconds int64, clk clock.Clock, retryInterval time.Duration) *Runner {
	return &Runner{logger: logger, client: c, resource: res, ttlInSeconds: ttlInSeconds, clock: clk, retryInterval: retryInterval}
}

// LostLockError is returned by a lock runner that lost its lock.
type LostLockError struct {
	Err         error
	RequestUUID string
}

func (e *LostLockError) Error() string {
	why := "request failed"
	if status.Code(e.Err) == codes.DeadlineExceeded {
		why = "request timed out"
	}
	return fmt.Sprintf("lost lock (%s), request-uuid %s: %v", why, e.RequestUUID, e.Err)
}

func (e *LostLockError) Unwrap() error { return e.Err }

func withRequestUUID(ctx context.Context) (context.Context, string) {
	id := uuid.NewString()
	return metadata.AppendToOutgoingContext(ctx, "uuid", id), id
}

// Run implements ifrit.Runner.
func (r *Runner) Run(signals <-chan os.Signal, ready chan<- struct{}) error {
	logger := r.logger.Session("locket-lock", lager.Data{"key": r.resource.GetKey(), "owner": r.resource.GetOwner(), "type-code": r.resource.GetTypeCode(), "ttl_in_seconds": r.ttlInSeconds})
	logger.Info("started")
	defer logger.Info("completed")

	req := &locketpb.LockRequest{Resource: r.resource, TtlInSeconds: r.ttlInSeconds}
	held, isReady := false, false
	setHeld := func(h bool) {
		held = h
		if r.OnChange != nil {
			r.OnChange(h)
		}
	}

	// The first attempt neither waits for a connection nor has a deadline.
	ctx, id := withRequestUUID(context.Background())
	if _, err := r.client.Lock(ctx, req); err != nil {
		data := lager.Data{"request-uuid": id}
		if resp, ferr := r.client.Fetch(ctx, &locketpb.FetchRequest{Key: r.resource.GetKey()}); ferr == nil {
			data["lock-owner"] = resp.GetResource().GetOwner()
		}
		if status.Code(err) == codes.AlreadyExists {
			logger.Info("lock-held-by-another-owner", data)
		} else {
			logger.Error("failed-to-acquire-lock", err, data)
		}
	} else {
		logger.Info("acquired-lock")
		setHeld(true)
		close(ready)
		isReady = true
	}

	retry := r.clock.NewTimer(r.retryInterval)
	defer retry.Stop()
	for {
		select {
		case sig := <-signals:
			logger.Info("signalled", lager.Data{"signal": sig.String()})
			ctx, cancel := context.WithTimeout(context.Background(), r.retryInterval)
			_, err := r.client.Release(ctx, &locketpb.ReleaseRequest{Resource: r.resource})
			cancel()
			if err != nil {
				logger.Error("failed-to-release-lock", err)
			} else {
				logger.Info("released-lock")
			}
			return nil
		case <-retry.C():
			ctx, id := withRequestUUID(context.Background())
			ctx, cancel := context.WithTimeout(ctx, r.retryInterval)
			start := time.Now()
			_, err := r.client.Lock(ctx, req, grpc.WaitForReady(true))
			cancel()
			switch {
			case err != nil && held:
				logger.Error("lost-lock", err, lager.Data{"request-uuid": id, "duration": time.Since(start).String()})
				if r.exitOnLostLock {
					return &LostLockError{Err: err, RequestUUID: id}
				}
				setHeld(false)
			case err != nil:
				if status.Code(err) != codes.AlreadyExists {
					logger.Error("failed-to-acquire-lock", err, lager.Data{"request-uuid": id, "duration": time.Since(start).String()})
				}
			case !held:
				logger.Info("acquired-lock")
				setHeld(true)
				if !isReady {
					close(ready)
					isReady = true
				}
			}
			retry.Reset(r.retryInterval)
		}
	}
}
