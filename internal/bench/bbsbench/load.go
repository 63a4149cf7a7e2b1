package bbsbench

import (
	"context"
	"errors"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/bench/report"
	"github.com/diego-go/diego/internal/models"
)

// requestTimeout bounds every simulated rep request, as the issue's
// "answered within 10 s".
const requestTimeout = 10 * time.Second

// Sample collects request latencies and failures; safe for concurrent use.
type Sample struct {
	mu   sync.Mutex
	lat  report.Latencies
	errs map[string]int
	fail int
	slow int // over requestTimeout (failed or not)
}

// Add records one request.
func (s *Sample) Add(d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lat.Add(d)
	if d > requestTimeout {
		s.slow++
	}
	if err != nil {
		s.fail++
		if s.errs == nil {
			s.errs = map[string]int{}
		}
		msg := err.Error()
		if len(msg) > 120 {
			msg = msg[:120]
		}
		s.errs[msg]++
	}
}

// merge adds o's latencies and failures to s.
func (s *Sample) merge(o *Sample) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lat.Merge(&o.lat)
	s.fail += o.fail
	s.slow += o.slow
	for k, v := range o.errs {
		if s.errs == nil {
			s.errs = map[string]int{}
		}
		s.errs[k] += v
	}
}

// Count, Failed and Slow are the requests, the failed ones and those over
// requestTimeout.
func (s *Sample) Count() int  { s.mu.Lock(); defer s.mu.Unlock(); return s.lat.Count() }
func (s *Sample) Failed() int { s.mu.Lock(); defer s.mu.Unlock(); return s.fail }
func (s *Sample) Slow() int   { s.mu.Lock(); defer s.mu.Unlock(); return s.slow }

// P is a percentile in milliseconds.
func (s *Sample) P(p float64) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return report.Ms(s.lat.Percentile(p))
}

