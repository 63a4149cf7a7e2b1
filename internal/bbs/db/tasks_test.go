package db

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
	"google.golang.org/protobuf/proto"
)

func taskDefinition() *models.TaskDefinition {
	return &models.TaskDefinition{
		RootFs:                "preloaded:cflinuxfs4",
		Action:                &models.Action{RunAction: &models.RunAction{Path: "/bin/stage", User: "vcap"}},
		MemoryMb:              256,
		DiskMb:                1024,
		ResultFile:            "/tmp/result.json",
		CompletionCallbackUrl: "https://cc/callback",
		ImagePassword:         "secret",
		PlacementTags:         []string{"zone-a"},
		MetricTags:            map[string]*models.MetricTagValue{"source_id": {Static: "x"}},
	}
}

// taskAt desires a task and brings it to state (through cell "c1").
func (fx *storeFx) taskAt(guid string, state models.Task_State) *models.Task {
	fx.t.Helper()
	task, err := fx.db.DesireTask(fx.ctx, taskDefinition(), guid, "cf-tasks")
	if err != nil {
		fx.t.Fatal(err)
	}
	steps := []func() (*models.Task, error){
		func() (*models.Task, error) { _, a, _, err := fx.db.StartTask(fx.ctx, guid, "c1"); return a, err },
		func() (*models.Task, error) {
			_, a, err := fx.db.CompleteTask(fx.ctx, guid, "c1", false, "", "the result")
			return a, err
		},
		func() (*models.Task, error) { _, a, err := fx.db.ResolvingTask(fx.ctx, guid); return a, err },
	}
	for _, step := range steps[:state-models.Task_Pending] {
		fx.advance(time.Second)
		if task, err = step(); err != nil {
			fx.t.Fatal(err)
		}
	}
	return task
}

type taskOp struct {
	name string
	do   func(fx *storeFx, guid string) (before, after *models.Task, err error)
}

var (
	taskOpStart = func(cell string) taskOp {
		return taskOp{"start on " + cell, func(fx *storeFx, g string) (*models.Task, *models.Task, error) {
			b, a, _, err := fx.db.StartTask(fx.ctx, g, cell)
			return b, a, err
		}}
	}
	taskOpComplete = func(cell string) taskOp {
		return taskOp{"complete on " + cell, func(fx *storeFx, g string) (*models.Task, *models.Task, error) {
			return fx.db.CompleteTask(fx.ctx, g, cell, true, "out of memory", "partial")
		}}
	}
	taskOpCancel = taskOp{"cancel", func(fx *storeFx, g string) (*models.Task, *models.Task, error) {
		b, a, _, err := fx.db.CancelTask(fx.ctx, g)
		return b, a, err
	}}
	taskOpFail = taskOp{"fail", func(fx *storeFx, g string) (*models.Task, *models.Task, error) {
		return fx.db.FailTask(fx.ctx, g, "boom")
	}}
	taskOpReject = taskOp{"reject", func(fx *storeFx, g string) (*models.Task, *models.Task, error) {
		b, a, _, err := fx.db.RejectTask(fx.ctx, g, "no cell")
		return b, a, err
	}}
	taskOpResolving = taskOp{"resolving", func(fx *storeFx, g string) (*models.Task, *models.Task, error) {
		return fx.db.ResolvingTask(fx.ctx, g)
	}}
	taskOpDelete = taskOp{"delete", func(fx *storeFx, g string) (*models.Task, *models.Task, error) {
		t, err := fx.db.DeleteTask(fx.ctx, g)
		return t, nil, err
	}}
)

func taskTransitionErr(from, to string) *models.Error {
	return models.NewError(models.Error_InvalidStateTransition, "Cannot transition from "+from+" to "+to)
}

// taskExpect describes the task after a successful operation, as changes to
// the task before it.
type taskExpect func(t *models.Task, now int64)

func taskCompleted(failed bool, reason, result string) taskExpect {
	return func(t *models.Task, now int64) {
		t.State, t.Failed, t.FailureReason, t.Result, t.CellId = models.Task_Completed, failed, reason, result, ""
		t.FirstCompletedAt, t.UpdatedAt = now, now
	}
}

