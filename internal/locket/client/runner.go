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
// it every RetryInterval (measured from the start of the previous call),
// each call bounded by RetryInterval. On a signal it releases the resource
// once and returns.
//
// A presence runner (NewPresenceRunner) marks the presence lost on the first
// failed refresh and keeps trying, as the reference does.
//
// A lock runner (NewLockRunner) gives its lock up, returning a LostLockError
// that ends the daemon, only when the lock is really lost:
//
//   - a refresh is refused with AlreadyExists (lock-collision): another
//     owner holds the key;
//   - no refresh has been confirmed for TTL - RetryInterval: locket may let
//     the key expire soon, and another owner may then legitimately take it.
//
// Any other failure (locket restarting or unreachable, its database down, a
// call timing out) is logged and retried every RetryInterval while the lock
// is kept. The reference gives up on the first failed refresh instead, so a
// locket restart ends every lock holder.
//
// Why two holders never overlap. Locket deletes a row only from an expiry
// timer, armed for the row's current modified index after the Lock that
// wrote it committed (or later, by the burglar's scan, or with a full TTL
// after a locket restart), and the deletion is a compare-and-release that
// does nothing if the row was refreshed since. A refresh confirmed to us was
// sent at time s and committed after s, so nobody else can take the key
// before s + TTL, whatever happens to locket meanwhile; unconfirmed calls
// that did commit only push that moment later. This runner stops calling
// itself the holder at s + TTL - RetryInterval, measured on its own clock
// from the last confirmed refresh: the RetryInterval is the time the daemon
// gets to stop serving (its API listener closes at once; requests in flight
// finish) before a standby can acquire the key and start. After a locket
// restart the rows keep their owner, index and modified id and get a fresh
// TTL, so the holder's next refresh simply succeeds. A TTL of at most one
// RetryInterval leaves no margin: the lock is then given up on the first
// failed refresh, like the reference.
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

// LostLockError is returned by a lock runner that lost its lock: Err is the
// last refresh's error (lock-collision when another owner holds the key),
// and Unconfirmed how long ago the last confirmed refresh was sent.
type LostLockError struct {
	Err         error
	RequestUUID string
	Unconfirmed time.Duration
}

func (e *LostLockError) Error() string {
	why := "request failed"
	if status.Code(e.Err) == codes.DeadlineExceeded {
		why = "request timed out"
	}
	return fmt.Sprintf("lost lock (%s), request-uuid %s, no refresh confirmed for %s: %v", why, e.RequestUUID, e.Unconfirmed, e.Err)
}

func (e *LostLockError) Unwrap() error { return e.Err }

func withRequestUUID(ctx context.Context) (context.Context, string) {
	id := uuid.NewString()
	return metadata.AppendToOutgoingContext(ctx, "uuid", id), id
}

// attempt is one Lock call.
type attempt struct {
	sent time.Time // on the runner's clock, before the call
	id   string    // request uuid
	err  error
}

