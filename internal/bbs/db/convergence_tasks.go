package db

import (
	"context"
	"database/sql"
	"slices"

	"github.com/diego-go/diego/internal/bbs/converge"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"google.golang.org/protobuf/proto"
)

// Task convergence (reference §5.2): a slim snapshot of the tasks (no
// definition), and writes applied with compare-and-swap on the state and
// updated_at the planner saw. Definitions are decrypted only for the tasks
// a write, an auction or a callback needs.

// TaskWriteResult is the outcome of one planned task write.
type TaskWriteResult struct {
	Write converge.TaskWrite
	// Before and After are the task around the write (After nil for a
	// deletion); both nil unless the write was applied.
	Before, After *models.Task
	// Err is ResourceConflict when the task changed since it was seen,
	// Deserialize when its definition could not be read (the row is then
	// deleted), another error when the write failed.
	Err error
}

// LoadTaskSnapshot reads every task without its definition. The caller
// sets the cells.
func (db *DB) LoadTaskSnapshot(ctx context.Context) (*converge.TaskSnapshot, error) {
	s := &converge.TaskSnapshot{}
	in := newInterner()
	var guid, domain, cell sql.RawBytes
	var state sql.NullInt32
	var created, updated, completed sql.NullInt64
	err := eachRow(ctx, db.sql, "SELECT guid, domain, state, cell_id, created_at, updated_at, first_completed_at FROM tasks",
		func(scan func(...any) error) error {
			if err := scan(&guid, &domain, &state, &cell, &created, &updated, &completed); err != nil {
				return err
			}
			s.Tasks = append(s.Tasks, converge.TaskRow{
				Guid: string(guid), Domain: in.str(domain), State: models.Task_State(state.Int32), CellID: in.str(cell),
				CreatedAt: created.Int64, UpdatedAt: updated.Int64, FirstCompletedAt: completed.Int64,
			})
			return nil
		})
	if err != nil {
		return nil, convertError(err)
	}
	return s, nil
}

// TasksByGuids reads and decodes the tasks of guids (those that exist).
// Rows that cannot be decoded are deleted; pruned counts them.
func (db *DB) TasksByGuids(ctx context.Context, guids []string) (tasks []*models.Task, pruned int, err error) {
	for batch := range slices.Chunk(guids, processGUIDBatch) {
		var corrupt []string
		err := eachRow(ctx, db.sql, "SELECT "+taskColumns+" FROM tasks WHERE guid IN ("+sqldb.Placeholders(len(batch))+")",
			func(scan func(...any) error) error {
				s := &storedTask{}
				if err := scan(s.dest()...); err != nil {
					return err
				}
				t, err := db.decodeTask(s)
				if err != nil {
					corrupt = append(corrupt, s.guid)
					return nil
				}
				tasks = append(tasks, t)
				return nil
			}, anys(batch)...)
		if err != nil {
			return nil, pruned, convertError(err)
		}
		db.deleteCorruptTasks(ctx, db.sql, corrupt)
		pruned += len(corrupt)
	}
	return tasks, pruned, nil
}

// ApplyTaskWrites applies writes (see converge.BatchTaskWrites) in one
// transaction and returns one result per write, in order, and the number
// of corrupt rows it deleted.
func (db *DB) ApplyTaskWrites(ctx context.Context, writes []converge.TaskWrite) ([]TaskWriteResult, int) {
	results := make([]TaskWriteResult, len(writes))
	var corrupt []string
	err := convertError(db.sql.Transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		for i := range results {
			results[i] = TaskWriteResult{Write: writes[i]}
		}
		tasks, bad, err := db.lockTasks(ctx, tx, writes)
		if err != nil {
			return err
		}
		corrupt = bad
		now := db.now().UnixNano()
		for i, w := range writes {
			t, ok := tasks[w.Task.Guid]
			switch {
			case slices.Contains(bad, w.Task.Guid):
				results[i].Err = models.ErrDeserialize
				continue
			case !ok || t.State != w.Task.State || t.UpdatedAt != w.Task.UpdatedAt:
				results[i].Err = models.ErrResourceConflict
				continue
			}
			after, err := db.applyTaskWrite(ctx, tx, w, t, now)
			if err != nil {
				return err
			}
			results[i].Before, results[i].After = t, after
			if after == nil {
				delete(tasks, w.Task.Guid)
			} else {
				tasks[w.Task.Guid] = after
			}
		}
		return nil
	}))
	if err != nil {
		for i := range results {
			results[i] = TaskWriteResult{Write: writes[i], Err: err}
		}
		db.deleteCorruptTasks(ctx, db.sql, corrupt)
	}
	return results, len(corrupt)
}

// lockTasks reads and locks the tasks of writes; those that cannot be
// decoded are deleted and returned by guid.
func (db *DB) lockTasks(ctx context.Context, tx *sqldb.Tx, writes []converge.TaskWrite) (map[string]*models.Task, []string, error) {
	var guids []string
	for _, w := range writes {
		guids = append(guids, w.Task.Guid)
	}
	slices.Sort(guids)
	guids = slices.Compact(guids)
	tasks := make(map[string]*models.Task, len(guids))
	var bad []string
	err := eachRow(ctx, tx, "SELECT "+taskColumns+" FROM tasks WHERE guid IN ("+sqldb.Placeholders(len(guids))+") FOR UPDATE",
		func(scan func(...any) error) error {
			s := &storedTask{}
			if err := scan(s.dest()...); err != nil {
				return err
			}
			t, err := db.decodeTask(s)
			if err != nil {
				bad = append(bad, s.guid)
				return nil
			}
			tasks[t.TaskGuid] = t
			return nil
		}, anys(guids)...)
	if err != nil {
		return nil, nil, err
	}
	db.deleteCorruptTasks(ctx, tx, bad)
	return tasks, bad, nil
}

// applyTaskWrite writes one change of t and returns t after it (nil when
// deleted).
func (db *DB) applyTaskWrite(ctx context.Context, tx *sqldb.Tx, w converge.TaskWrite, t *models.Task, now int64) (*models.Task, error) {
	if w.Kind == converge.DeleteCompleted {
		_, err := tx.ExecContext(ctx, "DELETE FROM tasks WHERE guid = ?", t.TaskGuid)
		return nil, err
	}
	after := proto.Clone(t).(*models.Task)
	switch w.Kind {
	case converge.ExpirePending, converge.FailLostCell:
		// Unlike the API's completions, the cell is left as it was.
		after.State, after.Failed, after.FailureReason, after.Result = models.Task_Completed, true, w.Reason, ""
		after.FirstCompletedAt, after.UpdatedAt = now, now
	case converge.DemoteResolving:
		after.State = models.Task_Completed // updated_at untouched
	default:
		return nil, models.ErrBadRequest
	}
	_, err := tx.ExecContext(ctx, "UPDATE tasks SET state = ?, failed = ?, failure_reason = ?, result = ?, first_completed_at = ?, updated_at = ? WHERE guid = ?",
		int32(after.State), after.Failed, after.FailureReason, after.Result, after.FirstCompletedAt, after.UpdatedAt, t.TaskGuid)
	return after, err
}
