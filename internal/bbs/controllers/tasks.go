package controllers

import (
	"context"
	"errors"
	"sync"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/auctioneer/auctioneerclient"
	"github.com/diego-go/diego/internal/models"
)

// The task lifecycle (reference notes §4.1). Every change is one locked
// row update in db; here the change is announced on the task hub after the
// commit, completed tasks with a callback URL go to the callback pool, a
// new task is auctioned and a cancelled one is stopped on its cell.

// DesireTask stores a new Pending task, announces it and asks for one
// auction. A failed auction request is only logged: convergence auctions
// every Pending task again.
func (c *Controllers) DesireTask(ctx context.Context, def *models.TaskDefinition, guid, domain string) error {
	logger := c.taskLogger(ctx, "desire-task", guid)
	task, err := c.DB.DesireTask(ctx, def, guid, domain)
	if err != nil {
		logger.Error("failed-to-desire-task", err)
		return err
	}
	c.Hubs.Task.Emit(models.NewTaskCreatedEvent(task))
	start := auctioneerclient.NewTaskStartRequest(task)
	if err := c.Auctioneer.RequestTaskAuctions(ctx, []*auctioneerclient.TaskStartRequest{start}); err != nil {
		logger.Error("failed-requesting-task-auction", err)
	}
	return nil
}

// StartTask moves a Pending task to Running on cellID. shouldStart is
// false, without error or event, when the task already runs on that cell.
func (c *Controllers) StartTask(ctx context.Context, guid, cellID string) (shouldStart bool, err error) {
	before, after, started, err := c.DB.StartTask(ctx, guid, cellID)
	if err != nil {
		c.taskLogger(ctx, "start-task", guid).Error("failed-to-start-task", err, lager.Data{"cell_id": cellID})
		return false, err
	}
	if started {
		c.Hubs.Task.Emit(models.NewTaskChangedEvent(before, after))
		c.taskStats.count(cellID, taskStarted)
	}
	return started, nil
}

// CancelTask completes a Pending or Running task as failed ("task was
// cancelled") and, if it had a cell, asks that cell's rep to stop it. The
// rep call's failures are only logged: the rep's own convergence finds
// the task gone.
func (c *Controllers) CancelTask(ctx context.Context, guid string) error {
	logger := c.taskLogger(ctx, "cancel-task", guid)
	before, after, cellID, err := c.DB.CancelTask(ctx, guid)
	if err != nil {
		logger.Error("failed-to-cancel-task", err)
		return err
	}
	c.completed(before, after)
	if cellID == "" {
		return nil
	}
	logger = logger.WithData(lager.Data{"cell_id": cellID})
	cell, err := c.Cells.CellByID(ctx, cellID)
	if err != nil {
		logger.Error("failed-fetching-cell-presence", err)
		return nil
	}
	if err := c.Reps.CancelTask(ctx, cell.GetRepUrl(), guid); err != nil {
		logger.Error("failed-rep-cancel-task", err)
	}
	return nil
}

// FailTask completes a Pending or Running task as failed with reason.
func (c *Controllers) FailTask(ctx context.Context, guid, reason string) error {
	before, after, err := c.DB.FailTask(ctx, guid, reason)
	if err != nil {
		c.taskLogger(ctx, "fail-task", guid).Error("failed-to-fail-task", err)
		return err
	}
	c.completed(before, after)
	return nil
}

// RejectTask sends a Pending or Running task back to Pending for the
// next convergence pass to auction, or fails it once it was already
// rejected max_task_retries times; the change event is the reject's or,
// after such an escalation, the failure's only.
//
// A task in another state is InvalidRequest (the failure's
// InvalidStateTransition if the retries are exhausted), and the reference
// still announces a task_changed for it, with an empty task before and the
// unchanged task after; consumers have seen that event for years, so it is
// kept.
func (c *Controllers) RejectTask(ctx context.Context, guid, reason string) error {
	logger := c.taskLogger(ctx, "reject-task", guid)
	before, after, failed, err := c.DB.RejectTask(ctx, guid, reason)
	switch {
	case err == nil && failed:
		logger.Info("failed-task-after-max-retries", lager.Data{"rejection-reason": reason})
		c.completed(before, after)
	case err == nil:
		c.Hubs.Task.Emit(models.NewTaskChangedEvent(before, after))
	case errors.Is(err, models.ErrBadRequest):
		logger.Error("failed-to-reject-task", err)
		if task, readErr := c.DB.TaskByGuid(ctx, guid); readErr == nil {
			c.Hubs.Task.Emit(models.NewTaskChangedEvent(&models.Task{}, task))
		}
	default:
		logger.Error("failed-to-reject-task", err)
	}
	return err
}

