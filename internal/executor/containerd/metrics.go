package containerd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	cgroup1 "github.com/containerd/cgroups/v3/cgroup1/stats"
	cgroup2 "github.com/containerd/cgroups/v3/cgroup2/stats"
	tasks "github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/api/types"
	"github.com/containerd/typeurl/v2"
)

// metricsWorkers bounds the concurrent disk measurements of BulkMetrics (the
// reference's metrics_work_pool_size).
const metricsWorkers = 8

// ContainerMetrics are Garden's BulkMetrics of one container, which the
// executor turns into app metrics (§4.8).
type ContainerMetrics struct {
	// MemoryUsageBytes is the memory counted toward the limit, Garden's
	// TotalUsageTowardLimit: rss + cache + swap less the inactive file
	// cache the kernel can drop (v2: anon + file − inactive_file).
	MemoryUsageBytes uint64
	// MemoryLimitBytes is the container's limit (0 = none).
	MemoryLimitBytes uint64
	// DiskUsageBytes is what the container wrote (DiskUsage), rootfs
	// excluded; DiskLimitBytes its limit (0 = none).
	DiskUsageBytes uint64
	DiskLimitBytes uint64
	// CPUTime is the CPU time of all the container's processes.
	CPUTime time.Duration
	// Age is the time since the container was created.
	Age time.Duration
	// CPUEntitlement is Garden's absolute CPU entitlement: CPU shares ×
	// entitlement per share (percent of a core) / 100 × age.
	CPUEntitlement time.Duration
	// RxBytes and TxBytes count the container's network traffic on its
	// interfaces other than loopback.
	RxBytes, TxBytes uint64
}

// MetricsEntry is one container's metrics or the error getting them.
type MetricsEntry struct {
	Metrics ContainerMetrics
	Err     error
}

// Metrics returns c's current metrics.
func (c *Container) Metrics(ctx context.Context) (ContainerMetrics, error) {
	ctx = c.b.nsCtx(ctx)
	m, err := c.task.Metrics(ctx)
	if err != nil {
		return ContainerMetrics{}, fmt.Errorf("metrics of %s: %w", c.id, err)
	}
	return c.metrics(ctx, m)
}

