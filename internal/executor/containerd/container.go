package containerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"code.cloudfoundry.org/lager/v3"
	cgroup1 "github.com/containerd/cgroups/v3/cgroup1/stats"
	cgroup2 "github.com/containerd/cgroups/v3/cgroup2/stats"
	"github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// deleteTimeout bounds the wait for a killed init to exit.
const deleteTimeout = 10 * time.Second

// ContainerSpec is what Create needs.
type ContainerSpec struct {
	// ID is the container handle: the instance or task guid.
	ID string
	// RootFS is `preloaded:<stack>` or a `docker://` image (ParseDockerURI).
	RootFS string
	// ImageUsername and ImagePassword are the registry credentials of a
	// docker RootFS (both or neither).
	ImageUsername, ImagePassword string
	// DiskLimitBytes is the most the container may write (its writable
	// layer; the rootfs is not counted); 0 = none. See DiskUsage.
	DiskLimitBytes uint64
	// MemoryLimitBytes is the memory limit (swap included); 0 = none.
	MemoryLimitBytes uint64
	// MaxPids limits the number of processes and threads; 0 = none.
	MaxPids int64
	// NoFile is the default RLIMIT_NOFILE of processes (DefaultNoFile).
	NoFile uint64
	// CPUShares is the relative CPU weight (see CPUShares); 0 = default.
	CPUShares uint64
	// Env (NAME=value) is given to every process of the container.
	Env []string
	// Labels are stored on the container (Garden's properties).
	Labels map[string]string
	// NetNSPath is a network namespace (a bind-mounted nsfs file, see
	// package network) the container joins; empty = a fresh namespace with
	// loopback only.
	NetNSPath string
	// ResolvConfPath and HostsPath, when set, are host files bind-mounted
	// read-only at /etc/resolv.conf and /etc/hosts.
	ResolvConfPath, HostsPath string
	// BindMounts are host files or directories mounted into the container
	// (the health check binary's directory, ...); each source must exist.
	BindMounts []BindMount
}

// BindMount is a host path mounted at Destination in the container.
type BindMount struct {
	Source, Destination string
	ReadOnly            bool
}

func (m BindMount) validate() error {
	if !path.IsAbs(m.Destination) || path.Clean(m.Destination) == "/" {
		return fmt.Errorf("%w: bind mount destination %q must be an absolute path below /", ErrInvalid, m.Destination)
	}
	if !filepath.IsAbs(m.Source) {
		return fmt.Errorf("%w: bind mount source %q must be an absolute path", ErrInvalid, m.Source)
	}
	if _, err := os.Stat(m.Source); err != nil {
		return fmt.Errorf("%w: bind mount source: %v", ErrInvalid, err)
	}
	return nil
}

// CPUShares converts the reference's cpu_weight (1-100) into CPU shares the
// way the reference does: maxShares × weight / 100 (maxShares is
// container_max_cpu_shares, 1024).
func CPUShares(weight, maxShares uint64) uint64 { return maxShares * weight / 100 }

// Container is a created container with its init running.
type Container struct {
	b         *Backend
	id        string
	rootfsDir string
	env       []string
	nofile    uint64
	spec      *specs.Spec
	ctr       client.Container
	task      client.Task
	parent    string      // the snapshot under the writable layer
	image     ImageConfig // a docker image's configuration
	created   time.Time
	disk      diskWatch

	mu        sync.Mutex
	processes map[string]*Process
	nextExec  int
}

// ID returns the container's handle.
func (c *Container) ID() string { return c.id }

