package handlers_test

import (
	"errors"
	"io"
	"testing"

	"github.com/diego-go/diego/internal/bbs/bbstest"
	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/bbs/events"
	"github.com/diego-go/diego/internal/bbs/routes"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
)

// taskStream is an open task event stream.
type taskStream struct {
	t   *testing.T
	src *bbsclient.EventSource
}

// openTaskStream subscribes to the task stream route called name; the
// subscription is live once it returns.
func openTaskStream(t *testing.T, api *bbstest.API, name string) *taskStream {
	t.Helper()
	src, err := api.Client.Subscribe(taskCtx(t), name, "")
	taskMust(t, err)
	t.Cleanup(func() { src.Close() })
	return &taskStream{t: t, src: src}
}

// next returns the next event; the stream's context bounds the wait.
func (s *taskStream) next() models.Event {
	s.t.Helper()
	ev, err := s.src.Next()
	if err != nil {
		s.t.Fatalf("next task event: %v", err)
	}
	m, ok := events.Message(ev).(models.Event)
	if !ok {
		s.t.Fatalf("event %T is not a task event", events.Message(ev))
	}
	return m
}

// created expects task_created for guid.
func (s *taskStream) created(guid string) *models.Task {
	s.t.Helper()
	ev, ok := s.next().(*models.TaskCreatedEvent)
	if !ok || ev.GetTask().GetTaskGuid() != guid || ev.GetTask().GetState() != models.Task_Pending {
		s.t.Fatalf("got %v, want task_created of %s", ev, guid)
	}
	return ev.GetTask()
}

// changed expects task_changed of guid from one state to another.
func (s *taskStream) changed(guid string, from, to models.Task_State) *models.TaskChangedEvent {
	s.t.Helper()
	ev := s.next()
	c, ok := ev.(*models.TaskChangedEvent)
	if !ok || c.GetBefore().GetTaskGuid() != guid || c.GetAfter().GetTaskGuid() != guid ||
		c.GetBefore().GetState() != from || c.GetAfter().GetState() != to {
		s.t.Fatalf("got %s %v, want task_changed of %s from %s to %s", ev.EventType(), ev, guid, from, to)
	}
	return c
}

// removed expects task_removed of guid.
func (s *taskStream) removed(guid string) {
	s.t.Helper()
	ev, ok := s.next().(*models.TaskRemovedEvent)
	if !ok || ev.GetTask().GetTaskGuid() != guid || ev.GetTask().GetState() != models.Task_Resolving {
		s.t.Fatalf("got %v, want task_removed of %s", ev, guid)
	}
}

func TestTaskEventStreamLifecycle(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := taskCtx(t)
	c := api.Client
	s, err := c.SubscribeToTaskEvents(ctx)
	taskMust(t, err)
	defer s.Close()
	stream := &taskStream{t: t, src: s}

	taskMust(t, c.DesireTask(ctx, "t1", taskDomain, taskDef()))
	stream.created("t1")
	_, err = c.StartTask(ctx, "t1", "c1")
	taskMust(t, err)
	ch := stream.changed("t1", models.Task_Pending, models.Task_Running)
	if ch.GetAfter().GetCellId() != "c1" {
		t.Fatalf("started task = %v", ch.GetAfter())
	}
	// A repeated start changes nothing and says nothing: the next event
	// is the completion's.
	_, err = c.StartTask(ctx, "t1", "c1")
	taskMust(t, err)
	// Neither do failed calls.
	_, err = c.StartTask(ctx, "t1", "c2")
	taskWantErr(t, err, models.Error_InvalidStateTransition, "Cannot transition from Running to Running")
	taskWantErr(t, c.CompleteTask(ctx, "t1", "c2", false, "", ""), models.Error_RunningOnDifferentCell, "Running on cell c1 not c2")
	taskMust(t, c.CompleteTask(ctx, "t1", "c1", false, "", "ok"))
	ch = stream.changed("t1", models.Task_Running, models.Task_Completed)
	if ch.GetAfter().GetResult() != "ok" || ch.GetAfter().GetCellId() != "" || ch.GetBefore().GetCellId() != "c1" {
		t.Fatalf("completion event = %v", ch)
	}
	taskMust(t, c.ResolvingTask(ctx, "t1"))
	stream.changed("t1", models.Task_Completed, models.Task_Resolving)
	taskMust(t, c.DeleteTask(ctx, "t1"))
	stream.removed("t1")

	taskMust(t, c.DesireTask(ctx, "t2", taskDomain, taskDef()))
	stream.created("t2")
	taskMust(t, c.CancelTask(ctx, "t2"))
	if ch := stream.changed("t2", models.Task_Pending, models.Task_Completed); ch.GetAfter().GetFailureReason() != "task was cancelled" {
		t.Fatalf("cancel event = %v", ch)
	}
	taskMust(t, c.DesireTask(ctx, "t3", taskDomain, taskDef()))
	stream.created("t3")
	taskMust(t, c.FailTask(ctx, "t3", "broken"))
	if ch := stream.changed("t3", models.Task_Pending, models.Task_Completed); ch.GetAfter().GetFailureReason() != "broken" {
		t.Fatalf("fail event = %v", ch)
	}

	// The hub closing (the BBS stopping) ends the stream cleanly.
	api.Hubs.Task.Close()
	if _, err := s.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the hub closed: %v, want io.EOF", err)
	}
}

