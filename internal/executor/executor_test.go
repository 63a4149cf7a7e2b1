package executor_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/clock/fakeclock"
	"github.com/diego-go/diego/internal/executor"
	"github.com/diego-go/diego/internal/executor/containerd"
	"github.com/diego-go/diego/internal/executor/logs"
	"github.com/diego-go/diego/internal/executor/memory"
	"github.com/diego-go/diego/internal/executor/steps"
	"github.com/diego-go/diego/internal/models"
)

type harness struct {
	t       *testing.T
	ex      *executor.Executor
	backend *memory.Backend
	sub     *executor.Subscription
	sink    *logs.MemorySink
}

func newHarness(t *testing.T, behave func(string, containerd.ProcessSpec) memory.Behaviour, mutate func(*executor.Config)) *harness {
	t.Helper()
	if behave == nil {
		behave = memory.DefaultBehaviour
	}
	backend := memory.New(memory.Config{
		Capacity: executor.Resources{MemoryMB: 1024, DiskMB: 2048, Containers: 3},
		Behave:   behave,
	})
	tr, err := steps.NewTransformer(steps.Config{GracefulShutdownInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sink := &logs.MemorySink{}
	cfg := executor.Config{CellID: "cell-z1-0", Backend: backend, Transformer: tr, LogSink: sink}
	if mutate != nil {
		mutate(&cfg)
	}
	ex, err := executor.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ex: ex, backend: backend, sub: ex.Subscribe(), sink: sink}
	t.Cleanup(ex.Close)
	return h
}

// next returns the next event, failing the test after 5 s.
func (h *harness) next() executor.Event {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e, err := h.sub.Next(ctx)
	if err != nil {
		h.t.Fatalf("waiting for an event: %v", err)
	}
	return e
}

func (h *harness) expect(t executor.EventType, guid string) executor.Container {
	h.t.Helper()
	e := h.next()
	if e.Type != t || e.Container.Guid != guid {
		h.t.Fatalf("got event %s of %s (%+v), want %s of %s", e.Type, e.Container.Guid, e.Container.RunResult, t, guid)
	}
	return e.Container
}

func (h *harness) allocate(guid string, memMB, diskMB int) {
	h.t.Helper()
	if failed := h.ex.Allocate([]executor.AllocationRequest{{Guid: guid, Resource: executor.Resource{MemoryMB: memMB, DiskMB: diskMB}}}); len(failed) > 0 {
		h.t.Fatalf("allocate %s: %v", guid, failed[0])
	}
	h.expect(executor.EventContainerReserved, guid)
}

func runAction(path string, args ...string) *models.Action {
	return &models.Action{RunAction: &models.RunAction{Path: path, Args: args, User: "vcap"}}
}

func runRequest(guid string, action *models.Action) executor.RunRequest {
	return executor.RunRequest{Guid: guid, RunInfo: executor.RunInfo{
		RootFSPath:                 "preloaded:cflinuxfs4",
		Ports:                      []uint32{8080, 8080, 2222},
		Action:                     action,
		Env:                        []string{"A=1"},
		LogConfig:                  executor.LogConfig{Guid: "log-" + guid, Index: 2, SourceName: "CELL"},
		LogRateLimitBytesPerSecond: logs.Unlimited,
	}}
}

func TestAllocateReservesAndRefuses(t *testing.T) {
	h := newHarness(t, nil, nil)
	failed := h.ex.Allocate([]executor.AllocationRequest{
		{Guid: "a", Resource: executor.Resource{MemoryMB: 512, DiskMB: 1024}},
		{Guid: "a", Resource: executor.Resource{MemoryMB: 1}},
		{Guid: "b", Resource: executor.Resource{MemoryMB: 600}},
		{Guid: "", Resource: executor.Resource{MemoryMB: 1}},
		{Guid: "../x"},
		{Guid: "c", Resource: executor.Resource{MemoryMB: -1}},
		{Guid: "d", Resource: executor.Resource{MemoryMB: 512, DiskMB: 1024}},
		{Guid: "e"},
		{Guid: "f"},
	})
	want := map[string]error{
		"a":    executor.ErrContainerGuidNotAvailable,
		"b":    executor.ErrInsufficientResourcesAvailable,
		"":     executor.ErrGuidNotSpecified,
		"../x": executor.ErrGuidNotSpecified,
		"c":    executor.ErrLimitsInvalid,
		"f":    executor.ErrInsufficientResourcesAvailable, // out of containers
	}
	if len(failed) != len(want) {
		t.Fatalf("failures %v, want %d", failed, len(want))
	}
	for _, f := range failed {
		if !errors.Is(f, want[f.Guid]) {
			t.Errorf("%q refused with %v, want %v", f.Guid, f.Err, want[f.Guid])
		}
	}
	if got := h.ex.RemainingResources(); got != (executor.Resources{MemoryMB: 0, DiskMB: 0, Containers: 0}) {
		t.Fatalf("remaining %+v", got)
	}
	for _, guid := range []string{"a", "d", "e"} {
		c := h.expect(executor.EventContainerReserved, guid)
		if c.State != executor.StateReserved || c.AllocatedAt == 0 {
			t.Fatalf("reserved %+v", c)
		}
	}
	if err := h.ex.DeleteContainer(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if got := h.ex.RemainingResources(); got != (executor.Resources{MemoryMB: 512, DiskMB: 1024, Containers: 1}) {
		t.Fatalf("remaining after delete %+v", got)
	}
	if _, err := h.ex.GetContainer("a"); !errors.Is(err, executor.ErrContainerNotFound) {
		t.Fatalf("deleted container: %v", err)
	}
}

func TestAnInstanceRunsStopsAndIsDeleted(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.allocate("app-1", 256, 512)
	if err := h.ex.RunContainer(runRequest("app-1", runAction("/bin/app"))); err != nil {
		t.Fatal(err)
	}
	c := h.expect(executor.EventContainerRunning, "app-1")
	if !c.Routable || c.State != executor.StateRunning || c.ExternalIP != "127.0.0.1" || c.InternalIP == "" {
		t.Fatalf("running %+v", c)
	}
	if len(c.Ports) != 2 || c.Ports[0].ContainerPort != 8080 || c.Ports[1].ContainerPort != 2222 || c.Ports[0].HostPort == 0 {
		t.Fatalf("ports %+v", c.Ports)
	}
	if c.MemoryLimit != 256<<20 || c.DiskLimit != 512<<20 {
		t.Fatalf("limits %d %d", c.MemoryLimit, c.DiskLimit)
	}
	if err := h.ex.RunContainer(runRequest("app-1", runAction("/bin/app"))); !errors.Is(err, executor.ErrInvalidTransition) {
		t.Fatalf("second run: %v", err)
	}
	if err := h.ex.StopContainer("app-1"); err != nil {
		t.Fatal(err)
	}
	c = h.expect(executor.EventContainerComplete, "app-1")
	if !c.RunResult.Stopped || c.Routable {
		t.Fatalf("stopped %+v", c)
	}
	if err := h.ex.DeleteContainer(context.Background(), "app-1"); err != nil {
		t.Fatal(err)
	}
	if ids, _ := h.backend.List(context.Background()); len(ids) != 0 {
		t.Fatalf("backend still has %v", ids)
	}
	msgs := strings.Join(h.sink.Messages(), "\n")
	for _, want := range []string{
		"Cell cell-z1-0 creating container for instance app-1",
		"Cell cell-z1-0 successfully created container for instance app-1",
		"Cell cell-z1-0 stopping instance app-1",
		"Cell cell-z1-0 destroying container for instance app-1",
		"Cell cell-z1-0 successfully destroyed container for instance app-1",
	} {
		if !strings.Contains(msgs, want) {
			t.Errorf("log lacks %q:\n%s", want, msgs)
		}
	}
	if closed := h.sink.Closed(); len(closed) != 1 || closed[0] != "app-1" {
		t.Fatalf("log closed for %v", closed)
	}
}

func TestTasksCompleteWithTheirExitStatus(t *testing.T) {
	behave := func(guid string, spec containerd.ProcessSpec) memory.Behaviour {
		if guid == "bad" {
			return memory.Behaviour{Exit: true, ExitCode: 3, Output: []string{"oops"}}
		}
		return memory.Behaviour{Exit: true, ExitAfter: 20 * time.Millisecond}
	}
	h := newHarness(t, behave, nil)
	h.allocate("good", 10, 10)
	h.allocate("bad", 10, 10)
	if err := h.ex.RunContainer(runRequest("good", runAction("/bin/task"))); err != nil {
		t.Fatal(err)
	}
	h.expect(executor.EventContainerRunning, "good")
	c := h.expect(executor.EventContainerComplete, "good")
	if c.RunResult.Failed || c.RunResult.Stopped {
		t.Fatalf("good %+v", c.RunResult)
	}
	if err := h.ex.RunContainer(runRequest("bad", runAction("/bin/task"))); err != nil {
		t.Fatal(err)
	}
	h.expect(executor.EventContainerRunning, "bad")
	c = h.expect(executor.EventContainerComplete, "bad")
	if !c.RunResult.Failed || c.RunResult.FailureReason != "CELL: Exited with status 3" || c.RunResult.Retryable {
		t.Fatalf("bad %+v", c.RunResult)
	}
	// Completed containers keep their resources until deleted.
	if got := h.ex.RemainingResources(); got.Containers != 1 {
		t.Fatalf("remaining %+v", got)
	}
}

func TestCreateFailureIsRetryable(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.allocate("x", 10, 10)
	req := runRequest("x", runAction("/bin/app"))
	req.RootFSPath = ""
	if err := h.ex.RunContainer(req); err != nil {
		t.Fatal(err)
	}
	c := h.expect(executor.EventContainerComplete, "x")
	if !c.RunResult.Failed || !c.RunResult.Retryable || c.RunResult.FailureReason != "failed to create container: memory: no rootfs" {
		t.Fatalf("%+v", c.RunResult)
	}
	if !strings.Contains(strings.Join(h.sink.Messages(), "\n"), "Cell cell-z1-0 failed to create container for instance x: memory: no rootfs") {
		t.Fatalf("log %q", h.sink.Messages())
	}
}

func TestBadRunRequestsAreRefused(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.allocate("x", 10, 10)
	if err := h.ex.RunContainer(runRequest("nope", runAction("/bin/app"))); !errors.Is(err, executor.ErrContainerNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	if err := h.ex.RunContainer(runRequest("x", nil)); !errors.Is(err, executor.ErrStepsInvalid) {
		t.Fatalf("no action: %v", err)
	}
	req := runRequest("x", runAction("/bin/app"))
	req.LogRateLimitBytesPerSecond = -2
	if err := h.ex.RunContainer(req); !errors.Is(err, executor.ErrLimitsInvalid) {
		t.Fatalf("bad rate limit: %v", err)
	}
	if c, _ := h.ex.GetContainer("x"); c.State != executor.StateReserved {
		t.Fatalf("refused requests changed the container: %+v", c)
	}
}

func TestStopBeforeRunning(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.allocate("x", 10, 10)
	if err := h.ex.StopContainer("x"); err != nil {
		t.Fatal(err)
	}
	c := h.expect(executor.EventContainerComplete, "x")
	if !c.RunResult.Failed || c.RunResult.FailureReason != executor.ReasonStoppedBeforeRunning || !c.RunResult.Stopped {
		t.Fatalf("%+v", c.RunResult)
	}
	if err := h.ex.RunContainer(runRequest("x", runAction("/bin/app"))); !errors.Is(err, executor.ErrInvalidTransition) {
		t.Fatalf("run after stop: %v", err)
	}
	if err := h.ex.StopContainer("nope"); !errors.Is(err, executor.ErrContainerNotFound) {
		t.Fatal(err)
	}
}

func TestExpiredReservationsArePruned(t *testing.T) {
	clk := fakeclock.New(time.Unix(1000, 0))
	h := newHarness(t, nil, func(c *executor.Config) { c.Clock = clk })
	h.allocate("old", 10, 10)
	clk.Increment(30 * time.Second)
	h.allocate("new", 10, 10)
	h.ex.Prune()
	clk.Increment(31 * time.Second)
	h.ex.Prune()
	c := h.expect(executor.EventContainerComplete, "old")
	if c.RunResult.FailureReason != executor.ReasonExpired || !c.RunResult.Failed {
		t.Fatalf("%+v", c.RunResult)
	}
	if c, _ := h.ex.GetContainer("new"); c.State != executor.StateReserved {
		t.Fatalf("new %+v", c)
	}
}

func TestReaperDestroysUnknownAndCompletesMissing(t *testing.T) {
	h := newHarness(t, nil, nil)
	ctx := context.Background()
	if _, err := h.backend.Create(ctx, executor.Spec{Guid: "stray", RootFS: "preloaded:x"}); err != nil {
		t.Fatal(err)
	}
	h.allocate("app", 10, 10)
	if err := h.ex.RunContainer(runRequest("app", runAction("/bin/app"))); err != nil {
		t.Fatal(err)
	}
	h.expect(executor.EventContainerRunning, "app")
	if err := h.ex.Reap(ctx); err != nil {
		t.Fatal(err)
	}
	if ids, _ := h.backend.List(ctx); len(ids) != 1 || ids[0] != "app" {
		t.Fatalf("after reaping: %v", ids)
	}
	// The backend loses the container.
	h.backend.Forget("app")
	if err := h.ex.Reap(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		e := h.next()
		if e.Type == executor.EventContainerComplete {
			if e.Container.RunResult.FailureReason != executor.ReasonMissing {
				t.Fatalf("%+v", e.Container.RunResult)
			}
			break
		}
	}
}

func TestReadinessFlipsRoutable(t *testing.T) {
	var mu sync.Mutex
	var readiness *containerd.ProcessSpec
	behave := func(guid string, spec containerd.ProcessSpec) memory.Behaviour {
		for _, a := range spec.Args {
			if strings.HasPrefix(a, "-readiness-interval") {
				mu.Lock()
				readiness = &spec
				mu.Unlock()
				return memory.Behaviour{Exit: true, ExitAfter: 50 * time.Millisecond, ExitCode: 1}
			}
		}
		return memory.DefaultBehaviour(guid, spec)
	}
	h := newHarness(t, behave, nil)
	h.allocate("app", 10, 10)
	req := runRequest("app", runAction("/bin/app"))
	req.CheckDefinition = &models.CheckDefinition{
		Checks:          []*models.Check{{TcpCheck: &models.TCPCheck{Port: 8080}}},
		ReadinessChecks: []*models.Check{{TcpCheck: &models.TCPCheck{Port: 8080}}},
	}
	if err := h.ex.RunContainer(req); err != nil {
		t.Fatal(err)
	}
	// Running, then routable once ready, then not once the readiness check
	// fails (the first event may already be routable).
	var routable []bool
	for !slices.Contains(routable, true) || routable[len(routable)-1] {
		c := h.expect(executor.EventContainerRunning, "app")
		routable = append(routable, c.Routable)
	}
	mu.Lock()
	defer mu.Unlock()
	if readiness == nil || readiness.Path != steps.DefaultHealthCheckPath {
		t.Fatalf("readiness check %+v", readiness)
	}
}

func TestFailingStartupCheckCrashesTheInstance(t *testing.T) {
	behave := func(guid string, spec containerd.ProcessSpec) memory.Behaviour {
		if spec.Path == steps.DefaultHealthCheckPath {
			return memory.Behaviour{Exit: true, ExitCode: 4, Output: []string{"failed to make TCP connection to 10.0.0.2:8080: connection refused"}}
		}
		return memory.Behaviour{}
	}
	h := newHarness(t, behave, nil)
	h.allocate("app", 10, 10)
	req := runRequest("app", runAction("/bin/app"))
	req.CheckDefinition = &models.CheckDefinition{Checks: []*models.Check{{TcpCheck: &models.TCPCheck{Port: 8080}}}}
	if err := h.ex.RunContainer(req); err != nil {
		t.Fatal(err)
	}
	c := h.expect(executor.EventContainerComplete, "app")
	if !c.RunResult.Failed || !strings.HasPrefix(c.RunResult.FailureReason, "Instance never healthy after ") ||
		!strings.Contains(c.RunResult.FailureReason, "connection refused") {
		t.Fatalf("%+v", c.RunResult)
	}
}

func TestGetFilesReadsFromTheContainer(t *testing.T) {
	behave := func(string, containerd.ProcessSpec) memory.Behaviour { return memory.Behaviour{Exit: true} }
	h := newHarness(t, behave, nil)
	h.allocate("task", 10, 10)
	if _, err := h.ex.GetFiles(context.Background(), "task", "/tmp/result"); !errors.Is(err, executor.ErrContainerNotFound) {
		t.Fatalf("before create: %v", err)
	}
	if err := h.ex.RunContainer(runRequest("task", runAction("/bin/task"))); err != nil {
		t.Fatal(err)
	}
	h.expect(executor.EventContainerRunning, "task")
	h.expect(executor.EventContainerComplete, "task")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "result", Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("42"))
	_ = tw.Close()
	rc, err := h.ex.GetFiles(context.Background(), "task", "/tmp/result")
	if err == nil {
		rc.Close()
		t.Fatal("a file that was never written was found")
	}
	if err := h.backendContainer(t, "task").StreamIn(context.Background(), "/tmp", "root", &buf); err != nil {
		t.Fatal(err)
	}
	rc, err = h.ex.GetFiles(context.Background(), "task", "/tmp/result")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	if _, err := tr.Next(); err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(tr)
	if string(data) != "42" {
		t.Fatalf("result %q", data)
	}
}

// backendContainer is the backend's container guid.
func (h *harness) backendContainer(t *testing.T, guid string) *memory.Container {
	t.Helper()
	c := h.backend.Get(guid)
	if c == nil {
		t.Fatalf("no backend container %s", guid)
	}
	return c
}

func TestConcurrentDeletesShareTheWork(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.allocate("app", 100, 100)
	if err := h.ex.RunContainer(runRequest("app", runAction("/bin/app"))); err != nil {
		t.Fatal(err)
	}
	h.expect(executor.EventContainerRunning, "app")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = h.ex.DeleteContainer(context.Background(), "app")
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, executor.ErrContainerNotFound) {
			t.Fatalf("delete %d: %v", i, err)
		}
	}
	if got := h.ex.RemainingResources(); got != (executor.Resources{MemoryMB: 1024, DiskMB: 2048, Containers: 3}) {
		t.Fatalf("remaining %+v", got)
	}
}

func TestDeleteDuringCreationCancelsIt(t *testing.T) {
	h := newHarness(t, nil, nil)
	h.backend.SetCreateDelay(time.Hour)
	h.allocate("slow", 10, 10)
	if err := h.ex.RunContainer(runRequest("slow", runAction("/bin/app"))); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.ex.DeleteContainer(ctx, "slow"); err != nil {
		t.Fatal(err)
	}
	c := h.expect(executor.EventContainerComplete, "slow")
	if c.RunResult.FailureReason != executor.ReasonStoppedBeforeRunning {
		t.Fatalf("%+v", c.RunResult)
	}
}
