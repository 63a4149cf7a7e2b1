package containerd_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/pkg/namespaces"

	"github.com/diego-go/diego/internal/executor/containerd"
	"github.com/diego-go/diego/internal/executor/containerdtest"
)

const stack = "preloaded:busybox"

type env struct {
	daemon *containerdtest.Daemon
	cfg    containerd.Config
	b      *containerd.Backend
}

// newEnv starts a private containerd and a backend on it with the busybox
// stack.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := containerdtest.NewBackend(t, "diego-test", nil)
	return &env{daemon: e.Daemon, cfg: e.Config, b: e.Backend}
}

func newBackend(t *testing.T, cfg containerd.Config) *containerd.Backend {
	t.Helper()
	b, err := containerd.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (e *env) create(t *testing.T, spec containerd.ContainerSpec) *containerd.Container {
	t.Helper()
	if spec.RootFS == "" {
		spec.RootFS = stack
	}
	c, err := e.b.Create(testCtx(t), spec)
	if err != nil {
		t.Fatalf("Create(%s): %v", spec.ID, err)
	}
	t.Cleanup(func() { _ = e.b.Delete(context.Background(), spec.ID) })
	return c
}

// output collects the lines of a process.
type output struct {
	mu    sync.Mutex
	lines []string
}

func (o *output) add(s containerd.Stream, line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lines = append(o.lines, s.String()+": "+line)
}

func (o *output) get() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.lines)
}

func run(t *testing.T, c *containerd.Container, spec containerd.ProcessSpec) (containerd.ExitStatus, []string) {
	t.Helper()
	var out output
	spec.Output = out.add
	ctx := testCtx(t)
	p, err := c.Run(ctx, spec)
	if err != nil {
		t.Fatalf("Run(%s): %v", spec.Path, err)
	}
	st, err := p.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return st, out.get()
}

func sh(script string) containerd.ProcessSpec {
	return containerd.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", script}}
}

func TestProcessOutputArrivesLineByLine(t *testing.T) {
	e := newEnv(t)
	c := e.create(t, containerd.ContainerSpec{ID: "output", Env: []string{"FROM_CONTAINER=c", "BOTH=container"}})
	spec := sh(`echo one; echo two >&2; echo "$FROM_CONTAINER $BOTH $FROM_PROCESS $(id -u) $(pwd) $HOME"; printf last`)
	spec.Env = []string{"BOTH=process", "FROM_PROCESS=p"}
	spec.User = "vcap"
	st, lines := run(t, c, spec)
	if st.Code != 0 || st.OOMKilled {
		t.Errorf("status = %+v, want 0", st)
	}
	want := []string{"stdout: one", "stderr: two", "stdout: c process p 2000 /home/vcap /home/vcap", "stdout: last"}
	sort.Strings(lines)
	sort.Strings(want)
	if !slices.Equal(lines, want) {
		t.Errorf("lines = %q\nwant %q", lines, want)
	}
}

func TestExitStatusOfACrashingProcess(t *testing.T) {
	e := newEnv(t)
	c := e.create(t, containerd.ContainerSpec{ID: "crash"})
	st, _ := run(t, c, sh("exit 3"))
	if st.Code != 3 || st.OOMKilled {
		t.Errorf("status = %+v, want code 3 without OOM", st)
	}
	// The container outlives its processes.
	if st, lines := run(t, c, sh("echo still here")); st.Code != 0 || len(lines) != 1 {
		t.Errorf("second process: %+v %q", st, lines)
	}
	if _, err := c.Run(testCtx(t), containerd.ProcessSpec{Path: "/bin/true", User: "nobody-here"}); !errors.Is(err, containerd.ErrInvalid) {
		t.Errorf("unknown user: err = %v, want ErrInvalid", err)
	}
	// A second container of the same id is refused and leaves the first
	// alone; an unknown stack is invalid.
	if _, err := e.b.Create(testCtx(t), containerd.ContainerSpec{ID: "crash", RootFS: stack}); !errors.Is(err, containerd.ErrAlreadyExists) {
		t.Errorf("duplicate id: err = %v, want ErrAlreadyExists", err)
	}
	if _, err := e.b.Create(testCtx(t), containerd.ContainerSpec{ID: "other", RootFS: "preloaded:nope"}); !errors.Is(err, containerd.ErrInvalid) {
		t.Errorf("unknown stack: err = %v, want ErrInvalid", err)
	}
	if st, _ := run(t, c, sh("exit 0")); st.Code != 0 {
		t.Errorf("first container after the duplicate: %+v", st)
	}
}

