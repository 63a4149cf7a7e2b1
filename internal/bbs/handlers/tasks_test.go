package handlers_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/bbs/bbstest"
	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/bbs/controllers"
	"github.com/diego-go/diego/internal/models"
)

// The task routes, through the real client against the in-process API.

const taskDomain = "cf-tasks"

func taskDef() *models.TaskDefinition {
	return &models.TaskDefinition{
		RootFs:        "preloaded:cflinuxfs4",
		Action:        &models.Action{RunAction: &models.RunAction{Path: "/bin/stage", User: "vcap"}},
		MemoryMb:      256,
		DiskMb:        1024,
		MaxPids:       64,
		PlacementTags: []string{"zone-a"},
		LogGuid:       "log-guid",
	}
}

func taskDefWithCallback() *models.TaskDefinition {
	def := taskDef()
	def.CompletionCallbackUrl = "https://cc.service.cf.internal/internal/v3/staging/done"
	return def
}

func taskCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// taskWantErr checks that err is the BBS error typ with message msg.
func taskWantErr(t *testing.T, err error, typ models.Error_Type, msg string) {
	t.Helper()
	var e *models.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want %s %q", err, typ, msg)
	}
	if e.GetType() != typ || e.GetMessage() != msg {
		t.Fatalf("error = %s %q, want %s %q", e.GetType(), e.GetMessage(), typ, msg)
	}
}

func taskMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// taskGet reads a task through the current route.
func taskGet(t *testing.T, api *bbstest.API, guid string) *models.Task {
	t.Helper()
	task, err := api.Client.TaskByGuid(taskCtx(t), guid)
	taskMust(t, err)
	return task
}

// taskAt desires a task and brings it to state, running it on cell c1.
func taskAt(t *testing.T, api *bbstest.API, guid string, def *models.TaskDefinition, state models.Task_State) {
	t.Helper()
	ctx := taskCtx(t)
	c := api.Client
	taskMust(t, c.DesireTask(ctx, guid, taskDomain, def))
	if state >= models.Task_Running {
		_, err := c.StartTask(ctx, guid, "c1")
		taskMust(t, err)
	}
	if state >= models.Task_Completed {
		taskMust(t, c.CompleteTask(ctx, guid, "c1", false, "", "the result"))
	}
	if state >= models.Task_Resolving {
		taskMust(t, c.ResolvingTask(ctx, guid))
	}
}

func taskCallbackGuids(api *bbstest.API) []string {
	var guids []string
	for _, task := range api.Callbacks.Submitted() {
		guids = append(guids, task.GetTaskGuid())
	}
	return guids
}

func TestDesireTask(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := taskCtx(t)

	taskMust(t, api.Client.DesireTask(ctx, "t1", taskDomain, taskDef()))
	task := taskGet(t, api, "t1")
	if task.GetState() != models.Task_Pending || task.GetDomain() != taskDomain || task.GetCreatedAt() == 0 ||
		task.GetUpdatedAt() != task.GetCreatedAt() || task.GetTaskDefinition().GetLogGuid() != "log-guid" {
		t.Fatalf("desired task = %v", task)
	}
	auctions := api.Auctioneer.TaskRequests()
	if len(auctions) != 1 {
		t.Fatalf("auction requests = %d, want 1", len(auctions))
	}
	a := auctions[0]
	if a.TaskGuid != "t1" || a.Domain != taskDomain || a.RootFs != "preloaded:cflinuxfs4" || a.MemoryMB != 256 ||
		a.DiskMB != 1024 || a.MaxPids != 64 || len(a.PlacementTags) != 1 || a.PlacementTags[0] != "zone-a" {
		t.Fatalf("auction request = %+v", a)
	}

	err := api.Client.DesireTask(ctx, "t1", taskDomain, taskDef())
	taskWantErr(t, err, models.Error_ResourceExists, "the requested resource already exists")
	if n := len(api.Auctioneer.TaskRequests()); n != 1 {
		t.Fatalf("auction requests after the duplicate = %d, want 1", n)
	}

	err = api.Client.DesireTask(ctx, "bad guid", taskDomain, taskDef())
	taskWantErr(t, err, models.Error_InvalidRequest, "Invalid field: task_guid")
	err = api.Client.DesireTask(ctx, "t2", "", nil)
	taskWantErr(t, err, models.Error_InvalidRequest, "Invalid field: domain, Invalid field: task_definition")

	// A failing auctioneer does not fail the request: convergence retries.
	api.Auctioneer.Err = errors.New("auctioneer down")
	taskMust(t, api.Client.DesireTask(ctx, "t3", taskDomain, taskDef()))
	if got := taskGet(t, api, "t3").GetState(); got != models.Task_Pending {
		t.Fatalf("state = %s", got)
	}
}

