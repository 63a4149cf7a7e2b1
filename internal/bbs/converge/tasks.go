package converge

import (
	"slices"
	"strings"
	"time"

	"github.com/diego-go/diego/internal/models"
)

// The failure reasons task convergence writes.
const (
	ExpiredPendingReason  = "not started within time limit"
	CellDisappearedReason = "cell disappeared before completion"
)

// TaskRow is one row of tasks as convergence sees it: no definition.
type TaskRow struct {
	Guid             string
	Domain           string
	State            models.Task_State
	CellID           string
	CreatedAt        int64 // Unix nanoseconds
	UpdatedAt        int64
	FirstCompletedAt int64
}

// TaskSnapshot is what a task pass looks at.
type TaskSnapshot struct {
	Tasks []TaskRow
	// Cells and CellsKnown as in LRPSnapshot.
	Cells      CellSet
	CellsKnown bool
}

// TaskDurations are the task pass's settings: kick_task_duration,
// expire_pending_task_duration, expire_completed_task_duration.
type TaskDurations struct {
	Kick, ExpirePending, ExpireCompleted time.Duration
}

// TaskWriteKind is what a task write does.
type TaskWriteKind int

// The task writes, in the order they apply to one task.
const (
	// ExpirePending completes a Pending task that was not started in
	// time, as failed (step 1).
	ExpirePending TaskWriteKind = iota + 1
	// FailLostCell completes a Running task whose cell is gone, as failed
	// (step 3).
	FailLostCell
	// DemoteResolving puts a task stuck in Resolving back to Completed
	// (step 4).
	DemoteResolving
	// DeleteCompleted deletes a task completed too long ago (step 5).
	DeleteCompleted
)

var taskWriteNames = map[TaskWriteKind]string{
	ExpirePending: "expire-pending", FailLostCell: "fail-lost-cell",
	DemoteResolving: "demote-resolving", DeleteCompleted: "delete-completed",
}

func (k TaskWriteKind) String() string {
	if n, ok := taskWriteNames[k]; ok {
		return n
	}
	return "unknown"
}

// TaskWrite is one write to a task; it applies only while the task is as
// seen (same state and updated_at).
type TaskWrite struct {
	Kind TaskWriteKind
	Task TaskRow
	// Reason is the failure reason of ExpirePending and FailLostCell.
	Reason string
	// Kick: once demoted, the task's completion callback is submitted
	// again (step 6).
	Kick bool
}

// TaskMetrics are the figures of a task pass: the tasks per state as the
// plan leaves them, and how many it kicked (expired, auctioned, failed or
// resubmitted).
type TaskMetrics struct {
	Pending, Running, Completed, Resolving int
	Kicked                                 int
}

// TaskPlan is what a task pass does.
type TaskPlan struct {
	// Skipped: the cell list was not known; nothing is done.
	Skipped bool
	// Writes are the task writes, those of one task together and in
	// order.
	Writes []TaskWrite
	// Auction are the Pending tasks to auction again (step 2).
	Auction []TaskRow
	// Callbacks are the Completed tasks whose callback is submitted again
	// (step 6); demoted tasks are marked Kick in Writes instead.
	Callbacks []TaskRow
	Metrics   TaskMetrics
}

// PlanTasks plans a task pass (reference §5.2, steps 1–7) at now. Without
// a known cell list it plans nothing (Skipped), as the reference returns
// before looking at the tasks. The snapshot is not modified.
func PlanTasks(s *TaskSnapshot, now time.Time, d TaskDurations) TaskPlan {
	if s == nil || !s.CellsKnown {
		return TaskPlan{Skipped: true}
	}
	var plan TaskPlan
	n := now.UnixNano()
	pendingBefore := n - d.ExpirePending.Nanoseconds()
	kickBefore := n - d.Kick.Nanoseconds()
	completedBefore := n - d.ExpireCompleted.Nanoseconds()
	m := &plan.Metrics
	for _, t := range sortedTasks(s.Tasks) {
		switch t.State {
		case models.Task_Pending:
			switch {
			case t.CreatedAt < pendingBefore:
				plan.Writes = append(plan.Writes, TaskWrite{Kind: ExpirePending, Task: *t, Reason: ExpiredPendingReason})
				m.Completed++
				m.Kicked++
			case t.CreatedAt > pendingBefore:
				// Every pass, whatever the kick duration (the reference's).
				plan.Auction = append(plan.Auction, *t)
				m.Pending++
				m.Kicked++
			default:
				m.Pending++ // exactly at the limit: neither, as in the reference
			}
		case models.Task_Running:
			if len(s.Cells) == 0 || !s.Cells.Has(t.CellID) {
				plan.Writes = append(plan.Writes, TaskWrite{Kind: FailLostCell, Task: *t, Reason: CellDisappearedReason})
				m.Completed++
				m.Kicked++
			} else {
				m.Running++
			}
		case models.Task_Resolving:
			if t.UpdatedAt >= kickBefore {
				m.Resolving++
				break
			}
			demoted := *t
			demoted.State = models.Task_Completed
			w := TaskWrite{Kind: DemoteResolving, Task: *t}
			if demoted.FirstCompletedAt < completedBefore {
				plan.Writes = append(plan.Writes, w, TaskWrite{Kind: DeleteCompleted, Task: demoted})
				break
			}
			// Its updated_at is older than the kick limit already.
			w.Kick = true
			plan.Writes = append(plan.Writes, w)
			m.Completed++
			m.Kicked++
		case models.Task_Completed:
			switch {
			case t.FirstCompletedAt < completedBefore:
				plan.Writes = append(plan.Writes, TaskWrite{Kind: DeleteCompleted, Task: *t})
			case t.UpdatedAt < kickBefore:
				plan.Callbacks = append(plan.Callbacks, *t)
				m.Completed++
				m.Kicked++
			default:
				m.Completed++
			}
		}
	}
	return plan
}

// sortedTasks returns pointers to the tasks ordered by guid.
func sortedTasks(tasks []TaskRow) []*TaskRow {
	out := make([]*TaskRow, len(tasks))
	for i := range tasks {
		out[i] = &tasks[i]
	}
	byGUID := func(a, b *TaskRow) int { return strings.Compare(a.Guid, b.Guid) }
	if !slices.IsSortedFunc(out, byGUID) {
		slices.SortStableFunc(out, byGUID)
	}
	return out
}
