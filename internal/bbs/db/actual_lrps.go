package db

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
)

// ActualLRPFilter selects actual LRPs; the set fields are AND-ed, empty ones
// match everything.
type ActualLRPFilter struct {
	Domain      string
	CellID      string
	ProcessGUID string
	Index       *int32
}

// ActualLRPChange is one row a write changed: created when Before is nil,
// deleted when After is nil, updated otherwise.
type ActualLRPChange struct {
	Before, After *models.ActualLRP
}

// SlotUpdate is what a write did to one instance slot (process guid, index),
// for the caller to emit events after the commit. The models are shared
// with the caller: read them, do not modify them.
type SlotUpdate struct {
	// Before and After are every row of the slot (all presences) before and
	// after the write, ordered by presence.
	Before, After []*models.ActualLRP
	// Changes are the rows written, in the order they were written. Empty
	// when the call changed nothing (a no-op, or a request ignored because
	// it came from a suspect instance).
	Changes []ActualLRPChange
	// Matched is the row of Before carrying the request's instance key, for
	// the calls that have one (claim, start, crash, evacuation); nil when no
	// row carries it.
	Matched *models.ActualLRP
	// RestartImmediately: a crash sent the ORDINARY row straight back to
	// UNCLAIMED; the caller requests an auction for it.
	RestartImmediately bool
}

// Changed reports whether the write changed any row.
func (u *SlotUpdate) Changed() bool { return u != nil && len(u.Changes) > 0 }

// FromSuspect reports whether the request's instance key designated the
// SUSPECT row: claims and starts are then ignored, a crash deletes it.
func (u *SlotUpdate) FromSuspect() bool {
	return u != nil && u.Matched != nil && u.Matched.GetPresence() == models.ActualLRP_SUSPECT
}

const selectActualLRPsSQL = "SELECT " + actualLRPColumns + " FROM actual_lrps"

// ActualLRPs returns every actual LRP (every presence) matching f.
func (db *DB) ActualLRPs(ctx context.Context, f ActualLRPFilter) ([]*models.ActualLRP, error) {
	if rows, ok := db.view.filtered(f); ok {
		return viewModels(rows), nil
	}
	query, args := actualLRPQuery(f)
	lrps, _, err := db.queryActualLRPs(ctx, db.sql, query, args...)
	return lrps, convertError(err)
}

// actualLRPQuery is the SELECT of the actual LRPs matching f.
func actualLRPQuery(f ActualLRPFilter) (string, []any) {
	var wheres []string
	var args []any
	add := func(cond string, v any) {
		wheres = append(wheres, cond)
		args = append(args, v)
	}
	if f.Domain != "" {
		add("domain = ?", f.Domain)
	}
	if f.CellID != "" {
		add("cell_id = ?", f.CellID)
	}
	if f.ProcessGUID != "" {
		add("process_guid = ?", f.ProcessGUID)
	}
	if f.Index != nil {
		add("instance_index = ?", *f.Index)
	}
	query := selectActualLRPsSQL
	if len(wheres) > 0 {
		query += " WHERE " + strings.Join(wheres, " AND ")
	}
	return query, args
}

// processGUIDBatch bounds the placeholders of one IN list (PostgreSQL and
// SQLite limit the parameters of a statement).
const processGUIDBatch = 1000

// ActualLRPsByProcessGuids returns every actual LRP of the given process
// guids. An empty list selects nothing (the API rejects it before).
func (db *DB) ActualLRPsByProcessGuids(ctx context.Context, guids []string) ([]*models.ActualLRP, error) {
	if rows, ok := db.view.guidRows(guids); ok {
		return viewModels(rows), nil
	}
	var all []*models.ActualLRP
	for batch := range slices.Chunk(guids, processGUIDBatch) {
		args := make([]any, len(batch))
		for i, g := range batch {
			args[i] = g
		}
		query := selectActualLRPsSQL + " WHERE process_guid IN (" + sqldb.Placeholders(len(batch)) + ")"
		lrps, _, err := db.queryActualLRPs(ctx, db.sql, query, args...)
		if err != nil {
			return nil, convertError(err)
		}
		all = append(all, lrps...)
	}
	return all, nil
}

// ActualLRPSlot returns the rows of one slot, ordered by presence; an empty
// list when there is none.
func (db *DB) ActualLRPSlot(ctx context.Context, processGUID string, index int32) ([]*models.ActualLRP, error) {
	if lrps, ok := db.view.slot(processGUID, index); ok {
		return lrps, nil
	}
	lrps, _, err := db.queryActualLRPs(ctx, db.sql, selectActualLRPsSQL+" WHERE process_guid = ? AND instance_index = ?", processGUID, index)
	if err != nil {
		return nil, convertError(err)
	}
	sortByPresence(lrps)
	return lrps, nil
}

