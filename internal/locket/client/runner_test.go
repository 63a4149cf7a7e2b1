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
	"github.com/diego-go/diego/internal/clock"
	"github.com/diego-go/diego/internal/locket/client"
	"github.com/diego-go/diego/internal/locket/locketpb"
	"github.com/diego-go/diego/internal/locket/lockettest"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/tedsuo/ifrit"
	"google.golang.org/grpc"
)

const retry = 200 * time.Millisecond

func resource(key, owner string, code locketpb.TypeCode) *locketpb.Resource {
	return &locketpb.Resource{Key: key, Owner: owner, Value: "v-" + owner, TypeCode: code}
}

func isReady(p ifrit.Process) bool {
	select {
	case <-p.Ready():
		return true
	default:
		return false
	}
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func owner(t *testing.T, c locketpb.LocketClient, key string) string {
	t.Helper()
	resp, err := c.Fetch(context.Background(), &locketpb.FetchRequest{Key: key})
	if err != nil {
		return ""
	}
	return resp.GetResource().GetOwner()
}

func TestTwoContendersForOneLock(t *testing.T) {
	srv := lockettest.Start(t, sqldb.Config{})
	c := srv.Dial()
	logger := lagertest.NewTestLogger("test")

	a := ifrit.Background(client.NewLockRunner(logger, c, resource("bbs", "a", locketpb.TypeCode_LOCK), 15, clock.New(), retry))
	defer a.Signal(os.Interrupt)
	waitFor(t, "a to hold the lock", 5*time.Second, func() bool { return isReady(a) })

	b := ifrit.Background(client.NewLockRunner(logger, c, resource("bbs", "b", locketpb.TypeCode_LOCK), 15, clock.New(), retry))
	defer b.Signal(os.Interrupt)
	// b keeps trying and colliding meanwhile.
	for deadline := time.Now().Add(3 * retry); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if isReady(b) {
			t.Fatal("b became ready while a holds the lock")
		}
	}
	if got := owner(t, c, "bbs"); got != "a" {
		t.Fatalf("owner %q, want a", got)
	}

	// a stops and releases; b takes over within a retry interval or two.
	a.Signal(os.Interrupt)
	if err := <-a.Wait(); err != nil {
		t.Fatalf("a exited with %v", err)
	}
	waitFor(t, "b to take the lock", 5*retry, func() bool { return isReady(b) })
	if got := owner(t, c, "bbs"); got != "b" {
		t.Fatalf("owner %q, want b", got)
	}
}

