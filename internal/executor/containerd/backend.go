// Package containerd is the executor's container backend: long-lived
// containers on containerd (runc through the io.containerd.runc.v2 shim) into
// which processes are later run, the model Garden gave the reference
// executor.
//
// Each container's init is a tiny reaper; every action process is a
// containerd exec with its own user, directory, environment and nofile
// limit, whose stdout and stderr arrive line by line at a callback. Root
// filesystems are preloaded stacks (rootfs.Stacks): each stack directory is
// imported once into the snapshotter as a committed base snapshot keyed by
// its content (rootfs.Digest), and each container gets a writable snapshot on
// top of it. Memory (swap off), pids, CPU shares and nofile limits go into
// the OCI spec. A container joins the network namespace the network
// package prepared (ContainerSpec.NetNSPath), or gets an empty one
// (loopback only).
//
// `docker://` rootfs URIs (ParseDockerURI) are pulled by containerd's
// client with the container's image credentials (HTTPS; HTTPS without
// certificate checks or plain HTTP for Config.InsecureRegistries) and
// unpacked into the same snapshotter; the container's writable snapshot sits
// on the image's top layer, and the image's Env comes before the container's.
// Every create resolves the tag; layers are fetched and unpacked once per
// manifest digest, and concurrent creates share one pull.
//
// Disk: this kernel has no XFS project quotas, so a disk limit is not a
// quota. DiskUsage measures a container's writable layer (the snapshotter's
// Usage: the size of the overlay upper directory), and a container with
// ContainerSpec.DiskLimitBytes has a watcher that measures it every
// Config.DiskCheckInterval (5 s by default) and, once it is over the limit,
// SIGKILLs every process of it and records ErrDiskLimitExceeded
// (Container.Exceeded). Writes between two checks are not stopped: a
// container can overshoot by what it writes in one interval. Metrics and
// BulkMetrics report memory toward the limit, CPU time, disk and network
// as Garden's BulkMetrics did.
//
// Everything lives in one containerd namespace of our own (default
// "diego"), and Cleanup removes what a previous run left there.
package containerd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sync"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"

	"github.com/diego-go/diego/internal/executor/rootfs"
)

// Errors of this package, matched with errors.Is. Errors from containerd
// keep its own kinds (errdefs), which these alias.
var (
	ErrNotFound      = errdefs.ErrNotFound
	ErrAlreadyExists = errdefs.ErrAlreadyExists
	ErrInvalid       = errdefs.ErrInvalidArgument
)

// Labels written on every container and snapshot this package creates.
const (
	// LabelOwner names the executor owning a container (the reference's
	// `executor:owner` Garden property).
	LabelOwner = "executor:owner"
	// LabelBase marks a committed base snapshot; its value is the stack
	// directory it was imported from.
	LabelBase   = "diego.executor/base"
	labelGCRoot = "containerd.io/gc.root"
)

// Defaults of Config.
const (
	DefaultNamespace      = "diego"
	DefaultSnapshotter    = "overlayfs"
	DefaultCgroupParent   = "/diego"
	DefaultOwner          = "executor"
	DefaultIODrainTimeout = 2 * time.Second
	DefaultNoFile         = 1024
)

// DefaultInitArgs is the init of every container: a shell that waits forever,
// reaping the orphans reparented to it, and exits on SIGTERM. Every stack has
// /bin/sh.
var DefaultInitArgs = []string{"/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 2147483647 & wait $!; done"}

// Config configures a Backend.
type Config struct {
	// Address is containerd's gRPC socket.
	Address string
	// Namespace is the containerd namespace holding everything of this
	// executor (DefaultNamespace).
	Namespace string
	// Snapshotter is overlayfs (DefaultSnapshotter) or native.
	Snapshotter string
	// Runtime is the shim (io.containerd.runc.v2).
	Runtime string
	// RuncRoot is runc's state directory (runc's default,
	// /run/containerd/runc, if empty).
	RuncRoot string
	// CgroupParent is the cgroup path under which each container gets
	// <parent>/<id> (DefaultCgroupParent).
	CgroupParent string
	// Owner is the LabelOwner value (DefaultOwner).
	Owner string
	// StateDir holds the FIFOs of process output and temporary mount points.
	// Required; created if missing.
	StateDir string
	// Stacks maps preloaded stacks to rootfs directories.
	Stacks rootfs.Stacks
	// InitArgs is the init process of every container (DefaultInitArgs).
	InitArgs []string
	// IODrainTimeout bounds the wait for a process's output after it exited
	// (children that kept its stdout open): DefaultIODrainTimeout.
	IODrainTimeout time.Duration
	// Logger receives this backend's logs (discarded if nil).
	Logger lager.Logger
	// InsecureRegistries are registry host[:port]s pulled from without
	// certificate checks, or over plain HTTP (Garden's
	// insecure_docker_registry_list).
	InsecureRegistries []string
	// ImagePullTimeout bounds one image pull (DefaultImagePullTimeout).
	ImagePullTimeout time.Duration
	// DiskCheckInterval is how often a container with a disk limit is
	// measured (DefaultDiskCheckInterval).
	DiskCheckInterval time.Duration
	// CPUEntitlementPerShare is the percent of a core a CPU share entitles
	// a container to; 0 = Garden's default, cores × 100 / memory MiB.
	CPUEntitlementPerShare float64
}

