package controllers

import (
	"context"
	"errors"
	"slices"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/auctioneer/auctioneerclient"
	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/models"
)

// The actual LRP lifecycle (reference §4.2): what reps, the auctioneer and
// Cloud Controller report about one instance slot. Each call writes the
// slot in one transaction (db locks it and decides), then announces what
// changed on the instance and group streams; a call that changed nothing
// announces nothing.

// ClaimActualLRP records that the cell of ik claimed the instance at
// (processGuid, index). A claim from the instance's SUSPECT copy, or a
// repeated claim, succeeds without a change.
func (c *Controllers) ClaimActualLRP(ctx context.Context, processGuid string, index int32, ik *models.ActualLRPInstanceKey) error {
	logger := c.lrpLogger(ctx, "claim-actual-lrp", lager.Data{"process_guid": processGuid, "index": index, "instance_key": ik})
	u, err := c.DB.ClaimActualLRP(ctx, processGuid, index, ik)
	if err != nil {
		logger.Error("failed-to-claim-actual-lrp", err)
		return err
	}
	if u.FromSuspect() {
		logger.Info("ignored-claim-request-from-suspect")
	}
	emitSlot(c.Hubs, ctx, u, false)
	return nil
}

// StartActualLRP records that the instance runs with what the rep reports.
// It creates the ORDINARY row when there is none, and drops the EVACUATING
// and SUSPECT copies the instance replaces. A start from the SUSPECT copy
// itself, or one that repeats what is stored, changes nothing.
func (c *Controllers) StartActualLRP(ctx context.Context, key *models.ActualLRPKey, in db.RunningInstance) error {
	logger := c.lrpLogger(ctx, "start-actual-lrp", lager.Data{"actual_lrp_key": key, "instance_key": in.InstanceKey})
	u, err := c.DB.StartActualLRP(ctx, key, in)
	if err != nil {
		logger.Error("failed-to-start-actual-lrp", err)
		return err
	}
	if u.FromSuspect() {
		logger.Info("ignored-start-request-from-suspect")
	}
	emitSlot(c.Hubs, ctx, u, false)
	return nil
}

// CrashActualLRP records that the instance ik crashed. The ORDINARY row
// becomes CRASHED, or UNCLAIMED when the restart policy restarts it at
// once, in which case the index is auctioned again. The crash of the
// SUSPECT copy only deletes it. As in the reference, a failure to read the
// scheduling info for that auction is returned (the crash is recorded).
func (c *Controllers) CrashActualLRP(ctx context.Context, key *models.ActualLRPKey, ik *models.ActualLRPInstanceKey, reason string) error {
	logger := c.lrpLogger(ctx, "crash-actual-lrp", lager.Data{"actual_lrp_key": key, "instance_key": ik})
	u, err := c.DB.CrashActualLRP(ctx, key, ik, reason)
	if err != nil {
		logger.Error("failed-to-crash-actual-lrp", err)
		return err
	}
	if u.FromSuspect() {
		logger.Info("removed-crashed-suspect-actual-lrp")
		emitSlot(c.Hubs, ctx, u, false)
		return nil
	}
	emitSlot(c.Hubs, ctx, u, true)
	if !u.RestartImmediately {
		return nil
	}
	return c.auctionIndex(ctx, logger, key)
}

// FailActualLRP records that the auctioneer could not place the UNCLAIMED
// instance at key. A missing instance is a success without a change.
func (c *Controllers) FailActualLRP(ctx context.Context, key *models.ActualLRPKey, reason string) error {
	logger := c.lrpLogger(ctx, "fail-actual-lrp", lager.Data{"actual_lrp_key": key})
	u, err := c.DB.FailActualLRP(ctx, key, reason)
	if err != nil {
		logger.Error("failed-to-fail-actual-lrp", err)
		return err
	}
	emitSlot(c.Hubs, ctx, u, false)
	return nil
}

// RemoveActualLRP deletes the ORDINARY instance at (processGuid, index),
// which must carry ik when ik is set (a rep removing what it stopped).
func (c *Controllers) RemoveActualLRP(ctx context.Context, processGuid string, index int32, ik *models.ActualLRPInstanceKey) error {
	logger := c.lrpLogger(ctx, "remove-actual-lrp", lager.Data{"process_guid": processGuid, "index": index, "instance_key": ik})
	u, err := c.DB.RemoveActualLRP(ctx, processGuid, index, ik)
	if err != nil {
		logger.Error("failed-to-remove-actual-lrp", err)
		return err
	}
	emitSlot(c.Hubs, ctx, u, false)
	return nil
}

// RetireActualLRP stops the ORDINARY instance at key without changing what
// is desired. An UNCLAIMED or CRASHED instance is deleted. A CLAIMED or
// RUNNING one is stopped by the rep of its cell, which then removes it;
// its removal is announced as soon as the rep accepted the stop. When its
// cell is gone it is deleted instead. Deletes and stops are tried up to
// RetireActualLRPRetryAttempts times; a failed cell lookup, or a failed
// delete after the cell was found gone, is returned at once.
func (c *Controllers) RetireActualLRP(ctx context.Context, key *models.ActualLRPKey) error {
	return c.retire(ctx, key, nil)
}

