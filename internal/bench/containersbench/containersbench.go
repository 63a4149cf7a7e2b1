// Package containersbench measures the executor on a real cell (issue 6,
// auction-rep-executor §6): a private containerd, a CNI network of its own
// with host ports on 127.0.0.1, the busybox stack (a cached rootfs after
// the first container) and no health check:
//
//   - reserve → running, one container at a time (p50, p99);
//   - filling the cell: every container reserved and run at once, the time
//     until all run and the sustained starts per second;
//   - the overhead against raw containerd: `ctr run -d --rootfs` of the
//     same stack, one at a time, against the executor without a network
//     (the CNI network is what ctr does not do) and with it.
package containersbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/internal/bench/report"
	"github.com/diego-go/diego/internal/executor"
	"github.com/diego-go/diego/internal/executor/cellbackend"
	"github.com/diego-go/diego/internal/executor/containerd"
	"github.com/diego-go/diego/internal/executor/containerdtest"
	"github.com/diego-go/diego/internal/executor/logs"
	"github.com/diego-go/diego/internal/executor/network"
	"github.com/diego-go/diego/internal/executor/network/nettest"
	"github.com/diego-go/diego/internal/executor/rootfs"
	"github.com/diego-go/diego/internal/executor/steps"
	"github.com/diego-go/diego/internal/models"
)

// Options of a run.
type Options struct {
	// Containers fill the cell (250).
	Containers int
	// Sequential is the number of one-at-a-time starts measured (30).
	Sequential int
	// Raw is the number of `ctr run` starts measured (30).
	Raw int
}

// DefaultOptions are the figures.
func DefaultOptions() Options { return Options{Containers: 250, Sequential: 30, Raw: 30} }

const ns = "diego-bench"

type bench struct {
	daemon *containerdtest.Daemon
	ctr    *containerd.Backend
	net    *network.Manager
	stack  string
}