func (c *Config) setDefaults() error {
	if c.Address == "" {
		return fmt.Errorf("%w: containerd address is required", ErrInvalid)
	}
	if c.StateDir == "" {
		return fmt.Errorf("%w: state dir is required", ErrInvalid)
	}
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.Snapshotter == "" {
		c.Snapshotter = DefaultSnapshotter
	}
	if c.Runtime == "" {
		c.Runtime = defaults.DefaultRuntime
	}
	if c.CgroupParent == "" {
		c.CgroupParent = DefaultCgroupParent
	}
	c.CgroupParent = path.Clean("/" + c.CgroupParent)
	if c.Owner == "" {
		c.Owner = DefaultOwner
	}
	if len(c.InitArgs) == 0 {
		c.InitArgs = DefaultInitArgs
	}
	if c.IODrainTimeout <= 0 {
		c.IODrainTimeout = DefaultIODrainTimeout
	}
	if c.Logger == nil {
		c.Logger = lager.NewLogger("executor")
	}
	if c.ImagePullTimeout <= 0 {
		c.ImagePullTimeout = DefaultImagePullTimeout
	}
	if c.DiskCheckInterval <= 0 {
		c.DiskCheckInterval = DefaultDiskCheckInterval
	}
	return nil
}

// Backend creates, runs processes in, and deletes containers on containerd.
type Backend struct {
	cfg    Config
	client *client.Client
	logger lager.Logger

	baseMu sync.Mutex
	bases  map[string]string // stack directory → base snapshot name

	mu         sync.Mutex
	containers map[string]*Container

	imgs       imageStore // docker images pulled (image.go)
	hostShares hostShares // default CPU entitlement (metrics.go)
}

// New connects to containerd and checks that the snapshotter is there.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, err
	}
	c, err := client.New(cfg.Address, client.WithDefaultNamespace(cfg.Namespace), client.WithTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("connecting to containerd at %s: %w", cfg.Address, err)
	}
	b := &Backend{
		cfg:        cfg,
		client:     c,
		logger:     cfg.Logger.Session("containerd"),
		bases:      map[string]string{},
		containers: map[string]*Container{},
	}
	ctx = b.nsCtx(ctx)
	if err := b.client.SnapshotService(cfg.Snapshotter).Walk(ctx, func(context.Context, snapshots.Info) error { return nil }); err != nil {
		c.Close()
		return nil, fmt.Errorf("snapshotter %s: %w", cfg.Snapshotter, err)
	}
	return b, nil
}

// Close closes the connection; containers keep running.
func (b *Backend) Close() error { return b.client.Close() }

// Client returns the containerd client (for tests and diagnostics).
func (b *Backend) Client() *client.Client { return b.client }

// Namespace returns the containerd namespace of b.
func (b *Backend) Namespace() string { return b.cfg.Namespace }

func (b *Backend) nsCtx(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, b.cfg.Namespace)
}

func (b *Backend) cgroupPath(id string) string { return path.Join(b.cfg.CgroupParent, id) }

// List returns the ids of the containers in b's namespace, known to this
// process or not.
func (b *Backend) List(ctx context.Context) ([]string, error) {
	ctrs, err := b.client.Containers(b.nsCtx(ctx))
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(ctrs))
	for _, c := range ctrs {
		ids = append(ids, c.ID())
	}
	return ids, nil
}

// Cleanup removes everything a previous run left in b's namespace: every
// task and container, every snapshot except the committed bases and image
// layers, and stale FIFOs. The executor calls it once at start, before it
// creates containers.
func (b *Backend) Cleanup(ctx context.Context) error {
	logger := b.logger.Session("cleanup")
	ids, err := b.List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		logger.Info("deleting-leftover-container", lager.Data{"id": id})
		if err := b.Delete(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	if err := b.removeSnapshots(ctx, func(info snapshots.Info) bool {
		_, isBase := info.Labels[LabelBase]
		_, isLayer := info.Labels[labelSnapshotRef] // an image's, kept by its image
		return !((isBase || isLayer) && info.Kind == snapshots.KindCommitted)
	}); err != nil {
		errs = append(errs, err)
	}
	// FIFO directories and the mount points of interrupted imports (which
	// are unmounted first, never emptied through the mount).
	entries, _ := os.ReadDir(b.cfg.StateDir)
	for _, e := range entries {
		p := filepath.Join(b.cfg.StateDir, e.Name())
		if err := mount.UnmountAll(p, 0); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
		}
	}
	logger.Info("done", lager.Data{"containers": len(ids)})
	return errors.Join(errs...)
}

// removeSnapshots removes the snapshots for which remove is true, children
// first.
func (b *Backend) removeSnapshots(ctx context.Context, remove func(snapshots.Info) bool) error {
	ctx = b.nsCtx(ctx)
	sn := b.client.SnapshotService(b.cfg.Snapshotter)
	for pass := 0; ; pass++ {
		var victims []string
		parents := map[string]bool{}
		err := sn.Walk(ctx, func(_ context.Context, info snapshots.Info) error {
			if info.Parent != "" {
				parents[info.Parent] = true
			}
			if remove(info) {
				victims = append(victims, info.Name)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(victims) == 0 {
			return nil
		}
		if pass == 8 {
			return fmt.Errorf("snapshots %v could not be removed", victims)
		}
		for _, name := range victims {
			if parents[name] {
				continue
			}
			if err := sn.Remove(ctx, name); err != nil && !errdefs.IsNotFound(err) {
				return fmt.Errorf("removing snapshot %s: %w", name, err)
			}
		}
	}
}