// Create makes a container from spec and starts its init: a writable
// snapshot over the stack's base, the OCI spec with the limits, and a task.
// On failure nothing is left behind.
func (b *Backend) Create(ctx context.Context, spec ContainerSpec) (_ *Container, err error) {
	if spec.ID == "" {
		return nil, fmt.Errorf("%w: container id is required", ErrInvalid)
	}
	for _, m := range spec.BindMounts {
		if err := m.validate(); err != nil {
			return nil, err
		}
	}
	logger := b.logger.Session("create", lager.Data{"id": spec.ID})
	ctx = b.nsCtx(ctx)
	src, err := b.resolveRootFS(ctx, spec)
	if err != nil {
		return nil, err
	}
	dir, base := src.userDir, src.parent
	spec.Env = mergeEnv(src.image.Env, spec.Env)
	if spec.NoFile == 0 {
		spec.NoFile = DefaultNoFile
	}
	// A lease protects the new snapshot until the container refers to it.
	lctx, done, err := b.client.WithLease(ctx, leases.WithRandomID(), leases.WithExpiration(10*time.Minute))
	if err != nil {
		return nil, err
	}
	defer func() { _ = done(context.WithoutCancel(ctx)) }()

	labels := map[string]string{LabelOwner: b.cfg.Owner}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	sn := b.client.SnapshotService(b.cfg.Snapshotter)
	if _, err := sn.Prepare(lctx, spec.ID, base, snapshots.WithLabels(map[string]string{LabelOwner: b.cfg.Owner})); err != nil {
		return nil, fmt.Errorf("preparing rootfs of %s: %w", spec.ID, err)
	}
	defer func() {
		// An existing container of that id is not ours to remove.
		if err != nil && !errdefs.IsAlreadyExists(err) {
			_ = b.Delete(context.WithoutCancel(ctx), spec.ID)
		}
	}()
	ctr, err := b.client.NewContainer(lctx, spec.ID,
		client.WithSnapshotter(b.cfg.Snapshotter),
		client.WithSnapshot(spec.ID),
		client.WithRuntime(b.cfg.Runtime, b.runtimeOptions()),
		client.WithContainerLabels(labels),
		client.WithNewSpec(b.specOpts(spec)...),
	)
	if err != nil {
		return nil, fmt.Errorf("creating container %s: %w", spec.ID, err)
	}
	ociSpec, err := ctr.Spec(lctx)
	if err != nil {
		return nil, err
	}
	task, err := ctr.NewTask(lctx, cio.NullIO)
	if err != nil {
		return nil, fmt.Errorf("creating task of %s: %w", spec.ID, err)
	}
	if err := task.Start(lctx); err != nil {
		return nil, fmt.Errorf("starting init of %s: %w", spec.ID, err)
	}
	c := &Container{
		b:         b,
		id:        spec.ID,
		rootfsDir: dir,
		env:       spec.Env,
		nofile:    spec.NoFile,
		spec:      ociSpec,
		ctr:       ctr,
		task:      task,
		parent:    base,
		image:     src.image,
		created:   time.Now(),
		processes: map[string]*Process{},
	}
	c.watchDisk(spec.DiskLimitBytes)
	b.mu.Lock()
	b.containers[spec.ID] = c
	b.mu.Unlock()
	logger.Debug("created")
	return c, nil
}

func (b *Backend) runtimeOptions() any {
	if b.cfg.RuncRoot == "" {
		return nil
	}
	return &options.Options{Root: b.cfg.RuncRoot}
}

func (b *Backend) specOpts(spec ContainerSpec) []oci.SpecOpts {
	opts := []oci.SpecOpts{
		oci.WithHostname(spec.ID),
		oci.WithProcessArgs(b.cfg.InitArgs...),
		oci.WithProcessCwd("/"),
		oci.WithUIDGID(0, 0),
		oci.WithEnv(mergeEnv([]string{defaultPath}, spec.Env)),
		oci.WithCgroup(b.cgroupPath(spec.ID)),
		withNoFile(spec.NoFile),
	}
	if spec.MemoryLimitBytes > 0 {
		opts = append(opts, oci.WithMemoryLimit(spec.MemoryLimitBytes))
		if swapAccounted() {
			// memory+swap = memory: no swap, like Garden.
			opts = append(opts, oci.WithMemorySwap(int64(spec.MemoryLimitBytes)))
		}
	}
	if spec.MaxPids > 0 {
		opts = append(opts, oci.WithPidsLimit(spec.MaxPids))
	}
	if spec.CPUShares > 0 {
		opts = append(opts, oci.WithCPUShares(spec.CPUShares))
	}
	if spec.NetNSPath != "" {
		opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: spec.NetNSPath}))
	}
	for _, m := range [][2]string{{spec.ResolvConfPath, "/etc/resolv.conf"}, {spec.HostsPath, "/etc/hosts"}} {
		if m[0] != "" {
			opts = append(opts, oci.WithMounts([]specs.Mount{{Destination: m[1], Type: "bind", Source: m[0], Options: []string{"rbind", "ro"}}}))
		}
	}
	for _, m := range spec.BindMounts {
		mode := "rw"
		if m.ReadOnly {
			mode = "ro"
		}
		opts = append(opts, oci.WithMounts([]specs.Mount{{Destination: path.Clean(m.Destination), Type: "bind", Source: m.Source, Options: []string{"rbind", mode}}}))
	}
	return opts
}