// CompleteTask records the outcome of a task that ran on cellID.
func (c *Controllers) CompleteTask(ctx context.Context, guid, cellID string, failed bool, failureReason, result string) error {
	before, after, err := c.DB.CompleteTask(ctx, guid, cellID, failed, failureReason, result)
	if err != nil {
		c.taskLogger(ctx, "complete-task", guid).Error("failed-to-complete-task", err, lager.Data{"cell_id": cellID})
		return err
	}
	if failed {
		c.taskStats.count(cellID, taskFailed)
	} else {
		c.taskStats.count(cellID, taskSucceeded)
	}
	c.completed(before, after)
	return nil
}

// ResolvingTask marks a Completed task as being resolved.
func (c *Controllers) ResolvingTask(ctx context.Context, guid string) error {
	before, after, err := c.DB.ResolvingTask(ctx, guid)
	if err != nil {
		c.taskLogger(ctx, "resolving-task", guid).Error("failed-to-resolve-task", err)
		return err
	}
	c.Hubs.Task.Emit(models.NewTaskChangedEvent(before, after))
	return nil
}

// DeleteTask deletes a Resolving task.
func (c *Controllers) DeleteTask(ctx context.Context, guid string) error {
	task, err := c.DB.DeleteTask(ctx, guid)
	if err != nil {
		c.taskLogger(ctx, "delete-task", guid).Error("failed-to-delete-task", err)
		return err
	}
	c.Hubs.Task.Emit(models.NewTaskRemovedEvent(task))
	return nil
}

// completed announces a task that became Completed and hands it to the
// callback pool if its owner wants to hear about it. The event goes first
// so that the pool's Resolving change follows it on the stream.
func (c *Controllers) completed(before, after *models.Task) {
	c.Hubs.Task.Emit(models.NewTaskChangedEvent(before, after))
	if after.GetTaskDefinition().GetCompletionCallbackUrl() != "" && c.Callbacks != nil {
		c.Callbacks.Submit(after)
	}
}

func (c *Controllers) taskLogger(ctx context.Context, op, guid string) lager.Logger {
	data := lager.Data{"task_guid": guid}
	if id := traceID(ctx); id != "" {
		data["trace-id"] = id
	}
	return c.Logger.Session(op, data)
}

// TaskCellCounts are the tasks one cell started, and completed with and
// without failure, since the BBS started: the reference's per-cell
// TasksStarted, TasksSucceeded and TasksFailed metrics.
type TaskCellCounts struct {
	Started, Succeeded, Failed uint64
}

// TaskCounts returns the task counts of every cell seen so far, by cell id.
func (c *Controllers) TaskCounts() map[string]TaskCellCounts {
	return c.taskStats.snapshot()
}

type taskOutcome int

const (
	taskStarted taskOutcome = iota
	taskSucceeded
	taskFailed
)

// taskStats holds the per-cell counts; the zero value is ready.
type taskStats struct {
	mu     sync.Mutex
	byCell map[string]TaskCellCounts
}

func (s *taskStats) count(cellID string, o taskOutcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byCell == nil {
		s.byCell = map[string]TaskCellCounts{}
	}
	n := s.byCell[cellID]
	switch o {
	case taskStarted:
		n.Started++
	case taskSucceeded:
		n.Succeeded++
	case taskFailed:
		n.Failed++
	}
	s.byCell[cellID] = n
}

func (s *taskStats) snapshot() map[string]TaskCellCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]TaskCellCounts, len(s.byCell))
	for k, v := range s.byCell {
		out[k] = v
	}
	return out
}