// CreateUnclaimedActualLRP inserts a new UNCLAIMED ORDINARY row for key:
// fresh modification tag epoch, index 0, since now, not routable.
// ResourceExists when the slot already has an ORDINARY row.
func (db *DB) CreateUnclaimedActualLRP(ctx context.Context, key *models.ActualLRPKey) (*models.ActualLRP, error) {
	epoch, err := db.guid()
	if err != nil {
		return nil, err
	}
	lrp := newUnclaimedActualLRP(key, db.now(), epoch)
	if err := db.transactSlots(ctx, []slotKey{{key.GetProcessGuid(), key.GetIndex()}}, db.transact, func(ctx context.Context, tx *sqldb.Tx) error {
		return db.insertActualLRP(ctx, tx, lrp)
	}); err != nil {
		return nil, err
	}
	return lrp, nil
}

// insertUnclaimedActualLRP is CreateUnclaimedActualLRP inside the caller's
// transaction (for desiring LRPs and scaling up).
func (db *DB) insertUnclaimedActualLRP(ctx context.Context, q sqldb.Querier, key *models.ActualLRPKey) (*models.ActualLRP, error) {
	epoch, err := db.guid()
	if err != nil {
		return nil, err
	}
	lrp := newUnclaimedActualLRP(key, db.now(), epoch)
	if err := db.insertActualLRP(ctx, q, lrp); err != nil {
		return nil, err
	}
	return lrp, nil
}

func newUnclaimedActualLRP(key *models.ActualLRPKey, now time.Time, epoch string) *models.ActualLRP {
	routable := false
	return &models.ActualLRP{
		ActualLrpKey:            copyKey(key),
		ActualLrpInstanceKey:    &models.ActualLRPInstanceKey{},
		ActualLrpNetInfo:        &models.ActualLRPNetInfo{},
		State:                   models.ActualLRPStateUnclaimed,
		Since:                   now.UnixNano(),
		ModificationTag:         &models.ModificationTag{Epoch: epoch},
		ActualLrpInternalRoutes: []*models.ActualLRPInternalRoute{},
		MetricTags:              map[string]string{},
		Routable:                &routable,
	}
}

// UnclaimActualLRP sends the ORDINARY row of key back to UNCLAIMED (instance
// key and net info cleared). NotFound without an ORDINARY row,
// ActualLRPCannotBeUnclaimed when it is UNCLAIMED already.
func (db *DB) UnclaimActualLRP(ctx context.Context, key *models.ActualLRPKey) (*SlotUpdate, error) {
	return db.updateSlot(ctx, key, func(s slot, now time.Time) (slotPlan, error) {
		return planUnclaim(s, false, now)
	})
}

// UnclaimStaleActualLRP is UnclaimActualLRP for convergence's restart of a
// crashed row (the reference's isStale): a row a cell has CLAIMED meanwhile
// is left alone (ActualLRPCannotBeUnclaimed).
func (db *DB) UnclaimStaleActualLRP(ctx context.Context, key *models.ActualLRPKey) (*SlotUpdate, error) {
	return db.updateSlot(ctx, key, func(s slot, now time.Time) (slotPlan, error) {
		return planUnclaim(s, true, now)
	})
}

// UnclaimActualLRPIfAllRunning is UnclaimActualLRP for the RECREATE update
// strategy: with the desired LRP's row locked, it unclaims only when at
// least desiredInstances ORDINARY rows of the process are RUNNING, and
// returns ActualLRPCannotBeUnclaimed otherwise. NotFound when the desired
// LRP is gone.
func (db *DB) UnclaimActualLRPIfAllRunning(ctx context.Context, key *models.ActualLRPKey, desiredInstances int32) (*SlotUpdate, error) {
	var out *SlotUpdate
	var bad []*storedActualLRP
	err := db.transactSlots(ctx, []slotKey{{key.GetProcessGuid(), key.GetIndex()}}, db.transact, func(ctx context.Context, tx *sqldb.Tx) error {
		bad = nil
		var one int
		if err := tx.QueryRowContext(ctx, "SELECT 1 FROM desired_lrps WHERE process_guid = ? FOR UPDATE", key.GetProcessGuid()).Scan(&one); err != nil {
			return err
		}
		var running int64
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM actual_lrps WHERE process_guid = ? AND state = ? AND presence = ?",
			key.GetProcessGuid(), models.ActualLRPStateRunning, int32(models.ActualLRP_ORDINARY)).Scan(&running); err != nil {
			return err
		}
		if running < int64(desiredInstances) {
			return models.ErrActualLRPCannotBeUnclaimed
		}
		var err error
		out, bad, err = db.writeSlot(ctx, tx, key, func(s slot, now time.Time) (slotPlan, error) {
			return planUnclaim(s, false, now)
		})
		return err
	})
	if err != nil {
		db.deleteUndecodable(ctx, db.sql, bad)
		return nil, err
	}
	return out, nil
}

