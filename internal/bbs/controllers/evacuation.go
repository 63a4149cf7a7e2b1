package controllers

import (
	"context"
	"errors"
	"slices"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/models"
)

// Evacuation (reference §4.4): a draining cell's rep reports each of its
// containers and learns whether to keep it (keep_container). The calls
// read the slot, decide (evacuation_plan.go for EvacuateRunning), and make
// the writes, each in its own locked transaction that checks again what
// it changes; events follow each commit.

// RemoveEvacuatingActualLRP deletes the EVACUATING row carrying ik.
// NotFound when no row of the slot carries ik or the one that does is not
// the EVACUATING row.
func (c *Controllers) RemoveEvacuatingActualLRP(ctx context.Context, key *models.ActualLRPKey, ik *models.ActualLRPInstanceKey) error {
	logger := c.lrpLogger(ctx, "remove-evacuating-actual-lrp", lager.Data{"actual_lrp_key": key, "instance_key": ik})
	u, err := c.DB.RemoveEvacuatingActualLRP(ctx, key, ik)
	if err != nil {
		logger.Error("failed-to-remove-evacuating-actual-lrp", err)
		return err
	}
	emitSlot(c.Hubs, ctx, u, false)
	return nil
}

// EvacuateClaimedActualLRP hands an instance a draining cell has claimed
// but not started back to the auctioneer: its EVACUATING or SUSPECT copy
// is deleted, or else the ORDINARY row is unclaimed and auctioned. The
// container is kept only when the unclaim fails (other than NotFound).
func (c *Controllers) EvacuateClaimedActualLRP(ctx context.Context, key *models.ActualLRPKey, ik *models.ActualLRPInstanceKey) (keep bool, err error) {
	logger := c.lrpLogger(ctx, "evacuate-claimed-actual-lrp", lager.Data{"actual_lrp_key": key, "instance_key": ik})
	target, handled, err := c.dropCopy(ctx, logger, key, ik)
	if err != nil || handled {
		return false, err
	}
	u, err := c.DB.UnclaimActualLRP(ctx, target.GetActualLrpKey())
	if errors.Is(err, models.ErrResourceNotFound) {
		return false, nil
	}
	if err != nil {
		logger.Error("failed-to-unclaim-actual-lrp", err)
		return true, err
	}
	emitSlot(c.Hubs, ctx, u, false)
	_ = c.auctionIndex(ctx, logger, key)
	return false, nil
}

// EvacuateCrashedActualLRP records the crash of an instance on a draining
// cell: its EVACUATING or SUSPECT copy is deleted, or else the ORDINARY
// row crashes as with CrashActualLRP, but no auction is requested even
// when it restarts at once (convergence auctions it), and the events are
// those of an ordinary write. The container is never kept.
func (c *Controllers) EvacuateCrashedActualLRP(ctx context.Context, key *models.ActualLRPKey, ik *models.ActualLRPInstanceKey, reason string) error {
	logger := c.lrpLogger(ctx, "evacuate-crashed-actual-lrp", lager.Data{"actual_lrp_key": key, "instance_key": ik})
	_, handled, err := c.dropCopy(ctx, logger, key, ik)
	if err != nil || handled {
		return err
	}
	u, err := c.DB.CrashActualLRP(ctx, key, ik, reason)
	if err != nil {
		logger.Error("failed-to-crash-actual-lrp", err)
		return err
	}
	emitSlot(c.Hubs, ctx, u, false)
	return nil
}

// EvacuateStoppedActualLRP records that an instance on a draining cell
// stopped: its EVACUATING or SUSPECT copy is deleted, or else its ORDINARY
// row. The container is never kept.
func (c *Controllers) EvacuateStoppedActualLRP(ctx context.Context, key *models.ActualLRPKey, ik *models.ActualLRPInstanceKey) error {
	logger := c.lrpLogger(ctx, "evacuate-stopped-actual-lrp", lager.Data{"actual_lrp_key": key, "instance_key": ik})
	_, handled, err := c.dropCopy(ctx, logger, key, ik)
	if err != nil || handled {
		return err
	}
	u, err := c.DB.RemoveActualLRP(ctx, key.GetProcessGuid(), key.GetIndex(), ik)
	if err != nil {
		logger.Error("failed-to-remove-actual-lrp", err)
		return err
	}
	emitSlot(c.Hubs, ctx, u, false)
	return nil
}