// Run runs the scenario and writes its report to out.
func Run(ctx context.Context, opts Options, out io.Writer) (err error) {
	if opts.Containers <= 0 || opts.Sequential <= 0 || opts.Raw <= 0 {
		return errors.New("containers, sequential and raw must be positive")
	}
	b := &bench{}
	defer func() { err = errors.Join(err, b.close()) }()
	if err := b.setUp(ctx); err != nil {
		return err
	}

	withNet, err := b.executor(ctx, true)
	if err != nil {
		return err
	}
	// The first container imports the stack: not measured.
	if _, err := withNet.start(ctx, []string{"warm-up"}); err != nil {
		return err
	}
	if err := withNet.deleteAll(ctx); err != nil {
		return err
	}
	seqNet, err := withNet.sequential(ctx, "seq", opts.Sequential)
	if err != nil {
		return err
	}
	guids := make([]string, opts.Containers)
	for i := range guids {
		guids[i] = fmt.Sprintf("fill-%03d", i)
	}
	fillStart := time.Now()
	fillLat, err := withNet.start(ctx, guids)
	if err != nil {
		return err
	}
	fill := time.Since(fillStart)
	delStart := time.Now()
	if err := withNet.deleteAll(ctx); err != nil {
		return err
	}
	deleteAll := time.Since(delStart)
	withNet.ex.Close()

	noNet, err := b.executor(ctx, false)
	if err != nil {
		return err
	}
	seqNoNet, err := noNet.sequential(ctx, "seqnn", opts.Sequential)
	if err != nil {
		return err
	}
	for i := range guids {
		guids[i] = fmt.Sprintf("fillnn-%03d", i)
	}
	fillNoNetStart := time.Now()
	if _, err := noNet.start(ctx, guids); err != nil {
		return err
	}
	fillNoNet := time.Since(fillNoNetStart)
	if err := noNet.deleteAll(ctx); err != nil {
		return err
	}
	noNet.ex.Close()

	raw, err := b.raw(ctx, opts.Raw)
	if err != nil {
		return err
	}

	startsPerSec := float64(opts.Containers) / fill.Seconds()
	overhead := pct(seqNoNet.Percentile(50), raw.Percentile(50))
	overheadNet := pct(seqNet.Percentile(50), raw.Percentile(50))
	t := report.Table{
		Title:  fmt.Sprintf("containers: executor on containerd (%s snapshotter), busybox stack cached, no health check, action `sleep`", b.daemon.Snapshotter),
		Header: []string{"measure", "count", "p50", "p99", "max"},
	}
	t.Row("reserve→running, one at a time, CNI network + host port", seqNet.Count(), seqNet.Percentile(50), seqNet.Percentile(99), seqNet.Max())
	t.Row("reserve→running, one at a time, no network", seqNoNet.Count(), seqNoNet.Percentile(50), seqNoNet.Percentile(99), seqNoNet.Max())
	t.Row("ctr run -d --rootfs (raw containerd)", raw.Count(), raw.Percentile(50), raw.Percentile(99), raw.Max())
	t.Row(fmt.Sprintf("reserve→running while filling %d", opts.Containers), fillLat.Count(), fillLat.Percentile(50), fillLat.Percentile(99), fillLat.Max())
	t.Print(out)
	fmt.Fprintf(out, "\nfill %d containers: %v (%.1f starts/s); delete them all: %v; fill without network: %v (%.1f starts/s)\n",
		opts.Containers, fill.Round(time.Millisecond), startsPerSec, deleteAll.Round(time.Millisecond),
		fillNoNet.Round(time.Millisecond), float64(opts.Containers)/fillNoNet.Seconds())
	fmt.Fprintf(out, "overhead against ctr (p50): %.0f%% without network, %.0f%% with the CNI network\n", overhead, overheadNet)
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "missed"
	}
	fillVerdict := "n/a (not 250 containers)"
	if opts.Containers == 250 {
		fillVerdict = verdict(fill <= 30*time.Second)
	}
	fmt.Fprintf(out, "targets: p50 <= 250 ms %s; p99 <= 1 s %s; >= 10 starts/s %s; fill 250 <= 30 s %s; overhead <= 25%% %s\n",
		verdict(seqNet.Percentile(50) <= 250*time.Millisecond), verdict(seqNet.Percentile(99) <= time.Second),
		verdict(startsPerSec >= 10), fillVerdict, verdict(overhead <= 25))
	return report.Result(out, "containers", map[string]any{
		"snapshotter":           b.daemon.Snapshotter,
		"containers":            opts.Containers,
		"start_p50_ms":          report.Ms(seqNet.Percentile(50)),
		"start_p99_ms":          report.Ms(seqNet.Percentile(99)),
		"start_nonet_p50_ms":    report.Ms(seqNoNet.Percentile(50)),
		"ctr_run_p50_ms":        report.Ms(raw.Percentile(50)),
		"fill_s":                fill.Seconds(),
		"fill_nonet_s":          fillNoNet.Seconds(),
		"fill_start_p99_ms":     report.Ms(fillLat.Percentile(99)),
		"starts_per_s":          startsPerSec,
		"delete_all_s":          deleteAll.Seconds(),
		"overhead_pct":          overhead,
		"overhead_with_net_pct": overheadNet,
	})
}

func pct(ours, raw time.Duration) float64 {
	if raw <= 0 {
		return 0
	}
	return 100 * float64(ours-raw) / float64(raw)
}

func (b *bench) setUp(ctx context.Context) error {
	d, err := containerdtest.StartDaemon()
	b.daemon = d
	if err != nil {
		return err
	}
	b.stack = filepath.Join(d.Dir, "stack")
	if err := rootfs.BuildBusybox(b.stack, ""); err != nil {
		return err
	}
	b.ctr, err = containerd.New(ctx, containerd.Config{
		Address: d.Address, Namespace: ns, Snapshotter: d.Snapshotter, CgroupParent: d.CgroupParent,
		RuncRoot: d.RuncRoot, StateDir: filepath.Join(d.Dir, "executor"),
		Stacks: rootfs.Stacks{"busybox": b.stack},
	})
	if err != nil {
		return err
	}
	subnet, err := nettest.PickSubnet()
	if err != nil {
		return err
	}
	name := nettest.BridgePrefix + nettest.RandomHex(3)
	b.net, err = network.New(ctx, network.Config{
		BridgeName: name, ChainPrefix: name, Subnet: subnet.String(), HostIP: "127.0.0.1",
		PortRangeStart: 40000, PortRangeEnd: 40999, StateDir: filepath.Join(d.Dir, "network"),
	}, lager.NewLogger("bench"))
	return err
}

func (b *bench) close() error {
	var errs []error
	if b.net != nil {
		errs = append(errs, b.net.Destroy(context.Background()))
	}
	if b.ctr != nil {
		errs = append(errs, b.ctr.Close())
	}
	if b.daemon != nil {
		errs = append(errs, b.daemon.Stop()...)
	}
	return errors.Join(errs...)
}