func TestTaskReads(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := taskCtx(t)
	c := api.Client
	taskAt(t, api, "pending", taskDef(), models.Task_Pending)
	taskAt(t, api, "running", taskDef(), models.Task_Running)
	taskMust(t, c.DesireTask(ctx, "other-domain", "other", taskDef()))

	guids := func(tasks []*models.Task, err error) map[string]bool {
		t.Helper()
		taskMust(t, err)
		m := map[string]bool{}
		for _, task := range tasks {
			m[task.GetTaskGuid()] = true
		}
		return m
	}
	if got := guids(c.Tasks(ctx, bbsclient.TaskFilter{})); len(got) != 3 {
		t.Fatalf("all tasks = %v", got)
	}
	if got := guids(c.Tasks(ctx, bbsclient.TaskFilter{Domain: taskDomain})); len(got) != 2 || !got["pending"] || !got["running"] {
		t.Fatalf("domain tasks = %v", got)
	}
	if got := guids(c.Tasks(ctx, bbsclient.TaskFilter{CellID: "c1"})); len(got) != 1 || !got["running"] {
		t.Fatalf("cell tasks = %v", got)
	}
	if got := guids(c.TasksR2(ctx, bbsclient.TaskFilter{Domain: "other", CellID: "c1"})); len(got) != 0 {
		t.Fatalf("domain and cell tasks = %v", got)
	}

	_, err := c.TaskByGuid(ctx, "missing")
	taskWantErr(t, err, models.Error_ResourceNotFound, "the requested resource could not be found")
	_, err = c.TaskByGuidR2(ctx, "missing")
	taskWantErr(t, err, models.Error_ResourceNotFound, "the requested resource could not be found")
	_, err = c.TaskByGuid(ctx, "")
	taskWantErr(t, err, models.Error_InvalidRequest, "Invalid field: task_guid")
}

// layeredTaskDef has a shared and an exclusive image layer, which the V2
// routes turn into a cached dependency and a download before the action.
func layeredTaskDef() *models.TaskDefinition {
	def := taskDef()
	def.LegacyDownloadUser = "vcap"
	def.CachedDependencies = []*models.CachedDependency{{From: "https://blobs/old", To: "/old", CacheKey: "old"}}
	def.ImageLayers = []*models.ImageLayer{
		{Name: "shared", Url: "https://blobs/shared.tgz", DestinationPath: "/shared", LayerType: models.ImageLayer_SHARED,
			MediaType: models.ImageLayer_TGZ, DigestAlgorithm: models.ImageLayer_SHA256, DigestValue: "abc"},
		{Name: "exclusive", Url: "https://blobs/exclusive.tgz", DestinationPath: "/exclusive", LayerType: models.ImageLayer_EXCLUSIVE,
			MediaType: models.ImageLayer_TGZ, DigestAlgorithm: models.ImageLayer_SHA512, DigestValue: "def"},
	}
	return def
}

