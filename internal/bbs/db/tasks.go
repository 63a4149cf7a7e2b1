package db

import (
	"context"
	"database/sql"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"google.golang.org/protobuf/proto"
)

// Tasks are one row each: plain columns for what the API filters and
// changes, the definition as one encrypted protobuf. Every state change
// locks the row, checks the rule of models/task_state.go and writes the
// changed columns; it returns the task before and after for the events.

const taskColumns = "guid, domain, updated_at, created_at, first_completed_at, state, cell_id, result, " +
	"failed, failure_reason, task_definition, rejection_count, rejection_reason"

// TaskFilter selects tasks; empty fields select everything.
type TaskFilter struct {
	Domain string
	CellID string
}

// storedTask is one row as scanned, before decryption.
type storedTask struct {
	guid, domain                           string
	updatedAt, createdAt, firstCompletedAt sql.NullInt64
	state                                  sql.NullInt32
	cellID                                 string
	result                                 sql.NullString
	failed                                 sql.NullBool
	failureReason                          string
	definition                             []byte
	rejectionCount                         int32
	rejectionReason                        string
}

func (s *storedTask) dest() []any {
	return []any{&s.guid, &s.domain, &s.updatedAt, &s.createdAt, &s.firstCompletedAt, &s.state, &s.cellID,
		&s.result, &s.failed, &s.failureReason, &s.definition, &s.rejectionCount, &s.rejectionReason}
}

// decodeTask decrypts the definition; ErrDeserialize marks a corrupt row.
func (db *DB) decodeTask(s *storedTask) (*models.Task, error) {
	def := &models.TaskDefinition{}
	if err := db.decryptModel(s.definition, def); err != nil {
		return nil, err
	}
	return &models.Task{
		TaskDefinition:   def,
		TaskGuid:         s.guid,
		Domain:           s.domain,
		CreatedAt:        s.createdAt.Int64,
		UpdatedAt:        s.updatedAt.Int64,
		FirstCompletedAt: s.firstCompletedAt.Int64,
		State:            models.Task_State(s.state.Int32),
		CellId:           s.cellID,
		Result:           s.result.String,
		Failed:           s.failed.Bool,
		FailureReason:    s.failureReason,
		RejectionCount:   s.rejectionCount,
		RejectionReason:  s.rejectionReason,
	}, nil
}

// DesireTask stores a new Pending task created now. A taken guid is
// ResourceExists.
func (db *DB) DesireTask(ctx context.Context, def *models.TaskDefinition, guid, domain string) (*models.Task, error) {
	if def == nil {
		return nil, models.ErrBadRequest
	}
	if err := sqldb.CheckLength("guid", guid, 255); err != nil {
		return nil, convertError(err)
	}
	if err := sqldb.CheckLength("domain", domain, 255); err != nil {
		return nil, convertError(err)
	}
	def = proto.Clone(def).(*models.TaskDefinition)
	stored, err := db.encryptModel(def)
	if err != nil {
		return nil, err
	}
	now := db.now().UnixNano()
	err = db.transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO tasks (guid, domain, created_at, updated_at, first_completed_at, state, task_definition) VALUES (?, ?, ?, ?, ?, ?, ?)",
			guid, domain, now, now, 0, int32(models.Task_Pending), string(stored))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &models.Task{TaskDefinition: def, TaskGuid: guid, Domain: domain, CreatedAt: now, UpdatedAt: now, State: models.Task_Pending}, nil
}

// Tasks returns the tasks of a domain and/or cell. Rows that cannot be
// decoded are deleted and left out.
func (db *DB) Tasks(ctx context.Context, filter TaskFilter) ([]*models.Task, error) {
	query := "SELECT " + taskColumns + " FROM tasks"
	var conds []string
	var args []any
	if filter.Domain != "" {
		conds, args = append(conds, "domain = ?"), append(args, filter.Domain)
	}
	if filter.CellID != "" {
		conds, args = append(conds, "cell_id = ?"), append(args, filter.CellID)
	}
	for i, c := range conds {
		if i == 0 {
			query += " WHERE " + c
		} else {
			query += " AND " + c
		}
	}
	var tasks []*models.Task
	var corrupt []string
	err := eachRow(ctx, db.sql, query, func(scan func(...any) error) error {
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
	}, args...)
	if err != nil {
		return nil, convertError(err)
	}
	db.deleteCorruptTasks(ctx, db.sql, corrupt)
	return tasks, nil
}

