package converge

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/models"
)

var durations = TaskDurations{Kick: 30 * time.Second, ExpirePending: 30 * time.Minute, ExpireCompleted: 2 * time.Minute}

// task is a task created, updated and first completed at the given ages.
func task(guid string, state models.Task_State, cell string, created, updated, completed time.Duration) TaskRow {
	t := TaskRow{Guid: guid, Domain: "d", State: state, CellID: cell,
		CreatedAt: now.Add(-created).UnixNano(), UpdatedAt: now.Add(-updated).UnixNano()}
	if completed > 0 {
		t.FirstCompletedAt = now.Add(-completed).UnixNano()
	}
	return t
}

func describeTasks(p TaskPlan) []string {
	var out []string
	for _, w := range p.Writes {
		s := fmt.Sprintf("%s %s", w.Kind, w.Task.Guid)
		if w.Reason != "" {
			s += " (" + w.Reason + ")"
		}
		if w.Kick {
			s += " kick"
		}
		out = append(out, s)
	}
	for _, t := range p.Auction {
		out = append(out, "auction "+t.Guid)
	}
	for _, t := range p.Callbacks {
		out = append(out, "callback "+t.Guid)
	}
	return out
}

func TestPlanTasks(t *testing.T) {
	const (
		pending   = models.Task_Pending
		running   = models.Task_Running
		completed = models.Task_Completed
		resolving = models.Task_Resolving
	)
	for _, c := range []struct {
		name  string
		tasks []TaskRow
		cells []string
		want  []string
	}{
		{name: "pending too long is failed", tasks: []TaskRow{task("t", pending, "", 31*time.Minute, time.Minute, 0)},
			want: []string{"expire-pending t (not started within time limit)"}},
		{name: "pending exactly at the limit is neither failed nor auctioned", tasks: []TaskRow{task("t", pending, "", 30*time.Minute, time.Minute, 0)}},
		{name: "every other pending task is auctioned, however new", tasks: []TaskRow{task("b", pending, "", 0, 0, 0), task("a", pending, "c1", 29*time.Minute, 0, 0)},
			cells: []string{"c1"}, want: []string{"auction a", "auction b"}},
		{name: "running on a present cell stays", tasks: []TaskRow{task("t", running, "c1", time.Hour, time.Hour, 0)}, cells: []string{"c1"}},
		{name: "running on a missing cell is failed", tasks: []TaskRow{task("t", running, "gone", 0, 0, 0)}, cells: []string{"c1"},
			want: []string{"fail-lost-cell t (cell disappeared before completion)"}},
		{name: "an empty cell list fails every running task", tasks: []TaskRow{task("t", running, "c1", 0, 0, 0)},
			want: []string{"fail-lost-cell t (cell disappeared before completion)"}},
		{name: "resolving for less than the kick duration stays", tasks: []TaskRow{task("t", resolving, "", time.Hour, 30*time.Second, time.Minute)}},
		{name: "stuck resolving is demoted and kicked", tasks: []TaskRow{task("t", resolving, "", time.Hour, 31*time.Second, time.Minute)},
			want: []string{"demote-resolving t kick"}},
		{name: "stuck resolving completed long ago is demoted and deleted", tasks: []TaskRow{task("t", resolving, "", time.Hour, 31*time.Second, 3*time.Minute)},
			want: []string{"demote-resolving t", "delete-completed t"}},
		{name: "completed long ago is deleted", tasks: []TaskRow{task("t", completed, "", time.Hour, time.Hour, 121*time.Second)},
			want: []string{"delete-completed t"}},
		{name: "completed a while ago is kicked", tasks: []TaskRow{task("t", completed, "", time.Hour, 31*time.Second, 31*time.Second)},
			want: []string{"callback t"}},
		{name: "completed just now waits", tasks: []TaskRow{task("t", completed, "", time.Hour, 30*time.Second, 30*time.Second)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &TaskSnapshot{Tasks: c.tasks, Cells: NewCellSet(c.cells...), CellsKnown: true}
			before := fmt.Sprint(*s)
			if got := describeTasks(PlanTasks(s, now, durations)); !slices.Equal(got, c.want) {
				t.Errorf("plan:\n  got  %q\n  want %q", got, c.want)
			}
			if fmt.Sprint(*s) != before {
				t.Error("the snapshot was modified")
			}
		})
	}
}

func TestPlanTasksWithoutCellsDoesNothing(t *testing.T) {
	s := &TaskSnapshot{Tasks: []TaskRow{task("t", models.Task_Running, "c1", 0, 0, 0)}}
	if p := PlanTasks(s, now, durations); !p.Skipped || len(describeTasks(p)) != 0 {
		t.Fatalf("got %+v", p)
	}
}

func TestPlanTasksMetrics(t *testing.T) {
	s := &TaskSnapshot{CellsKnown: true, Cells: NewCellSet("c1"), Tasks: []TaskRow{
		task("p-expired", models.Task_Pending, "", time.Hour, time.Hour, 0),
		task("p-kicked", models.Task_Pending, "", 0, 0, 0),
		task("r-ok", models.Task_Running, "c1", 0, 0, 0),
		task("r-lost", models.Task_Running, "gone", 0, 0, 0),
		task("s-ok", models.Task_Resolving, "", time.Hour, 0, time.Minute),
		task("s-stuck", models.Task_Resolving, "", time.Hour, time.Hour, time.Minute),
		task("s-stuck-old", models.Task_Resolving, "", time.Hour, time.Hour, time.Hour),
		task("c-new", models.Task_Completed, "", time.Hour, 0, time.Second),
		task("c-kick", models.Task_Completed, "", time.Hour, time.Minute, time.Minute),
		task("c-old", models.Task_Completed, "", time.Hour, time.Hour, time.Hour),
	}}
	got := PlanTasks(s, now, durations).Metrics
	// Completed: p-expired, r-lost, s-stuck, c-new, c-kick; kicked: p-expired,
	// p-kicked, r-lost, s-stuck, c-kick.
	want := TaskMetrics{Pending: 1, Running: 1, Completed: 5, Resolving: 1, Kicked: 5}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}