// checkTaskV2 checks the V2 form of layeredTaskDef.
func checkTaskV2(t *testing.T, task *models.Task) {
	t.Helper()
	def := task.GetTaskDefinition()
	if len(def.GetImageLayers()) != 0 {
		t.Fatalf("V2 task keeps image layers: %v", def.GetImageLayers())
	}
	deps := def.GetCachedDependencies()
	if len(deps) != 2 || deps[1].GetCacheKey() != "old" {
		t.Fatalf("V2 cached dependencies = %v", deps)
	}
	if d := deps[0]; d.GetName() != "shared" || d.GetFrom() != "https://blobs/shared.tgz" || d.GetTo() != "/shared" ||
		d.GetChecksumAlgorithm() != "sha256" || d.GetChecksumValue() != "abc" || d.GetCacheKey() != "sha256:abc" {
		t.Fatalf("shared layer dependency = %v", d)
	}
	steps := def.GetAction().GetSerialAction().GetActions()
	if len(steps) != 2 || steps[1].GetRunAction().GetPath() != "/bin/stage" {
		t.Fatalf("V2 action = %v", def.GetAction())
	}
	downloads := steps[0].GetParallelAction().GetActions()
	if len(downloads) != 1 {
		t.Fatalf("V2 downloads = %v", steps[0])
	}
	if d := downloads[0].GetDownloadAction(); d.GetArtifact() != "exclusive" || d.GetFrom() != "https://blobs/exclusive.tgz" ||
		d.GetTo() != "/exclusive" || d.GetUser() != "vcap" || d.GetCacheKey() != "sha512:def" ||
		d.GetChecksumAlgorithm() != "sha512" || d.GetChecksumValue() != "def" {
		t.Fatalf("exclusive layer download = %v", d)
	}
}

func TestTaskRoutesR2DownConvert(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := taskCtx(t)
	c := api.Client
	taskMust(t, c.DesireTask(ctx, "layered", taskDomain, layeredTaskDef()))

	v3 := taskGet(t, api, "layered")
	if len(v3.GetTaskDefinition().GetImageLayers()) != 2 || v3.GetTaskDefinition().GetAction().GetRunAction() == nil {
		t.Fatalf("V3 task = %v", v3.GetTaskDefinition())
	}
	v2, err := c.TaskByGuidR2(ctx, "layered")
	taskMust(t, err)
	checkTaskV2(t, v2)
	list, err := c.TasksR2(ctx, bbsclient.TaskFilter{})
	taskMust(t, err)
	if len(list) != 1 {
		t.Fatalf("list.r2 = %v", list)
	}
	checkTaskV2(t, list[0])
	list, err = c.Tasks(ctx, bbsclient.TaskFilter{})
	taskMust(t, err)
	if len(list) != 1 || len(list[0].GetTaskDefinition().GetImageLayers()) != 2 {
		t.Fatalf("list.r3 = %v", list)
	}
}

func TestStartTask(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := taskCtx(t)
	c := api.Client
	taskMust(t, c.DesireTask(ctx, "t1", taskDomain, taskDef()))

	start, err := c.StartTask(ctx, "t1", "c1")
	if err != nil || !start {
		t.Fatalf("first start = %v, %v", start, err)
	}
	if task := taskGet(t, api, "t1"); task.GetState() != models.Task_Running || task.GetCellId() != "c1" {
		t.Fatalf("started task = %v", task)
	}
	start, err = c.StartTask(ctx, "t1", "c1")
	if err != nil || start {
		t.Fatalf("start on the same cell = %v, %v; want false without error", start, err)
	}
	_, err = c.StartTask(ctx, "t1", "c2")
	taskWantErr(t, err, models.Error_InvalidStateTransition, "Cannot transition from Running to Running")
	taskMust(t, c.CompleteTask(ctx, "t1", "c1", false, "", ""))
	_, err = c.StartTask(ctx, "t1", "c1")
	taskWantErr(t, err, models.Error_InvalidStateTransition, "Cannot transition from Completed to Running")

	_, err = c.StartTask(ctx, "missing", "c1")
	taskWantErr(t, err, models.Error_ResourceNotFound, "the requested resource could not be found")
	_, err = c.StartTask(ctx, "t1", "")
	taskWantErr(t, err, models.Error_InvalidRequest, "Invalid field: cell_id")

	if got := api.Controllers.TaskCounts(); got["c1"].Started != 1 || len(got) != 1 {
		t.Fatalf("task counts = %+v, want one start on c1", got)
	}
}

