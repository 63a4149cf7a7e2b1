package main

import (
	"context"
	"flag"
	"os"

	"github.com/diego-go/diego/internal/bench/auctionnet"
)

// runAuctionNet is `diego-bench auction-net`: the auctioneer's rounds
// against simulated reps over loopback mutual TLS.
func runAuctionNet(ctx context.Context, args []string) error {
	opts := auctionnet.DefaultOptions()
	fs := flag.NewFlagSet("auction-net", flag.ContinueOnError)
	fs.IntVar(&opts.Cells, "cells", opts.Cells, "simulated reps")
	fs.IntVar(&opts.Instances, "instances", opts.Instances, "LRP instances placed per end-to-end round")
	fs.IntVar(&opts.Zones, "zones", opts.Zones, "zones the cells are spread over")
	fs.IntVar(&opts.Rounds, "rounds", opts.Rounds, "end-to-end rounds (the median is reported)")
	fs.IntVar(&opts.Workers, "workers", opts.Workers, "auction_runner_workers: concurrent /state and /work calls")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return auctionnet.Run(ctx, opts, os.Stdout)
}