var (
	taskUnchanged = func(*models.Task, int64) {}
	taskRunning   = func(t *models.Task, now int64) { t.State, t.CellId, t.UpdatedAt = models.Task_Running, "c1", now }
	taskRejected  = func(t *models.Task, now int64) {
		t.State, t.RejectionCount, t.RejectionReason, t.UpdatedAt = models.Task_Pending, t.RejectionCount+1, "no cell", now
	}
	taskResolving = func(t *models.Task, now int64) { t.State, t.UpdatedAt = models.Task_Resolving, now }
	taskDeleted   taskExpect
)

func TestTaskTransitions(t *testing.T) {
	P, R, C, S := models.Task_Pending, models.Task_Running, models.Task_Completed, models.Task_Resolving
	cases := []struct {
		from models.Task_State
		op   taskOp
		err  *models.Error
		want taskExpect
	}{
		{P, taskOpStart("c1"), nil, taskRunning},
		{P, taskOpComplete("c1"), taskTransitionErr("Pending", "Completed"), nil},
		{P, taskOpCancel, nil, taskCompleted(true, "task was cancelled", "")},
		{P, taskOpFail, nil, taskCompleted(true, "boom", "")},
		{P, taskOpReject, nil, taskRejected},
		{P, taskOpResolving, taskTransitionErr("Pending", "Resolving"), nil},
		{P, taskOpDelete, taskTransitionErr("Pending", "Resolving"), nil},

		{R, taskOpStart("c1"), nil, taskUnchanged},
		{R, taskOpStart("c2"), taskTransitionErr("Running", "Running"), nil},
		{R, taskOpComplete("c1"), nil, taskCompleted(true, "out of memory", "partial")},
		{R, taskOpComplete("c2"), models.NewError(models.Error_RunningOnDifferentCell, "Running on cell c1 not c2"), nil},
		{R, taskOpCancel, nil, taskCompleted(true, "task was cancelled", "")},
		{R, taskOpFail, nil, taskCompleted(true, "boom", "")},
		{R, taskOpReject, nil, func(t *models.Task, now int64) { taskRejected(t, now) }}, // the cell stays
		{R, taskOpResolving, taskTransitionErr("Running", "Resolving"), nil},
		{R, taskOpDelete, taskTransitionErr("Running", "Resolving"), nil},

		{C, taskOpStart("c1"), taskTransitionErr("Completed", "Running"), nil},
		{C, taskOpComplete("c1"), taskTransitionErr("Completed", "Completed"), nil},
		{C, taskOpCancel, taskTransitionErr("Completed", "Completed"), nil},
		{C, taskOpFail, taskTransitionErr("Completed", "Completed"), nil},
		{C, taskOpReject, models.ErrBadRequest, nil},
		{C, taskOpResolving, nil, taskResolving},
		{C, taskOpDelete, taskTransitionErr("Completed", "Resolving"), nil},

		{S, taskOpStart("c1"), taskTransitionErr("Resolving", "Running"), nil},
		{S, taskOpComplete("c1"), taskTransitionErr("Resolving", "Completed"), nil},
		{S, taskOpCancel, taskTransitionErr("Resolving", "Completed"), nil},
		{S, taskOpReject, models.ErrBadRequest, nil},
		{S, taskOpResolving, taskTransitionErr("Resolving", "Resolving"), nil},
		{S, taskOpDelete, nil, taskDeleted},
	}
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newStoreFx(t, cfg, withMaxTaskRetries(3))
		for i, c := range cases {
			name := c.from.String() + " " + c.op.name
			guid := strings.ReplaceAll(name, " ", "-") + "-" + string(rune('a'+i%26))
			start := fx.taskAt(guid, c.from)
			now := fx.advance(time.Second).UnixNano()
			before, after, err := c.op.do(fx, guid)
			wantErr(t, name, err, c.err)
			stored, readErr := fx.db.TaskByGuid(fx.ctx, guid)
			if c.err != nil {
				if readErr != nil || !proto.Equal(stored, start) {
					t.Errorf("%s: failed call changed the task: %v %v", name, stored, readErr)
				}
				continue
			}
			if !proto.Equal(before, start) {
				t.Errorf("%s: before\n%v\nwant\n%v", name, before, start)
			}
			if c.want == nil {
				wantErr(t, name+": read after delete", readErr, models.ErrResourceNotFound)
				continue
			}
			want := proto.Clone(start).(*models.Task)
			c.want(want, now)
			if !proto.Equal(after, want) || !proto.Equal(stored, want) {
				t.Errorf("%s: after\n%v\nstored\n%v\nwant\n%v", name, after, stored, want)
			}
		}
	})
}

