// Package converger runs BBS convergence (reference notes: bbs-api §5) on
// the BBS that holds the lock: every converge_repeat_interval an LRP pass
// and a task pass, concurrently, and between passes a watch on the cell
// list that replaces the instances of a cell as soon as it vanishes. The
// decisions are bbs/converge's; this package fetches the cells, has the
// store load snapshots and apply plans, emits the events, and talks to the
// auctioneer, the reps and the callback workers. See README.md.
package converger

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/bbs/controllers"
	"github.com/diego-go/diego/internal/bbs/converge"
	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/clock"
	"github.com/diego-go/diego/internal/models"
	"github.com/tedsuo/ifrit"
)

// Defaults of Config.
const (
	DefaultRepeatInterval   = 30 * time.Second
	DefaultCellPollInterval = time.Second
	DefaultWorkers          = 20
	// DefaultBatchSlots is the number of slots written per transaction.
	DefaultBatchSlots = 100
	// DefaultDriftBudget is the number of instances whose internal routes
	// and metric tags a pass reads at most (see db.NewDriftMemo).
	DefaultDriftBudget = 25_000
)

// Config holds the converger's settings; zero values take the defaults
// (the reference's BOSH defaults for the durations).
type Config struct {
	// RepeatInterval is converge_repeat_interval: the time between the end
	// of a pass and the start of the next; the first pass starts one
	// interval after Run.
	RepeatInterval time.Duration
	// KickTaskDuration, ExpirePendingTaskDuration and
	// ExpireCompletedTaskDuration are the task pass's durations.
	KickTaskDuration            time.Duration
	ExpirePendingTaskDuration   time.Duration
	ExpireCompletedTaskDuration time.Duration
	// Workers is convergence_workers: the transactions, retirements and rep
	// updates of a pass in flight at once.
	Workers int
	// CellPollInterval is how often the cell list is compared with the
	// previous one between passes (ours); negative turns the watch off.
	CellPollInterval time.Duration
	// BatchSlots is the number of slots written per transaction.
	BatchSlots int
	// DriftBudget is the number of instances whose internal routes and
	// metric tags a pass reads at most, among those not known in sync
	// (ours); negative reads them all.
	DriftBudget int
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.RepeatInterval, DefaultRepeatInterval)
	def(&c.KickTaskDuration, 30*time.Second)
	def(&c.ExpirePendingTaskDuration, 30*time.Minute)
	def(&c.ExpireCompletedTaskDuration, 2*time.Minute)
	def(&c.CellPollInterval, DefaultCellPollInterval)
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.BatchSlots <= 0 {
		c.BatchSlots = DefaultBatchSlots
	}
	if c.DriftBudget == 0 {
		c.DriftBudget = DefaultDriftBudget
	}
	return c
}

// Deps are what a Converger works with.
type Deps struct {
	Logger lager.Logger
	DB     *db.DB
	// Controllers carry the hubs, the auctioneer, rep and cell clients, the
	// callback pool, and the retirement logic of the API.
	Controllers *controllers.Controllers
	// Clock drives the timers and is the planners' now (default the wall
	// clock).
	Clock clock.Clock
	// Metrics, if set, records every pass.
	Metrics *Metrics
}

// Converger runs the passes. Its methods are safe for concurrent use.
type Converger struct {
	Deps
	cfg  Config
	memo *db.DriftMemo
}

var _ ifrit.Runner = (*Converger)(nil)

// New returns a converger.
func New(d Deps, cfg Config) (*Converger, error) {
	switch {
	case d.Logger == nil:
		return nil, errors.New("converger: a logger is required")
	case d.DB == nil || d.Controllers == nil:
		return nil, errors.New("converger: a store and the controllers are required")
	case d.Controllers.Cells == nil || d.Controllers.Auctioneer == nil || d.Controllers.Reps == nil:
		return nil, errors.New("converger: the controllers need cells, an auctioneer and reps")
	}
	if d.Clock == nil {
		d.Clock = clock.New()
	}
	d.Logger = d.Logger.Session("converger")
	cfg = cfg.withDefaults()
	return &Converger{Deps: d, cfg: cfg, memo: db.NewDriftMemo(max(cfg.DriftBudget, 0))}, nil
}

// Run converges until signalled: the first passes start one interval
// after Run, and every next one an interval after both passes of the
// previous one ended. The cell watch runs meanwhile. A signal cancels what
// is in flight; Run returns once it has stopped.
func (c *Converger) Run(signals <-chan os.Signal, ready chan<- struct{}) error {
	logger := c.Logger.Session("converger-process")
	ctx, cancel := context.WithCancel(context.Background())
	var watch sync.WaitGroup
	stop := func() {
		cancel()
		watch.Wait()
		logger.Info("done")
	}
	if c.cfg.CellPollInterval > 0 {
		w := c.newCellWatch()
		w.look(ctx) // the baseline, before ready
		watch.Go(func() { w.run(ctx) })
	}
	timer := c.Clock.NewTimer(c.cfg.RepeatInterval)
	defer timer.Stop()
	logger.Info("started", lager.Data{"interval": c.cfg.RepeatInterval.String(), "cell_poll_interval": c.cfg.CellPollInterval.String()})
	close(ready)
	for {
		select {
		case <-signals:
			stop()
			return nil
		case <-timer.C():
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.Converge(ctx)
		}()
		select {
		case <-done:
		case <-signals:
			cancel()
			<-done
			stop()
			return nil
		}
		timer.Reset(c.cfg.RepeatInterval)
	}
}

// Converge runs an LRP pass and a task pass concurrently and returns when
// both are done. Their failures are logged.
func (c *Converger) Converge(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = c.RunLRPPass(ctx) })
	wg.Go(func() { _, _ = c.RunTaskPass(ctx) })
	wg.Wait()
}

// cellSet fetches the present cells. models.ErrResourceNotFound is an
// empty list, as in the reference; any other error is returned.
func (c *Converger) cellSet(ctx context.Context) (converge.CellSet, map[string]*models.CellPresence, error) {
	cells, err := c.Controllers.Cells.Cells(ctx)
	if err != nil && !errors.Is(err, models.ErrResourceNotFound) {
		return nil, nil, err
	}
	set := make(converge.CellSet, len(cells))
	byID := make(map[string]*models.CellPresence, len(cells))
	for _, cell := range cells {
		set[cell.GetCellId()] = struct{}{}
		byID[cell.GetCellId()] = cell
	}
	return set, byID, nil
}

// each runs fn(0) … fn(n-1) on at most workers goroutines and returns when
// all have; it stops handing out work once ctx is done.
func each(ctx context.Context, workers, n int, fn func(i int)) {
	workers = min(max(workers, 1), n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
}