// TaskByGuid returns one task: ResourceNotFound when there is none,
// Deserialize (and the row is deleted) when it cannot be decoded.
func (db *DB) TaskByGuid(ctx context.Context, guid string) (*models.Task, error) {
	s := &storedTask{}
	if err := db.sql.QueryRowContext(ctx, "SELECT "+taskColumns+" FROM tasks WHERE guid = ?", guid).Scan(s.dest()...); err != nil {
		return nil, convertError(err)
	}
	t, err := db.decodeTask(s)
	if err != nil {
		db.deleteCorruptTasks(ctx, db.sql, []string{guid})
		return nil, err
	}
	return t, nil
}

// StartTask moves a Pending task to Running on cellID. A task already
// running on that cell is no error: started is false and nothing changes.
func (db *DB) StartTask(ctx context.Context, guid, cellID string) (before, after *models.Task, started bool, err error) {
	before, after, err = db.changeTask(ctx, guid, func(t *models.Task, now int64) (bool, error) {
		start, err := t.ValidateStart(cellID)
		if !start || err != nil {
			return false, err
		}
		t.State, t.CellId, t.UpdatedAt = models.Task_Running, cellID, now
		started = true
		return true, nil
	})
	return before, after, started, err
}

// CancelTask completes a Pending or Running task as failed with "task was
// cancelled" and returns the cell it was on (to tell its rep).
func (db *DB) CancelTask(ctx context.Context, guid string) (before, after *models.Task, cellID string, err error) {
	before, after, err = db.FailTask(ctx, guid, models.TaskCancelledReason)
	if err != nil {
		return nil, nil, "", err
	}
	return before, after, before.CellId, nil
}

// FailTask completes a Pending or Running task as failed with reason
// (cut to 1024 bytes).
func (db *DB) FailTask(ctx context.Context, guid, reason string) (before, after *models.Task, err error) {
	return db.changeTask(ctx, guid, func(t *models.Task, now int64) (bool, error) {
		if err := t.ValidateFailure(); err != nil {
			return false, err
		}
		complete(t, now, true, reason, "")
		return true, nil
	})
}

// CompleteTask completes the task running on cellID with the rep's
// outcome. A task running elsewhere is RunningOnDifferentCell, one not
// running InvalidStateTransition.
func (db *DB) CompleteTask(ctx context.Context, guid, cellID string, failed bool, failureReason, result string) (before, after *models.Task, err error) {
	return db.changeTask(ctx, guid, func(t *models.Task, now int64) (bool, error) {
		if err := t.ValidateCompletion(cellID); err != nil {
			return false, err
		}
		complete(t, now, failed, failureReason, result)
		return true, nil
	})
}

// RejectTask sends a Pending or Running task back to Pending, counting the
// rejection and keeping its reason (cut to 1024 bytes) and its cell. When
// the task had already been rejected max_task_retries times it is failed
// with the rejection reason instead (failed is true): before is then the
// task as rejected, as the reference's separate FailTask reports it.
// Tasks in other states: InvalidRequest, or the failure's
// InvalidStateTransition when the retries are exhausted.
func (db *DB) RejectTask(ctx context.Context, guid, reason string) (before, after *models.Task, failed bool, err error) {
	var rejected *models.Task
	before, after, err = db.changeTask(ctx, guid, func(t *models.Task, now int64) (bool, error) {
		rejected, failed = nil, false
		fail, err := t.ValidateRejection(db.maxTaskRetries)
		if err != nil {
			return false, err
		}
		t.RejectionCount++
		t.RejectionReason = truncate(reason, models.MaxTaskFailureLength)
		t.State, t.UpdatedAt = models.Task_Pending, now
		if fail {
			rejected = proto.Clone(t).(*models.Task)
			complete(t, now, true, reason, "")
			failed = true
		}
		return true, nil
	})
	if err != nil {
		return nil, nil, false, err
	}
	if failed {
		before = rejected
	}
	return before, after, failed, nil
}

