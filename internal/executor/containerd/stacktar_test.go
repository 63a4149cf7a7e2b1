package containerd_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/diego-go/diego/internal/executor/containerd"
	"github.com/diego-go/diego/internal/executor/containerdtest"
	"github.com/diego-go/diego/internal/executor/rootfs"
)

// A stack given as a tarball (the reference's rootfs.tar) is extracted
// once and serves every container.
func TestATarballStackIsExtractedOnce(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := rootfs.BuildBusybox(src, ""); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "etc", "stack-version"), []byte("tarred 1.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tarball := filepath.Join(dir, "rootfs.tgz")
	if out, err := exec.Command("tar", "-czf", tarball, "-C", src, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "not-a-tarball"), []byte("nope"), 0o644); err != nil {
		t.Fatal(err)
	}
	ce := containerdtest.NewBackend(t, "diego-test", func(cfg *containerd.Config, _ string) {
		cfg.Stacks["tarred"] = tarball
		cfg.Stacks["broken"] = filepath.Join(dir, "not-a-tarball")
		cfg.Stacks["missing"] = filepath.Join(dir, "missing.tar")
	})
	e := &env{daemon: ce.Daemon, cfg: ce.Config, b: ce.Backend}
	for _, id := range []string{"tar-1", "tar-2"} {
		c := e.create(t, containerd.ContainerSpec{ID: id, RootFS: "preloaded:tarred"})
		st, out := run(t, c, containerd.ProcessSpec{Path: "/bin/cat", Args: []string{"/etc/stack-version"}, User: "vcap"})
		if st.Code != 0 || !slices.Equal(out, []string{"stdout: tarred 1.0"}) {
			t.Fatalf("%s: exit %d, %q", id, st.Code, out)
		}
	}
	extracted, _ := os.ReadDir(filepath.Join(ce.Config.StateDir, "stacks"))
	if len(extracted) != 1 {
		t.Fatalf("extracted %d times, want once", len(extracted))
	}
	for _, stack := range []string{"broken", "missing"} {
		if _, err := e.b.Create(testCtx(t), containerd.ContainerSpec{ID: "bad-" + stack, RootFS: "preloaded:" + stack}); !errors.Is(err, containerd.ErrInvalid) {
			t.Errorf("stack %s: %v, want ErrInvalid", stack, err)
		}
	}
}
