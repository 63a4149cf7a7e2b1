package main

import (
	"context"
	"flag"

	"github.com/diego-go/diego/internal/bench/bbsbench"
)

func runBBSWrites(ctx context.Context, args []string) error {
	cfg := bbsbench.DefaultWritesConfig()
	fs := flag.NewFlagSet("bbs-writes", flag.ContinueOnError)
	check := bbsFlags(fs, &cfg.Config)
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "steady writes per second")
	fs.IntVar(&cfg.SatWorkers, "sat-workers", cfg.SatWorkers, "closed-loop writers of the saturation phase")
	fs.DurationVar(&cfg.SatDuration, "sat-duration", cfg.SatDuration, "length of the saturation phase")
	fs.DurationVar(&cfg.BulkInterval, "bulk-interval", cfg.BulkInterval, "each cell's bulk loop interval")
	fs.DurationVar(&cfg.BulkDuration, "bulk-duration", cfg.BulkDuration, "length of the bulk loop phase (0: skip)")
	fs.IntVar(&cfg.BulkInFlight, "inflight", cfg.BulkInFlight, "requests in flight of all cells' bulk loops at most")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := check(); err != nil {
		return err
	}
	return bbsbench.RunWrites(ctx, cfg, progress)
}
