package controllers

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/auctioneer/auctioneerclient"
	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/rep/repclient"
)

// The desired-LRP lifecycle (reference §4.6). Each call stores first; what
// follows the commit (events, new instance rows, the auction, rep calls)
// runs on a context that the caller hanging up does not cancel, and its
// failures are logged, never returned: convergence repairs what they
// leave undone.

// DesireLRP stores a new desired LRP, announces it, creates an UNCLAIMED
// instance for every index and asks for one auction of the indices it
// created.
func (c *Controllers) DesireLRP(ctx context.Context, lrp *models.DesiredLRP) error {
	logger := c.desiredSession(ctx, "desire-lrp", lrp.GetProcessGuid())
	stored, err := c.DB.DesireLRP(ctx, lrp)
	if err != nil {
		logger.Error("failed-to-desire-lrp", err)
		return err
	}
	ctx = context.WithoutCancel(ctx)
	info := stored.SchedulingInfo()
	c.Hubs.Desired.Emit(models.NewDesiredLRPCreatedEvent(stored, traceID(ctx)))
	c.startDesiredInstances(ctx, logger, info, 0, info.GetInstances())
	return nil
}

// UpdateDesiredLRP applies update, announces the change (even when nothing
// changed), then starts the instances a scale-up adds, stops those a
// scale-down removes, and tells the reps of the remaining instances about
// new internal routes or metric tags.
func (c *Controllers) UpdateDesiredLRP(ctx context.Context, processGuid string, update *models.DesiredLRPUpdate) error {
	logger := c.desiredSession(ctx, "update-desired-lrp", processGuid)
	if update == nil {
		return models.ErrBadRequest
	}
	before, after, err := c.DB.UpdateDesiredLRP(ctx, processGuid, update)
	if err != nil {
		logger.Error("failed-to-update-desired-lrp", err)
		return err
	}
	ctx = context.WithoutCancel(ctx)
	c.Hubs.Desired.Emit(models.NewDesiredLRPChangedEvent(before, after, traceID(ctx)))

	plan := instancePlan{stopFrom: -1}
	switch old, cur := before.GetInstances(), after.GetInstances(); {
	case cur > old:
		c.startDesiredInstances(ctx, logger, after.SchedulingInfo(), old, cur)
	case cur < old:
		plan.stopFrom = cur
	}
	plan.update = newInstanceUpdate(logger, before, after, update)
	if plan.stopFrom >= 0 || plan.update != nil {
		c.reconcileInstances(ctx, logger, processGuid, plan)
	}
	return nil
}

// RemoveDesiredLRP deletes a desired LRP (ResourceNotFound when there is
// none), announces it, and stops every instance; evacuating copies are
// left to the evacuation protocol.
func (c *Controllers) RemoveDesiredLRP(ctx context.Context, processGuid string) error {
	logger := c.desiredSession(ctx, "remove-desired-lrp", processGuid)
	removed, err := c.DB.RemoveDesiredLRP(ctx, processGuid)
	if err != nil {
		logger.Error("failed-to-remove-desired-lrp", err)
		return err
	}
	ctx = context.WithoutCancel(ctx)
	c.Hubs.Desired.Emit(models.NewDesiredLRPRemovedEvent(removed, traceID(ctx)))
	c.reconcileInstances(ctx, logger, processGuid, instancePlan{stopFrom: 0})
	return nil
}

func (c *Controllers) desiredSession(ctx context.Context, name, processGuid string) lager.Logger {
	data := lager.Data{"process_guid": processGuid}
	if id := traceID(ctx); id != "" {
		data["trace-id"] = id
	}
	return c.Logger.Session(name, data)
}

// startDesiredInstances creates UNCLAIMED rows for the indices [lower, upper),
// at most UpdateWorkers at a time, announcing each, and requests one
// auction for the indices it created.
func (c *Controllers) startDesiredInstances(ctx context.Context, logger lager.Logger, info *models.DesiredLRPSchedulingInfo, lower, upper int32) {
	if upper <= lower {
		return
	}
	logger = logger.Session("start-instances", lager.Data{"lower": lower, "upper": upper})
	key := info.GetDesiredLrpKey()
	var mu sync.Mutex
	var created []int
	c.boundedEach(int(upper-lower), func(i int) {
		index := lower + int32(i)
		lrp, err := c.DB.CreateUnclaimedActualLRP(ctx, &models.ActualLRPKey{
			ProcessGuid: key.GetProcessGuid(), Index: index, Domain: key.GetDomain(),
		})
		if err != nil {
			logger.Error("failed-to-create-unclaimed-actual-lrp", err, lager.Data{"index": index})
			return
		}
		emitSlot(c.Hubs, ctx, &db.SlotUpdate{
			After:   []*models.ActualLRP{lrp},
			Changes: []db.ActualLRPChange{{After: lrp}},
		}, false)
		mu.Lock()
		created = append(created, int(index))
		mu.Unlock()
	})
	if len(created) == 0 {
		return
	}
	slices.Sort(created)
	start := auctioneerclient.NewLRPStartRequest(info, created...)
	if err := c.Auctioneer.RequestLRPAuctions(ctx, []*auctioneerclient.LRPStartRequest{start}); err != nil {
		logger.Error("failed-to-request-auctions", err, lager.Data{"indices": created})
	}
}