// ResolvingTask moves a Completed task to Resolving (the one worker that
// gets there delivers its callback).
func (db *DB) ResolvingTask(ctx context.Context, guid string) (before, after *models.Task, err error) {
	return db.changeTask(ctx, guid, func(t *models.Task, now int64) (bool, error) {
		if err := t.ValidateTransitionTo(models.Task_Resolving); err != nil {
			return false, err
		}
		t.State, t.UpdatedAt = models.Task_Resolving, now
		return true, nil
	})
}

// DeleteTask deletes a Resolving task and returns it.
func (db *DB) DeleteTask(ctx context.Context, guid string) (*models.Task, error) {
	var deleted *models.Task
	err := db.lockedTask(ctx, guid, func(ctx context.Context, tx *sqldb.Tx, t *models.Task) error {
		if err := t.ValidateDeletion(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM tasks WHERE guid = ?", guid); err != nil {
			return err
		}
		deleted = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	return deleted, nil
}

// complete is the Completed state the API's completions share: the cell
// is cleared, first_completed_at and updated_at are now.
func complete(t *models.Task, now int64, failed bool, reason, result string) {
	t.State = models.Task_Completed
	t.Failed = failed
	t.FailureReason = truncate(reason, models.MaxTaskFailureLength)
	t.Result = result
	t.CellId = ""
	t.FirstCompletedAt, t.UpdatedAt = now, now
}

// changeTask locks a task and lets change modify a copy of it; when change
// reports a change, every mutable column is written from the copy.
func (db *DB) changeTask(ctx context.Context, guid string, change func(t *models.Task, now int64) (bool, error)) (before, after *models.Task, err error) {
	err = db.lockedTask(ctx, guid, func(ctx context.Context, tx *sqldb.Tx, t *models.Task) error {
		before, after = t, proto.Clone(t).(*models.Task)
		changed, err := change(after, db.now().UnixNano())
		if err != nil || !changed {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE tasks SET state = ?, cell_id = ?, updated_at = ?, first_completed_at = ?, failed = ?, "+
			"failure_reason = ?, result = ?, rejection_count = ?, rejection_reason = ? WHERE guid = ?",
			int32(after.State), after.CellId, after.UpdatedAt, after.FirstCompletedAt, after.Failed,
			after.FailureReason, after.Result, after.RejectionCount, after.RejectionReason, guid)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return before, after, nil
}

// lockedTask runs fn in a transaction holding the task's row lock.
// ResourceNotFound when there is no such task; a row that cannot be
// decoded is deleted and the result is Deserialize.
func (db *DB) lockedTask(ctx context.Context, guid string, fn func(ctx context.Context, tx *sqldb.Tx, t *models.Task) error) error {
	var corrupt bool
	err := db.transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		corrupt = false
		s := &storedTask{}
		if err := tx.QueryRowContext(ctx, "SELECT "+taskColumns+" FROM tasks WHERE guid = ? FOR UPDATE", guid).Scan(s.dest()...); err != nil {
			return err
		}
		t, err := db.decodeTask(s)
		if err != nil {
			corrupt = true
			db.deleteCorruptTasks(ctx, tx, []string{guid})
			return nil
		}
		return fn(ctx, tx, t)
	})
	if err == nil && corrupt {
		return models.ErrDeserialize
	}
	return err
}

// deleteCorruptTasks removes task rows that could not be decoded (§6.1);
// a failure is only logged.
func (db *DB) deleteCorruptTasks(ctx context.Context, q sqldb.Querier, guids []string) {
	if len(guids) == 0 {
		return
	}
	logger := db.logger.Session("delete-invalid-tasks", lager.Data{"guids": guids})
	logger.Info("deleting-invalid-tasks-from-db")
	args := make([]any, len(guids))
	for i, g := range guids {
		args[i] = g
	}
	if _, err := q.ExecContext(ctx, "DELETE FROM tasks WHERE guid IN ("+sqldb.Placeholders(len(guids))+")", args...); err != nil {
		logger.Error("failed-deleting-invalid-row", err)
	}
}