func TestCompleteTask(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := taskCtx(t)
	c := api.Client
	taskAt(t, api, "t1", taskDefWithCallback(), models.Task_Running)
	taskAt(t, api, "t2", taskDef(), models.Task_Running)
	taskAt(t, api, "pending", taskDefWithCallback(), models.Task_Pending)

	err := c.CompleteTask(ctx, "t1", "c2", false, "", "")
	taskWantErr(t, err, models.Error_RunningOnDifferentCell, "Running on cell c1 not c2")
	err = c.CompleteTask(ctx, "pending", "c1", false, "", "")
	taskWantErr(t, err, models.Error_InvalidStateTransition, "Cannot transition from Pending to Completed")
	err = c.CompleteTask(ctx, "missing", "c1", false, "", "")
	taskWantErr(t, err, models.Error_ResourceNotFound, "the requested resource could not be found")
	err = c.CompleteTask(ctx, "t1", "", false, "", "")
	taskWantErr(t, err, models.Error_InvalidRequest, "Invalid field: cell_id")
	if got := taskCallbackGuids(api); len(got) != 0 {
		t.Fatalf("callbacks after failed completions = %v", got)
	}

	taskMust(t, c.CompleteTask(ctx, "t1", "c1", false, "", `{"droplet":"x"}`))
	task := taskGet(t, api, "t1")
	if task.GetState() != models.Task_Completed || task.GetFailed() || task.GetResult() != `{"droplet":"x"}` ||
		task.GetCellId() != "" || task.GetFirstCompletedAt() == 0 {
		t.Fatalf("completed task = %v", task)
	}
	taskMust(t, c.CompleteTask(ctx, "t2", "c1", true, "exit status 1", ""))
	if task := taskGet(t, api, "t2"); !task.GetFailed() || task.GetFailureReason() != "exit status 1" {
		t.Fatalf("failed task = %v", task)
	}
	err = c.CompleteTask(ctx, "t1", "c1", false, "", "")
	taskWantErr(t, err, models.Error_InvalidStateTransition, "Cannot transition from Completed to Completed")

	// Only t1 has a callback URL.
	subs := api.Callbacks.Submitted()
	if len(subs) != 1 || subs[0].GetTaskGuid() != "t1" || subs[0].GetState() != models.Task_Completed {
		t.Fatalf("callbacks = %v", subs)
	}
	want := controllers.TaskCellCounts{Started: 2, Succeeded: 1, Failed: 1}
	if got := api.Controllers.TaskCounts(); got["c1"] != want {
		t.Fatalf("task counts = %+v, want %+v on c1", got, want)
	}
}

func TestCancelTask(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := taskCtx(t)
	c := api.Client
	api.Cells.Set(bbstest.Cell("c1", "z1"))
	taskAt(t, api, "pending", taskDefWithCallback(), models.Task_Pending)
	taskAt(t, api, "running", taskDef(), models.Task_Running)

	taskMust(t, c.CancelTask(ctx, "pending"))
	task := taskGet(t, api, "pending")
	if task.GetState() != models.Task_Completed || !task.GetFailed() || task.GetFailureReason() != "task was cancelled" || task.GetResult() != "" {
		t.Fatalf("cancelled pending task = %v", task)
	}
	if calls := api.Reps.Calls(); len(calls) != 0 {
		t.Fatalf("rep calls for a task without a cell = %+v", calls)
	}

	taskMust(t, c.CancelTask(ctx, "running"))
	if task := taskGet(t, api, "running"); task.GetState() != models.Task_Completed || task.GetCellId() != "" {
		t.Fatalf("cancelled running task = %v", task)
	}
	calls := api.Reps.Calls()
	if len(calls) != 1 || calls[0].Op != "cancel" || calls[0].TaskGuid != "running" ||
		calls[0].RepURL != "https://c1.cell.service.cf.internal:1801" {
		t.Fatalf("rep calls = %+v", calls)
	}
	if got := taskCallbackGuids(api); len(got) != 1 || got[0] != "pending" {
		t.Fatalf("callbacks = %v, want the one task with a URL", got)
	}

	err := c.CancelTask(ctx, "running")
	taskWantErr(t, err, models.Error_InvalidStateTransition, "Cannot transition from Completed to Completed")
	err = c.CancelTask(ctx, "missing")
	taskWantErr(t, err, models.Error_ResourceNotFound, "the requested resource could not be found")
	err = c.CancelTask(ctx, "")
	taskWantErr(t, err, models.Error_InvalidRequest, "Invalid field: task_guid")
}