func TestMemoryHogIsOOMKilled(t *testing.T) {
	e := newEnv(t)
	c := e.create(t, containerd.ContainerSpec{ID: "hog", MemoryLimitBytes: 32 << 20})
	// Before: no OOM.
	if st, _ := run(t, c, sh("exit 0")); st.OOMKilled {
		t.Fatalf("OOM reported before any: %+v", st)
	}
	// dd fills a 64 MiB block buffer: twice the limit.
	st, lines := run(t, c, containerd.ProcessSpec{Path: "/bin/dd", Args: []string{"if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"}})
	if !st.OOMKilled || st.Code != 128+9 {
		t.Errorf("status = %+v (%q), want 137 and OOM killed", st, lines)
	}
}

func TestPidsLimitBoundsAForkBomb(t *testing.T) {
	e := newEnv(t)
	c := e.create(t, containerd.ContainerSpec{ID: "forkbomb", MaxPids: 20})
	st, lines := run(t, c, sh(`i=0; while [ $i -lt 60 ]; do sleep 30 >/dev/null 2>&1 & i=$((i+1)); echo $i; done`))
	started := 0
	for _, l := range lines {
		var n int
		if _, err := fmt.Sscanf(l, "stdout: %d", &n); err == nil && n > started {
			started = n
		}
	}
	// init (sh + sleep) and this shell take pids too.
	if started >= 20 || started == 0 {
		t.Errorf("started %d background processes under max_pids 20 (status %+v, output %q)", started, st, lines)
	}
	if st.Code == 0 {
		t.Errorf("fork bomb exited 0; want a fork failure")
	}
	t.Logf("started %d of 60, status %+v", started, st)
}

