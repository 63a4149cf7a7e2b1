package bbsbench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/diego-go/diego/internal/locket/client"
	"github.com/diego-go/diego/internal/locket/locketpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Presence timing of the rep: a 15 s TTL refreshed every 5 s.
const (
	presenceTTL      = 15 // seconds
	presenceInterval = 5 * time.Second
	presenceConns    = 8
)

// Cells are the simulated cells' presences in locket, refreshed as reps
// refresh them. A presence is lost when two successful refreshes are more
// than the TTL apart (locket has expired it in between).
type Cells struct {
	n      int
	conns  []*client.Conn
	cancel context.CancelFunc
	wg     sync.WaitGroup

	stop     []chan struct{} // per cell: close to stop refreshing
	lastOK   []atomic.Int64  // per cell: unix ns of the last successful refresh
	lost     atomic.Int64
	failures atomic.Int64
	stopped  sync.Map // cell index -> true once Stop was called
}

// StartCells registers n presences and keeps them fresh until Close. It
// returns once every presence has been written once.
func StartCells(ctx context.Context, cfg client.Config, n int) (*Cells, error) {
	c := &Cells{n: n, stop: make([]chan struct{}, n), lastOK: make([]atomic.Int64, n)}
	for range presenceConns {
		conn, err := client.Dial(ctx, cfg)
		if err != nil {
			c.closeConns()
			return nil, err
		}
		c.conns = append(c.conns, conn)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	ready := make(chan struct{}, n)
	for i := range n {
		c.stop[i] = make(chan struct{})
		c.wg.Add(1)
		go c.refresh(runCtx, i, ready)
	}
	for range n {
		select {
		case <-ready:
		case <-ctx.Done():
			c.Close()
			return nil, ctx.Err()
		}
	}
	return c, nil
}

func (c *Cells) resource(i int) *locketpb.Resource {
	return &locketpb.Resource{Key: CellID(i), Owner: "rep-" + CellID(i), Value: cellPresence(i), Type: "presence", TypeCode: locketpb.TypeCode_PRESENCE}
}

func (c *Cells) refresh(ctx context.Context, i int, ready chan<- struct{}) {
	defer c.wg.Done()
	req := &locketpb.LockRequest{Resource: c.resource(i), TtlInSeconds: presenceTTL}
	conn := c.conns[i%len(c.conns)]
	// Spread the refreshes of the cells over the interval.
	timer := time.NewTimer(0)
	defer timer.Stop()
	first := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.stop[i]:
			return
		case <-timer.C:
		}
		callCtx, cancel := context.WithTimeout(ctx, presenceInterval)
		_, err := conn.Lock(callCtx, req, grpc.WaitForReady(true))
		cancel()
		now := time.Now()
		if err != nil {
			if ctx.Err() == nil {
				c.failures.Add(1)
			}
		} else {
			if prev := c.lastOK[i].Swap(now.UnixNano()); prev != 0 && now.Sub(time.Unix(0, prev)) > presenceTTL*time.Second {
				c.lost.Add(1)
			}
		}
		next := presenceInterval
		if first {
			first = false
			ready <- struct{}{}
			next = time.Duration(int64(presenceInterval) * int64(i) / int64(c.n))
		}
		timer.Reset(next)
	}
}

// Stop stops refreshing cell i (its presence expires after the TTL) and
// returns the time of its last successful refresh.
func (c *Cells) Stop(i int) time.Time {
	if _, done := c.stopped.LoadOrStore(i, true); !done {
		close(c.stop[i])
	}
	return time.Unix(0, c.lastOK[i].Load())
}

// WaitGone polls locket until cell i's presence is gone and returns when
// that was seen (within 20 ms).
func (c *Cells) WaitGone(ctx context.Context, i int) (time.Time, error) {
	req := &locketpb.FetchRequest{Key: CellID(i)}
	for {
		_, err := c.conns[0].Fetch(ctx, req)
		if status.Code(err) == codes.NotFound {
			return time.Now(), nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Present counts the presences locket holds now.
func (c *Cells) Present(ctx context.Context) (int, error) {
	resp, err := c.conns[0].FetchAll(ctx, &locketpb.FetchAllRequest{TypeCode: locketpb.TypeCode_PRESENCE})
	if err != nil {
		return 0, err
	}
	return len(resp.Resources), nil
}

// Lost is how many times a presence went unrefreshed longer than its TTL,
// including the cells (not stopped on purpose) unrefreshed for longer now.
func (c *Cells) Lost() int64 {
	n := c.lost.Load()
	now := time.Now()
	for i := range c.n {
		if _, stopped := c.stopped.Load(i); stopped {
			continue
		}
		if now.Sub(time.Unix(0, c.lastOK[i].Load())) > presenceTTL*time.Second {
			n++
		}
	}
	return n
}

// Failures is how many refreshes failed.
func (c *Cells) Failures() int64 { return c.failures.Load() }

// Close stops every refresher and closes the connections.
func (c *Cells) Close() {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
	c.closeConns()
}

func (c *Cells) closeConns() {
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}
