package containerd

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
)

// DefaultDiskCheckInterval is how often the usage of a container with a disk
// limit is measured.
const DefaultDiskCheckInterval = 5 * time.Second

// ErrDiskLimitExceeded is the reason a container was stopped for writing
// past its disk limit. Its text is the kernel's for EDQUOT, which is what
// an app sees under Garden's XFS quota.
var ErrDiskLimitExceeded = errors.New(syscall.EDQUOT.Error())

// diskWatch is the disk limit of one container and its watcher.
type diskWatch struct {
	limit uint64
	stop  chan struct{}
	done  chan struct{}

	mu       sync.Mutex
	exceeded error
}

// DiskUsage returns the bytes c has written: the size of its writable
// layer, the image or stack below excluded (the reference's disk usage
// minus the rootfs size). On overlayfs this is the size of the upper
// directory (what `du` reports); on the native snapshotter, whose writable
// layer is a full copy, the size of the copy minus that of its parent.
func (c *Container) DiskUsage(ctx context.Context) (uint64, error) {
	ctx = c.b.nsCtx(ctx)
	sn := c.b.client.SnapshotService(c.b.cfg.Snapshotter)
	u, err := sn.Usage(ctx, c.id)
	if err != nil {
		return 0, fmt.Errorf("disk usage of %s: %w", c.id, err)
	}
	size := u.Size
	if c.b.cfg.Snapshotter == "native" && c.parent != "" {
		if pu, err := sn.Usage(ctx, c.parent); err == nil {
			size -= pu.Size
		}
	}
	if size < 0 {
		size = 0
	}
	return uint64(size), nil
}

// DiskLimit returns c's disk limit in bytes (0 = none).
func (c *Container) DiskLimit() uint64 { return c.disk.limit }

// Exceeded returns the reason c was stopped, wrapping ErrDiskLimitExceeded,
// or nil if it was not. It is set before c's processes are killed, so a
// process whose Wait returns because of it sees it.
func (c *Container) Exceeded() error {
	c.disk.mu.Lock()
	defer c.disk.mu.Unlock()
	return c.disk.exceeded
}

// watchDisk starts the disk watcher of c if c has a limit: every
// DiskCheckInterval it measures c's usage and, over the limit, records the
// reason and SIGKILLs every process of c, init included. The watcher ends
// then, or when c is deleted.
func (c *Container) watchDisk(limit uint64) {
	c.disk.limit = limit
	if limit == 0 {
		return
	}
	c.disk.stop = make(chan struct{})
	c.disk.done = make(chan struct{})
	go c.diskLoop()
}

// stopDiskWatch ends the watcher of c and waits for it.
func (c *Container) stopDiskWatch() {
	if c.disk.stop == nil {
		return
	}
	c.disk.mu.Lock()
	select {
	case <-c.disk.stop:
	default:
		close(c.disk.stop)
	}
	c.disk.mu.Unlock()
	<-c.disk.done
}

func (c *Container) diskLoop() {
	defer close(c.disk.done)
	logger := c.b.logger.Session("disk-watch", lager.Data{"id": c.id, "limit": c.disk.limit})
	tick := time.NewTicker(c.b.cfg.DiskCheckInterval)
	defer tick.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.disk.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		usage, err := c.DiskUsage(ctx)
		if err != nil {
			if ctx.Err() != nil || errdefs.IsNotFound(err) || errors.Is(err, context.Canceled) {
				return // deleted, or the backend closed
			}
			logger.Error("failed-to-measure", err)
			continue
		}
		if usage <= c.disk.limit {
			continue
		}
		reason := fmt.Errorf("%w: container wrote %d bytes, over its disk limit of %d bytes", ErrDiskLimitExceeded, usage, c.disk.limit)
		c.disk.mu.Lock()
		c.disk.exceeded = reason
		c.disk.mu.Unlock()
		logger.Info("disk-limit-exceeded", lager.Data{"usage": usage})
		if err := c.task.Kill(c.b.nsCtx(ctx), syscall.SIGKILL, client.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
			logger.Error("failed-to-kill", err)
		}
		return
	}
}
