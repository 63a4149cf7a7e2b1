package containerdtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/pkg/namespaces"

	"github.com/diego-go/diego/internal/executor/containerd"
	"github.com/diego-go/diego/internal/executor/rootfs"
)

// BusyboxStack is the stack of NewBackend: `preloaded:busybox`.
const BusyboxStack = "preloaded:busybox"

// Env is a private containerd with a backend on it.
type Env struct {
	Daemon  *Daemon
	Config  containerd.Config
	Backend *containerd.Backend
	// RootFS is the busybox stack's directory.
	RootFS string
}

// NewBackend starts a private containerd and a backend on it (namespace
// ns) with the busybox stack; mutate, if set, adjusts the backend's
// configuration (and may write into the stack's directory) before it is
// made. The backend is closed when t ends.
func NewBackend(t testing.TB, ns string, mutate func(cfg *containerd.Config, rootDir string)) *Env {
	t.Helper()
	d := Start(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "rootfs")
	if err := rootfs.BuildBusybox(root, ""); err != nil {
		t.Fatal(err)
	}
	cfg := containerd.Config{
		Address:      d.Address,
		Namespace:    ns,
		Snapshotter:  d.Snapshotter,
		CgroupParent: d.CgroupParent,
		RuncRoot:     d.RuncRoot,
		StateDir:     filepath.Join(dir, "state"),
		Stacks:       rootfs.Stacks{"busybox": root},
	}
	if testing.Verbose() {
		cfg.Logger = lager.NewLogger("test")
		cfg.Logger.RegisterSink(lager.NewWriterSink(os.Stderr, lager.INFO))
	}
	if mutate != nil {
		mutate(&cfg, root)
	}
	b, err := containerd.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return &Env{Daemon: d, Config: cfg, Backend: b, RootFS: root}
}

// BuildHealthcheck builds the static healthcheck binary (cmd/healthcheck)
// into a directory of t's and returns its path.
func BuildHealthcheck(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "healthcheck")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/diego-go/diego/cmd/healthcheck")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building healthcheck: %v: %s", err, out)
	}
	return bin
}

// AssertEmpty fails t if the backend left anything: a container, task,
// snapshot other than the committed bases, cgroup or state file.
func (e *Env) AssertEmpty(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ctx = namespaces.WithNamespace(ctx, e.Config.Namespace)
	c := e.Backend.Client()
	if ctrs, err := c.Containers(ctx); err != nil || len(ctrs) != 0 {
		t.Errorf("containers left: %d, %v", len(ctrs), err)
	}
	if resp, err := c.TaskService().List(ctx, &tasks.ListTasksRequest{}); err != nil || len(resp.Tasks) != 0 {
		t.Errorf("tasks left: %v, %v", resp, err)
	}
	var snaps []string
	err := c.SnapshotService(e.Config.Snapshotter).Walk(ctx, func(_ context.Context, info snapshots.Info) error {
		if _, base := info.Labels[containerd.LabelBase]; !base || info.Kind != snapshots.KindCommitted {
			snaps = append(snaps, info.Name)
		}
		return nil
	})
	if err != nil || len(snaps) != 0 {
		t.Errorf("snapshots left besides the base: %q, %v", snaps, err)
	}
	if children := CgroupChildren(e.Config.CgroupParent); len(children) != 0 {
		t.Errorf("cgroups left: %q", children)
	}
	if entries, _ := os.ReadDir(e.Config.StateDir); len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("state dir not empty: %s", strings.Join(names, " "))
	}
}