func TestTaskReturnsAndErrors(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newStoreFx(t, cfg)
		task := fx.taskAt("t", models.Task_Pending)
		if task.CreatedAt != fxStart.UnixNano() || task.UpdatedAt != task.CreatedAt || task.State != models.Task_Pending ||
			!proto.Equal(task.TaskDefinition, taskDefinition()) || task.FirstCompletedAt != 0 {
			t.Fatalf("desired %v", task)
		}
		if got, err := fx.db.TaskByGuid(fx.ctx, "t"); err != nil || !proto.Equal(got, task) {
			t.Fatalf("read back (%v) %v", err, got)
		}
		if _, _, started, err := fx.db.StartTask(fx.ctx, "t", "c1"); !started || err != nil {
			t.Fatalf("first start %v %v", started, err)
		}
		if _, _, started, err := fx.db.StartTask(fx.ctx, "t", "c1"); started || err != nil {
			t.Fatalf("second start %v %v", started, err)
		}
		if _, _, cell, err := fx.db.CancelTask(fx.ctx, "t"); cell != "c1" || err != nil {
			t.Fatalf("cancel returned cell %q, %v", cell, err)
		}
		long := strings.Repeat("x", 5000)
		fx.taskAt("long", models.Task_Running)
		_, after, err := fx.db.CompleteTask(fx.ctx, "long", "c1", true, long, strings.Repeat("r", 70000))
		if err != nil || len(after.FailureReason) != 1024 || !strings.HasSuffix(after.FailureReason, Truncated) || len(after.Result) != 70000 {
			t.Fatalf("long reason: %d bytes, %v", len(after.FailureReason), err)
		}
		if stored, _ := fx.db.TaskByGuid(fx.ctx, "long"); stored.FailureReason != after.FailureReason || stored.Result != after.Result {
			t.Fatal("stored reason differs")
		}
		fx.taskAt("rej", models.Task_Pending)
		if _, after, _, err := fx.db.RejectTask(fx.ctx, "rej", long); err != nil || len(after.RejectionReason) != 1024 {
			t.Fatalf("long rejection: %v", err)
		}

		_, err = fx.db.DesireTask(fx.ctx, taskDefinition(), "t", "other")
		wantErr(t, "desire a taken guid", err, models.ErrResourceExists)
		_, err = fx.db.DesireTask(fx.ctx, taskDefinition(), strings.Repeat("g", 256), "d")
		wantErr(t, "desire a too long guid", err, models.ErrBadRequest)
		missing := []func() error{
			func() error { _, err := fx.db.TaskByGuid(fx.ctx, "nope"); return err },
			func() error { _, _, _, err := fx.db.StartTask(fx.ctx, "nope", "c"); return err },
			func() error { _, _, _, err := fx.db.CancelTask(fx.ctx, "nope"); return err },
			func() error { _, _, err := fx.db.FailTask(fx.ctx, "nope", "r"); return err },
			func() error { _, _, _, err := fx.db.RejectTask(fx.ctx, "nope", "r"); return err },
			func() error { _, _, err := fx.db.CompleteTask(fx.ctx, "nope", "c", false, "", ""); return err },
			func() error { _, _, err := fx.db.ResolvingTask(fx.ctx, "nope"); return err },
			func() error { _, err := fx.db.DeleteTask(fx.ctx, "nope"); return err },
		}
		for i, call := range missing {
			wantErr(t, "missing task call "+string(rune('0'+i)), call(), models.ErrResourceNotFound)
		}
	})
}