func withNoFile(n uint64) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		s.Process.Rlimits = setNoFile(s.Process.Rlimits, n)
		return nil
	}
}

func setNoFile(rl []specs.POSIXRlimit, n uint64) []specs.POSIXRlimit {
	out := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: n, Soft: n}}
	for _, r := range rl {
		if r.Type != "RLIMIT_NOFILE" {
			out = append(out, r)
		}
	}
	return out
}

// swapAccounted reports whether the cgroup v1 memory controller accounts
// swap (memory.memsw.*); on cgroup v2 runc derives memory.swap.max itself.
func swapAccounted() bool {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return true
	}
	_, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	return err == nil
}

// OOMKilled reports whether the kernel has killed a process of c for
// exceeding its memory limit since c was created (Garden's "Out of memory"
// container event).
func (c *Container) OOMKilled(ctx context.Context) (bool, error) {
	m, err := c.task.Metrics(c.b.nsCtx(ctx))
	if err != nil {
		return false, err
	}
	v, err := typeurl.UnmarshalAny(m.Data)
	if err != nil {
		return false, err
	}
	switch s := v.(type) {
	case *cgroup1.Metrics:
		return s.GetMemoryOomControl().GetOomKill() > 0, nil
	case *cgroup2.Metrics:
		return s.GetMemoryEvents().GetOomKill() > 0, nil
	}
	return false, fmt.Errorf("unknown metrics type %T", v)
}

// Delete kills everything in container id and removes its task, container
// and snapshot. Deleting a container that does not exist succeeds.
func (b *Backend) Delete(ctx context.Context, id string) error {
	ctx = b.nsCtx(ctx)
	b.mu.Lock()
	known := b.containers[id]
	delete(b.containers, id)
	b.mu.Unlock()
	if known != nil {
		known.stopDiskWatch()
	}

	ctr, err := b.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return b.removeSnapshot(ctx, id)
	} else if err != nil {
		return err
	}
	if task, err := ctr.Task(ctx, nil); err == nil {
		if err := killTask(ctx, task); err != nil {
			return fmt.Errorf("killing %s: %w", id, err)
		}
		if _, err := task.Delete(ctx, client.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("deleting task of %s: %w", id, err)
		}
	} else if !errdefs.IsNotFound(err) {
		return err
	}
	if known != nil {
		known.waitProcesses(ctx)
	}
	if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("deleting container %s: %w", id, err)
	}
	return b.removeSnapshot(ctx, id)
}

func (b *Backend) removeSnapshot(ctx context.Context, key string) error {
	err := b.client.SnapshotService(b.cfg.Snapshotter).Remove(ctx, key)
	if err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("removing snapshot %s: %w", key, err)
	}
	return nil
}

// killTask SIGKILLs every process of task and waits for its init to exit.
func killTask(ctx context.Context, task client.Task) error {
	ctx, cancel := context.WithTimeout(ctx, deleteTimeout)
	defer cancel()
	status, err := task.Status(ctx)
	if err != nil {
		return err
	}
	if status.Status == client.Stopped || status.Status == client.Created {
		return nil
	}
	exited, err := task.Wait(ctx)
	if err != nil {
		return err
	}
	if err := task.Kill(ctx, syscall.SIGKILL, client.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
		return errors.New("init did not exit after SIGKILL")
	}
}

// waitProcesses waits until the output and bookkeeping of c's processes are
// done (they end with the task).
func (c *Container) waitProcesses(ctx context.Context) {
	c.mu.Lock()
	procs := make([]*Process, 0, len(c.processes))
	for _, p := range c.processes {
		procs = append(procs, p)
	}
	c.mu.Unlock()
	for _, p := range procs {
		select {
		case <-p.done:
		case <-ctx.Done():
			return
		}
	}
}
