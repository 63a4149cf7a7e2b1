package bbsbench

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/diego-go/diego/internal/bbs/routes"
	"github.com/diego-go/diego/internal/bench/report"
	"github.com/diego-go/diego/internal/models"
)

// ListConfig is the bbs-list scenario: for each shape, the bulk lists
// (all actual LRPs, all scheduling infos) on an idle BBS, then every cell
// listing its own instances every PollInterval, alone and while the bulk
// lists run back to back.
type ListConfig struct {
	Config
	Shapes       []Fleet
	Repeats      int           // measured repetitions of each bulk list
	PollInterval time.Duration // each cell's list interval (the rep's 30 s)
}

// DefaultListConfig is the two shapes.
func DefaultListConfig() ListConfig {
	c := ListConfig{Config: DefaultConfig(), Repeats: 5, PollInterval: 30 * time.Second}
	c.Shapes = []Fleet{{LRPs: 200000, Instances: 1, Cells: 1000}, {LRPs: 100000, Instances: 2, Cells: 1000}}
	return c
}

// RunList runs the scenario and prints a table per shape and the RESULT.
func RunList(ctx context.Context, cfg ListConfig, progress func(string, ...any)) error {
	result := map[string]any{"lrp_cells": cfg.Shapes[0].Cells, "duration_s": cfg.Duration.Seconds()}
	for _, shape := range cfg.Shapes {
		var runs []Run
		c := cfg
		c.Fleet = shape
		for _, target := range cfg.Targets() {
			runs = append(runs, listOnce(ctx, c, target, progress))
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		printRuns(cfg.Out, fmt.Sprintf("bbs-list: %d desired LRPs x %d instances on %d cells, MariaDB, encryption on", shape.LRPs, shape.Instances, shape.Cells), runs)
		result[shapeName(shape)] = resultFigures(runs)
	}
	return report.Result(cfg.Out, "bbs-list", result)
}

func listOnce(ctx context.Context, cfg ListConfig, target Target, progress func(string, ...any)) (run Run) {
	run.Target = target
	f := cfg.Fleet
	env, err := StartEnv(ctx, cfg.Config, target, progress)
	if err != nil {
		run.Err = err
		return run
	}
	defer env.Close()
	run.fig("seed_s", "seeding through SQL", "s", env.SeedElapsed.Seconds(), Neutral)
	if target.Name == "ours" {
		run.fig("view_load_s", "views loaded, after the first answer", "s", env.ViewLoadWait.Seconds(), Lower)
	}
	_, idle := env.Memory()
	lister, err := env.Client(5*time.Minute, 1)
	if err != nil {
		run.Err = err
		return run
	}
	defer lister.CloseIdleConnections()

	// The bulk lists are timed to the last byte of the answer, its
	// elements counted but not decoded: the BBS's time, not this client's
	// decoding (which, for 200,000 actual LRPs, takes a core for seconds).
	listActual := func(ctx context.Context) error {
		n, err := lister.CountListed(ctx, routes.ActualLRPs, &models.ActualLRPsRequest{}, 2)
		if err == nil && n != f.Total() {
			err = fmt.Errorf("listed %d actual LRPs, want %d", n, f.Total())
		}
		return err
	}
	listSched := func(ctx context.Context) error {
		n, err := lister.CountListed(ctx, routes.DesiredLRPSchedulingInfos, &models.DesiredLRPsRequest{}, 2)
		if err == nil && n != f.LRPs {
			err = fmt.Errorf("listed %d scheduling infos, want %d", n, f.LRPs)
		}
		return err
	}

	progress("%s: bulk lists on an idle BBS (%d repetitions each)", target.Name, cfg.Repeats)
	cpu := env.CPU.Sample()
	for _, l := range []struct {
		key, label string
		call       func(context.Context) error
	}{{"all_actual_lrps", "all actual LRPs", listActual}, {"all_scheduling_infos", "all scheduling infos", listSched}} {
		times, err := repeatTimed(ctx, cfg.Repeats, l.call)
		if err != nil {
			run.missing(l.key+"_s", l.label+" (median)", "s", Lower, "<= 1 s")
			run.note("%s failed: %v", l.label, err)
			continue
		}
		run.atMost(l.key+"_s", l.label+" (median)", "s", times[len(times)/2].Seconds(), Lower, 1)
		run.fig(l.key+"_max_s", l.label+" (slowest)", "s", times[len(times)-1].Seconds(), Lower)
	}
	run.note("CPU during the bulk lists: %s", env.CPU.Since(cpu))
	_, peakLists := env.Memory()

	pollers, err := env.newClients(8, requestTimeout)
	if err != nil {
		run.Err = err
		return run
	}
	defer closeClients(pollers)
	progress("%s: %d cells list their instances every %s, for %s", target.Name, f.Cells, cfg.PollInterval, cfg.Duration)
	var alone, loaded Sample
	cpu = env.CPU.Sample()
	pctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	pollCells(pctx, pollers, f, cfg.PollInterval, &alone)
	cancel()
	run.note("CPU while the cells poll: %s", env.CPU.Since(cpu))
	run.fig("cell_list_p50_ms", "one cell's actual LRPs p50", "ms", alone.P(50), Lower)
	run.atMost("cell_list_p99_ms", "one cell's actual LRPs p99", "ms", alone.P(99), Lower, 10)
	run.fig("cell_list_max_ms", "one cell's actual LRPs max", "ms", alone.P(100), Lower)
	run.fig("cell_list_failed", "cell lists failed", "", float64(alone.Failed()), Neutral)

	progress("%s: the same while the bulk lists run back to back, for %s", target.Name, cfg.Duration)
	cpu = env.CPU.Sample()
	pctx, cancel = context.WithTimeout(ctx, cfg.Duration)
	bulk := make(chan []time.Duration, 1)
	go func() {
		var ts []time.Duration
		for pctx.Err() == nil {
			t0 := time.Now()
			if listActual(ctx) == nil && listSched(ctx) == nil {
				ts = append(ts, time.Since(t0))
			}
		}
		bulk <- ts
	}()
	pollCells(pctx, pollers, f, cfg.PollInterval, &loaded)
	cancel()
	pairs := <-bulk
	run.note("CPU while the cells poll and the bulk lists run: %s", env.CPU.Since(cpu))
	run.fig("cell_list_p99_under_lists_ms", "one cell's list p99 during bulk lists", "ms", loaded.P(99), Lower)
	if len(pairs) > 0 {
		sort.Slice(pairs, func(i, j int) bool { return pairs[i] < pairs[j] })
		run.fig("bulk_pair_under_polling_s", "actual LRPs + scheduling infos while polled", "s", pairs[len(pairs)/2].Seconds(), Lower)
	}

	if cfg.ProfileDir != "" {
		for _, l := range []struct {
			name string
			call func(context.Context) error
		}{{"actual-lrps", listActual}, {"scheduling-infos", listSched}} {
			p := StartProfile(env.DebugURL(), 15*time.Second, cfg.ProfileDir, fmt.Sprintf("bbs-list-%s-%s-%s", shapeName(f), target.Name, l.name))
			deadline := time.Now().Add(15 * time.Second)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				_ = l.call(ctx)
			}
			run.note("%s", p.Wait())
		}
		run.note("%s", HeapProfile(env.DebugURL(), cfg.ProfileDir, fmt.Sprintf("bbs-list-%s-%s-heap", shapeName(f), target.Name)))
	}
	rss, peak := env.Memory()
	run.below("peak_rss_mib", "BBS peak RSS (VmHWM)", "MiB", mib(peak), Lower, 1024)
	run.fig("peak_rss_bulk_lists_mib", "BBS peak RSS after the idle bulk lists", "MiB", mib(peakLists), Lower)
	run.fig("idle_rss_mib", "BBS peak RSS before any list", "MiB", mib(idle), Lower)
	run.note("BBS RSS at the end: %.0f MiB", mib(rss))
	return run
}

// repeatTimed runs call once to warm up, then n times, and returns the n
// durations sorted.
func repeatTimed(ctx context.Context, n int, call func(context.Context) error) ([]time.Duration, error) {
	if err := call(ctx); err != nil {
		return nil, err
	}
	var ts []time.Duration
	for range n {
		t0 := time.Now()
		if err := call(ctx); err != nil {
			return nil, err
		}
		ts = append(ts, time.Since(t0))
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	return ts, nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
