package bbsbench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/bench/report"
)

// WritesConfig is the bbs-writes scenario: rep-like writes at a steady
// rate, then as fast as the BBS answers, then every cell's bulk loop
// (list its instances, re-start all of them at once) every BulkInterval.
type WritesConfig struct {
	Config
	Rate           float64       // steady requests per second
	SatWorkers     int           // closed-loop workers of the saturation phase
	SatDuration    time.Duration // length of the saturation phase
	BulkInterval   time.Duration // each cell's bulk loop interval (the rep's 30 s)
	BulkDuration   time.Duration // length of the bulk loop phase (0: skip it)
	BulkInFlight   int           // bound of the requests in flight of all cells
	BulkClients    int           // connection pools the cells share
	SteadyInFlight int           // bound of cycles in flight at the steady rate
}

// DefaultWritesConfig is the issue's: 1,000 writes/s, 1,000 cells whose
// bulk loops keep up to 25,000 requests in flight.
func DefaultWritesConfig() WritesConfig {
	return WritesConfig{Config: DefaultConfig(), Rate: 1000, SatWorkers: 64, SatDuration: 30 * time.Second,
		BulkInterval: 30 * time.Second, BulkDuration: 2 * time.Minute, BulkInFlight: 25000, BulkClients: 16, SteadyInFlight: 5000}
}

// RunWrites runs the scenario and prints the table and the RESULT.
func RunWrites(ctx context.Context, cfg WritesConfig, progress func(string, ...any)) error {
	var runs []Run
	for _, target := range cfg.Targets() {
		runs = append(runs, writesOnce(ctx, cfg, target, progress))
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	f := cfg.Fleet
	printRuns(cfg.Out, fmt.Sprintf("bbs-writes: %d actual LRPs on %d cells, MariaDB, encryption on", f.Total(), f.Cells), runs)
	res := resultFigures(runs)
	res["lrps"], res["instances"], res["cells"] = f.LRPs, f.Instances, f.Cells
	return report.Result(cfg.Out, "bbs-writes", res)
}

func writesOnce(ctx context.Context, cfg WritesConfig, target Target, progress func(string, ...any)) (run Run) {
	run.Target = target
	env, err := StartEnv(ctx, cfg.Config, target, progress)
	if err != nil {
		run.Err = err
		return run
	}
	defer env.Close()
	clients, err := env.newClients(8, requestTimeout)
	if err != nil {
		run.Err = err
		return run
	}
	defer closeClients(clients)
	in := newInstances(cfg.Fleet)

	progress("%s: %.0f writes/s (claim then start of an instance) for %s", target.Name, cfg.Rate, cfg.Duration)
	steady := &cycler{f: cfg.Fleet, clients: clients}
	cpu := env.CPU.Sample()
	prof := StartProfile(env.DebugURL(), cfg.Duration, cfg.ProfileDir, "bbs-writes-steady-"+target.Name)
	t0 := time.Now()
	sent, skipped := steady.paced(ctx, in, cfg.Rate, cfg.Duration, cfg.SteadyInFlight)
	el := time.Since(t0)
	all := steady.all()
	run.note("steady: CPU %s", env.CPU.Since(cpu))
	if p := prof.Wait(); p != "" {
		run.note("steady: %s", p)
	}
	run.fig("steady_rate", "steady writes achieved", "/s", float64(sent)/el.Seconds(), Neutral)
	run.atMost("steady_p50_ms", "steady write p50", "ms", all.P(50), Lower, 2)
	run.atMost("steady_p99_ms", "steady write p99", "ms", all.P(99), Lower, 20)
	run.fig("steady_max_ms", "steady write max", "ms", all.P(100), Lower)
	run.fig("steady_failed", "steady writes failed", "", float64(all.Failed()), Neutral)
	if skipped > 0 {
		run.note("steady: %d cycles not sent (%d already in flight)", skipped, cfg.SteadyInFlight)
	}
	for _, e := range all.TopErrors(3) {
		run.note("steady error: %s", e)
	}

	progress("%s: saturation, %d closed-loop writers for %s", target.Name, cfg.SatWorkers, cfg.SatDuration)
	sat := &cycler{f: cfg.Fleet, clients: clients}
	cpu = env.CPU.Sample()
	prof = StartProfile(env.DebugURL(), cfg.SatDuration, cfg.ProfileDir, "bbs-writes-saturation-"+target.Name)
	t0 = time.Now()
	n := sat.saturate(ctx, in, cfg.SatWorkers, cfg.SatDuration)
	el = time.Since(t0)
	all = sat.all()
	run.note("saturation: CPU %s", env.CPU.Since(cpu))
	if p := prof.Wait(); p != "" {
		run.note("saturation: %s", p)
	}
	run.fig("saturation_writes_per_s", fmt.Sprintf("saturation throughput (%d writers)", cfg.SatWorkers), "/s", float64(n)/el.Seconds(), Higher)
	run.fig("saturation_p50_ms", "saturation write p50", "ms", all.P(50), Lower)
	run.fig("saturation_p99_ms", "saturation write p99", "ms", all.P(99), Lower)
	run.fig("saturation_failed", "saturation writes failed", "", float64(all.Failed()), Neutral)

	if cfg.BulkDuration > 0 {
		bulkPhase(ctx, &run, env, cfg, progress)
	}
	run.atMost("presences_lost", "cell presences lost", "", float64(env.Cells.Lost()), Neutral, 0)
	run.fig("presence_refresh_failed", "presence refreshes failed", "", float64(env.Cells.Failures()), Neutral)
	_, peak := env.Memory()
	run.fig("peak_rss_mib", "BBS peak RSS (VmHWM)", "MiB", mib(peak), Lower)
	return run
}

// bulk is what the cells' bulk loops measured.
type bulk struct {
	fetch, starts, loops Sample
	notSent              atomic.Int64
	fetchedWrong         atomic.Int64
}

func bulkPhase(ctx context.Context, run *Run, env *Env, cfg WritesConfig, progress func(string, ...any)) {
	f := cfg.Fleet
	progress("%s: %d cells each list and re-start their instances every %s (%d starts/s needed), for %s",
		env.Target.Name, f.Cells, cfg.BulkInterval, int(float64(f.Total())/cfg.BulkInterval.Seconds()), cfg.BulkDuration)
	clients, err := env.newClients(cfg.BulkClients, requestTimeout)
	if err != nil {
		run.note("bulk loop: %v", err)
		return
	}
	defer closeClients(clients)
	var b bulk
	inFlight, capped := connectionBudget(cfg.BulkInFlight)
	if capped != "" {
		run.note("bulk loop: %s", capped)
	}
	cpu := env.CPU.Sample()
	prof := StartProfile(env.DebugURL(), min(cfg.BulkDuration, 30*time.Second), cfg.ProfileDir, "bbs-writes-bulk-"+env.Target.Name)
	t0 := time.Now()
	bulkLoops(ctx, clients, f, cfg.BulkInterval, cfg.BulkDuration, inFlight, &b, nil)
	el := time.Since(t0)
	run.note("bulk loop: CPU %s", env.CPU.Since(cpu))
	if p := prof.Wait(); p != "" {
		run.note("bulk loop: %s", p)
	}
	answered := b.starts.Count() - b.starts.Failed()
	run.fig("bulk_starts", "bulk loop: starts sent", "", float64(b.starts.Count()), Neutral)
	run.atMost("bulk_failed_or_over_10s", "bulk loop: requests failed or over 10 s", "", float64(b.starts.Failed()+b.fetch.Failed()+b.starts.Slow()), Neutral, 0)
	run.fig("bulk_not_sent", "bulk loop: starts never sent (phase over)", "", float64(b.notSent.Load()), Neutral)
	run.fig("bulk_start_p50_ms", "bulk loop: start p50", "ms", b.starts.P(50), Lower)
	run.fig("bulk_start_p99_ms", "bulk loop: start p99", "ms", b.starts.P(99), Lower)
	run.fig("bulk_start_max_ms", "bulk loop: start max", "ms", b.starts.P(100), Lower)
	run.fig("bulk_fetch_p99_ms", "bulk loop: cell list p99", "ms", b.fetch.P(99), Lower)
	run.fig("bulk_loop_p50_s", "bulk loop: one cell's loop p50", "s", b.loops.P(50)/1000, Lower)
	run.fig("bulk_loop_max_s", "bulk loop: one cell's loop max", "s", b.loops.P(100)/1000, Lower)
	run.fig("bulk_starts_per_s", "bulk loop: starts answered", "/s", float64(answered)/el.Seconds(), Higher)
	for _, e := range append(b.starts.TopErrors(3), b.fetch.TopErrors(2)...) {
		run.note("bulk loop error: %s", e)
	}
	if n := b.fetchedWrong.Load(); n > 0 {
		run.note("bulk loop: %d cell lists returned a wrong number of instances", n)
	}
}

// bulkLoops runs every cell's bulk loop for d: list the cell's actual LRPs,
// then StartActualLRP all of them at once (each request waiting for one
// of inFlight slots shared by every cell), every interval. The cells in
// skip (vanished ones) do not run.
func bulkLoops(ctx context.Context, clients []*bbsclient.Client, f Fleet, interval, d time.Duration, inFlight int, b *bulk, skip map[int]bool) {
	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	sem := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	for c := range f.Cells {
		if skip[c] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cellLoop(runCtx, clients[c%len(clients)], f, c, interval, sem, b)
		}()
	}
	wg.Wait()
}