// ClaimActualLRP records that the cell of ik claimed the instance (guid,
// index): CLAIMED, instance key set, net info and placement error cleared.
// A claim from the instance's SUSPECT copy, or a repeated claim, changes
// nothing. NotFound without an ORDINARY row; ActualLRPCannotBeClaimed when
// the state does not allow it (§4.2).
func (db *DB) ClaimActualLRP(ctx context.Context, processGUID string, index int32, ik *models.ActualLRPInstanceKey) (*SlotUpdate, error) {
	key := &models.ActualLRPKey{ProcessGuid: processGUID, Index: index}
	return db.updateSlot(ctx, key, func(s slot, now time.Time) (slotPlan, error) {
		return planClaim(s, ik, now)
	})
}

// StartActualLRP records that the instance runs with what the rep reports:
// it inserts a RUNNING ORDINARY row when there is none, changes nothing
// when the row already runs with exactly these values, and otherwise makes
// it RUNNING. Then it deletes the slot's EVACUATING and SUSPECT rows, which
// this instance replaces. A start from the SUSPECT copy itself changes
// nothing. ActualLRPCannotBeStarted when the state does not allow it.
func (db *DB) StartActualLRP(ctx context.Context, key *models.ActualLRPKey, in RunningInstance) (*SlotUpdate, error) {
	return db.updateSlotReadFirst(ctx, key, func(s slot, now time.Time) (slotPlan, error) {
		epoch, err := db.guid()
		if err != nil {
			return slotPlan{}, err
		}
		return planStart(s, key, in, now, epoch)
	})
}

// CrashActualLRP records that the instance ik crashed: the ORDINARY row
// loses its instance key and net info, counts the crash (restarting the
// count after CrashResetTimeout of running) and becomes CRASHED, or
// UNCLAIMED when the restart calculator restarts it at once
// (RestartImmediately). The crash of the SUSPECT copy deletes it instead.
// NotFound without an ORDINARY row; ActualLRPCannotBeCrashed when the row
// is not CLAIMED or RUNNING with ik.
func (db *DB) CrashActualLRP(ctx context.Context, key *models.ActualLRPKey, ik *models.ActualLRPInstanceKey, reason string) (*SlotUpdate, error) {
	return db.updateSlot(ctx, key, func(s slot, now time.Time) (slotPlan, error) {
		return planCrash(s, ik, reason, now)
	})
}

// FailActualLRP records that the UNCLAIMED instance could not be placed.
// No ORDINARY row is a success that changes nothing;
// ActualLRPCannotBeFailed when the row is not UNCLAIMED.
func (db *DB) FailActualLRP(ctx context.Context, key *models.ActualLRPKey, placementError string) (*SlotUpdate, error) {
	return db.updateSlot(ctx, key, func(s slot, now time.Time) (slotPlan, error) {
		return planFail(s, placementError, now)
	})
}

// RemoveActualLRP deletes the ORDINARY row of (guid, index); when ik is not
// nil the row must carry it. NotFound otherwise.
func (db *DB) RemoveActualLRP(ctx context.Context, processGUID string, index int32, ik *models.ActualLRPInstanceKey) (*SlotUpdate, error) {
	key := &models.ActualLRPKey{ProcessGuid: processGUID, Index: index}
	return db.updateSlot(ctx, key, func(s slot, _ time.Time) (slotPlan, error) {
		return planRemove(s, ik)
	})
}

// ChangeActualLRPPresence moves the row of presence from to presence to
// (ORDINARY to SUSPECT when its cell vanishes), without advancing its
// modification tag. NotFound without a row of presence from,
// ResourceExists when the slot has a row of presence to.
func (db *DB) ChangeActualLRPPresence(ctx context.Context, key *models.ActualLRPKey, from, to models.ActualLRP_Presence) (*SlotUpdate, error) {
	return db.updateSlot(ctx, key, func(s slot, _ time.Time) (slotPlan, error) {
		return planChangePresence(s, from, to)
	})
}

// PromoteSuspectActualLRP makes the SUSPECT row ORDINARY again (its cell
// came back), deleting the ORDINARY replacement first if there is one.
// NotFound without a SUSPECT row.
func (db *DB) PromoteSuspectActualLRP(ctx context.Context, processGUID string, index int32) (*SlotUpdate, error) {
	key := &models.ActualLRPKey{ProcessGuid: processGUID, Index: index}
	return db.updateSlot(ctx, key, func(s slot, _ time.Time) (slotPlan, error) {
		return planPromoteSuspect(s)
	})
}