// BulkMetrics returns the metrics of the containers ids, each with its own
// error (ErrNotFound for a container this backend did not create or has
// deleted). The cgroup statistics of all of them come in one containerd
// call; their disk usage is measured in parallel.
func (b *Backend) BulkMetrics(ctx context.Context, ids []string) map[string]MetricsEntry {
	ctx = b.nsCtx(ctx)
	out := make(map[string]MetricsEntry, len(ids))
	b.mu.Lock()
	known := make(map[string]*Container, len(ids))
	for _, id := range ids {
		if c := b.containers[id]; c != nil {
			known[id] = c
		} else {
			out[id] = MetricsEntry{Err: fmt.Errorf("%w: container %s", ErrNotFound, id)}
		}
	}
	b.mu.Unlock()
	if len(known) == 0 {
		return out
	}
	resp, err := b.client.TaskService().Metrics(ctx, &tasks.MetricsRequest{})
	stats := map[string]*types.Metric{}
	if err == nil {
		for _, m := range resp.Metrics {
			stats[m.ID] = m
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, metricsWorkers)
	for id, c := range known {
		m := stats[id]
		var entry MetricsEntry
		switch {
		case err != nil:
			entry.Err = fmt.Errorf("metrics of %s: %w", id, err)
		case m == nil:
			entry.Err = fmt.Errorf("%w: task of %s", ErrNotFound, id)
		}
		if entry.Err != nil {
			out[id] = entry
			continue
		}
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			cm, err := c.metrics(ctx, m)
			mu.Lock()
			out[id] = MetricsEntry{Metrics: cm, Err: err}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// metrics builds c's metrics from the task statistics m.
func (c *Container) metrics(ctx context.Context, m *types.Metric) (ContainerMetrics, error) {
	v, err := typeurl.UnmarshalAny(m.Data)
	if err != nil {
		return ContainerMetrics{}, fmt.Errorf("metrics of %s: %w", c.id, err)
	}
	var cm ContainerMetrics
	switch s := v.(type) {
	case *cgroup1.Metrics:
		cm.MemoryUsageBytes = memoryTowardLimitV1(s.GetMemory())
		cm.CPUTime = time.Duration(s.GetCPU().GetUsage().GetTotal())
	case *cgroup2.Metrics:
		cm.MemoryUsageBytes = memoryTowardLimitV2(s.GetMemory())
		cm.CPUTime = time.Duration(s.GetCPU().GetUsageUsec()) * time.Microsecond
	default:
		return ContainerMetrics{}, fmt.Errorf("metrics of %s: unknown type %T", c.id, v)
	}
	if c.spec.Linux != nil && c.spec.Linux.Resources != nil {
		res := c.spec.Linux.Resources
		if res.Memory != nil && res.Memory.Limit != nil && *res.Memory.Limit > 0 {
			cm.MemoryLimitBytes = uint64(*res.Memory.Limit)
		}
		if res.CPU != nil && res.CPU.Shares != nil {
			perShare, err := c.b.entitlementPerShare()
			if err != nil {
				return ContainerMetrics{}, err
			}
			cm.CPUEntitlement = cpuEntitlement(*res.CPU.Shares, perShare, time.Since(c.created))
		}
	}
	cm.Age = time.Since(c.created)
	if cm.DiskUsageBytes, err = c.DiskUsage(ctx); err != nil {
		return ContainerMetrics{}, err
	}
	cm.DiskLimitBytes = c.disk.limit
	cm.RxBytes, cm.TxBytes = netDev(c.task.Pid())
	return cm, nil
}

// memoryTowardLimitV1 is Garden's v1 formula:
// total_rss + total_cache + swap − total_inactive_file, at least 0.
func memoryTowardLimitV1(m *cgroup1.MemoryStat) uint64 {
	var swap uint64
	if withSwap, mem := m.GetSwap().GetUsage(), m.GetUsage().GetUsage(); withSwap > mem {
		swap = withSwap - mem // memsw counts memory + swap
	}
	return subClamp(m.GetTotalRSS()+m.GetTotalCache()+swap, m.GetTotalInactiveFile())
}

// memoryTowardLimitV2 is Garden's v2 formula: anon + file − inactive_file
// (swap is off in our containers).
func memoryTowardLimitV2(m *cgroup2.MemoryStat) uint64 {
	return subClamp(m.GetAnon()+m.GetFile(), m.GetInactiveFile())
}

func subClamp(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

// cpuEntitlement is Garden's: shares × (percent per share / 100) × age.
func cpuEntitlement(shares uint64, perShare float64, age time.Duration) time.Duration {
	return time.Duration(float64(shares) * (perShare / 100) * float64(age.Nanoseconds()))
}

// entitlementPerShare is Config.CPUEntitlementPerShare, or Garden's
// default: the cell's cores × 100 / its memory in MiB, which entitles a
// container to its share of the CPUs in proportion to its share of memory.
func (b *Backend) entitlementPerShare() (float64, error) {
	if b.cfg.CPUEntitlementPerShare > 0 {
		return b.cfg.CPUEntitlementPerShare, nil
	}
	b.hostShares.once.Do(func() {
		var memMiB uint64
		memMiB, b.hostShares.err = hostMemoryMiB()
		if b.hostShares.err == nil {
			b.hostShares.perShare = float64(runtime.NumCPU()*100) / float64(memMiB)
		}
	})
	return b.hostShares.perShare, b.hostShares.err
}

// hostShares caches the default entitlement per share.
type hostShares struct {
	once     sync.Once
	perShare float64
	err      error
}

func hostMemoryMiB() (uint64, error) {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseUint(fields[1], 10, 64)
			if err != nil || kb < 1024 {
				break
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("no MemTotal in /proc/meminfo")
}

// netDev sums the received and sent bytes of the interfaces other than
// loopback in the network namespace of pid.
func netDev(pid uint32) (rx, tx uint64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", pid))
	if err != nil {
		return 0, 0
	}
	return parseNetDev(data)
}

// parseNetDev reads /proc/net/dev: two header lines, then
// `iface: rx_bytes packets errs drop fifo frame compressed multicast
// tx_bytes ...`.
func parseNetDev(data []byte) (rx, tx uint64) {
	for _, line := range strings.Split(string(data), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 9 {
			continue
		}
		r, err1 := strconv.ParseUint(f[0], 10, 64)
		t, err2 := strconv.ParseUint(f[8], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		rx += r
		tx += t
	}
	return rx, tx
}
