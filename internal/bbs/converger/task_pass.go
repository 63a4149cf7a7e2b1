package converger

import (
	"context"
	"errors"
	"sync"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/auctioneer/auctioneerclient"
	"github.com/diego-go/diego/internal/bbs/converge"
	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/models"
)

// taskBatch is the number of tasks written per transaction.
const taskBatch = 100

// TaskPassSummary is what one task pass did.
type TaskPassSummary struct {
	// Skipped: the cell list could not be fetched, nothing was done.
	Skipped  bool
	Duration time.Duration
	Tasks    int
	// Writes planned; Applied, Conflicts and Failed their outcomes.
	Writes, Applied, Conflicts, Failed int
	// Auctioned and Callbacks are the tasks auctioned and resubmitted.
	Auctioned, Callbacks int
	// Kicked and Pruned are the reference's ConvergenceTasksKicked and
	// ConvergenceTasksPruned increments.
	Kicked, Pruned int
	Metrics        converge.TaskMetrics
}

// RunTaskPass runs one task pass (reference §5.2) and returns what it did.
// A failed cell fetch skips it (Skipped, with the error), as the reference
// returns early; a failed snapshot read fails it.
func (c *Converger) RunTaskPass(ctx context.Context) (TaskPassSummary, error) {
	logger := c.Logger.Session("converge-tasks")
	start := c.Clock.Now()
	var sum TaskPassSummary
	cells, _, err := c.cellSet(ctx)
	if err != nil {
		logger.Error("failed-listing-cells", err)
		sum.Skipped = true
		return sum, err
	}
	snap, err := c.DB.LoadTaskSnapshot(ctx)
	if err != nil {
		logger.Error("failed-loading-snapshot", err)
		return sum, err
	}
	snap.Cells, snap.CellsKnown = cells, true
	plan := converge.PlanTasks(snap, c.Clock.Now(), converge.TaskDurations{
		Kick: c.cfg.KickTaskDuration, ExpirePending: c.cfg.ExpirePendingTaskDuration, ExpireCompleted: c.cfg.ExpireCompletedTaskDuration,
	})
	sum.Tasks, sum.Writes, sum.Kicked, sum.Metrics = len(snap.Tasks), len(plan.Writes), plan.Metrics.Kicked, plan.Metrics

	var callbacks []*models.Task
	var mu sync.Mutex
	batches := converge.BatchTaskWrites(plan.Writes, taskBatch)
	each(ctx, c.cfg.Workers, len(batches), func(i int) {
		results, pruned := c.DB.ApplyTaskWrites(ctx, batches[i])
		kicks, st := c.taskResults(logger, results)
		mu.Lock()
		defer mu.Unlock()
		callbacks = append(callbacks, kicks...)
		sum.Pruned += pruned + st.deleted
		sum.Applied, sum.Conflicts, sum.Failed = sum.Applied+st.applied, sum.Conflicts+st.conflicts, sum.Failed+st.failed
	})

	pending, pruned := c.tasksIn(ctx, logger, plan.Auction, models.Task_Pending)
	sum.Pruned += pruned
	sum.Auctioned = c.auctionTasks(ctx, logger, pending)
	completed, pruned := c.tasksIn(ctx, logger, plan.Callbacks, models.Task_Completed)
	sum.Pruned += pruned
	if c.Controllers.Callbacks != nil {
		for _, t := range append(callbacks, completed...) {
			c.Controllers.Callbacks.Submit(t)
			sum.Callbacks++
		}
	}

	sum.Duration = c.Clock.Since(start)
	c.Metrics.recordTaskPass(sum)
	logger.Info("done", lager.Data{
		"duration": sum.Duration.String(), "tasks": sum.Tasks, "writes": sum.Writes, "conflicts": sum.Conflicts,
		"failed": sum.Failed, "auctioned": sum.Auctioned, "callbacks": sum.Callbacks, "kicked": sum.Kicked, "pruned": sum.Pruned,
	})
	return sum, nil
}

type taskStats struct{ applied, conflicts, failed, deleted int }

// taskResults announces the applied writes and returns the demoted tasks
// whose callback goes again.
func (c *Converger) taskResults(logger lager.Logger, results []db.TaskWriteResult) ([]*models.Task, taskStats) {
	var kicks []*models.Task
	var st taskStats
	for _, r := range results {
		switch {
		case errors.Is(r.Err, models.ErrResourceConflict):
			st.conflicts++
			continue
		case r.Err != nil:
			st.failed++
			logger.Error("failed-to-"+r.Write.Kind.String(), r.Err, lager.Data{"task_guid": r.Write.Task.Guid})
			continue
		}
		st.applied++
		if r.After == nil {
			st.deleted++
			c.Controllers.Hubs.Task.Emit(models.NewTaskRemovedEvent(r.Before))
			continue
		}
		c.Controllers.Hubs.Task.Emit(models.NewTaskChangedEvent(r.Before, r.After))
		if r.Write.Kick {
			kicks = append(kicks, r.After)
		}
	}
	return kicks, st
}

// tasksIn reads the full tasks of rows that are still in state.
func (c *Converger) tasksIn(ctx context.Context, logger lager.Logger, rows []converge.TaskRow, state models.Task_State) ([]*models.Task, int) {
	if len(rows) == 0 {
		return nil, 0
	}
	guids := make([]string, len(rows))
	for i, r := range rows {
		guids[i] = r.Guid
	}
	tasks, pruned, err := c.DB.TasksByGuids(ctx, guids)
	if err != nil {
		logger.Error("failed-reading-tasks", err, lager.Data{"state": state.String()})
		return nil, pruned
	}
	out := tasks[:0]
	for _, t := range tasks {
		if t.GetState() == state {
			out = append(out, t)
		}
	}
	return out, pruned
}

// auctionTasks sends one task auction request for tasks.
func (c *Converger) auctionTasks(ctx context.Context, logger lager.Logger, tasks []*models.Task) int {
	if len(tasks) == 0 {
		return 0
	}
	starts := make([]*auctioneerclient.TaskStartRequest, len(tasks))
	guids := make([]string, len(tasks))
	for i, t := range tasks {
		starts[i] = auctioneerclient.NewTaskStartRequest(t)
		guids[i] = t.GetTaskGuid()
	}
	if err := c.Controllers.Auctioneer.RequestTaskAuctions(ctx, starts); err != nil {
		logger.Error("failed-to-request-auctions-for-pending-tasks", err, lager.Data{"task_guids": guids})
		return 0
	}
	return len(starts)
}
