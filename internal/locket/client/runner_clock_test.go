package client_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/lager/v3/lagertest"
	"github.com/diego-go/diego/internal/clock/fakeclock"
	"github.com/diego-go/diego/internal/locket/client"
	"github.com/diego-go/diego/internal/locket/locketpb"
	"github.com/tedsuo/ifrit"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// standIn is a locket the test controls: Lock answers the programmed error
// at once and records each call's deadline.
type standIn struct {
	mu        sync.Mutex
	err       error
	calls     int
	deadlines []time.Duration // time left at each call; 0 = no deadline
	released  bool
}

var _ locketpb.LocketClient = (*standIn)(nil)

func (s *standIn) answer(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *standIn) Lock(ctx context.Context, _ *locketpb.LockRequest, _ ...grpc.CallOption) (*locketpb.LockResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	var left time.Duration
	if d, ok := ctx.Deadline(); ok {
		left = time.Until(d)
	}
	s.deadlines = append(s.deadlines, left)
	if s.err != nil {
		return nil, s.err
	}
	return &locketpb.LockResponse{}, nil
}

func (s *standIn) Fetch(context.Context, *locketpb.FetchRequest, ...grpc.CallOption) (*locketpb.FetchResponse, error) {
	return nil, status.Error(codes.NotFound, "resource-not-found")
}

func (s *standIn) Release(context.Context, *locketpb.ReleaseRequest, ...grpc.CallOption) (*locketpb.ReleaseResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.released = true
	return &locketpb.ReleaseResponse{}, nil
}

func (s *standIn) FetchAll(context.Context, *locketpb.FetchAllRequest, ...grpc.CallOption) (*locketpb.FetchAllResponse, error) {
	return &locketpb.FetchAllResponse{}, nil
}

func (s *standIn) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func (s *standIn) lastDeadline() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deadlines[len(s.deadlines)-1]
}

var (
	errDown      = status.Error(codes.Unavailable, "connection refused")
	errSQL       = status.Error(codes.Unknown, "sql-unknown")
	errCollision = status.Error(codes.AlreadyExists, "lock-collision")
)

// clockedRunner is a runner on a fake clock with its stand-in locket.
type clockedRunner struct {
	t       *testing.T
	clock   *fakeclock.Clock
	locket  *standIn
	process ifrit.Process
	changes chan bool
	done    chan struct{} // closed when the runner returned err
	err     error
}

// run starts r in the background; the runner is stopped at the end of the
// test.
func (c *clockedRunner) run(r *client.Runner) {
	r.OnChange = func(held bool) { c.changes <- held }
	c.process = ifrit.Background(r)
	c.done = make(chan struct{})
	go func() {
		c.err = <-c.process.Wait()
		close(c.done)
	}()
	c.t.Cleanup(func() {
		c.process.Signal(os.Interrupt)
		<-c.done
	})
	c.settle(1)
}

func newClocked(t *testing.T) *clockedRunner {
	return &clockedRunner{t: t, clock: fakeclock.New(time.Unix(1000, 0)), locket: &standIn{}, changes: make(chan bool, 64)}
}

const (
	ttlSeconds = 5
	ttl        = ttlSeconds * time.Second
	interval   = time.Second
)

// startClocked starts a lock (or presence) runner whose first Lock call
// answers first, and waits until it waits for its retry timer.
func startClocked(t *testing.T, lock bool, first error) *clockedRunner {
	t.Helper()
	c := newClocked(t)
	c.locket.answer(first)
	newRunner := client.NewLockRunner
	if !lock {
		newRunner = client.NewPresenceRunner
	}
	c.run(newRunner(lagertest.NewTestLogger("test"), c.locket, resource("bbs", "me", locketpb.TypeCode_LOCK), ttlSeconds, c.clock, interval))
	return c
}

// settle waits until the runner made calls Lock calls in all and waits on
// its timer again, or exited.
func (c *clockedRunner) settle(calls int) {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.locket.callCount() < calls || c.clock.WatcherCount() < 1 {
		if c.exited() {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the runner made %d Lock calls, want %d, and waits on %d timers", c.locket.callCount(), calls, c.clock.WatcherCount())
		}
		time.Sleep(time.Millisecond)
	}
}

// advance moves the clock by d and waits until the runner handled it: one
// more Lock call, or an exit.
func (c *clockedRunner) advance(d time.Duration) {
	c.t.Helper()
	n := c.locket.callCount()
	c.clock.Increment(d)
	c.settle(n + 1)
}

func (c *clockedRunner) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *clockedRunner) exitErr() error {
	c.t.Helper()
	select {
	case <-c.done:
		return c.err
	case <-time.After(5 * time.Second):
		c.t.Fatal("the runner did not exit")
		return nil
	}
}

func TestLockRunnerIsReadyOnlyAfterTheFirstAcquisition(t *testing.T) {
	c := startClocked(t, true, errDown)
	for i := 0; i < 3; i++ {
		if isReady(c.process) {
			t.Fatalf("ready after %d failed attempts", c.locket.callCount())
		}
		c.advance(interval)
	}
	c.locket.answer(errCollision) // someone else holds it: keep trying
	c.advance(interval)
	c.advance(interval)
	if isReady(c.process) || c.exited() {
		t.Fatal("a runner that never held the lock became ready or exited on a collision")
	}
	c.locket.answer(nil)
	c.advance(interval)
	if !isReady(c.process) {
		t.Fatal("not ready after acquiring the lock")
	}
	if held := <-c.changes; !held {
		t.Fatal("OnChange was not told of the acquisition")
	}
}