// lock calls Lock once. A zero timeout is the first call: no deadline, no
// waiting for a connection.
func (r *Runner) lock(req *locketpb.LockRequest, timeout time.Duration) attempt {
	ctx, id := withRequestUUID(context.Background())
	a := attempt{sent: r.clock.Now(), id: id}
	if timeout <= 0 {
		_, a.err = r.client.Lock(ctx, req)
		return a
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, a.err = r.client.Lock(ctx, req, grpc.WaitForReady(true))
	return a
}

// holding is the state of a held resource.
type holding struct {
	held      bool
	confirmed time.Time // when the last confirmed refresh was sent
	failed    *attempt  // the last refresh, if it failed
}

// giveUpAt is when a lock runner stops calling itself the holder without a
// newer confirmed refresh (see Runner).
func (r *Runner) giveUpAt(h *holding) time.Time {
	return h.confirmed.Add(time.Duration(r.ttlInSeconds)*time.Second - r.retryInterval)
}

// Run implements ifrit.Runner.
func (r *Runner) Run(signals <-chan os.Signal, ready chan<- struct{}) error {
	logger := r.logger.Session("locket-lock", lager.Data{"key": r.resource.GetKey(), "owner": r.resource.GetOwner(), "type-code": r.resource.GetTypeCode(), "ttl_in_seconds": r.ttlInSeconds})
	logger.Info("started")
	defer logger.Info("completed")

	req := &locketpb.LockRequest{Resource: r.resource, TtlInSeconds: r.ttlInSeconds}
	var h holding
	isReady := false
	setHeld := func(held bool) {
		h.held = held
		if r.OnChange != nil {
			r.OnChange(held)
		}
	}
	acquired := func(a attempt) {
		if h.held && h.failed != nil {
			logger.Info("refreshed-lock-after-failures", lager.Data{"request-uuid": a.id, "unconfirmed": r.clock.Since(h.confirmed).String()})
		}
		h.confirmed, h.failed = a.sent, nil
		if h.held {
			return
		}
		logger.Info("acquired-lock")
		setHeld(true)
		if !isReady {
			close(ready)
			isReady = true
		}
	}
	lost := func(a attempt) error {
		unconfirmed := r.clock.Since(h.confirmed)
		logger.Error("lost-lock", a.err, lager.Data{"request-uuid": a.id, "unconfirmed": unconfirmed.String()})
		setHeld(false)
		return &LostLockError{Err: a.err, RequestUUID: a.id, Unconfirmed: unconfirmed}
	}

	// The first attempt neither waits for a connection nor has a deadline.
	if a := r.lock(req, 0); a.err != nil {
		data := lager.Data{"request-uuid": a.id}
		ctx, cancel := context.WithTimeout(context.Background(), r.retryInterval)
		if resp, ferr := r.client.Fetch(ctx, &locketpb.FetchRequest{Key: r.resource.GetKey()}); ferr == nil {
			data["lock-owner"] = resp.GetResource().GetOwner()
		}
		cancel()
		if status.Code(a.err) == codes.AlreadyExists {
			logger.Info("lock-held-by-another-owner", data)
		} else {
			logger.Error("failed-to-acquire-lock", a.err, data)
		}
	} else {
		acquired(a)
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
			keeping := r.exitOnLostLock && h.held
			if keeping && h.failed != nil && !r.clock.Now().Before(r.giveUpAt(&h)) {
				return lost(*h.failed)
			}
			timeout := r.retryInterval
			if keeping {
				// Never wait for an answer past the moment of giving up.
				if left := r.giveUpAt(&h).Sub(r.clock.Now()); left > 0 && left < timeout {
					timeout = left
				}
			}
			a := r.lock(req, timeout)
			switch {
			case a.err == nil:
				acquired(a)
			case keeping:
				h.failed = &a
				if status.Code(a.err) == codes.AlreadyExists || !r.clock.Now().Before(r.giveUpAt(&h)) {
					return lost(a)
				}
				logger.Error("failed-to-refresh-lock", a.err, lager.Data{"request-uuid": a.id, "duration": r.clock.Since(a.sent).String(),
					"unconfirmed": r.clock.Since(h.confirmed).String()})
			case h.held:
				logger.Error("lost-lock", a.err, lager.Data{"request-uuid": a.id, "duration": r.clock.Since(a.sent).String()})
				setHeld(false)
			default:
				if status.Code(a.err) != codes.AlreadyExists {
					logger.Error("failed-to-acquire-lock", a.err, lager.Data{"request-uuid": a.id, "duration": r.clock.Since(a.sent).String()})
				}
			}
			// The next call is due a retry interval after this one started
			// (a call that waited for a connection used that time already),
			// and a failing holder wakes up in time to give up.
			next := r.retryInterval - r.clock.Since(a.sent)
			if r.exitOnLostLock && h.held && h.failed != nil {
				next = min(next, r.giveUpAt(&h).Sub(r.clock.Now()))
			}
			retry.Reset(max(next, 0))
		}
	}
}
