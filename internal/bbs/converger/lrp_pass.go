package converger

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/auctioneer/auctioneerclient"
	"github.com/diego-go/diego/internal/bbs/converge"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/rep/repclient"
)

// LRPPassSummary is what one LRP pass did.
type LRPPassSummary struct {
	// Skipped: the cell list could not be fetched, nothing was done.
	Skipped bool
	// Duration is the whole pass; Load, Plan and Apply its phases (Apply
	// includes the retirements, rep updates and the auction request).
	Duration, Load, Plan, Apply time.Duration
	// ActualRows and DesiredLRPs are the snapshot's sizes; DriftRows the
	// rows whose routes and tags were read.
	ActualRows, DesiredLRPs, DriftRows int
	// Writes is the slot writes planned; Applied, Conflicts and Failed
	// their outcomes (a conflict is a slot another writer changed since the
	// snapshot: left for the next pass).
	Writes, Applied, Conflicts, Failed int
	// Retirements planned, and those skipped as conflicts.
	Retirements, RetireConflicts int
	// Auctioned is the number of instances in the pass's auction request.
	Auctioned int
	// RouteUpdates and TagUpdates are the rep updates sent.
	RouteUpdates, TagUpdates int
	Metrics                  converge.LRPMetrics
	FreshDomains             []string
}

// RunLRPPass runs one LRP pass (reference §5.1) and returns what it did.
// A failed cell fetch skips the pass (Skipped, with the error); a failed
// snapshot read fails it. Failures of single writes, retirements, rep
// updates and the auction request are logged and counted, not returned.
func (c *Converger) RunLRPPass(ctx context.Context) (LRPPassSummary, error) {
	logger := c.Logger.Session("converge-lrps")
	start := c.Clock.Now()
	var sum LRPPassSummary
	cells, byID, err := c.cellSet(ctx)
	if err != nil {
		logger.Error("failed-listing-cells", err)
		sum.Skipped = true
		return sum, err
	}
	snap, err := c.DB.LoadLRPSnapshot(ctx, c.memo)
	if err != nil {
		logger.Error("failed-loading-snapshot", err)
		return sum, err
	}
	snap.Cells, snap.CellsKnown = cells, true
	loaded := c.Clock.Now()
	plan := converge.PlanLRPs(snap, loaded)
	c.memo.Record(plan.InSync)
	planned := c.Clock.Now()
	sum.ActualRows, sum.DesiredLRPs = len(snap.Actual), len(snap.Desired)
	for i := range snap.Actual {
		if snap.Actual[i].Drift != nil {
			sum.DriftRows++
		}
	}
	snap = nil // the plan holds what is needed

	if len(plan.PruneDomains) > 0 {
		if err := c.DB.PruneDomains(ctx, plan.PruneDomains, loaded.UnixNano()); err != nil {
			logger.Error("failed-pruning-domains", err, lager.Data{"domains": plan.PruneDomains})
		}
	}
	if len(plan.MissingCells) > 0 {
		logger.Info("detected-missing-cells", lager.Data{"cell_ids": plan.MissingCells})
	}
	auctions := newAuctionSet()
	for _, r := range plan.StaleUnclaimed {
		auctions.add(r.ProcessGUID, r.Index)
	}
	c.act(ctx, logger, &plan, byID, auctions, &sum)
	sum.Auctioned = c.auction(ctx, logger, auctions)

	sum.Load, sum.Plan = loaded.Sub(start), planned.Sub(loaded)
	sum.Duration = c.Clock.Since(start)
	sum.Apply = sum.Duration - sum.Load - sum.Plan
	sum.Metrics, sum.FreshDomains = plan.Metrics, plan.FreshDomains
	c.Metrics.recordLRPPass(sum)
	logger.Info("done", lager.Data{
		"duration": sum.Duration.String(), "load": sum.Load.String(), "plan": sum.Plan.String(), "apply": sum.Apply.String(),
		"actual_rows": sum.ActualRows, "desired": sum.DesiredLRPs, "drift_rows": sum.DriftRows,
		"writes": sum.Writes, "conflicts": sum.Conflicts, "failed": sum.Failed, "retirements": sum.Retirements,
		"auctioned": sum.Auctioned, "route_updates": sum.RouteUpdates, "tag_updates": sum.TagUpdates,
	})
	return sum, nil
}

// act runs the plan's writes, retirements and rep updates on the pass's
// workers, all at once as the reference's worker pool does.
func (c *Converger) act(ctx context.Context, logger lager.Logger, plan *converge.LRPPlan, cells map[string]*models.CellPresence, auctions *auctionSet, sum *LRPPassSummary) {
	batches := converge.BatchWrites(plan.Writes, c.cfg.BatchSlots)
	var mu sync.Mutex
	sum.Writes, sum.Retirements = len(plan.Writes), len(plan.Retirements)
	works := len(batches) + len(plan.Retirements) + len(plan.RouteUpdates) + len(plan.TagUpdates)
	each(ctx, c.cfg.Workers, works, func(i int) {
		switch {
		case i < len(batches):
			st := c.applyWrites(ctx, logger, batches[i], auctions)
			mu.Lock()
			sum.Applied, sum.Conflicts, sum.Failed = sum.Applied+st.applied, sum.Conflicts+st.conflicts, sum.Failed+st.failed
			mu.Unlock()
			return
		case i < len(batches)+len(plan.Retirements):
			r := plan.Retirements[i-len(batches)]
			if c.retire(ctx, logger, r) {
				mu.Lock()
				sum.RetireConflicts++
				mu.Unlock()
			}
			return
		}
		i -= len(batches) + len(plan.Retirements)
		var u converge.InstanceUpdate
		if i < len(plan.RouteUpdates) {
			u = plan.RouteUpdates[i]
		} else {
			u = plan.TagUpdates[i-len(plan.RouteUpdates)]
		}
		c.updateInstance(ctx, logger, cells[u.Row.CellID], u)
	})
	sum.RouteUpdates, sum.TagUpdates = len(plan.RouteUpdates), len(plan.TagUpdates)
}