// planFunc decides a write from the locked slot and the time of the write.
type planFunc func(s slot, now time.Time) (slotPlan, error)

// updateSlot runs one write in its own transaction. Unreadable rows found
// in the slot are deleted even when the write fails (its transaction rolls
// back, so they are deleted again outside it).
func (db *DB) updateSlot(ctx context.Context, key *models.ActualLRPKey, plan planFunc) (*SlotUpdate, error) {
	var out *SlotUpdate
	var bad []*storedActualLRP
	err := db.transactSlots(ctx, []slotKey{{key.GetProcessGuid(), key.GetIndex()}}, db.transact, func(ctx context.Context, tx *sqldb.Tx) error {
		var err error
		out, bad, err = db.writeSlot(ctx, tx, key, plan)
		return err
	})
	if err != nil {
		db.deleteUndecodable(ctx, db.sql, bad)
		return nil, err
	}
	return out, nil
}

// updateSlotReadFirst is updateSlot for writes that are nearly always
// no-ops: every rep re-starts each of its running instances every 30 s, and
// at 200,000 instances those starts are most of the BBS's writes. The slot
// is first read without a lock or transaction; when the plan changes
// nothing, the answer comes from that read (the latest committed rows: a
// valid point in time for an operation that writes nothing), in one
// statement instead of four. Anything else — a change, an error, an
// unreadable row — goes through updateSlot, which reads again under lock.
func (db *DB) updateSlotReadFirst(ctx context.Context, key *models.ActualLRPKey, plan planFunc) (*SlotUpdate, error) {
	lrps, ok := db.view.slot(key.GetProcessGuid(), key.GetIndex())
	var bad []*storedActualLRP
	var err error
	if !ok {
		lrps, bad, err = db.queryActualLRPs(ctx, db.sql,
			selectActualLRPsSQL+" WHERE process_guid = ? AND instance_index = ?", key.GetProcessGuid(), key.GetIndex())
	}
	if err == nil && len(bad) == 0 {
		sortByPresence(lrps)
		s := slot(lrps)
		if p, err := plan(s, db.now()); err == nil && len(p.writes) == 0 {
			return newSlotUpdate(s, p), nil
		}
	}
	return db.updateSlot(ctx, key, plan)
}

// writeSlot locks the rows of key's slot, plans the write and applies it in
// tx. It also returns the unreadable rows it deleted.
func (db *DB) writeSlot(ctx context.Context, tx *sqldb.Tx, key *models.ActualLRPKey, plan planFunc) (*SlotUpdate, []*storedActualLRP, error) {
	s, bad, err := db.lockSlot(ctx, tx, key.GetProcessGuid(), key.GetIndex())
	if err != nil {
		return nil, nil, err
	}
	p, err := plan(s, db.now())
	if err != nil {
		return nil, bad, err
	}
	for _, w := range p.writes {
		switch {
		case w.before == nil:
			err = db.insertActualLRP(ctx, tx, w.after)
		case w.after == nil:
			err = db.deleteActualLRP(ctx, tx, w.before)
		default:
			err = db.updateActualLRP(ctx, tx, w.before, w.after)
		}
		if err != nil {
			return nil, bad, err
		}
	}
	return newSlotUpdate(s, p), bad, nil
}

// lockSlot reads the rows of one slot FOR UPDATE, ordered by presence, and
// deletes its unreadable rows.
func (db *DB) lockSlot(ctx context.Context, tx *sqldb.Tx, processGUID string, index int32) (slot, []*storedActualLRP, error) {
	lrps, bad, err := db.queryActualLRPs(ctx, tx,
		selectActualLRPsSQL+" WHERE process_guid = ? AND instance_index = ? FOR UPDATE", processGUID, index)
	if err != nil {
		return nil, nil, err
	}
	sortByPresence(lrps)
	return slot(lrps), bad, nil
}

// newSlotUpdate applies a plan's writes to the slot in memory.
func newSlotUpdate(s slot, p slotPlan) *SlotUpdate {
	u := &SlotUpdate{
		Before:             []*models.ActualLRP(s),
		Matched:            p.matched,
		RestartImmediately: p.restart,
	}
	after := slices.Clone(u.Before)
	for _, w := range p.writes {
		u.Changes = append(u.Changes, ActualLRPChange{Before: w.before, After: w.after})
		if w.before != nil {
			after = slices.DeleteFunc(after, func(l *models.ActualLRP) bool { return l == w.before })
		}
		if w.after != nil {
			after = append(after, w.after)
		}
	}
	sortByPresence(after)
	u.After = after
	return u
}

func sortByPresence(lrps []*models.ActualLRP) {
	slices.SortStableFunc(lrps, func(a, b *models.ActualLRP) int {
		return int(a.GetPresence()) - int(b.GetPresence())
	})
}
