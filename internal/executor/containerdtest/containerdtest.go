// Package containerdtest runs a private containerd for tests: its own root,
// state directory, socket and configuration under a fresh temporary
// directory, never the system service. When the test ends it removes every
// task, container and snapshot the test left, stops the daemon by its pid,
// unmounts and deletes its directories and removes the test's cgroups.
//
//	d := containerdtest.Start(t)
//	backend, err := containerd.New(ctx, containerd.Config{Address: d.Address, ...})
//
// A test is skipped when containerd (or runc, or root) is missing, unless
// DIEGO_TEST_REQUIRE_CONTAINERD=1 (set by scripts/test.sh), which turns that
// into a failure so that CI never skips silently.
package containerdtest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/pkg/namespaces"
)

// EnvRequire set to 1 turns a missing containerd into a test failure.
const EnvRequire = "DIEGO_TEST_REQUIRE_CONTAINERD"

// shimRunDir is where containerd 1.6's runc shim puts its sockets.
const shimRunDir = "/run/containerd"

const (
	startTimeout = 20 * time.Second
	stopTimeout  = 10 * time.Second
)

// Daemon is a running private containerd.
type Daemon struct {
	// Address is the path of the gRPC socket.
	Address string
	// Dir holds everything of this daemon: root, state, sockets, logs.
	Dir string
	// Snapshotter is overlayfs when this kernel and file system support it,
	// otherwise native.
	Snapshotter string
	// CgroupParent is a cgroup path unique to this daemon under which the
	// tests should place their containers; it is removed at the end.
	CgroupParent string
	// RuncRoot is a runc state directory inside Dir for the tests'
	// containers (runc's default is /run/containerd/runc).
	RuncRoot string

	// hadRunDir tells whether /run/containerd existed before: the runc shim
	// of containerd 1.6 puts its sockets in /run/containerd/s whatever the
	// configuration, and the cleanup removes that directory only if it
	// created it and it is empty.
	hadRunDir bool

	cmd     *exec.Cmd
	logPath string
	waitErr chan error
}

// Available reports whether a private containerd can run here, and if not,
// why.
func Available() (ok bool, why string) {
	for _, bin := range []string{"containerd", "containerd-shim-runc-v2", "runc"} {
		if _, err := exec.LookPath(bin); err != nil {
			return false, bin + " is not installed (run scripts/install-deps.sh test)"
		}
	}
	if os.Geteuid() != 0 {
		return false, "containers need root"
	}
	return true, ""
}