func TestCancelTaskRepTroubleIsNotAnError(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := taskCtx(t)
	c := api.Client
	for _, guid := range []string{"gone-cell", "locket-down", "rep-down"} {
		taskAt(t, api, guid, taskDef(), models.Task_Running)
	}

	// The cell has left: nothing to call.
	taskMust(t, c.CancelTask(ctx, "gone-cell"))
	api.Cells.FailWith(errors.New("locket unreachable"))
	taskMust(t, c.CancelTask(ctx, "locket-down"))
	if calls := api.Reps.Calls(); len(calls) != 0 {
		t.Fatalf("rep calls without a cell = %+v", calls)
	}
	api.Cells.FailWith(nil)
	api.Cells.Set(bbstest.Cell("c1", "z1"))
	api.Reps.Err = errors.New("rep unreachable")
	taskMust(t, c.CancelTask(ctx, "rep-down"))
	if calls := api.Reps.Calls(); len(calls) != 1 || calls[0].TaskGuid != "rep-down" {
		t.Fatalf("rep calls = %+v", calls)
	}
	for _, guid := range []string{"gone-cell", "locket-down", "rep-down"} {
		if task := taskGet(t, api, guid); task.GetState() != models.Task_Completed || task.GetFailureReason() != "task was cancelled" {
			t.Fatalf("%s = %v", guid, task)
		}
	}
}

func TestFailTask(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := taskCtx(t)
	c := api.Client
	api.Cells.Set(bbstest.Cell("c1", "z1"))
	taskAt(t, api, "pending", taskDef(), models.Task_Pending)
	taskAt(t, api, "running", taskDefWithCallback(), models.Task_Running)
	taskAt(t, api, "resolving", taskDef(), models.Task_Resolving)

	taskMust(t, c.FailTask(ctx, "pending", "no compatible cell"))
	taskMust(t, c.FailTask(ctx, "running", "disk full"))
	for guid, reason := range map[string]string{"pending": "no compatible cell", "running": "disk full"} {
		if task := taskGet(t, api, guid); task.GetState() != models.Task_Completed || !task.GetFailed() ||
			task.GetFailureReason() != reason || task.GetCellId() != "" {
			t.Fatalf("failed %s = %v", guid, task)
		}
	}
	if calls := api.Reps.Calls(); len(calls) != 0 {
		t.Fatalf("FailTask called the rep: %+v", calls)
	}
	if got := taskCallbackGuids(api); len(got) != 1 || got[0] != "running" {
		t.Fatalf("callbacks = %v", got)
	}

	err := c.FailTask(ctx, "resolving", "late")
	taskWantErr(t, err, models.Error_InvalidStateTransition, "Cannot transition from Resolving to Completed")
	err = c.FailTask(ctx, "pending", "")
	taskWantErr(t, err, models.Error_InvalidRequest, "Invalid field: failure_reason")
	err = c.FailTask(ctx, "missing", "x")
	taskWantErr(t, err, models.Error_ResourceNotFound, "the requested resource could not be found")
}

