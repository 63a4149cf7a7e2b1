package containerd_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/executor/containerd"
)

func TestDiskLimitStopsAContainerThatWritesPastIt(t *testing.T) {
	e := newEnv(t)
	const interval = 100 * time.Millisecond
	b := e.backendWith(t, func(c *containerd.Config) { c.DiskCheckInterval = interval })
	const limit = 8 << 20
	ctx := testCtx(t)

	within := createIn(t, b, containerd.ContainerSpec{ID: "disk-within", RootFS: stack, DiskLimitBytes: limit})
	over := createIn(t, b, containerd.ContainerSpec{ID: "disk-over", RootFS: stack, DiskLimitBytes: limit})
	if within.DiskLimit() != limit {
		t.Errorf("DiskLimit() = %d, want %d", within.DiskLimit(), limit)
	}

	// 2 MiB stays within the limit; the process then waits.
	small, err := within.Run(ctx, sh("dd if=/dev/zero of=/home/vcap/small bs=1M count=2 2>/dev/null && sync && exec sleep 1000"))
	if err != nil {
		t.Fatal(err)
	}
	var usage uint64
	for deadline := time.Now().Add(10 * time.Second); usage < 2<<20; {
		if usage, err = within.DiskUsage(ctx); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("usage %d never reached the 2 MiB written", usage)
		}
		time.Sleep(interval / 2)
	}
	if usage > 3<<20 {
		t.Errorf("usage %d after writing 2 MiB, want about 2 MiB", usage)
	}

	// 16 MiB goes past it: the whole container is killed within a few
	// check intervals, and the reason is recorded.
	start := time.Now()
	big, err := over.Run(ctx, sh("dd if=/dev/zero of=/tmp/big bs=1M count=16 2>/dev/null; exec sleep 1000"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := big.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stopped := time.Since(start)
	if st.Code != 128+9 {
		t.Errorf("writer status = %+v, want 137 (SIGKILL)", st)
	}
	reason := over.Exceeded()
	if !errors.Is(reason, containerd.ErrDiskLimitExceeded) || !strings.Contains(reason.Error(), "disk quota exceeded") {
		t.Errorf("Exceeded() = %v, want ErrDiskLimitExceeded", reason)
	}
	t.Logf("stopped %v after the write started: %v", stopped, reason)
	if stopped > 5*time.Second {
		t.Errorf("stopping took %v with a %v check interval", stopped, interval)
	}
	// Its init is gone too: nothing more runs in it.
	if p, err := over.Run(ctx, sh("true")); err == nil {
		if st, _ := p.Wait(ctx); st.Code == 0 {
			t.Errorf("a process still ran in the stopped container")
		}
	}

	// The other one, within its limit, still runs after many checks.
	select {
	case <-time.After(10 * interval):
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	if err := within.Exceeded(); err != nil {
		t.Errorf("container within its limit: Exceeded() = %v", err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if st, err := small.Wait(waitCtx); err == nil {
		t.Errorf("process within the limit exited: %+v", st)
	}

	// Deleting ends the watchers; the stopped container deletes cleanly.
	for _, id := range []string{"disk-within", "disk-over"} {
		if err := b.Delete(ctx, id); err != nil {
			t.Errorf("Delete(%s): %v", id, err)
		}
	}
}
