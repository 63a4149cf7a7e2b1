package main

import (
	"context"
	"flag"

	"github.com/diego-go/diego/internal/bench/bbsbench"
)

func runConvergence(ctx context.Context, args []string) error {
	cfg := bbsbench.DefaultConvergenceConfig()
	fs := flag.NewFlagSet("convergence", flag.ContinueOnError)
	check := bbsFlags(fs, &cfg.Config)
	fs.DurationVar(&cfg.ConvergeInterval, "converge-interval", cfg.ConvergeInterval, "the BBS's converge_repeat_interval")
	fs.IntVar(&cfg.IdlePasses, "idle-passes", cfg.IdlePasses, "idle passes to measure")
	fs.IntVar(&cfg.LoadPasses, "load-passes", cfg.LoadPasses, "passes to measure under the bulk-loop load (0: skip)")
	fs.DurationVar(&cfg.LoadMax, "load-max", cfg.LoadMax, "longest wait for the passes under load")
	fs.DurationVar(&cfg.Writes.BulkInterval, "bulk-interval", cfg.Writes.BulkInterval, "each cell's bulk loop interval")
	fs.IntVar(&cfg.Writes.BulkInFlight, "inflight", cfg.Writes.BulkInFlight, "requests in flight of all cells' bulk loops at most")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := check(); err != nil {
		return err
	}
	cfg.Writes.Fleet = cfg.Fleet
	return bbsbench.RunConvergence(ctx, cfg, progress)
}
