package converger

import (
	"context"
	"slices"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/bbs/converge"
)

// Between passes the converger compares the cell list with the previous
// look every CellPollInterval (one locket FetchAll: cheap). When a cell
// that was present has vanished, the missing-cell part of the LRP pass
// runs at once for the slots that have a row there: its instances become
// suspects with replacements, which are auctioned in one request. The
// reference notices a lost cell only on its next pass (up to the whole
// interval after the presence expired); this brings it down to the poll
// interval plus one small pass. Running beside a pass is safe: every write
// is compare-and-swap, so whichever comes second finds the slot changed
// and leaves it.

// MissingCellSummary is what one reaction to missing cells did.
type MissingCellSummary struct {
	Cells    []string
	Duration time.Duration
	// Rows is the rows of the slots loaded; Writes, Applied and
	// Conflicts as in an LRP pass.
	Rows, Writes, Applied, Conflicts, Failed int
	Auctioned                                int
}

// cellWatch compares each look at the cell list with the previous one.
type cellWatch struct {
	c      *Converger
	logger lager.Logger
	prev   converge.CellSet    // nil until a look succeeds
	retry  map[string]struct{} // lost cells whose reaction failed
}

func (c *Converger) newCellWatch() *cellWatch {
	return &cellWatch{c: c, logger: c.Logger.Session("watch-cells"), retry: map[string]struct{}{}}
}

// run looks every CellPollInterval until ctx is done.
func (w *cellWatch) run(ctx context.Context) {
	ticker := w.c.Clock.NewTicker(w.c.cfg.CellPollInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
			w.look(ctx)
		}
	}
}

// look fetches the cells and reacts to those gone since the last look
// (and to those whose reaction failed, while they stay gone).
func (w *cellWatch) look(ctx context.Context) {
	cur, _, err := w.c.cellSet(ctx)
	if err != nil {
		w.logger.Debug("failed-listing-cells", lager.Data{"error": err.Error()})
		return
	}
	var lost []string
	for id := range w.prev {
		if !cur.Has(id) {
			lost = append(lost, id)
		}
	}
	for id := range w.retry {
		if !cur.Has(id) && !slices.Contains(lost, id) {
			lost = append(lost, id)
		}
	}
	clear(w.retry)
	w.prev = cur
	if len(lost) == 0 {
		return
	}
	slices.Sort(lost)
	if _, err := w.c.RunMissingCellPass(ctx, cur, lost); err != nil {
		for _, id := range lost {
			w.retry[id] = struct{}{}
		}
	}
}

// RunMissingCellPass reacts to the cells lost having vanished from cells
// (the present ones): for every slot with a row on one of them, it prunes
// evacuating rows of missing cells and suspects and replaces the instances
// of missing cells (steps 2 and 5 of the LRP pass), and auctions the
// replacements in one request.
func (c *Converger) RunMissingCellPass(ctx context.Context, cells converge.CellSet, lost []string) (MissingCellSummary, error) {
	logger := c.Logger.Session("missing-cells", lager.Data{"cell_ids": lost})
	start := c.Clock.Now()
	sum := MissingCellSummary{Cells: lost}
	snap, err := c.DB.LoadCellSlots(ctx, lost)
	if err != nil {
		logger.Error("failed-loading-slots", err)
		return sum, err
	}
	snap.Cells, snap.CellsKnown = cells, true
	plan := converge.PlanMissingCells(snap, c.Clock.Now())
	sum.Rows, sum.Writes = len(snap.Actual), len(plan.Writes)
	auctions := newAuctionSet()
	batches := converge.BatchWrites(plan.Writes, c.cfg.BatchSlots)
	stats := make([]writeStats, len(batches))
	each(ctx, c.cfg.Workers, len(batches), func(i int) {
		stats[i] = c.applyWrites(ctx, logger, batches[i], auctions)
	})
	for _, st := range stats {
		sum.Applied, sum.Conflicts, sum.Failed = sum.Applied+st.applied, sum.Conflicts+st.conflicts, sum.Failed+st.failed
	}
	sum.Auctioned = c.auction(ctx, logger, auctions)
	sum.Duration = c.Clock.Since(start)
	c.Metrics.recordMissingCells(sum)
	logger.Info("reacted-to-missing-cells", lager.Data{
		"duration": sum.Duration.String(), "rows": sum.Rows, "writes": sum.Writes, "applied": sum.Applied,
		"conflicts": sum.Conflicts, "failed": sum.Failed, "auctioned": sum.Auctioned,
	})
	return sum, nil
}