func TestRejectTask(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{MaxTaskRetries: 3})
	ctx := taskCtx(t)
	c := api.Client
	taskAt(t, api, "t1", taskDefWithCallback(), models.Task_Running)

	// Three rejections send it back to Pending, keeping its cell.
	for i := 1; i <= 3; i++ {
		taskMust(t, c.RejectTask(ctx, "t1", "insufficient resources"))
		task := taskGet(t, api, "t1")
		if task.GetState() != models.Task_Pending || task.GetRejectionCount() != int32(i) ||
			task.GetRejectionReason() != "insufficient resources" || task.GetCellId() != "c1" {
			t.Fatalf("after rejection %d: %v", i, task)
		}
	}
	if got := taskCallbackGuids(api); len(got) != 0 {
		t.Fatalf("callbacks before the retries ran out = %v", got)
	}
	if n := len(api.Auctioneer.TaskRequests()); n != 1 {
		t.Fatalf("auction requests = %d: a rejection must not auction again", n)
	}
	// The fourth, with three behind it, fails the task.
	taskMust(t, c.RejectTask(ctx, "t1", "no cell"))
	task := taskGet(t, api, "t1")
	if task.GetState() != models.Task_Completed || !task.GetFailed() || task.GetFailureReason() != "no cell" ||
		task.GetRejectionCount() != 4 || task.GetCellId() != "" {
		t.Fatalf("after the last rejection: %v", task)
	}
	if got := taskCallbackGuids(api); len(got) != 1 || got[0] != "t1" {
		t.Fatalf("callbacks = %v", got)
	}

	// A Completed task with retries left: the reject's own InvalidRequest.
	taskAt(t, api, "done", taskDef(), models.Task_Completed)
	err := c.RejectTask(ctx, "done", "late")
	taskWantErr(t, err, models.Error_InvalidRequest, "the request received is invalid")
	// Without retries left, the escalation's transition error.
	err = c.RejectTask(ctx, "t1", "late")
	taskWantErr(t, err, models.Error_InvalidStateTransition, "Cannot transition from Completed to Completed")

	err = c.RejectTask(ctx, "missing", "x")
	taskWantErr(t, err, models.Error_ResourceNotFound, "the requested resource could not be found")
	err = c.RejectTask(ctx, "t1", "")
	taskWantErr(t, err, models.Error_InvalidRequest, "Invalid field: failure_reason")
}

func TestRejectTaskWithoutRetries(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{MaxTaskRetries: -1}) // max_task_retries 0
	ctx := taskCtx(t)
	c := api.Client
	taskAt(t, api, "t1", taskDef(), models.Task_Pending)

	taskMust(t, c.RejectTask(ctx, "t1", "no compatible cell"))
	task := taskGet(t, api, "t1")
	if task.GetState() != models.Task_Completed || !task.GetFailed() || task.GetFailureReason() != "no compatible cell" ||
		task.GetRejectionCount() != 1 {
		t.Fatalf("after the first rejection: %v", task)
	}
	taskAt(t, api, "resolving", taskDef(), models.Task_Resolving)
	err := c.RejectTask(ctx, "resolving", "late")
	taskWantErr(t, err, models.Error_InvalidStateTransition, "Cannot transition from Resolving to Completed")
}

func TestResolvingAndDeleteTask(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := taskCtx(t)
	c := api.Client
	taskAt(t, api, "pending", taskDef(), models.Task_Pending)
	taskAt(t, api, "done", taskDef(), models.Task_Completed)

	err := c.ResolvingTask(ctx, "pending")
	taskWantErr(t, err, models.Error_InvalidStateTransition, "Cannot transition from Pending to Resolving")
	err = c.DeleteTask(ctx, "done")
	taskWantErr(t, err, models.Error_InvalidStateTransition, "Cannot transition from Completed to Resolving")
	err = c.DeleteTask(ctx, "pending")
	taskWantErr(t, err, models.Error_InvalidStateTransition, "Cannot transition from Pending to Resolving")

	taskMust(t, c.ResolvingTask(ctx, "done"))
	if got := taskGet(t, api, "done").GetState(); got != models.Task_Resolving {
		t.Fatalf("state = %s", got)
	}
	err = c.ResolvingTask(ctx, "done")
	taskWantErr(t, err, models.Error_InvalidStateTransition, "Cannot transition from Resolving to Resolving")
	taskMust(t, c.DeleteTask(ctx, "done"))
	_, err = c.TaskByGuid(ctx, "done")
	taskWantErr(t, err, models.Error_ResourceNotFound, "the requested resource could not be found")

	for _, call := range []func(context.Context, string) error{c.ResolvingTask, c.DeleteTask} {
		taskWantErr(t, call(ctx, "missing"), models.Error_ResourceNotFound, "the requested resource could not be found")
		taskWantErr(t, call(ctx, ""), models.Error_InvalidRequest, "Invalid field: task_guid")
	}
}