// retire is RetireActualLRP; with a tag, only the instance carrying it is
// retired (ResourceConflict otherwise).
func (c *Controllers) retire(ctx context.Context, key *models.ActualLRPKey, tag *models.ModificationTag) error {
	logger := c.lrpLogger(ctx, "retire-actual-lrp", lager.Data{"process_guid": key.GetProcessGuid(), "index": key.GetIndex()})
	rows, err := c.DB.ActualLRPSlot(ctx, key.GetProcessGuid(), key.GetIndex())
	if err != nil {
		logger.Error("failed-to-read-actual-lrps", err)
		return err
	}
	lrp := withPresence(rows, models.ActualLRP_ORDINARY)
	if lrp == nil {
		return models.ErrResourceNotFound
	}
	if tag != nil && (lrp.GetModificationTag().GetEpoch() != tag.GetEpoch() || lrp.GetModificationTag().GetIndex() != tag.GetIndex()) {
		return models.ErrResourceConflict
	}
	for attempt := 1; ; attempt++ {
		final, err := c.retireOnce(ctx, logger, rows, lrp)
		if err == nil || final || attempt >= models.RetireActualLRPRetryAttempts || ctx.Err() != nil {
			return err
		}
		logger.Error("retrying-failed-retire-of-actual-lrp", err, lager.Data{"attempt": attempt})
	}
}

// retireOnce makes one attempt at retiring lrp, one of rows (its slot).
// final reports an error not worth another attempt.
func (c *Controllers) retireOnce(ctx context.Context, logger lager.Logger, rows []*models.ActualLRP, lrp *models.ActualLRP) (final bool, err error) {
	remove := func() error {
		u, err := c.DB.RemoveActualLRP(ctx, lrp.GetActualLrpKey().GetProcessGuid(), lrp.GetActualLrpKey().GetIndex(), lrp.GetActualLrpInstanceKey())
		if err != nil {
			logger.Error("failed-to-remove-actual-lrp", err)
			return err
		}
		emitSlot(c.Hubs, ctx, u, false)
		return nil
	}
	switch lrp.GetState() {
	case models.ActualLRPStateClaimed, models.ActualLRPStateRunning:
	default:
		return false, remove()
	}
	cell, err := c.Cells.CellByID(ctx, lrp.GetActualLrpInstanceKey().GetCellId())
	if errors.Is(err, models.ErrResourceNotFound) {
		logger.Info("cell-not-found-removing-actual-lrp", lager.Data{"cell_id": lrp.GetActualLrpInstanceKey().GetCellId()})
		return true, remove()
	}
	if err != nil {
		logger.Error("failed-to-fetch-cell", err)
		return true, err
	}
	if err := c.Reps.StopLRPInstance(ctx, cell.GetRepUrl(), lrp.GetActualLrpKey(), lrp.GetActualLrpInstanceKey()); err != nil {
		logger.Error("failed-to-stop-actual-lrp", err, lager.Data{"cell_id": cell.GetCellId()})
		return false, err
	}
	// The row stays until the rep removes it; the instance is announced
	// gone now, as the reference does.
	emitSlot(c.Hubs, ctx, removal(rows, lrp), false)
	return false, nil
}

// auctionIndex asks the auctioneer to place the instance at key's index,
// built from the desired LRP's scheduling info. A failed read of the
// scheduling info is returned; a failed auction request is only logged,
// since convergence auctions stale UNCLAIMED instances again.
func (c *Controllers) auctionIndex(ctx context.Context, logger lager.Logger, key *models.ActualLRPKey) error {
	info, err := c.DB.DesiredLRPSchedulingInfoByProcessGuid(ctx, key.GetProcessGuid())
	if err != nil {
		logger.Error("failed-fetching-desired-lrp-scheduling-info", err)
		return err
	}
	start := auctioneerclient.NewLRPStartRequest(info, int(key.GetIndex()))
	if err := c.Auctioneer.RequestLRPAuctions(ctx, []*auctioneerclient.LRPStartRequest{start}); err != nil {
		logger.Error("failed-requesting-auction", err, lager.Data{"process_guid": key.GetProcessGuid(), "index": key.GetIndex()})
	}
	return nil
}

// lrpLogger is the session of one actual LRP operation, with the caller's
// trace id.
func (c *Controllers) lrpLogger(ctx context.Context, op string, data lager.Data) lager.Logger {
	if id := traceID(ctx); id != "" {
		data["trace-id"] = id
	}
	return c.Logger.Session(op, data)
}

// withPresence returns the row of presence p among the rows of one slot.
func withPresence(rows []*models.ActualLRP, p models.ActualLRP_Presence) *models.ActualLRP {
	for _, lrp := range rows {
		if lrp.GetPresence() == p {
			return lrp
		}
	}
	return nil
}

// carrying returns the first row (in presence order) whose instance key is
// ik: the row a rep's request speaks about.
func carrying(rows []*models.ActualLRP, ik *models.ActualLRPInstanceKey) *models.ActualLRP {
	for _, lrp := range rows {
		k := lrp.GetActualLrpInstanceKey()
		if k.GetInstanceGuid() == ik.GetInstanceGuid() && k.GetCellId() == ik.GetCellId() {
			return lrp
		}
	}
	return nil
}

// removal is the slot update that announces lrp, one of rows, gone.
func removal(rows []*models.ActualLRP, lrp *models.ActualLRP) *db.SlotUpdate {
	after := slices.DeleteFunc(slices.Clone(rows), func(l *models.ActualLRP) bool { return l == lrp })
	return &db.SlotUpdate{Before: rows, After: after, Changes: []db.ActualLRPChange{{Before: lrp}}}
}
