package db

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/bbs/converge"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
)

var taskDurations = converge.TaskDurations{Kick: 30 * time.Second, ExpirePending: 30 * time.Minute, ExpireCompleted: 2 * time.Minute}

func (fx *storeFx) planTasks(cells ...string) (*converge.TaskSnapshot, converge.TaskPlan) {
	fx.t.Helper()
	s, err := fx.db.LoadTaskSnapshot(fx.ctx)
	if err != nil {
		fx.t.Fatal(err)
	}
	s.Cells, s.CellsKnown = converge.NewCellSet(cells...), true
	return s, converge.PlanTasks(s, fx.now(), taskDurations)
}

func TestTaskConvergenceStore(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newStoreFx(t, cfg)
		fx.taskAt("expired", models.Task_Pending)
		fx.advance(29 * time.Minute)
		fx.taskAt("pending", models.Task_Pending)
		fx.taskAt("lost", models.Task_Running)
		fx.taskAt("stuck", models.Task_Resolving)
		fx.taskAt("old", models.Task_Completed)
		fx.advance(3 * time.Minute)

		s, plan := fx.planTasks("c2")
		if len(s.Tasks) != 5 {
			t.Fatalf("snapshot %+v", s.Tasks)
		}
		i := slices.IndexFunc(s.Tasks, func(r converge.TaskRow) bool { return r.Guid == "lost" })
		if r := s.Tasks[i]; r.State != models.Task_Running || r.CellID != "c1" || r.Domain != "cf-tasks" || r.CreatedAt == 0 || r.UpdatedAt <= r.CreatedAt {
			t.Errorf("row %+v", r)
		}
		var kinds []string
		for _, w := range plan.Writes {
			kinds = append(kinds, w.Kind.String()+" "+w.Task.Guid)
		}
		want := []string{"expire-pending expired", "fail-lost-cell lost", "delete-completed old", "demote-resolving stuck", "delete-completed stuck"}
		if !slices.Equal(kinds, want) || len(plan.Auction) != 1 || plan.Auction[0].Guid != "pending" {
			t.Fatalf("plan %v, auction %v", kinds, plan.Auction)
		}

		// The pending task starts before the pass applies anything else:
		// auctioning reads it again and finds it running.
		if _, _, _, err := fx.db.StartTask(fx.ctx, "pending", "c2"); err != nil {
			t.Fatal(err)
		}
		results, pruned := fx.db.ApplyTaskWrites(fx.ctx, plan.Writes)
		if pruned != 0 {
			t.Errorf("pruned %d", pruned)
		}
		for _, r := range results {
			if r.Err != nil || r.Before == nil {
				t.Fatalf("%s %s: %v", r.Write.Kind, r.Write.Task.Guid, r.Err)
			}
		}
		now := fx.now().UnixNano()
		expired := results[0].After
		if expired.State != models.Task_Completed || !expired.Failed || expired.FailureReason != converge.ExpiredPendingReason ||
			expired.FirstCompletedAt != now || expired.UpdatedAt != now || expired.GetTaskDefinition().GetRootFs() == "" {
			t.Errorf("expired %v", expired)
		}
		lost, err := fx.db.TaskByGuid(fx.ctx, "lost")
		if err != nil || lost.State != models.Task_Completed || lost.FailureReason != converge.CellDisappearedReason || lost.CellId != "c1" {
			t.Errorf("lost %v %v", lost, err)
		}
		if results[3].After.State != models.Task_Completed || results[3].After.UpdatedAt != results[3].Before.UpdatedAt || results[4].After != nil {
			t.Errorf("demote then delete %+v %+v", results[3], results[4])
		}
		if n := fx.count("tasks", "guid IN (?, ?)", "old", "stuck"); n != 0 {
			t.Errorf("%d expired tasks left", n)
		}
		tasks, _, err := fx.db.TasksByGuids(fx.ctx, []string{"pending", "nope"})
		if err != nil || len(tasks) != 1 || tasks[0].State != models.Task_Running {
			t.Fatalf("tasks %v %v", tasks, err)
		}
	})
}

func TestTaskConvergenceConflictsAndCorruptRows(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newStoreFx(t, cfg)
		fx.taskAt("lost", models.Task_Running)
		fx.taskAt("corrupt", models.Task_Running)
		fx.taskAt("unread", models.Task_Pending)
		_, plan := fx.planTasks()
		if len(plan.Writes) != 2 {
			t.Fatalf("plan %+v", plan.Writes)
		}
		// The task completes before the pass fails it; another row rots.
		if _, _, err := fx.db.CompleteTask(fx.ctx, "lost", "c1", false, "", "ok"); err != nil {
			t.Fatal(err)
		}
		fx.exec("UPDATE tasks SET task_definition = ? WHERE guid IN (?, ?)", "garbage", "corrupt", "unread")
		results, pruned := fx.db.ApplyTaskWrites(fx.ctx, plan.Writes)
		byGUID := map[string]error{}
		for _, r := range results {
			byGUID[r.Write.Task.Guid] = r.Err
		}
		if !errors.Is(byGUID["lost"], models.ErrResourceConflict) || !errors.Is(byGUID["corrupt"], models.ErrDeserialize) || pruned != 1 {
			t.Fatalf("results %v, pruned %d", byGUID, pruned)
		}
		if task, err := fx.db.TaskByGuid(fx.ctx, "lost"); err != nil || task.Failed || task.Result != "ok" {
			t.Errorf("the completed task was changed: %v %v", task, err)
		}
		tasks, pruned, err := fx.db.TasksByGuids(fx.ctx, []string{"unread"})
		if err != nil || len(tasks) != 0 || pruned != 1 || fx.count("tasks", "1 = 1") != 1 {
			t.Fatalf("corrupt read: %v %d %v, %d left", tasks, pruned, err, fx.count("tasks", "1 = 1"))
		}
	})
}