func TestRejectTaskRetries(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		for _, max := range []int{0, 2} {
			fx := newStoreFx(t, sqltest.NewDatabase(t, flavorOf(cfg)), withMaxTaskRetries(max))
			fx.taskAt("t", models.Task_Running)
			for i := 0; i <= max; i++ {
				now := fx.advance(time.Second).UnixNano()
				before, after, failed, err := fx.db.RejectTask(fx.ctx, "t", "no room")
				if err != nil {
					t.Fatalf("max %d, rejection %d: %v", max, i+1, err)
				}
				last := i == max
				if failed != last || after.RejectionCount != int32(i+1) || after.RejectionReason != "no room" || after.UpdatedAt != now {
					t.Fatalf("max %d, rejection %d: failed %v, %v", max, i+1, failed, after)
				}
				if !last {
					if after.State != models.Task_Pending || after.CellId != "c1" {
						t.Fatalf("max %d, rejection %d: %v", max, i+1, after)
					}
					continue
				}
				// Exhausted: failed with the rejection reason; before is the
				// task as taskRejected, as the reference's FailTask event shows it.
				if after.State != models.Task_Completed || !after.Failed || after.FailureReason != "no room" || after.CellId != "" || after.FirstCompletedAt != now {
					t.Fatalf("max %d: not failed: %v", max, after)
				}
				if before.State != models.Task_Pending || before.RejectionCount != after.RejectionCount || before.CellId != "c1" {
					t.Fatalf("max %d: before %v", max, before)
				}
				if stored, _ := fx.db.TaskByGuid(fx.ctx, "t"); !proto.Equal(stored, after) {
					t.Fatalf("max %d: stored %v", max, stored)
				}
			}
			// A completed task: the exhausted retries report the failure's error.
			_, _, _, err := fx.db.RejectTask(fx.ctx, "t", "again")
			wantErr(t, "reject an exhausted completed task", err, taskTransitionErr("Completed", "Completed"))
		}
	})
}

func flavorOf(cfg sqldb.Config) sqldb.Flavor {
	f, _ := cfg.Flavor()
	return f
}

func TestTasksFilter(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newStoreFx(t, cfg)
		for _, g := range []struct{ guid, domain, cell string }{{"a", "d1", "c1"}, {"b", "d1", ""}, {"c", "d2", "c1"}, {"d", "d2", "c2"}} {
			if _, err := fx.db.DesireTask(fx.ctx, taskDefinition(), g.guid, g.domain); err != nil {
				t.Fatal(err)
			}
			if g.cell != "" {
				if _, _, _, err := fx.db.StartTask(fx.ctx, g.guid, g.cell); err != nil {
					t.Fatal(err)
				}
			}
		}
		cases := []struct {
			filter TaskFilter
			want   []string
		}{
			{TaskFilter{}, []string{"a", "b", "c", "d"}},
			{TaskFilter{Domain: "d1"}, []string{"a", "b"}},
			{TaskFilter{CellID: "c1"}, []string{"a", "c"}},
			{TaskFilter{Domain: "d2", CellID: "c1"}, []string{"c"}},
			{TaskFilter{Domain: "none"}, nil},
		}
		for _, c := range cases {
			tasks, err := fx.db.Tasks(fx.ctx, c.filter)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, task := range tasks {
				got = append(got, task.TaskGuid)
			}
			sort.Strings(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("%+v: %v, want %v", c.filter, got, c.want)
			}
		}
		raw := fx.column("tasks", "task_definition", "guid = 'a'")
		var def models.TaskDefinition
		if !strings.HasPrefix(string(raw), "02") || fx.db.crypt.UnmarshalModel(raw, &def) != nil || !proto.Equal(&def, taskDefinition()) {
			t.Fatalf("task definition at rest: %q", raw)
		}
	})
}