// dropCopy finds the row of the slot carrying ik (NotFound when none does)
// and, when it is the EVACUATING or SUSPECT copy, deletes it: handled. An
// ORDINARY target is returned for the caller to deal with.
func (c *Controllers) dropCopy(ctx context.Context, logger lager.Logger, key *models.ActualLRPKey, ik *models.ActualLRPInstanceKey) (target *models.ActualLRP, handled bool, err error) {
	rows, err := c.DB.ActualLRPSlot(ctx, key.GetProcessGuid(), key.GetIndex())
	if err != nil {
		logger.Error("failed-fetching-actual-lrps", err)
		return nil, false, err
	}
	target = carrying(rows, ik)
	if target == nil {
		logger.Debug("actual-lrp-not-found")
		return nil, false, models.ErrResourceNotFound
	}
	if target.GetPresence() == models.ActualLRP_ORDINARY {
		return target, false, nil
	}
	u, err := c.DB.DeleteActualLRP(ctx, key, target.GetPresence(), ik)
	if err != nil {
		logger.Error("failed-removing-actual-lrp-copy", err, lager.Data{"presence": target.GetPresence().String()})
		return nil, false, err
	}
	emitSlot(c.Hubs, ctx, u, false)
	return target, true, nil
}

// EvacuateRunningActualLRP decides the fate of a running instance on a
// draining cell (see evacuation_plan.go) and reports whether the rep keeps
// its container. in is what the rep reports about the instance.
func (c *Controllers) EvacuateRunningActualLRP(ctx context.Context, key *models.ActualLRPKey, in db.RunningInstance) (keep bool, err error) {
	logger := c.lrpLogger(ctx, "evacuate-running-actual-lrp", lager.Data{"actual_lrp_key": key, "instance_key": in.InstanceKey})
	rows, err := c.DB.ActualLRPSlot(ctx, key.GetProcessGuid(), key.GetIndex())
	if err != nil {
		logger.Error("failed-fetching-actual-lrps", err)
		return true, err
	}
	target := carrying(rows, in.InstanceKey)
	step := evacuateRunningFirst(rows, target)
	var instances int32
	if step == stepReadStrategy {
		var strategy models.DesiredLRP_UpdateStrategy
		strategy, instances, err = c.DB.DesiredLRPUpdateStrategyByProcessGuid(ctx, key.GetProcessGuid())
		switch {
		case errors.Is(err, models.ErrResourceNotFound):
			step = stepDropEvacuating // the desired LRP is gone
		case err != nil:
			logger.Error("failed-to-get-the-update-strategy", err)
			return true, err
		case strategy == models.DesiredLRP_RECREATE:
			step = evacuateRunningRecreate(target)
		default:
			step = evacuateRunningRolling(rows, target)
		}
	}
	logger.Debug("decided", lager.Data{"step": step.String()})

	switch step {
	case stepDropEvacuating:
		return c.dropEvacuating(ctx, logger, target)
	case stepKeepEvacuating:
		return c.keepEvacuating(ctx, logger, key, in)
	case stepDance:
		return true, c.evacuationDance(ctx, logger, rows, target)
	case stepDropSuspect:
		u, err := c.DB.DeleteActualLRP(ctx, key, models.ActualLRP_SUSPECT, in.InstanceKey)
		if err != nil {
			logger.Error("failed-removing-suspect-actual-lrp", err)
			return true, err
		}
		emitSlot(c.Hubs, ctx, u, false)
		return false, nil
	case stepRecreate:
		return c.recreate(ctx, logger, target, instances)
	}
	return false, nil
}

// dropEvacuating deletes target when it is an EVACUATING row. A row that
// changed meanwhile is left alone; other failures keep the container.
func (c *Controllers) dropEvacuating(ctx context.Context, logger lager.Logger, target *models.ActualLRP) (keep bool, err error) {
	if target.GetPresence() != models.ActualLRP_EVACUATING {
		return false, nil
	}
	u, err := c.DB.RemoveEvacuatingActualLRP(ctx, target.GetActualLrpKey(), target.GetActualLrpInstanceKey())
	if errors.Is(err, models.ErrResourceNotFound) {
		return false, nil
	}
	if err != nil {
		logger.Error("failed-removing-evacuating-actual-lrp", err)
		return true, err
	}
	emitSlot(c.Hubs, ctx, u, false)
	return false, nil
}

// keepEvacuating creates or refreshes the EVACUATING row with what the rep
// reports, keeping the container in every case.
func (c *Controllers) keepEvacuating(ctx context.Context, logger lager.Logger, key *models.ActualLRPKey, in db.RunningInstance) (keep bool, err error) {
	u, err := c.DB.EvacuateActualLRP(ctx, key, in)
	if errors.Is(err, models.ErrResourceExists) {
		return true, nil // already evacuating with exactly this
	}
	if err != nil {
		logger.Error("failed-evacuating-actual-lrp", err)
		return true, err
	}
	emitSlot(c.Hubs, ctx, u, false)
	return true, nil
}