func TestLockRunnerKeepsTheLockThroughFailuresShorterThanTheTTL(t *testing.T) {
	c := startClocked(t, true, nil)
	if !isReady(c.process) {
		t.Fatal("not ready after the first acquisition")
	}
	<-c.changes
	// Locket unreachable, then its database down: two refreshes fail and
	// the third succeeds, 3 s after the last confirmed one, before the 4 s
	// (TTL - interval) after which the runner gives up.
	for round := 0; round < 3; round++ {
		for i, err := range []error{errDown, errSQL} {
			c.locket.answer(err)
			c.advance(interval)
			if c.exited() {
				t.Fatalf("round %d: the runner exited after %d failed refreshes: %v", round, i+1, c.exitErr())
			}
		}
		c.locket.answer(nil)
		c.advance(interval)
		if c.exited() {
			t.Fatalf("round %d: the runner exited: %v", round, c.exitErr())
		}
	}
	select {
	case held := <-c.changes:
		t.Fatalf("OnChange(%v) during failures shorter than the TTL", held)
	default:
	}
	// A signal releases the lock.
	c.process.Signal(os.Interrupt)
	if err := c.exitErr(); err != nil {
		t.Fatal(err)
	}
	if !c.locket.released {
		t.Fatal("the lock was not released")
	}
}

func TestLockRunnerGivesUpWhenNoRefreshIsConfirmedInTime(t *testing.T) {
	c := startClocked(t, true, nil)
	<-c.changes
	c.advance(interval) // confirmed at +1 s: give up at +1 s + ttl - interval
	c.locket.answer(errDown)
	for i := 0; i < ttlSeconds-2; i++ {
		c.advance(interval)
		if c.exited() {
			t.Fatalf("exited after %d failed refreshes: %v", i+1, c.exitErr())
		}
	}
	// Due at +5 s, the moment of giving up: no more calls, the runner exits.
	calls := c.locket.callCount()
	c.clock.Increment(interval)
	err := c.exitErr()
	var lost *client.LostLockError
	if !errors.As(err, &lost) || lost.Unconfirmed != ttl-interval || status.Code(lost.Err) != codes.Unavailable {
		t.Fatalf("exit error %v, want a lost lock unconfirmed for %s", err, ttl-interval)
	}
	if !strings.Contains(err.Error(), "lost lock (request failed)") {
		t.Fatalf("message %q", err)
	}
	if c.locket.callCount() != calls {
		t.Fatal("the runner called Lock at the moment it had to give up")
	}
	if held := <-c.changes; held {
		t.Fatal("OnChange was not told of the loss")
	}
}

func TestLockRunnerWakesUpToGiveUpOnTime(t *testing.T) {
	// A retry interval that does not divide the TTL: the runner must not
	// sleep past the moment of giving up, nor wait for an answer past it.
	c := newClocked(t)
	c.run(client.NewLockRunner(lagertest.NewTestLogger("test"), c.locket, resource("bbs", "me", locketpb.TypeCode_LOCK), 5, c.clock, 2*time.Second))
	// Confirmed at 0: give up at +3 s.
	c.locket.answer(errDown)
	c.advance(2 * time.Second) // fails at +2 s, waits 1 s at most
	if left := c.locket.lastDeadline(); left <= 0 || left > time.Second {
		t.Fatalf("a refresh 1 s before giving up may wait %s", left)
	}
	c.clock.Increment(time.Second)
	var lost *client.LostLockError
	if err := c.exitErr(); !errors.As(err, &lost) || lost.Unconfirmed != 3*time.Second {
		t.Fatalf("exit error %v, want a lost lock unconfirmed for 3s", err)
	}
}

func TestLockRunnerGivesUpAtOnceOnACollision(t *testing.T) {
	c := startClocked(t, true, nil)
	<-c.changes
	c.locket.answer(errCollision)
	c.advance(interval)
	var lost *client.LostLockError
	if err := c.exitErr(); !errors.As(err, &lost) || status.Code(lost.Err) != codes.AlreadyExists {
		t.Fatalf("exit error %v, want a collision", err)
	}
}

func TestLockRunnerWithoutMarginGivesUpOnTheFirstFailure(t *testing.T) {
	// TTL no longer than the retry interval: the reference's behaviour.
	c := newClocked(t)
	c.run(client.NewLockRunner(lagertest.NewTestLogger("test"), c.locket, resource("bbs", "me", locketpb.TypeCode_LOCK), 1, c.clock, time.Second))
	c.advance(time.Second)
	c.advance(time.Second)
	if c.exited() {
		t.Fatal("exited while refreshes succeed")
	}
	c.locket.answer(errDown)
	c.advance(time.Second)
	var lost *client.LostLockError
	if err := c.exitErr(); !errors.As(err, &lost) {
		t.Fatalf("exit error %v, want a lost lock", err)
	}
}

func TestPresenceRunnerMarksTheFirstFailureAsALoss(t *testing.T) {
	c := startClocked(t, false, nil)
	if held := <-c.changes; !held {
		t.Fatal("presence not acquired")
	}
	c.locket.answer(errDown)
	c.advance(interval)
	if held := <-c.changes; held {
		t.Fatal("the failed refresh did not mark the presence lost")
	}
	for i := 0; i < 2*ttlSeconds; i++ {
		c.advance(interval)
	}
	if c.exited() {
		t.Fatalf("the presence runner exited: %v", c.exitErr())
	}
	c.locket.answer(nil)
	c.advance(interval)
	if held := <-c.changes; !held {
		t.Fatal("the presence did not come back")
	}
}
