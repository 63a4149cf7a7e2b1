package main

import (
	"context"
	"flag"

	"github.com/diego-go/diego/internal/bench/bbsbench"
)

func runBBSEvents(ctx context.Context, args []string) error {
	cfg := bbsbench.DefaultEventsConfig()
	fs := flag.NewFlagSet("bbs-events", flag.ContinueOnError)
	check := bbsFlags(fs, &cfg.Config)
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "writes per second")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := check(); err != nil {
		return err
	}
	return bbsbench.RunEvents(ctx, cfg, progress)
}