// Start starts a private containerd for t and arranges its removal when t
// ends. It skips t (or fails it under DIEGO_TEST_REQUIRE_CONTAINERD=1) when
// containerd cannot run here.
func Start(t testing.TB) *Daemon {
	t.Helper()
	if ok, why := Available(); !ok {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("containerdtest: containerd required (%s=1) but %s", EnvRequire, why)
		}
		t.Skipf("containerdtest: skipping: %s", why)
	}
	d, err := StartDaemon()
	if d != nil {
		t.Cleanup(func() {
			t.Helper()
			if t.Failed() {
				t.Logf("containerd log:\n%s", d.logTail())
			}
			for _, err := range d.Stop() {
				t.Errorf("containerdtest: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// StartDaemon starts a private containerd outside a test (diego-bench);
// Stop removes it. On error the returned daemon, if not nil, must still be
// stopped.
func StartDaemon() (*Daemon, error) {
	if ok, why := Available(); !ok {
		return nil, errors.New(why)
	}
	// Not a test's temp dir: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "diego-ctrd-")
	if err != nil {
		return nil, err
	}
	d := &Daemon{
		Address:      filepath.Join(dir, "containerd.sock"),
		Dir:          dir,
		CgroupParent: "/diego-test-" + randomHex(6),
		RuncRoot:     filepath.Join(dir, "runc"),
		logPath:      filepath.Join(dir, "containerd.log"),
		waitErr:      make(chan error, 1),
	}
	_, err = os.Stat(shimRunDir)
	d.hadRunDir = err == nil
	if err := d.start(); err != nil {
		return d, fmt.Errorf("containerdtest: %v\n%s", err, d.logTail())
	}
	return d, nil
}

const configTemplate = `version = 2
root = %q
state = %q
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.internal.v1.opt",
  "io.containerd.internal.v1.tracing",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
]

[grpc]
  address = %q

[ttrpc]
  address = %q

[debug]
  level = "warn"

[metrics]
  address = ""
`

func (d *Daemon) start() error {
	config := filepath.Join(d.Dir, "config.toml")
	body := fmt.Sprintf(configTemplate, filepath.Join(d.Dir, "root"), filepath.Join(d.Dir, "state"),
		d.Address, filepath.Join(d.Dir, "containerd-ttrpc.sock"))
	if err := os.WriteFile(config, []byte(body), 0o600); err != nil {
		return err
	}
	logFile, err := os.Create(d.logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	d.cmd = exec.Command("containerd", "--config", config)
	d.cmd.Stdout, d.cmd.Stderr = logFile, logFile
	// Its own process group, so a ^C of the test does not reach it before
	// the cleanup does.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		return fmt.Errorf("starting containerd: %w", err)
	}
	go func() { d.waitErr <- d.cmd.Wait() }()

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c, err := d.waitReady(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	d.Snapshotter = "native"
	plugins, err := c.IntrospectionService().Plugins(ctx, `type=="io.containerd.snapshotter.v1",id=="overlayfs"`)
	if err == nil && len(plugins.Plugins) == 1 && plugins.Plugins[0].InitErr == nil {
		d.Snapshotter = "overlayfs"
	}
	return nil
}

// waitReady polls the socket until containerd answers, or it exits, or ctx
// ends.
func (d *Daemon) waitReady(ctx context.Context) (*client.Client, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(d.Address); err == nil {
			c, err := client.New(d.Address, client.WithTimeout(time.Second))
			if err == nil {
				if _, err = c.Version(ctx); err == nil {
					return c, nil
				}
				c.Close()
			}
		}
		select {
		case err := <-d.waitErr:
			d.waitErr <- err
			return nil, fmt.Errorf("containerd exited before it was ready: %v", err)
		case <-ctx.Done():
			return nil, fmt.Errorf("containerd not ready: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// Client returns a new client of d, closed when t ends.
func (d *Daemon) Client(t testing.TB) *client.Client {
	t.Helper()
	c, err := client.New(d.Address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Stop removes everything d ran (tasks, containers, snapshots, shims,
// mounts, cgroups), stops it by its pid and deletes its directory.
func (d *Daemon) Stop() []error {
	var errs []error
	if d.cmd != nil && d.cmd.Process != nil {
		if err := d.removeEverything(); err != nil {
			errs = append(errs, fmt.Errorf("removing leftovers: %w", err))
		}
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.waitErr:
		case <-time.After(stopTimeout):
			_ = d.cmd.Process.Kill()
			<-d.waitErr
		}
		d.killShims()
	}
	if err := unmountUnder(d.Dir); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(d.Dir); err != nil {
		errs = append(errs, err)
	}
	if err := RemoveCgroups(d.CgroupParent); err != nil {
		errs = append(errs, err)
	}
	if !d.hadRunDir {
		// Fails harmlessly while another test's shim still uses it.
		_ = os.Remove(filepath.Join(shimRunDir, "s"))
		_ = os.Remove(shimRunDir)
	}
	return errs
}

// removeEverything kills every task and deletes every container and snapshot
// in every namespace of d, so that no shim, mount or cgroup outlives it.
func (d *Daemon) removeEverything() error {
	select {
	case err := <-d.waitErr:
		d.waitErr <- err
		return nil // already gone: the shims are reaped by killShims
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	c, err := client.New(d.Address)
	if err != nil {
		return err
	}
	defer c.Close()
	nss, err := c.NamespaceService().List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, ns := range nss {
		nctx := namespaces.WithNamespace(ctx, ns)
		containers, err := c.Containers(nctx)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, ctr := range containers {
			if task, err := ctr.Task(nctx, nil); err == nil {
				_ = task.Kill(nctx, syscall.SIGKILL, client.WithKillAll)
				if _, err := task.Delete(nctx, client.WithProcessKill); err != nil {
					errs = append(errs, fmt.Errorf("task %s: %w", ctr.ID(), err))
				}
			}
			if err := ctr.Delete(nctx, client.WithSnapshotCleanup); err != nil {
				errs = append(errs, fmt.Errorf("container %s: %w", ctr.ID(), err))
			}
		}
		for _, sn := range []string{"overlayfs", "native"} {
			if err := removeSnapshots(nctx, c, sn); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// removeSnapshots removes every snapshot of snapshotter, children before
// parents.
func removeSnapshots(ctx context.Context, c *client.Client, snapshotter string) error {
	s := c.SnapshotService(snapshotter)
	for pass := 0; pass < 8; pass++ {
		var keys []string
		parents := map[string]bool{}
		if err := s.Walk(ctx, func(_ context.Context, info snapshots.Info) error {
			keys = append(keys, info.Name)
			if info.Parent != "" {
				parents[info.Parent] = true
			}
			return nil
		}); err != nil {
			return nil // snapshotter not loaded
		}
		if len(keys) == 0 {
			return nil
		}
		for _, k := range keys {
			if !parents[k] {
				_ = s.Remove(ctx, k)
			}
		}
	}
	return fmt.Errorf("snapshots of %s remain", snapshotter)
}

// killShims kills shims of d that survived their daemon (a task the cleanup
// could not delete). They are this test's own processes: their command line
// names d's socket.
func (d *Daemon) killShims() {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), "containerd-shim") || !strings.Contains(string(b), d.Dir) {
			continue
		}
		var pid int
		if _, err := fmt.Sscanf(p, "/proc/%d/cmdline", &pid); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// unmountUnder lazily unmounts every mount point below dir, deepest first.
func unmountUnder(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			points = append(points, fields[4])
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	var errs []error
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			errs = append(errs, fmt.Errorf("unmounting %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// CgroupDirs returns the directories of cgroup path parent in every mounted
// hierarchy (cgroup v1 controllers and the v2 unified tree) that exist.
func CgroupDirs(parent string) []string {
	var dirs []string
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	roots = append(roots, "/sys/fs/cgroup")
	for _, root := range roots {
		d := filepath.Join(root, parent)
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// CgroupChildren returns the cgroups below parent, in any hierarchy.
func CgroupChildren(parent string) []string {
	var out []string
	for _, d := range CgroupDirs(parent) {
		_ = filepath.WalkDir(d, func(path string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() && path != d {
				out = append(out, path)
			}
			return nil
		})
	}
	return out
}

// RemoveCgroups removes the (empty) cgroup parent and its children in every
// hierarchy.
func RemoveCgroups(parent string) error {
	if parent == "" || parent == "/" {
		return nil
	}
	var errs []error
	for _, d := range CgroupDirs(parent) {
		var all []string
		_ = filepath.WalkDir(d, func(path string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				all = append(all, path)
			}
			return nil
		})
		sort.Slice(all, func(i, j int) bool { return len(all[i]) > len(all[j]) })
		for _, p := range all {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("removing cgroup %s: %w", p, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (d *Daemon) logTail() string {
	b, err := os.ReadFile(d.logPath)
	if err != nil {
		return ""
	}
	if len(b) > 8<<10 {
		b = b[len(b)-8<<10:]
	}
	return string(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
