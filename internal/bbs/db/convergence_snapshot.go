package db

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/diego-go/diego/internal/bbs/converge"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
)

// Convergence reads (reference §5): slim snapshots for the planner in
// bbs/converge. The hot path reads plain columns only, in one query per
// table; the encrypted columns the drift checks need are read and
// decrypted for the rows a DriftMemo does not know in sync (see
// convergence_drift.go).

const (
	slimActualColumns = "process_guid, instance_index, presence, domain, state, instance_guid, cell_id, " +
		"since, crash_count, modification_tag_epoch, modification_tag_index"
	slimDesiredColumns = "process_guid, domain, instances, modification_tag_epoch, modification_tag_index"
)

// LoadLRPSnapshot reads what an LRP pass looks at: every domain, every
// desired LRP and every actual LRP row, without their encrypted columns.
// The drift parts of ORDINARY RUNNING rows at desired indices, and of their
// desired LRPs, are read only where memo does not know the pair (row, desired
// LRP) in sync at their current tags; a nil memo reads them all. The caller
// sets the cells.
func (db *DB) LoadLRPSnapshot(ctx context.Context, memo *DriftMemo) (*converge.LRPSnapshot, error) {
	s := &converge.LRPSnapshot{}
	// The desired LRPs and domains are read beside the actual LRPs, on
	// another connection.
	var desiredErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		if s.Domains, desiredErr = db.loadDomains(ctx); desiredErr == nil {
			if rows, ok := db.dview.slim(nil); ok {
				s.Desired = rows
			} else {
				s.Desired, desiredErr = db.loadSlimDesired(ctx, "", nil)
			}
		}
	})
	var err error
	if rows, ok := db.view.slimActual(nil); ok {
		s.Actual = rows
	} else {
		s.Actual, err = db.loadSlimActual(ctx, "", nil)
	}
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if desiredErr != nil {
		return nil, desiredErr
	}
	db.sizes.desired.Store(int64(len(s.Desired)))
	db.sizes.actual.Store(int64(len(s.Actual)))
	if memo == nil {
		memo = NewDriftMemo(0)
	}
	if err := db.loadDrift(ctx, s, memo); err != nil {
		return nil, err
	}
	return s, nil
}