func cellLoop(ctx context.Context, cl *bbsclient.Client, f Fleet, c int, interval time.Duration, sem chan struct{}, b *bulk) {
	var mine [][2]int
	for n := c; n < f.Total(); n += f.Cells {
		mine = append(mine, [2]int{n / f.Instances, n % f.Instances})
	}
	next := time.Now().Add(time.Duration(int64(interval) * int64(c) / int64(f.Cells)))
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		t0 := time.Now()
		next = t0.Add(interval)
		err := timed(context.WithoutCancel(ctx), &b.fetch, func(ctx context.Context) error {
			lrps, err := cl.ActualLRPs(ctx, bbsclient.ActualLRPFilter{CellID: CellID(c)})
			if err == nil && len(lrps) != len(mine) {
				b.fetchedWrong.Add(1)
			}
			return err
		})
		if err != nil {
			continue
		}
		var wg sync.WaitGroup
		for i, inst := range mine {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				b.notSent.Add(int64(len(mine) - i))
				wg.Wait()
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				req := f.StartRequest(inst[0], inst[1])
				_ = timed(context.WithoutCancel(ctx), &b.starts, func(ctx context.Context) error { return cl.StartActualLRP(ctx, req) })
			}()
		}
		wg.Wait()
		b.loops.Add(time.Since(t0), nil)
	}
}
