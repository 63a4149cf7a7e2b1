package converger_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/bbs/converger"
	"github.com/diego-go/diego/internal/models"
	"github.com/tedsuo/ifrit"
)

func taskDefinition() *models.TaskDefinition {
	return &models.TaskDefinition{
		RootFs: "preloaded:cflinuxfs4", MemoryMb: 128, DiskMb: 256,
		Action:                &models.Action{RunAction: &models.RunAction{Path: "/bin/task", User: "vcap"}},
		CompletionCallbackUrl: "https://cc.example.com/done",
	}
}

// task desires a task and, with a cell, starts it there.
func (f *fx) task(guid, cell string) {
	f.t.Helper()
	if _, err := f.api.DB.DesireTask(f.ctx, taskDefinition(), guid, "cf-tasks"); err != nil {
		f.t.Fatal(err)
	}
	if cell == "" {
		return
	}
	if _, _, _, err := f.api.DB.StartTask(f.ctx, guid, cell); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fx) completedTask(guid string, resolving bool) {
	f.t.Helper()
	f.task(guid, "c1")
	if _, _, err := f.api.DB.CompleteTask(f.ctx, guid, "c1", false, "", "ok"); err != nil {
		f.t.Fatal(err)
	}
	if !resolving {
		return
	}
	if _, _, err := f.api.DB.ResolvingTask(f.ctx, guid); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fx) taskState(guid string) models.Task_State {
	f.t.Helper()
	task, err := f.api.DB.TaskByGuid(f.ctx, guid)
	if err != nil {
		return models.Task_Invalid
	}
	return task.GetState()
}

func TestTaskPass(t *testing.T) {
	f := newFx(t, converger.Config{})
	f.task("expired", "")
	f.completedTask("old", false)
	f.clock.Increment(29 * time.Minute)
	f.task("pending", "")
	f.task("lost", "gone")
	f.task("running", "c1")
	f.completedTask("kick", false)
	f.completedTask("stuck", true)
	f.completedTask("recent", false)
	f.clock.Increment(90 * time.Second)
	if _, _, err := f.api.DB.ResolvingTask(f.ctx, "recent"); err != nil { // resolving for 0 s
		t.Fatal(err)
	}

	sum, err := f.conv.RunTaskPass(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantList(t, "task events", drain(f.tasks), []string{
		"task-changed expired Pending -> Completed", "task-changed lost Running -> Completed",
		"task-removed old", "task-changed stuck Resolving -> Completed"})
	for guid, want := range map[string]models.Task_State{
		"expired": models.Task_Completed, "old": models.Task_Invalid, "pending": models.Task_Pending, "lost": models.Task_Completed,
		"running": models.Task_Running, "kick": models.Task_Completed, "stuck": models.Task_Completed, "recent": models.Task_Resolving,
	} {
		if got := f.taskState(guid); got != want {
			t.Errorf("%s: %s, want %s", guid, got, want)
		}
	}
	if task, _ := f.api.DB.TaskByGuid(f.ctx, "expired"); task.GetFailureReason() != "not started within time limit" || !task.GetFailed() {
		t.Errorf("expired task %v", task)
	}
	if task, _ := f.api.DB.TaskByGuid(f.ctx, "lost"); task.GetFailureReason() != "cell disappeared before completion" {
		t.Errorf("lost task %v", task)
	}
	var auctioned []string
	for _, r := range f.api.Auctioneer.TaskRequests() {
		auctioned = append(auctioned, r.TaskGuid)
	}
	wantList(t, "task auctions", auctioned, []string{"pending"})
	var callbacks []string
	for _, task := range f.api.Callbacks.Submitted() {
		callbacks = append(callbacks, task.GetTaskGuid()+" "+task.GetState().String())
	}
	wantList(t, "callbacks", sorted(callbacks), []string{"kick Completed", "stuck Completed"})
	want := converger.TaskPassSummary{Tasks: 8, Writes: 4, Applied: 4, Auctioned: 1, Callbacks: 2, Kicked: 5, Pruned: 1}
	want.Metrics.Pending, want.Metrics.Running, want.Metrics.Completed, want.Metrics.Resolving, want.Metrics.Kicked = 1, 1, 4, 1, 5
	sum.Duration = 0
	if sum != want {
		t.Errorf("summary\n got  %+v\n want %+v", sum, want)
	}
	if m := f.scrape(); !strings.Contains(m, "ConvergenceTasksKicked 5") || !strings.Contains(m, "ConvergenceTasksPruned 1") ||
		!strings.Contains(m, "TasksCompleted 4") || !strings.Contains(m, "ConvergenceTaskRuns 1") {
		t.Errorf("metrics:\n%s", m)
	}
}

// TestLoop checks the timing of the passes: none at start, the first one
// interval later, both passes every time, the next one an interval after
// both ended.
func TestLoop(t *testing.T) {
	f := newFx(t, converger.Config{RepeatInterval: 30 * time.Second, CellPollInterval: -1})
	f.desire("p", "cf-apps", 1)
	process := ifrit.Invoke(f.conv)
	defer func() {
		process.Signal(os.Interrupt)
		if err := <-process.Wait(); err != nil {
			t.Error(err)
		}
	}()
	if !f.clock.WaitForWatchers(1, 5*time.Second) {
		t.Fatal("no timer")
	}
	runs := func(lrp, task int) bool {
		m := f.scrape()
		return strings.Contains(m, "ConvergenceLRPRuns "+strconv.Itoa(lrp)+"\n") && strings.Contains(m, "ConvergenceTaskRuns "+strconv.Itoa(task)+"\n")
	}
	f.clock.Increment(30*time.Second - time.Nanosecond)
	if !runs(0, 0) || f.slot("p", 0) != "" {
		t.Fatal("a pass ran before one interval")
	}
	f.clock.Increment(time.Nanosecond)
	eventually(t, 10*time.Second, "the timer re-armed after the first passes", func() bool { return f.clock.WatcherCount() == 1 && runs(1, 1) })
	if f.slot("p", 0) != "ORDINARY:UNCLAIMED@" {
		t.Fatalf("the first pass did not converge: %s", f.slot("p", 0))
	}
	f.clock.Increment(30 * time.Second)
	eventually(t, 10*time.Second, "the second passes", func() bool { return f.clock.WatcherCount() == 1 && runs(2, 2) })
	m := f.scrape()
	for _, want := range []string{`Domain{domain="cf-apps"} 1`, "LRPsDesired 1", "LRPsUnclaimed 1", "PresentCells 2", "ConvergenceLRPDuration "} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}
}
