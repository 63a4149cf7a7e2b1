package containerd

import (
	"testing"
	"time"

	cgroup1 "github.com/containerd/cgroups/v3/cgroup1/stats"
	cgroup2 "github.com/containerd/cgroups/v3/cgroup2/stats"
)

func TestParseNetDevSumsInterfacesButLoopback(t *testing.T) {
	const dev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  999999      10    0    0    0     0          0         0   999999      10    0    0    0     0       0          0
  eth0:    1500      12    0    0    0     0          0         0      700       9    0    0    0     0       0          0
  eth1:      20       1    0    0    0     0          0         0       30       1    0    0    0     0       0          0
 bad0: x y
`
	rx, tx := parseNetDev([]byte(dev))
	if rx != 1520 || tx != 730 {
		t.Errorf("parseNetDev = %d, %d; want 1520, 730", rx, tx)
	}
	if rx, tx := parseNetDev(nil); rx != 0 || tx != 0 {
		t.Errorf("empty: %d, %d", rx, tx)
	}
}

func TestMemoryTowardLimitExcludesInactiveFileCache(t *testing.T) {
	v1 := &cgroup1.MemoryStat{
		TotalRSS: 100, TotalCache: 50, TotalInactiveFile: 30,
		Usage: &cgroup1.MemoryEntry{Usage: 150},
		Swap:  &cgroup1.MemoryEntry{Usage: 170}, // memory + 20 swap
	}
	if got := memoryTowardLimitV1(v1); got != 100+50+20-30 {
		t.Errorf("v1 = %d, want 140", got)
	}
	if got := memoryTowardLimitV1(&cgroup1.MemoryStat{TotalRSS: 1, TotalInactiveFile: 5}); got != 0 {
		t.Errorf("v1 with more inactive file than usage = %d, want 0", got)
	}
	if got := memoryTowardLimitV2(&cgroup2.MemoryStat{Anon: 100, File: 50, InactiveFile: 30}); got != 120 {
		t.Errorf("v2 = %d, want 120", got)
	}
	if got := memoryTowardLimitV1(nil); got != 0 {
		t.Errorf("v1 without stats = %d", got)
	}
}

func TestCPUEntitlementIsGardens(t *testing.T) {
	// 512 shares at 0.1 % of a core per share for 10 s: 5.12 s of CPU.
	if got := cpuEntitlement(512, 0.1, 10*time.Second); got != 5120*time.Millisecond {
		t.Errorf("cpuEntitlement = %v, want 5.12s", got)
	}
	if got := cpuEntitlement(0, 0.1, time.Hour); got != 0 {
		t.Errorf("no shares: %v", got)
	}
}