type cell struct {
	ex  *executor.Executor
	sub *executor.Subscription
}

func (b *bench) executor(ctx context.Context, withNetwork bool) (*cell, error) {
	cfg := cellbackend.Config{Containerd: b.ctr, MemoryMB: 1 << 20, DiskMB: 1 << 20, MaxContainers: 10000}
	if withNetwork {
		cfg.Network = b.net
	}
	be, err := cellbackend.New(cfg)
	if err != nil {
		return nil, err
	}
	tr, err := steps.NewTransformer(steps.Config{})
	if err != nil {
		return nil, err
	}
	ex, err := executor.New(ctx, executor.Config{CellID: "bench", Backend: be, Transformer: tr, LogSink: logs.Discard{}})
	if err != nil {
		return nil, err
	}
	return &cell{ex: ex, sub: ex.Subscribe()}, nil
}

// start reserves and runs guids at once and returns each one's
// reserve → running time once all run.
func (c *cell) start(ctx context.Context, guids []string) (*report.Latencies, error) {
	began := map[string]time.Time{}
	for _, guid := range guids {
		began[guid] = time.Now()
		if failed := c.ex.Allocate([]executor.AllocationRequest{{Guid: guid, Resource: executor.Resource{MemoryMB: 32, DiskMB: 64, MaxPids: 64}}}); len(failed) > 0 {
			return nil, fmt.Errorf("allocate %s: %w", guid, failed[0])
		}
		err := c.ex.RunContainer(executor.RunRequest{Guid: guid, RunInfo: executor.RunInfo{
			RootFSPath: containerdtest.BusyboxStack, Ports: []uint32{8080},
			Action:                     &models.Action{RunAction: &models.RunAction{Path: "/bin/sleep", Args: []string{"1000"}, User: "vcap"}},
			LogRateLimitBytesPerSecond: logs.Unlimited,
		}})
		if err != nil {
			return nil, err
		}
	}
	lat := &report.Latencies{}
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	for len(began) > 0 {
		e, err := c.sub.Next(waitCtx)
		if err != nil {
			return nil, fmt.Errorf("waiting for %d containers: %w", len(began), err)
		}
		t0, ok := began[e.Container.Guid]
		if !ok {
			continue
		}
		switch e.Type {
		case executor.EventContainerRunning:
			lat.Add(time.Since(t0))
			delete(began, e.Container.Guid)
		case executor.EventContainerComplete:
			return nil, fmt.Errorf("%s completed: %s", e.Container.Guid, e.Container.RunResult.FailureReason)
		}
	}
	return lat, nil
}

func (c *cell) sequential(ctx context.Context, prefix string, n int) (*report.Latencies, error) {
	all := &report.Latencies{}
	for i := range n {
		lat, err := c.start(ctx, []string{fmt.Sprintf("%s-%03d", prefix, i)})
		if err != nil {
			return nil, err
		}
		all.Merge(lat)
		if err := c.deleteAll(ctx); err != nil {
			return nil, err
		}
	}
	return all, nil
}

func (c *cell) deleteAll(ctx context.Context) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, ctr := range c.ex.ListContainers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.ex.DeleteContainer(ctx, ctr.Guid); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// raw times `ctr run -d --rootfs` of the stack, one at a time (the ctr
// process's own start is included, as an operator's would be).
func (b *bench) raw(ctx context.Context, n int) (*report.Latencies, error) {
	lat := &report.Latencies{}
	ctr := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "ctr", append([]string{"-a", b.daemon.Address, "-n", ns + "-raw"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("ctr %v: %v: %s", args, err, out)
		}
		return nil
	}
	// ctr mounts --rootfs as is: give it a copy it may write into.
	dir := filepath.Join(b.daemon.Dir, "raw-rootfs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := rootfs.BuildBusybox(dir, ""); err != nil {
		return nil, err
	}
	for i := range n {
		id := fmt.Sprintf("raw-%03d", i)
		t0 := time.Now()
		if err := ctr("run", "-d", "--cgroup", b.daemon.CgroupParent+"/"+id, "--rootfs", dir, id, "/bin/sleep", "1000"); err != nil {
			return nil, err
		}
		lat.Add(time.Since(t0))
		if err := ctr("task", "rm", "--force", id); err != nil {
			return nil, err
		}
		if err := ctr("container", "rm", id); err != nil {
			return nil, err
		}
	}
	return lat, nil
}