func TestLockRunnerExitsWhenItLosesTheLock(t *testing.T) {
	srv := lockettest.Start(t, sqldb.Config{})
	c := srv.Dial()
	p := ifrit.Background(client.NewLockRunner(lagertest.NewTestLogger("test"), c, resource("auctioneer", "a", locketpb.TypeCode_LOCK), 15, clock.New(), retry))
	defer p.Signal(os.Interrupt)
	waitFor(t, "the lock", 5*time.Second, func() bool { return isReady(p) })

	// Someone else takes the row over behind the holder's back.
	if _, err := c.Release(context.Background(), &locketpb.ReleaseRequest{Resource: resource("auctioneer", "a", locketpb.TypeCode_LOCK)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lock(context.Background(), &locketpb.LockRequest{Resource: resource("auctioneer", "intruder", locketpb.TypeCode_LOCK), TtlInSeconds: 15}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.Wait():
		var lost *client.LostLockError
		if !errors.As(err, &lost) || !strings.Contains(err.Error(), "lost lock (request failed)") {
			t.Fatalf("exit error %v, want a lost lock", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the lock runner did not exit after losing its lock")
	}
}

func TestPresenceRunnerKeepsTryingAfterLoss(t *testing.T) {
	srv := lockettest.Start(t, sqldb.Config{})
	c := srv.Dial()
	changes := make(chan bool, 16)
	r := client.NewPresenceRunner(lagertest.NewTestLogger("test"), c, resource("cell-1", "rep-1", locketpb.TypeCode_PRESENCE), 15, clock.New(), retry)
	r.OnChange = func(held bool) { changes <- held }
	p := ifrit.Background(r)
	waitFor(t, "the presence", 5*time.Second, func() bool { return isReady(p) })
	<-changes

	// An old process of the same cell still holds it: the runner loses it,
	// keeps going, and gets it back once the other owner lets go.
	if _, err := c.Release(context.Background(), &locketpb.ReleaseRequest{Resource: resource("cell-1", "rep-1", locketpb.TypeCode_PRESENCE)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lock(context.Background(), &locketpb.LockRequest{Resource: resource("cell-1", "rep-0", locketpb.TypeCode_PRESENCE), TtlInSeconds: 15}); err != nil {
		t.Fatal(err)
	}
	select {
	case held := <-changes:
		if held {
			t.Fatal("expected the presence to be lost")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the runner did not notice the loss")
	}
	if _, err := c.Release(context.Background(), &locketpb.ReleaseRequest{Resource: resource("cell-1", "rep-0", locketpb.TypeCode_PRESENCE)}); err != nil {
		t.Fatal(err)
	}
	select {
	case held := <-changes:
		if !held {
			t.Fatal("expected the presence to come back")
		}
	case err := <-p.Wait():
		t.Fatalf("the presence runner exited: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the runner did not take the presence back")
	}
	p.Signal(os.Interrupt)
	if err := <-p.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := owner(t, c, "cell-1"); got != "" {
		t.Fatalf("presence still held by %q after the runner stopped", got)
	}
}

func TestDialGivesUpWhenNothingListens(t *testing.T) {
	pki := lockettest.NewPKI(t)
	cfg := client.Config{
		LocketAddress:        lockettest.FreeAddress(t),
		LocketCACertFile:     pki.Client.CAFile,
		LocketClientCertFile: pki.Client.CertFile,
		LocketClientKeyFile:  pki.Client.KeyFile,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := client.Dial(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Fatalf("got %v, want a deadline error", err)
	}
	if _, err := client.Dial(context.Background(), client.Config{}); err == nil {
		t.Fatal("dial without an address succeeded")
	}
}

// countingClient counts the Lock calls locket answered with success.
type countingClient struct {
	locketpb.LocketClient
	mu  sync.Mutex
	oks int
}

func (c *countingClient) Lock(ctx context.Context, req *locketpb.LockRequest, opts ...grpc.CallOption) (*locketpb.LockResponse, error) {
	resp, err := c.LocketClient.Lock(ctx, req, opts...)
	if err == nil {
		c.mu.Lock()
		c.oks++
		c.mu.Unlock()
	}
	return resp, err
}

func (c *countingClient) successes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.oks
}

func TestLockRunnerSurvivesALocketRestart(t *testing.T) {
	const ttl = 2 // seconds: the runner gives up 1.8 s after its last confirmed refresh
	srv := lockettest.Start(t, sqldb.Config{})
	c := &countingClient{LocketClient: srv.Dial()}
	p := ifrit.Background(client.NewLockRunner(lagertest.NewTestLogger("test"), c, resource("bbs", "a", locketpb.TypeCode_LOCK), ttl, clock.New(), retry))
	var exitErr error
	exited := make(chan struct{})
	go func() {
		exitErr = <-p.Wait()
		close(exited)
	}()
	defer func() {
		p.Signal(os.Interrupt)
		<-exited
	}()
	waitFor(t, "the lock", 5*time.Second, func() bool { return isReady(p) })

	// A short outage: the lock is kept and refreshed once locket is back.
	srv.Stop()
	before := c.successes()
	time.Sleep(500 * time.Millisecond) // hold the outage
	srv.Restart()
	back := time.Now()
	waitFor(t, "a refresh after the restart", 5*time.Second, func() bool { return c.successes() > before })
	t.Logf("refreshed %s after locket was back", time.Since(back).Round(time.Millisecond))
	select {
	case <-exited:
		t.Fatalf("the lock runner exited across a short locket restart: %v", exitErr)
	default:
	}
	if got := owner(t, c, "bbs"); got != "a" {
		t.Fatalf("owner %q after the restart, want a", got)
	}

	// An outage longer than the TTL: the runner gives the lock up in time.
	stopped := time.Now()
	srv.Stop()
	select {
	case <-exited:
		var lost *client.LostLockError
		if !errors.As(exitErr, &lost) || lost.Unconfirmed > ttl*time.Second {
			t.Fatalf("exit error %v, want a lost lock within the TTL", exitErr)
		}
		t.Logf("gave the lock up %s after locket stopped (%s after the last confirmed refresh)", time.Since(stopped).Round(time.Millisecond), lost.Unconfirmed.Round(time.Millisecond))
	case <-time.After(ttl * time.Second):
		t.Fatal("the lock runner still holds the lock a TTL after locket stopped")
	}
}