func TestTaskEventStreamRejections(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{MaxTaskRetries: 1})
	ctx := taskCtx(t)
	c := api.Client
	stream := openTaskStream(t, api, routes.TaskEventStream)
	taskAt(t, api, "t1", taskDef(), models.Task_Running)
	stream.created("t1")
	stream.changed("t1", models.Task_Pending, models.Task_Running)

	// A rejection with retries left: Running back to Pending.
	taskMust(t, c.RejectTask(ctx, "t1", "no room"))
	ch := stream.changed("t1", models.Task_Running, models.Task_Pending)
	if ch.GetAfter().GetRejectionCount() != 1 || ch.GetAfter().GetCellId() != "c1" {
		t.Fatalf("reject event = %v", ch)
	}
	// The last one escalates: one event, from the rejected Pending task to
	// the failed one.
	taskMust(t, c.RejectTask(ctx, "t1", "still no room"))
	ch = stream.changed("t1", models.Task_Pending, models.Task_Completed)
	if ch.GetBefore().GetRejectionCount() != 2 || ch.GetBefore().GetRejectionReason() != "still no room" ||
		!ch.GetAfter().GetFailed() || ch.GetAfter().GetFailureReason() != "still no room" {
		t.Fatalf("escalation event = %v", ch)
	}
	// Retries exhausted on a Completed task: the failure's error, no event.
	taskWantErr(t, c.RejectTask(ctx, "t1", "x"), models.Error_InvalidStateTransition, "Cannot transition from Completed to Completed")

	// Retries left on a Completed task: InvalidRequest, and the
	// reference's odd task_changed from an empty task to the unchanged one.
	taskAt(t, api, "done", taskDef(), models.Task_Completed)
	stream.created("done")
	stream.changed("done", models.Task_Pending, models.Task_Running)
	stream.changed("done", models.Task_Running, models.Task_Completed)
	taskWantErr(t, c.RejectTask(ctx, "done", "late"), models.Error_InvalidRequest, "the request received is invalid")
	ev, ok := stream.next().(*models.TaskChangedEvent)
	if !ok || ev.GetBefore().GetTaskGuid() != "" || ev.GetBefore().GetState() != models.Task_Invalid ||
		ev.GetAfter().GetTaskGuid() != "done" || ev.GetAfter().GetState() != models.Task_Completed || ev.GetAfter().GetRejectionCount() != 0 {
		t.Fatalf("got %v, want the empty-before task_changed of done", ev)
	}
	// Unknown tasks say nothing: the next event is the next task's.
	taskWantErr(t, c.RejectTask(ctx, "missing", "x"), models.Error_ResourceNotFound, "the requested resource could not be found")
	taskMust(t, c.DesireTask(ctx, "t2", taskDomain, taskDef()))
	stream.created("t2")
}