type writeStats struct{ applied, conflicts, failed int }

// applyWrites applies one batch, announces what changed and notes the
// instances to auction.
func (c *Converger) applyWrites(ctx context.Context, logger lager.Logger, batch []converge.SlotWrite, auctions *auctionSet) writeStats {
	var st writeStats
	for _, r := range c.DB.ApplyLRPWrites(ctx, batch) {
		w := r.Write
		switch {
		case errors.Is(r.Err, models.ErrResourceConflict):
			st.conflicts++
			logger.Debug("skipped-changed-slot", lager.Data{"write": w.Kind.String(), "process_guid": w.Row.ProcessGUID, "index": w.Row.Index})
		case r.Err != nil:
			st.failed++
			logger.Error("failed-to-"+w.Kind.String(), r.Err, lager.Data{"process_guid": w.Row.ProcessGUID, "index": w.Row.Index, "reason": w.Reason})
		default:
			st.applied++
			c.Controllers.EmitConvergence(ctx, w.Kind, r.Update)
			if w.Kind.Auctions() {
				auctions.add(w.Row.ProcessGUID, w.Row.Index)
			}
		}
	}
	return st
}

// retire retires one instance as the API does; it reports a conflict.
func (c *Converger) retire(ctx context.Context, logger lager.Logger, r converge.Retirement) (conflict bool) {
	err := c.Controllers.RetireSeenActualLRP(ctx, r.Row.Key(), r.Row.ModificationTag())
	switch {
	case errors.Is(err, models.ErrResourceConflict), errors.Is(err, models.ErrResourceNotFound):
		return true
	case err != nil:
		logger.Error("retiring-lrp-failed", err, lager.Data{"process_guid": r.Row.ProcessGUID, "index": r.Row.Index, "reason": r.Reason})
	}
	return false
}

// updateInstance sends one rep update (steps 13, 14).
func (c *Converger) updateInstance(ctx context.Context, logger lager.Logger, cell *models.CellPresence, u converge.InstanceUpdate) {
	data := lager.Data{"process_guid": u.Row.ProcessGUID, "index": u.Row.Index, "cell_id": u.Row.CellID}
	if cell == nil {
		logger.Info("cell-gone-skipping-update", data)
		return
	}
	var routes []repclient.InternalRoute
	if u.InternalRoutes != nil {
		routes = make([]repclient.InternalRoute, len(u.InternalRoutes))
		for i, h := range u.InternalRoutes {
			routes[i].Hostname = h
		}
	}
	update := repclient.NewLRPUpdate(u.Row.Key(), u.Row.InstanceGUID, routes, u.MetricTags)
	if err := c.Controllers.Reps.UpdateLRPInstance(ctx, cell.GetRepUrl(), update); err != nil {
		logger.Error("updating-lrp-instance", err, data)
	}
}

// auctionSet collects the indices to auction, by process guid.
type auctionSet struct {
	mu      sync.Mutex
	indices map[string][]int
}

func newAuctionSet() *auctionSet { return &auctionSet{indices: map[string][]int{}} }

func (a *auctionSet) add(guid string, index int32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.indices[guid] = append(a.indices[guid], int(index))
}

// auction sends one LRP auction request for every collected index whose
// desired LRP still exists, and returns how many instances it held.
func (c *Converger) auction(ctx context.Context, logger lager.Logger, a *auctionSet) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.indices) == 0 {
		return 0
	}
	guids := make([]string, 0, len(a.indices))
	for g := range a.indices {
		guids = append(guids, g)
	}
	slices.Sort(guids)
	infos, err := c.DB.SchedulingInfosByProcessGuids(ctx, guids)
	if err != nil {
		logger.Error("failed-fetching-scheduling-infos", err)
		return 0
	}
	starts := make([]*auctioneerclient.LRPStartRequest, 0, len(infos))
	n := 0
	for _, info := range infos {
		indices := a.indices[info.GetDesiredLrpKey().GetProcessGuid()]
		slices.Sort(indices)
		indices = slices.Compact(indices)
		starts = append(starts, auctioneerclient.NewLRPStartRequest(info, indices...))
		n += len(indices)
	}
	if len(starts) == 0 {
		return 0
	}
	slices.SortFunc(starts, func(x, y *auctioneerclient.LRPStartRequest) int {
		return strings.Compare(x.ProcessGuid, y.ProcessGuid)
	})
	if err := c.Controllers.Auctioneer.RequestLRPAuctions(ctx, starts); err != nil {
		logger.Error("failed-to-request-starts", err, lager.Data{"instances": n})
		return 0
	}
	return n
}