func TestStopTerminatesWithinGracePeriodOrKills(t *testing.T) {
	e := newEnv(t)
	c := e.create(t, containerd.ContainerSpec{ID: "stop"})
	ctx := testCtx(t)

	p, err := c.Run(ctx, containerd.ProcessSpec{Path: "/bin/sleep", Args: []string{"1000"}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	st, killed, err := p.Stop(ctx, 5*time.Second)
	if err != nil || killed || st.Code != 128+15 {
		t.Errorf("Stop(sleep) = %+v, killed %v, %v; want 143 without SIGKILL", st, killed, err)
	}
	if d := time.Since(start); d >= 5*time.Second {
		t.Errorf("Stop took %v, beyond the grace period", d)
	}

	// A process ignoring SIGTERM (and its child, which inherits that) is
	// killed once the grace period is over.
	p, err = c.Run(ctx, sh(`trap "" TERM; sleep 1000; echo not reached`))
	if err != nil {
		t.Fatal(err)
	}
	grace := 300 * time.Millisecond
	start = time.Now()
	st, killed, err = p.Stop(ctx, grace)
	elapsed := time.Since(start)
	if err != nil || !killed || st.Code != 128+9 {
		t.Errorf("Stop(TERM-ignoring) = %+v, killed %v, %v; want 137 after SIGKILL", st, killed, err)
	}
	if elapsed < grace || elapsed > grace+5*time.Second {
		t.Errorf("Stop took %v with grace %v", elapsed, grace)
	}
	t.Logf("TERM-ignoring process stopped in %v", elapsed)
}

func TestCreateAndDeleteLeaveNothingBehind(t *testing.T) {
	e := newEnv(t)
	// One budget for 20 creates and 20 deletes: generous, as other
	// packages' containers (go test runs packages in parallel) share the
	// two cores.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const n = 20
	var toRunning []time.Duration
	// The first create imports the base snapshot.
	importStart := time.Now()
	if err := e.b.Delete(ctx, e.create(t, containerd.ContainerSpec{ID: "first"}).ID()); err != nil {
		t.Fatal(err)
	}
	t.Logf("first create (base import included) and delete: %v", time.Since(importStart))
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("churn-%02d", i)
		start := time.Now()
		c, err := e.b.Create(ctx, containerd.ContainerSpec{ID: id, RootFS: stack, MemoryLimitBytes: 64 << 20, MaxPids: 64, CPUShares: containerd.CPUShares(10, 1024)})
		if err != nil {
			t.Fatal(err)
		}
		ready := make(chan struct{}, 1)
		p, err := c.Run(ctx, containerd.ProcessSpec{Path: "/bin/sh", Args: []string{"-c", "echo ready; exec sleep 1000"},
			Output: func(containerd.Stream, string) { ready <- struct{}{} }})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-ready:
		case <-ctx.Done():
			t.Fatal("no output")
		}
		toRunning = append(toRunning, time.Since(start))
		_ = p
	}
	ids, err := e.b.List(ctx)
	if err != nil || len(ids) != n {
		t.Fatalf("List = %d ids, %v; want %d", len(ids), err, n)
	}
	if children := containerdtest.CgroupChildren(e.cfg.CgroupParent); len(children) == 0 {
		t.Errorf("no cgroups under %s while %d containers run", e.cfg.CgroupParent, n)
	}
	start := time.Now()
	for _, id := range ids {
		if err := e.b.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	deleteAll := time.Since(start)
	e.assertEmpty(t)

	slices.Sort(toRunning)
	t.Logf("create→process output: p50 %v, p90 %v, max %v; delete: %v per container",
		toRunning[n/2], toRunning[n*9/10], toRunning[n-1], deleteAll/n)

	// Deleting again, or something that never existed, succeeds.
	if err := e.b.Delete(ctx, ids[0]); err != nil {
		t.Errorf("second Delete: %v", err)
	}
}

func TestCleanupRemovesLeftoversOfAPreviousRun(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	// The previous run: containers with running processes, never deleted,
	// and a half-made snapshot.
	previous := newBackend(t, e.cfg)
	for i := 0; i < 3; i++ {
		c, err := previous.Create(ctx, containerd.ContainerSpec{ID: fmt.Sprintf("old-%d", i), RootFS: stack})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Run(ctx, containerd.ProcessSpec{Path: "/bin/sleep", Args: []string{"1000"}}); err != nil {
			t.Fatal(err)
		}
	}
	sn := e.b.Client().SnapshotService(e.cfg.Snapshotter)
	nctx := namespaces.WithNamespace(ctx, e.cfg.Namespace)
	if _, err := sn.Prepare(nctx, "orphan-rootfs", "", snapshots.WithLabels(map[string]string{"containerd.io/gc.root": "now"})); err != nil {
		t.Fatal(err)
	}
	previous.Close()

	// The new run.
	b := newBackend(t, e.cfg)
	if err := b.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	e.assertEmpty(t)
	var bases int
	err := sn.Walk(nctx, func(_ context.Context, info snapshots.Info) error {
		if _, ok := info.Labels[containerd.LabelBase]; ok {
			bases++
		}
		return nil
	})
	if err != nil || bases != 1 {
		t.Errorf("base snapshots = %d, %v; want the one, kept and reused", bases, err)
	}

	// And it can create again, on the kept base.
	c := e.create(t, containerd.ContainerSpec{ID: "new"})
	if st, lines := run(t, c, sh("echo hi")); st.Code != 0 || !slices.Equal(lines, []string{"stdout: hi"}) {
		t.Errorf("after cleanup: %+v %q", st, lines)
	}
}

// assertEmpty checks that e's namespace has no container, task or snapshot
// other than the committed base, and that no cgroup or FIFO is left.
func (e *env) assertEmpty(t *testing.T) {
	t.Helper()
	(&containerdtest.Env{Config: e.cfg, Backend: e.b}).AssertEmpty(t)
}