func TestDeprecatedTaskEventStreamIsV2(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := taskCtx(t)
	c := api.Client
	v3 := openTaskStream(t, api, routes.TaskEventStream)
	v2 := openTaskStream(t, api, routes.TaskEventStreamR0)

	taskMust(t, c.DesireTask(ctx, "layered", taskDomain, layeredTaskDef()))
	if got := v3.created("layered"); len(got.GetTaskDefinition().GetImageLayers()) != 2 {
		t.Fatalf("current stream task = %v", got.GetTaskDefinition())
	}
	checkTaskV2(t, v2.created("layered"))

	_, err := c.StartTask(ctx, "layered", "c1")
	taskMust(t, err)
	v3.changed("layered", models.Task_Pending, models.Task_Running)
	ch := v2.changed("layered", models.Task_Pending, models.Task_Running)
	checkTaskV2(t, ch.GetBefore())
	checkTaskV2(t, ch.GetAfter())

	taskMust(t, c.CompleteTask(ctx, "layered", "c1", false, "", ""))
	taskMust(t, c.ResolvingTask(ctx, "layered"))
	taskMust(t, c.DeleteTask(ctx, "layered"))
	v2.changed("layered", models.Task_Running, models.Task_Completed)
	v2.changed("layered", models.Task_Completed, models.Task_Resolving)
	ev, ok := v2.next().(*models.TaskRemovedEvent)
	if !ok {
		t.Fatalf("got %v, want task_removed", ev)
	}
	checkTaskV2(t, ev.GetTask())
}

// TestTaskLifecycleOnEveryDialect runs a task's whole life, with its
// events, on SQLite, MariaDB and PostgreSQL.
func TestTaskLifecycleOnEveryDialect(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		api := bbstest.Start(t, bbstest.Options{DB: cfg, MaxTaskRetries: 1})
		ctx := taskCtx(t)
		c := api.Client
		api.Cells.Set(bbstest.Cell("c2", "z1"))
		stream := openTaskStream(t, api, routes.TaskEventStream)

		taskMust(t, c.DesireTask(ctx, "t1", taskDomain, layeredTaskDef()))
		stream.created("t1")
		taskWantErr(t, c.DesireTask(ctx, "t1", taskDomain, taskDef()), models.Error_ResourceExists, "the requested resource already exists")
		_, err := c.StartTask(ctx, "t1", "c1")
		taskMust(t, err)
		stream.changed("t1", models.Task_Pending, models.Task_Running)
		taskMust(t, c.RejectTask(ctx, "t1", "cell full"))
		stream.changed("t1", models.Task_Running, models.Task_Pending)
		start, err := c.StartTask(ctx, "t1", "c2")
		if err != nil || !start {
			t.Fatalf("restart = %v, %v", start, err)
		}
		stream.changed("t1", models.Task_Pending, models.Task_Running)
		taskWantErr(t, c.CompleteTask(ctx, "t1", "c1", false, "", ""), models.Error_RunningOnDifferentCell, "Running on cell c2 not c1")
		taskMust(t, c.CancelTask(ctx, "t1"))
		stream.changed("t1", models.Task_Running, models.Task_Completed)
		if calls := api.Reps.Calls(); len(calls) != 1 || calls[0].TaskGuid != "t1" || calls[0].RepURL != bbstest.Cell("c2", "").GetRepUrl() {
			t.Fatalf("rep calls = %+v", calls)
		}
		v2, err := c.TaskByGuidR2(ctx, "t1")
		taskMust(t, err)
		if v2.GetState() != models.Task_Completed || v2.GetFailureReason() != "task was cancelled" || v2.GetRejectionCount() != 1 {
			t.Fatalf("cancelled task = %v", v2)
		}
		taskMust(t, c.ResolvingTask(ctx, "t1"))
		stream.changed("t1", models.Task_Completed, models.Task_Resolving)
		taskMust(t, c.DeleteTask(ctx, "t1"))
		stream.removed("t1")
		tasks, err := c.Tasks(ctx, bbsclient.TaskFilter{})
		taskMust(t, err)
		if len(tasks) != 0 {
			t.Fatalf("tasks left = %v", tasks)
		}
	})
}