// evacuationDance moves the running (or claimed) target, one of rows, to
// an EVACUATING copy of itself, then unclaims the ORDINARY row and
// auctions it again; a SUSPECT target is deleted instead, without an
// auction. The events are those of the reference: the instance "changed"
// into its evacuating copy, and a "created" UNCLAIMED instance.
func (c *Controllers) evacuationDance(ctx context.Context, logger lager.Logger, rows []*models.ActualLRP, target *models.ActualLRP) error {
	key := target.GetActualLrpKey()
	ev, err := c.DB.EvacuateActualLRP(ctx, key, runningCopy(target))
	if err != nil {
		logger.Error("failed-evacuating-actual-lrp", err)
		return err
	}
	evacuated := ev.Changes[0]
	changes := []db.ActualLRPChange{{Before: target, After: evacuated.After}}
	if evacuated.Before != nil {
		// It took over the EVACUATING row of another instance.
		changes = append(changes, db.ActualLRPChange{Before: evacuated.Before})
	}
	after := withoutRows(rows, func(l *models.ActualLRP) bool {
		return l == target || l.GetPresence() == models.ActualLRP_EVACUATING
	}, evacuated.After)

	var unclaimed *models.ActualLRP
	if target.GetPresence() == models.ActualLRP_SUSPECT {
		_, err = c.DB.DeleteActualLRP(ctx, key, models.ActualLRP_SUSPECT, target.GetActualLrpInstanceKey())
	} else {
		var u *db.SlotUpdate
		if u, err = c.DB.UnclaimActualLRP(ctx, key); err == nil {
			unclaimed = u.Changes[0].After
			changes = append(changes, db.ActualLRPChange{After: unclaimed})
			after = withoutRows(after, nil, unclaimed)
		}
	}
	if err != nil {
		after = withoutRows(after, nil, target) // it is still there
	}
	emitSlot(c.Hubs, ctx, &db.SlotUpdate{Before: rows, After: after, Changes: changes}, false)
	if err != nil {
		logger.Error("failed-to-finish-evacuation", err, lager.Data{"presence": target.GetPresence().String()})
		return err
	}
	if unclaimed != nil {
		_ = c.auctionIndex(ctx, logger, key)
	}
	return nil
}

// recreate unclaims the ORDINARY target under the RECREATE strategy if
// every desired instance runs, so that at most one is down at a time.
func (c *Controllers) recreate(ctx context.Context, logger lager.Logger, target *models.ActualLRP, instances int32) (keep bool, err error) {
	key := target.GetActualLrpKey()
	u, err := c.DB.UnclaimActualLRPIfAllRunning(ctx, key, instances)
	if errors.Is(err, models.ErrActualLRPCannotBeUnclaimed) {
		return true, nil // another instance is down: keep this one running
	}
	if err != nil {
		logger.Error("failed-to-unclaim-actual-lrp", err)
		return true, err
	}
	emitSlot(c.Hubs, ctx, u, false)
	_ = c.auctionIndex(ctx, logger, key)
	return false, nil
}

// runningCopy is what an evacuating copy of lrp carries: its own stored
// values.
func runningCopy(lrp *models.ActualLRP) db.RunningInstance {
	routable := lrp.GetRoutable()
	return db.RunningInstance{
		InstanceKey:      lrp.GetActualLrpInstanceKey(),
		NetInfo:          lrp.GetActualLrpNetInfo(),
		InternalRoutes:   lrp.GetActualLrpInternalRoutes(),
		MetricTags:       lrp.GetMetricTags(),
		Routable:         &routable,
		AvailabilityZone: lrp.GetAvailabilityZone(),
	}
}

// withoutRows returns rows without those drop selects (when not nil), plus
// add (when not nil), ordered by presence.
func withoutRows(rows []*models.ActualLRP, drop func(*models.ActualLRP) bool, add *models.ActualLRP) []*models.ActualLRP {
	out := slices.Clone(rows)
	if drop != nil {
		out = slices.DeleteFunc(out, drop)
	}
	if add != nil {
		out = append(out, add)
	}
	slices.SortStableFunc(out, func(a, b *models.ActualLRP) int { return int(a.GetPresence()) - int(b.GetPresence()) })
	return out
}