// LoadCellSlots reads the slots that have a row on one of cellIDs, for the
// reaction to missing cells: every row of the processes that have an
// instance there, and their desired LRPs. No domain, no drift; the caller
// sets the cells.
func (db *DB) LoadCellSlots(ctx context.Context, cellIDs []string) (*converge.LRPSnapshot, error) {
	s := &converge.LRPSnapshot{}
	guids, fromView := db.view.cellGUIDs(cellIDs)
	for batch := range slices.Chunk(cellIDs, processGUIDBatch) {
		if fromView {
			break
		}
		err := eachRow(ctx, db.sql, "SELECT DISTINCT process_guid FROM actual_lrps WHERE cell_id IN ("+sqldb.Placeholders(len(batch))+")",
			func(scan func(...any) error) error {
				var g string
				if err := scan(&g); err != nil {
					return err
				}
				guids = append(guids, g)
				return nil
			}, anys(batch)...)
		if err != nil {
			return nil, convertError(err)
		}
	}
	slices.Sort(guids)
	guids = slices.Compact(guids)
	for batch := range slices.Chunk(guids, processGUIDBatch) {
		where := " WHERE process_guid IN (" + sqldb.Placeholders(len(batch)) + ")"
		var err error
		desired, ok := db.dview.slim(batch)
		if !ok {
			if desired, err = db.loadSlimDesired(ctx, where, anys(batch)); err != nil {
				return nil, err
			}
		}
		actual, ok := db.view.slimActual(batch)
		if !ok {
			if actual, err = db.loadSlimActual(ctx, where, anys(batch)); err != nil {
				return nil, err
			}
		}
		s.Desired = append(s.Desired, desired...)
		s.Actual = append(s.Actual, actual...)
	}
	return s, nil
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func (db *DB) loadDomains(ctx context.Context) ([]converge.Domain, error) {
	var out []converge.Domain
	err := eachRow(ctx, db.sql, "SELECT domain, expire_time FROM domains", func(scan func(...any) error) error {
		var d converge.Domain
		var expire sql.NullInt64
		if err := scan(&d.Name, &expire); err != nil {
			return err
		}
		d.ExpireTime = expire.Int64
		out = append(out, d)
		return nil
	})
	return out, convertError(err)
}

// snapshotSizes are the sizes of the last snapshot, to allocate the next
// one at once.
type snapshotSizes struct {
	desired, actual atomic.Int64
}

// sizeHint is room for n rows and a few more.
func sizeHint(n int64) int {
	return int(n + n/16 + 64)
}

// interner shares the strings that repeat across rows (domains, states,
// cell ids) and the process guid of consecutive rows.
type interner struct {
	m    map[string]string
	last string
}

func newInterner() *interner { return &interner{m: map[string]string{}} }

func (in *interner) str(b []byte) string {
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(in.m) < 1<<16 {
		in.m[s] = s
	}
	return s
}

// guid returns b as a string, shared with the previous row's when equal.
func (in *interner) guid(b []byte) string {
	if string(b) != in.last {
		in.last = string(b)
	}
	return in.last
}

func (db *DB) loadSlimDesired(ctx context.Context, where string, args []any) ([]converge.DesiredRow, error) {
	var out []converge.DesiredRow
	if where == "" {
		out = make([]converge.DesiredRow, 0, sizeHint(db.sizes.desired.Load()))
	}
	in := newInterner()
	var guid, domain, epoch sql.RawBytes
	var instances int32
	var index sql.NullInt64
	err := eachRow(ctx, db.sql, "SELECT "+slimDesiredColumns+" FROM desired_lrps"+where, func(scan func(...any) error) error {
		if err := scan(&guid, &domain, &instances, &epoch, &index); err != nil {
			return err
		}
		out = append(out, converge.DesiredRow{
			ProcessGUID: string(guid), Domain: in.str(domain), Instances: instances,
			Tag: converge.Tag{Epoch: string(epoch), Index: uint32(index.Int64)},
		})
		return nil
	}, args...)
	return out, convertError(err)
}

func (db *DB) loadSlimActual(ctx context.Context, where string, args []any) ([]converge.ActualRow, error) {
	var out []converge.ActualRow
	if where == "" {
		out = make([]converge.ActualRow, 0, sizeHint(db.sizes.actual.Load()))
	}
	in := newInterner()
	var guid, domain, state, instanceGUID, cellID, epoch sql.RawBytes
	var index, presence, crashCount int32
	var since, tagIndex sql.NullInt64
	err := eachRow(ctx, db.sql, "SELECT "+slimActualColumns+" FROM actual_lrps"+where, func(scan func(...any) error) error {
		if err := scan(&guid, &index, &presence, &domain, &state, &instanceGUID, &cellID, &since, &crashCount, &epoch, &tagIndex); err != nil {
			return err
		}
		out = append(out, converge.ActualRow{
			ProcessGUID: in.guid(guid), Index: index, Presence: models.ActualLRP_Presence(presence),
			Domain: in.str(domain), State: in.str(state), InstanceGUID: string(instanceGUID), CellID: in.str(cellID),
			Since: since.Int64, CrashCount: crashCount,
			Tag: converge.Tag{Epoch: string(epoch), Index: uint32(tagIndex.Int64)},
		})
		return nil
	}, args...)
	return out, convertError(err)
}

// PruneDomains deletes the named domains that are still expired at
// expiredAt (Unix nanoseconds); a domain refreshed meanwhile stays.
func (db *DB) PruneDomains(ctx context.Context, names []string, expiredAt int64) error {
	for batch := range slices.Chunk(names, processGUIDBatch) {
		args := append(anys(batch), expiredAt)
		q := "DELETE FROM domains WHERE domain IN (" + sqldb.Placeholders(len(batch)) + ") AND expire_time <= ?"
		if _, err := db.sql.ExecContext(ctx, q, args...); err != nil {
			return convertError(err)
		}
	}
	return nil
}

// SchedulingInfosByProcessGuids returns the scheduling infos of guids (any
// number), for auctions.
func (db *DB) SchedulingInfosByProcessGuids(ctx context.Context, guids []string) ([]*models.DesiredLRPSchedulingInfo, error) {
	var out []*models.DesiredLRPSchedulingInfo
	for batch := range slices.Chunk(guids, processGUIDBatch) {
		infos, err := db.DesiredLRPSchedulingInfos(ctx, DesiredLRPFilter{ProcessGuids: batch})
		if err != nil {
			return nil, err
		}
		out = append(out, infos...)
	}
	return out, nil
}

// slotCondition is an OR of (process_guid, instance_index) equalities for
// keys, with its arguments: index-friendly on every flavor.
func slotCondition(keys []slotKey) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, 2*len(keys))
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("(process_guid = ? AND instance_index = ?)")
		args = append(args, k.guid, k.index)
	}
	return b.String(), args
}

// slotKey is an instance slot.
type slotKey struct {
	guid  string
	index int32
}