// TopErrors lists the most frequent failures.
func (s *Sample) TopErrors(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	type kv struct {
		k string
		v int
	}
	var all []kv
	for k, v := range s.errs {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v })
	var out []string
	for i := 0; i < len(all) && i < n; i++ {
		out = append(out, itoa(all[i].v)+" x "+all[i].k)
	}
	return out
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// timed runs one request with requestTimeout and records it.
func timed(ctx context.Context, s *Sample, call func(ctx context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	t0 := time.Now()
	err := call(cctx)
	s.Add(time.Since(t0), err)
	return err
}

// instances walks the fleet's instances in a scattered order (a stride
// coprime with the total), so that consecutive writes hit distant rows.
type instances struct {
	f      Fleet
	next   atomic.Int64
	stride int64
}

func newInstances(f Fleet) *instances {
	total := int64(f.Total())
	stride := int64(1000003)
	for gcd(stride, total) != 1 {
		stride += 2
	}
	return &instances{f: f, stride: stride}
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Next returns the next (lrp, index).
func (in *instances) Next() (lrp, index int) {
	n := (in.next.Add(1) - 1) * in.stride % int64(in.f.Total())
	return int(n) / in.f.Instances, int(n) % in.f.Instances
}

// cycler drives rep-like state changes: a claim (RUNNING -> CLAIMED) then
// a start (CLAIMED -> RUNNING) of one instance, as a rep restarting it.
type cycler struct {
	f       Fleet
	clients []*bbsclient.Client
	claims  Sample
	starts  Sample
	noops   Sample // repeated claims and starts that change nothing
	// before and after, if set, are called just before and after each
	// state-changing request, with the state it leads to.
	before func(lrp, index int, state string)
	after  func(lrp, index int, state string, err error)
	// changed counts the state-changing requests that succeeded.
	changed atomic.Int64
	// noopEvery: one instance in noopEvery also gets a repeated claim and a
	// repeated start (0: never).
	noopEvery int
}

// cycle runs claim then start of (lrp, index) and returns the requests made.
func (c *cycler) cycle(ctx context.Context, lrp, index int) int {
	cl := c.clients[(lrp*c.f.Instances+index)%len(c.clients)]
	key, ik := ActualKey(lrp, index), c.f.InstanceKey(lrp, index)
	noop := c.noopEvery > 0 && (lrp*c.f.Instances+index)%c.noopEvery == 0
	n := 0
	if c.before != nil {
		c.before(lrp, index, models.ActualLRPStateClaimed)
	}
	n++
	err := timed(ctx, &c.claims, func(ctx context.Context) error { return cl.ClaimActualLRP(ctx, key, ik) })
	if c.after != nil {
		c.after(lrp, index, models.ActualLRPStateClaimed, err)
	}
	if err != nil {
		return n
	}
	c.changed.Add(1)
	if noop {
		n++
		_ = timed(ctx, &c.noops, func(ctx context.Context) error { return cl.ClaimActualLRP(ctx, key, ik) })
	}
	req := c.f.StartRequest(lrp, index)
	if c.before != nil {
		c.before(lrp, index, models.ActualLRPStateRunning)
	}
	n++
	err = timed(ctx, &c.starts, func(ctx context.Context) error { return cl.StartActualLRP(ctx, req) })
	if c.after != nil {
		c.after(lrp, index, models.ActualLRPStateRunning, err)
	}
	if err != nil {
		return n
	}
	c.changed.Add(1)
	if noop {
		n++
		_ = timed(ctx, &c.noops, func(ctx context.Context) error { return cl.StartActualLRP(ctx, req) })
	}
	return n
}

// all merges claims and starts.
func (c *cycler) all() *Sample {
	var s Sample
	s.merge(&c.claims)
	s.merge(&c.starts)
	return &s
}

// paced runs cycles open-loop for d, at rate requests per second (two per
// cycle, more with no-ops), whatever the answers' latency, with at most
// maxInFlight cycles at once (more are counted as skipped). It returns the
// requests sent and the skipped cycles.
func (c *cycler) paced(ctx context.Context, in *instances, rate float64, d time.Duration, maxInFlight int) (sent int64, skipped int64) {
	perCycle := 2.0
	if c.noopEvery > 0 {
		perCycle += 2.0 / float64(c.noopEvery)
	}
	cyclesPerSec := rate / perCycle
	const tick = 5 * time.Millisecond
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	var sentN atomic.Int64
	start := time.Now()
	launched := 0
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		el := time.Since(start)
		if el >= d || ctx.Err() != nil {
			break
		}
		due := int(math.Floor(el.Seconds() * cyclesPerSec))
		for ; launched < due; launched++ {
			select {
			case sem <- struct{}{}:
			default:
				skipped++
				continue
			}
			lrp, idx := in.Next()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				sentN.Add(int64(c.cycle(ctx, lrp, idx)))
			}()
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	wg.Wait()
	return sentN.Load(), skipped
}

// saturate runs cycles closed-loop from workers goroutines for d and
// returns the requests completed.
func (c *cycler) saturate(ctx context.Context, in *instances, workers int, d time.Duration) int64 {
	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				lrp, idx := in.Next()
				// Finish the cycle even past the deadline, so that no
				// instance is left CLAIMED.
				n.Add(int64(c.cycle(context.WithoutCancel(ctx), lrp, idx)))
			}
		}()
	}
	wg.Wait()
	return n.Load()
}

// pollCells makes each cell list its actual LRPs every interval (cells
// spread evenly over it) until ctx ends, as reps' bulk loops do.
func pollCells(ctx context.Context, clients []*bbsclient.Client, f Fleet, interval time.Duration, s *Sample) {
	var wg sync.WaitGroup
	for c := range f.Cells {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := clients[c%len(clients)]
			t := time.NewTimer(time.Duration(int64(interval) * int64(c) / int64(f.Cells)))
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				_ = timed(context.WithoutCancel(ctx), s, func(ctx context.Context) error {
					lrps, err := cl.ActualLRPs(ctx, bbsclient.ActualLRPFilter{CellID: CellID(c)})
					if err == nil && len(lrps) == 0 {
						err = errors.New("no actual LRPs for the cell")
					}
					return err
				})
				t.Reset(interval)
			}
		}()
	}
	wg.Wait()
}

// newClients returns n API clients with their own connection pools.
func (e *Env) newClients(n int, timeout time.Duration) ([]*bbsclient.Client, error) {
	out := make([]*bbsclient.Client, n)
	for i := range out {
		c, err := e.Client(timeout, 1)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

func closeClients(cs []*bbsclient.Client) {
	for _, c := range cs {
		c.CloseIdleConnections()
	}
}