// instancePlan is what happens to the existing instances of a desired LRP
// after it changed.
type instancePlan struct {
	// stopFrom: instances at this index and above go (-1: none).
	stopFrom int32
	// update, if not nil, is sent to the reps of the CLAIMED and RUNNING
	// instances that stay.
	update *instanceUpdate
}

// instanceAction is what a plan does to one instance.
type instanceAction int

const (
	leaveInstanceAlone instanceAction = iota
	stopExtraInstance
	updateLiveInstance
)

// action is what plan does to lrp. Evacuating copies are left to the
// evacuation protocol.
func (p instancePlan) action(lrp *models.ActualLRP) instanceAction {
	switch {
	case lrp.GetPresence() == models.ActualLRP_EVACUATING:
		return leaveInstanceAlone
	case p.stopFrom >= 0 && lrp.GetActualLrpKey().GetIndex() >= p.stopFrom:
		return stopExtraInstance
	case p.update != nil && claimedOrRunning(lrp):
		return updateLiveInstance
	}
	return leaveInstanceAlone
}

// instanceUpdate is a change of internal routes or metric tags the reps of
// running instances are told about; a nil part is unchanged.
type instanceUpdate struct {
	routes []repclient.InternalRoute
	tags   map[string]*models.MetricTagValue
}

// newInstanceUpdate returns what the reps must hear of an update, or nil
// when it changes neither the internal-router routes nor the metric tags.
func newInstanceUpdate(logger lager.Logger, before, after *models.DesiredLRP, update *models.DesiredLRPUpdate) *instanceUpdate {
	var u instanceUpdate
	if internalRoutesChanged(before, update) {
		routes, err := repclient.InternalRoutesFromRoutes(after.GetRoutes())
		switch {
		case err != nil:
			logger.Error("failed-to-read-internal-routes", err)
		case routes == nil:
			u.routes = []repclient.InternalRoute{} // removed: the instances have none left
		default:
			u.routes = routes
		}
	}
	if metricTagsChanged(before, update) {
		u.tags = after.GetMetricTags()
	}
	if u.routes == nil && u.tags == nil {
		return nil
	}
	return &u
}

// forInstance is the rep update of one instance.
func (u *instanceUpdate) forInstance(lrp *models.ActualLRP) *repclient.LRPUpdate {
	ik := lrp.GetActualLrpInstanceKey()
	var tags map[string]string
	if u.tags != nil {
		tags = models.ResolveMetricTags(u.tags, lrp.GetActualLrpKey().GetIndex(), ik.GetInstanceGuid())
	}
	return repclient.NewLRPUpdate(lrp.GetActualLrpKey(), ik.GetInstanceGuid(), u.routes, tags)
}

// reconcileInstances applies plan to the process's instances: UNCLAIMED and
// CRASHED instances to stop are deleted, CLAIMED and RUNNING ones
// (suspects included) are stopped by their rep, and the CLAIMED and
// RUNNING instances that stay get the update.
func (c *Controllers) reconcileInstances(ctx context.Context, logger lager.Logger, processGuid string, plan instancePlan) {
	lrps, err := c.DB.ActualLRPs(ctx, db.ActualLRPFilter{ProcessGUID: processGuid})
	if err != nil {
		logger.Error("failed-to-fetch-actual-lrps", err)
		return
	}
	lrps = slices.DeleteFunc(lrps, func(lrp *models.ActualLRP) bool { return plan.action(lrp) == leaveInstanceAlone })
	c.boundedEach(len(lrps), func(i int) {
		switch lrp := lrps[i]; plan.action(lrp) {
		case stopExtraInstance:
			c.stopDesiredInstance(ctx, logger, lrp)
		case updateLiveInstance:
			c.updateDesiredInstance(ctx, logger, lrp, plan.update.forInstance(lrp))
		}
	})
}

