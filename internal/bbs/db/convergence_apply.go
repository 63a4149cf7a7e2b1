package db

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/diego-go/diego/internal/bbs/converge"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
)

// Applying an LRP pass's slot writes with compare-and-swap: a batch of
// slots is locked in one statement, each write checks that the rows it
// acts on are still as the planner saw them (presence, state, instance key,
// modification tag), and is skipped with ResourceConflict when they are
// not: another writer got there first and the next pass plans again.

// LRPWriteResult is the outcome of one planned slot write.
type LRPWriteResult struct {
	Write converge.SlotWrite
	// Update is what the write changed, for the events; nil unless it was
	// applied.
	Update *SlotUpdate
	// Err is ResourceConflict when the slot changed since it was seen (or,
	// for CreateMissing, the index is no longer desired), another error
	// when the write failed.
	Err error
}

var (
	insertIgnoreActualLRPSQL = map[sqldb.Flavor]string{}
	actualLRPColumnList      = strings.Split(strings.ReplaceAll(actualLRPColumns, " ", ""), ",")
)

func init() {
	for _, f := range []sqldb.Flavor{sqldb.MySQL, sqldb.Postgres, sqldb.SQLite} {
		insertIgnoreActualLRPSQL[f] = f.InsertIgnore(actualLRPsTable, actualLRPColumnList...)
	}
}

// ApplyLRPWrites applies writes (see converge.BatchWrites) in one
// transaction and returns one result per write, in order. When the
// transaction fails as a whole, each slot's writes are tried again in a
// transaction of their own, so that one bad slot does not hold back the
// others.
func (db *DB) ApplyLRPWrites(ctx context.Context, writes []converge.SlotWrite) []LRPWriteResult {
	results, err := db.applyLRPBatch(ctx, writes)
	if err == nil {
		return results
	}
	bySlot := converge.BatchWrites(writes, 1)
	if len(bySlot) == 1 {
		for i := range results {
			results[i] = LRPWriteResult{Write: writes[i], Err: err}
		}
		return results
	}
	results = results[:0]
	for _, one := range bySlot {
		r, err := db.applyLRPBatch(ctx, one)
		if err != nil {
			for i := range r {
				r[i] = LRPWriteResult{Write: one[i], Err: err}
			}
		}
		results = append(results, r...)
	}
	return results
}

func (db *DB) applyLRPBatch(ctx context.Context, writes []converge.SlotWrite) ([]LRPWriteResult, error) {
	results := make([]LRPWriteResult, len(writes))
	var bad []*storedActualLRP
	keys := make([]slotKey, len(writes))
	for i, w := range writes {
		keys[i] = slotKey{w.Row.ProcessGUID, w.Row.Index}
	}
	readCommitted := func(ctx context.Context, fn func(context.Context, *sqldb.Tx) error) error {
		return convertError(db.sql.WithReadCommitted().Transact(ctx, fn))
	}
	err := db.transactSlots(ctx, keys, readCommitted, func(ctx context.Context, tx *sqldb.Tx) error {
		for i := range results {
			results[i] = LRPWriteResult{Write: writes[i]}
		}
		var slots map[slotKey]slot
		var err error
		slots, bad, err = db.lockSlots(ctx, tx, writes)
		if err != nil {
			return err
		}
		instances, err := db.desiredInstances(ctx, tx, writes)
		if err != nil {
			return err
		}
		now := db.now()
		for i, w := range writes {
			key := slotKey{w.Row.ProcessGUID, w.Row.Index}
			u, err := db.applyLRPWrite(ctx, tx, w, slots[key], instances, now)
			if errors.Is(err, models.ErrResourceConflict) {
				results[i].Err = models.ErrResourceConflict
				continue
			}
			if err != nil {
				return err
			}
			results[i].Update = u
			slots[key] = slot(u.After)
		}
		return nil
	})
	if err != nil {
		db.deleteUndecodable(ctx, db.sql, bad)
		return results, err
	}
	return results, nil
}

// lockSlots reads and locks every row of the slots of writes, in one
// statement, and deletes the unreadable ones.
func (db *DB) lockSlots(ctx context.Context, tx *sqldb.Tx, writes []converge.SlotWrite) (map[slotKey]slot, []*storedActualLRP, error) {
	var keys []slotKey
	for _, w := range writes {
		keys = append(keys, slotKey{w.Row.ProcessGUID, w.Row.Index})
	}
	slices.SortFunc(keys, func(a, b slotKey) int {
		if c := strings.Compare(a.guid, b.guid); c != 0 {
			return c
		}
		return int(a.index) - int(b.index)
	})
	keys = slices.Compact(keys)
	cond, args := slotCondition(keys)
	lrps, bad, err := db.queryActualLRPs(ctx, tx, selectActualLRPsSQL+" WHERE "+cond+" FOR UPDATE", args...)
	if err != nil {
		return nil, nil, err
	}
	slots := make(map[slotKey]slot, len(keys))
	for _, l := range lrps {
		k := slotKey{l.GetActualLrpKey().GetProcessGuid(), l.GetActualLrpKey().GetIndex()}
		slots[k] = append(slots[k], l)
	}
	for _, s := range slots {
		sortByPresence(s)
	}
	return slots, bad, nil
}

