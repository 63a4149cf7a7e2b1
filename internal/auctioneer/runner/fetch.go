package runner

import (
	"context"
	"net/url"
	"sync"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/auction"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/rep/repclient"
)

// fetchStates asks every present cell for its state, at most Workers at a
// time, each call bounded by cell_state_timeout (§1.5). A cell sits the
// round out when its rep_url is not https, its call fails or answers
// anything but 200, it is evacuating, or it reports another cell id. If no
// cell answers, the fetch is repeated, up to four attempts in all.
//
// The cells come back in presence order (by cell id), which is the
// scheduler's tie-break order, with the rep URL of each.
func (r *Runner) fetchStates(ctx context.Context, logger lager.Logger, presences []*models.CellPresence) ([]auction.Cell, map[string]string) {
	targets := make([]*models.CellPresence, 0, len(presences))
	for _, p := range presences {
		u, err := url.Parse(p.GetRepUrl())
		if err != nil || u.Scheme != "https" || u.Host == "" {
			logger.Error("create-rep-client-failed", repclient.ErrHTTPSRequired, lager.Data{"cell-id": p.GetCellId(), "rep-url": p.GetRepUrl()})
			continue
		}
		targets = append(targets, p)
	}
	var cells []auction.Cell
	for attempt := 1; ; attempt++ {
		cells = r.fetchOnce(ctx, logger, targets)
		if len(cells) > 0 || ctx.Err() != nil {
			break
		}
		if attempt == stateAttempts {
			logger.Info("failed-to-communicate-to-cells-abort")
			break
		}
		logger.Info("failed-to-communicate-to-cells-retry", lager.Data{"attempt": attempt})
	}
	urls := make(map[string]string, len(targets))
	for _, p := range targets {
		urls[p.GetCellId()] = p.GetRepUrl()
	}
	return cells, urls
}

func (r *Runner) fetchOnce(ctx context.Context, logger lager.Logger, targets []*models.CellPresence) []auction.Cell {
	results := make([]*auction.Cell, len(targets))
	parallel(r.cfg.Workers, len(targets), func(i int) {
		p := targets[i]
		id := p.GetCellId()
		start := time.Now()
		state, err := r.cfg.Reps.State(ctx, p.GetRepUrl())
		switch {
		case err != nil:
			r.cfg.Metrics.failedCellState()
			logger.Error("failed-to-get-state", err, lager.Data{"cell-id": id, "duration": time.Since(start).String()})
		case state.Evacuating:
			logger.Info("ignored-evacuating-cell", lager.Data{"cell-id": id})
		case state.CellID != "" && state.CellID != id:
			logger.Error("cell-id-mismatch", nil, lager.Data{"cell-id": id, "cell-state-id": state.CellID})
		default:
			c := cellFromState(id, state)
			results[i] = &c
		}
	})
	cells := make([]auction.Cell, 0, len(targets))
	for _, c := range results {
		if c != nil {
			cells = append(cells, *c)
		}
	}
	return cells
}

// parallel runs f(0..n-1) with at most workers running at once and
// returns when all are done.
func parallel(workers, n int, f func(i int)) {
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	next := make(chan int)
	var wg sync.WaitGroup
	wg.Add(workers)
	for range workers {
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