func claimedOrRunning(lrp *models.ActualLRP) bool {
	s := lrp.GetState()
	return s == models.ActualLRPStateClaimed || s == models.ActualLRPStateRunning
}

// stopDesiredInstance makes one instance go: a row no cell runs is
// deleted; otherwise the rep of its cell is asked to stop it (the rep then
// removes the row), and if the cell is gone, the row is deleted.
func (c *Controllers) stopDesiredInstance(ctx context.Context, logger lager.Logger, lrp *models.ActualLRP) {
	key, ik := lrp.GetActualLrpKey(), lrp.GetActualLrpInstanceKey()
	data := lager.Data{"index": key.GetIndex(), "state": lrp.GetState(), "presence": lrp.GetPresence().String()}
	if !claimedOrRunning(lrp) {
		c.deleteDesiredInstance(ctx, logger, lrp, data)
		return
	}
	data["instance_guid"], data["cell_id"] = ik.GetInstanceGuid(), ik.GetCellId()
	cell, err := c.Cells.CellByID(ctx, ik.GetCellId())
	switch {
	case errors.Is(err, models.ErrResourceNotFound):
		c.deleteDesiredInstance(ctx, logger, lrp, data)
		return
	case err != nil:
		logger.Error("failed-to-fetch-cell", err, data)
		return
	}
	if err := c.Reps.StopLRPInstance(ctx, cell.GetRepUrl(), key, ik); err != nil {
		logger.Error("failed-to-stop-lrp-instance", err, data)
	}
}

// deleteDesiredInstance deletes the row lrp was read as, provided it still
// carries the same instance key (a cell that claimed it meanwhile keeps
// it), and announces it.
func (c *Controllers) deleteDesiredInstance(ctx context.Context, logger lager.Logger, lrp *models.ActualLRP, data lager.Data) {
	u, err := c.DB.DeleteActualLRP(ctx, lrp.GetActualLrpKey(), lrp.GetPresence(), lrp.GetActualLrpInstanceKey())
	if err != nil {
		logger.Error("failed-to-remove-actual-lrp", err, data)
		return
	}
	emitSlot(c.Hubs, ctx, u, false)
}

// updateDesiredInstance sends one instance's update to the rep of its cell.
func (c *Controllers) updateDesiredInstance(ctx context.Context, logger lager.Logger, lrp *models.ActualLRP, u *repclient.LRPUpdate) {
	cellID := lrp.GetActualLrpInstanceKey().GetCellId()
	data := lager.Data{"index": u.Index, "instance_guid": u.InstanceGuid, "cell_id": cellID}
	cell, err := c.Cells.CellByID(ctx, cellID)
	if err != nil {
		logger.Error("failed-to-fetch-cell", err, data)
		return
	}
	if err := c.Reps.UpdateLRPInstance(ctx, cell.GetRepUrl(), u); err != nil {
		logger.Error("failed-to-update-lrp-instance", err, data)
	}
}

// boundedEach runs fn(0) … fn(n-1) with at most UpdateWorkers running at
// once and returns when all have.
func (c *Controllers) boundedEach(n int, fn func(i int)) {
	workers := min(c.UpdateWorkers, n)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
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
		next <- i
	}
	close(next)
	wg.Wait()
}

// internalRoutesChanged reports whether update changes the internal-router
// routes of before: it carries routes, and their internal-router entry
// differs from before's in presence or bytes.
func internalRoutesChanged(before *models.DesiredLRP, update *models.DesiredLRPUpdate) bool {
	if update.GetRoutes() == nil {
		return false
	}
	old, hadOld := before.GetRoutes().GetRoutes()[repclient.InternalRouterKey]
	cur, hasCur := update.GetRoutes().GetRoutes()[repclient.InternalRouterKey]
	return hadOld != hasCur || string(old) != string(cur)
}

// metricTagsChanged reports whether update replaces before's metric tags
// with different ones.
func metricTagsChanged(before *models.DesiredLRP, update *models.DesiredLRPUpdate) bool {
	if !update.ReplacesMetricTags() {
		return false
	}
	return !maps.EqualFunc(before.GetMetricTags(), update.GetMetricTags(), func(a, b *models.MetricTagValue) bool {
		return a.GetStatic() == b.GetStatic() && a.GetDynamic() == b.GetDynamic()
	})
}