// desiredInstances returns the instances of the desired LRPs the
// CreateMissing writes are for (absent when deleted).
func (db *DB) desiredInstances(ctx context.Context, tx *sqldb.Tx, writes []converge.SlotWrite) (map[string]int32, error) {
	var guids []string
	for _, w := range writes {
		if w.Kind == converge.CreateMissing {
			guids = append(guids, w.Row.ProcessGUID)
		}
	}
	if len(guids) == 0 {
		return nil, nil
	}
	slices.Sort(guids)
	guids = slices.Compact(guids)
	out := make(map[string]int32, len(guids))
	err := eachRow(ctx, tx, "SELECT process_guid, instances FROM desired_lrps WHERE process_guid IN ("+sqldb.Placeholders(len(guids))+")",
		func(scan func(...any) error) error {
			var g string
			var n int32
			if err := scan(&g, &n); err != nil {
				return err
			}
			out[g] = n
			return nil
		}, anys(guids)...)
	return out, err
}

// applyLRPWrite checks one write against its locked slot and applies it.
func (db *DB) applyLRPWrite(ctx context.Context, tx *sqldb.Tx, w converge.SlotWrite, s slot, instances map[string]int32, now time.Time) (*SlotUpdate, error) {
	var epoch string
	if w.Kind == converge.CreateMissing || w.Kind == converge.MarkSuspect {
		var err error
		if epoch, err = db.guid(); err != nil {
			return nil, err
		}
	}
	p, err := planConvergenceWrite(w, s, instances, now, epoch)
	if err != nil {
		return nil, err
	}
	for _, pw := range p.writes {
		switch {
		case pw.before == nil && w.Kind == converge.CreateMissing:
			inserted, err := db.insertActualLRPIfAbsent(ctx, tx, pw.after)
			if err != nil {
				return nil, err
			}
			if !inserted {
				return nil, models.ErrResourceConflict // created meanwhile
			}
		case pw.before == nil:
			err = db.insertActualLRP(ctx, tx, pw.after)
		case pw.after == nil:
			err = db.deleteActualLRP(ctx, tx, pw.before)
		default:
			err = db.updateActualLRP(ctx, tx, pw.before, pw.after)
		}
		if err != nil {
			return nil, err
		}
	}
	return newSlotUpdate(s, p), nil
}

// insertActualLRPIfAbsent inserts lrp unless its row exists (READ
// COMMITTED locks no missing row, so another writer may have inserted it).
func (db *DB) insertActualLRPIfAbsent(ctx context.Context, tx *sqldb.Tx, lrp *models.ActualLRP) (bool, error) {
	vals, err := db.actualLRPValues(lrp)
	if err != nil {
		return false, err
	}
	key := lrp.GetActualLrpKey()
	res, err := tx.ExecContext(ctx, insertIgnoreActualLRPSQL[tx.Flavor()], append([]any{key.GetProcessGuid(), key.GetIndex()}, vals...)...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err == nil && n == 1 {
		record(ctx, nil, lrp)
	}
	return n == 1, err
}

// planConvergenceWrite decides a write on its slot: ResourceConflict when
// the rows it acts on are no longer what the planner saw.
func planConvergenceWrite(w converge.SlotWrite, s slot, instances map[string]int32, now time.Time, epoch string) (slotPlan, error) {
	conflict := func() (slotPlan, error) { return slotPlan{}, models.ErrResourceConflict }
	row := s.withPresence(w.Row.Presence)
	if w.Kind != converge.CreateMissing && !asSeen(row, w.Row) {
		return conflict()
	}
	var p slotPlan
	switch w.Kind {
	case converge.PruneEvacuating, converge.RemoveSuspect:
		p.remove(row)
	case converge.PromoteSuspect:
		ord := s.withPresence(models.ActualLRP_ORDINARY)
		if w.Replaced == nil && ord != nil || w.Replaced != nil && !asSeen(ord, *w.Replaced) {
			return conflict()
		}
		return planPromoteSuspect(s)
	case converge.MarkSuspect:
		if !live(row) || s.withPresence(models.ActualLRP_SUSPECT) != nil {
			return conflict()
		}
		moved, err := planChangePresence(s, models.ActualLRP_ORDINARY, models.ActualLRP_SUSPECT)
		if err != nil {
			return conflict()
		}
		moved.insert(newUnclaimedActualLRP(row.GetActualLrpKey(), now, epoch))
		return moved, nil
	case converge.UnclaimReplacement:
		if !live(row) {
			return conflict()
		}
		return planUnclaim(s, false, now)
	case converge.RestartCrashed:
		if row.GetState() != models.ActualLRPStateCrashed {
			return conflict()
		}
		return planUnclaim(s, true, now)
	case converge.CreateMissing:
		n, desired := instances[w.Row.ProcessGUID]
		if row != nil || !desired || w.Row.Index >= n {
			return conflict()
		}
		p.insert(newUnclaimedActualLRP(w.Row.Key(), now, epoch))
	default:
		return conflict()
	}
	return p, nil
}

// asSeen reports whether lrp is the row the planner saw.
func asSeen(lrp *models.ActualLRP, seen converge.RowRef) bool {
	if lrp == nil {
		return false
	}
	tag, ik := lrp.GetModificationTag(), lrp.GetActualLrpInstanceKey()
	return lrp.GetPresence() == seen.Presence && lrp.GetState() == seen.State &&
		tag.GetEpoch() == seen.Tag.Epoch && tag.GetIndex() == seen.Tag.Index &&
		ik.GetInstanceGuid() == seen.InstanceGUID && ik.GetCellId() == seen.CellID
}

func live(lrp *models.ActualLRP) bool {
	s := lrp.GetState()
	return s == models.ActualLRPStateClaimed || s == models.ActualLRPStateRunning
}
