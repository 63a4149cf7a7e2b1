package containerd

import (
	"context"
	"fmt"
	"os"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/containerd/containerd/v2/core/leases"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/continuity/fs"
	"github.com/containerd/errdefs"

	"github.com/diego-go/diego/internal/executor/rootfs"
)

// baseSnapshot returns the name of the committed snapshot holding the stack
// directory dir, importing it the first time (in this process or any
// earlier one: the name is derived from the directory's content).
func (b *Backend) baseSnapshot(ctx context.Context, dir string) (string, error) {
	b.baseMu.Lock()
	defer b.baseMu.Unlock()
	if name, ok := b.bases[dir]; ok {
		return name, nil
	}
	digest, err := rootfs.Digest(dir)
	if err != nil {
		return "", err
	}
	name := "diego/base/sha256:" + digest
	sn := b.client.SnapshotService(b.cfg.Snapshotter)
	if _, err := sn.Stat(ctx, name); err == nil {
		b.bases[dir] = name
		return name, nil
	} else if !errdefs.IsNotFound(err) {
		return "", err
	}
	if err := b.importBase(ctx, dir, name); err != nil {
		return "", err
	}
	b.bases[dir] = name
	return name, nil
}

// importBase copies dir into a new snapshot and commits it as name, pinned
// against containerd's garbage collector.
func (b *Backend) importBase(ctx context.Context, dir, name string) (err error) {
	logger := b.logger.Session("import-base", lager.Data{"dir": dir, "snapshot": name})
	start := time.Now()
	// A lease keeps the half-made snapshot from the garbage collector.
	ctx, done, err := b.client.WithLease(ctx, leases.WithRandomID(), leases.WithExpiration(time.Hour))
	if err != nil {
		return err
	}
	defer func() { _ = done(context.WithoutCancel(ctx)) }()

	sn := b.client.SnapshotService(b.cfg.Snapshotter)
	key := fmt.Sprintf("diego/extract/%s-%d", name, time.Now().UnixNano())
	mounts, err := sn.Prepare(ctx, key, "")
	if err != nil {
		return fmt.Errorf("preparing base snapshot: %w", err)
	}
	defer func() {
		if err != nil {
			_ = sn.Remove(context.WithoutCancel(ctx), key)
		}
	}()
	target, err := os.MkdirTemp(b.cfg.StateDir, "import-")
	if err != nil {
		return err
	}
	defer os.Remove(target)
	if err := mount.All(mounts, target); err != nil {
		return fmt.Errorf("mounting base snapshot: %w", err)
	}
	copyErr := fs.CopyDir(target, dir)
	if err := mount.UnmountAll(target, 0); err != nil {
		return fmt.Errorf("unmounting base snapshot: %w", err)
	}
	if copyErr != nil {
		return fmt.Errorf("copying %s into the base snapshot: %w", dir, copyErr)
	}
	labels := map[string]string{
		LabelBase:   dir,
		labelGCRoot: time.Now().UTC().Format(time.RFC3339),
		LabelOwner:  b.cfg.Owner,
	}
	if err := sn.Commit(ctx, name, key, snapshots.WithLabels(labels)); err != nil {
		if errdefs.IsAlreadyExists(err) {
			_ = sn.Remove(ctx, key)
			return nil // another executor on this containerd got there first
		}
		return fmt.Errorf("committing base snapshot: %w", err)
	}
	logger.Info("imported", lager.Data{"duration": time.Since(start).String()})
	return nil
}
