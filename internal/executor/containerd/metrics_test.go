package containerd_test

import (
	"errors"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/executor/containerd"
)

func TestMetricsReportMemoryCPUAndDisk(t *testing.T) {
	e := newEnv(t)
	const perShare = 0.5 // percent of a core per share
	b := e.backendWith(t, func(c *containerd.Config) { c.CPUEntitlementPerShare = perShare })
	ctx := testCtx(t)
	shares := containerd.CPUShares(50, 1024)
	c := createIn(t, b, containerd.ContainerSpec{ID: "metrics", RootFS: stack,
		MemoryLimitBytes: 256 << 20, DiskLimitBytes: 64 << 20, CPUShares: shares})
	idle := createIn(t, b, containerd.ContainerSpec{ID: "metrics-idle", RootFS: stack})

	before, err := c.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("idle: %+v", before)
	if before.MemoryLimitBytes != 256<<20 || before.DiskLimitBytes != 64<<20 {
		t.Errorf("limits = %d / %d, want 256 MiB / 64 MiB", before.MemoryLimitBytes, before.DiskLimitBytes)
	}

	// 48 MiB held in tmpfs memory (counted), a 48 MiB file written to disk
	// (its page cache is not), and a second of CPU.
	if st, lines := run(t, c, sh("dd if=/dev/zero of=/dev/shm/held bs=1M count=48 2>&1 && dd if=/dev/zero of=/home/vcap/file bs=1M count=48 2>&1 && sync")); st.Code != 0 {
		t.Fatalf("filling memory and disk: %+v %q", st, lines)
	}
	burn, err := c.Run(ctx, sh("end=$(($(date +%s) + 2)); while [ $(date +%s) -lt $end ]; do :; done"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := burn.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := c.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("busy: %+v", after)

	if grown := int64(after.MemoryUsageBytes) - int64(before.MemoryUsageBytes); grown < 48<<20 || grown > 80<<20 {
		t.Errorf("memory grew by %d bytes with 48 MiB held in tmpfs and 48 MiB of file cache, want 48..80 MiB", grown)
	}
	if after.DiskUsageBytes < 48<<20 || after.DiskUsageBytes > 52<<20 {
		t.Errorf("disk usage = %d after writing 48 MiB", after.DiskUsageBytes)
	}
	if after.CPUTime < 500*time.Millisecond || after.CPUTime > 4*time.Second {
		t.Errorf("cpu time = %v after a 1-2 s busy loop", after.CPUTime)
	}
	if after.Age <= before.Age {
		t.Errorf("age went from %v to %v", before.Age, after.Age)
	}
	want := time.Duration(float64(shares) * perShare / 100 * float64(after.Age))
	if d := after.CPUEntitlement - want; d < -want/10 || d > want/10 {
		t.Errorf("cpu entitlement = %v, want ≈ %v (%d shares × %v%% × %v)", after.CPUEntitlement, want, shares, perShare, after.Age)
	}

	// The bulk call gives the same, per container, and says which one is
	// unknown.
	bulk := b.BulkMetrics(ctx, []string{"metrics", "metrics-idle", "no-such"})
	if len(bulk) != 3 {
		t.Fatalf("BulkMetrics = %d entries, want 3", len(bulk))
	}
	if m := bulk["metrics"]; m.Err != nil || m.Metrics.DiskUsageBytes != after.DiskUsageBytes || m.Metrics.CPUTime < after.CPUTime {
		t.Errorf("bulk metrics = %+v, want those of Metrics (%+v)", m, after)
	}
	if m := bulk["metrics-idle"]; m.Err != nil || m.Metrics.CPUTime >= after.CPUTime || m.Metrics.MemoryUsageBytes >= after.MemoryUsageBytes || m.Metrics.DiskUsageBytes > 1<<20 {
		t.Errorf("idle container's bulk metrics = %+v", m)
	}
	if m := bulk["no-such"]; !errors.Is(m.Err, containerd.ErrNotFound) {
		t.Errorf("unknown container: %+v, want ErrNotFound", m)
	}
	_ = idle
}
