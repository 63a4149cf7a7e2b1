package main

import (
	"context"
	"flag"
	"os"

	"github.com/diego-go/diego/internal/bench/containersbench"
)

func runContainers(ctx context.Context, args []string) error {
	opts := containersbench.DefaultOptions()
	fs := flag.NewFlagSet("containers", flag.ContinueOnError)
	fs.IntVar(&opts.Containers, "containers", opts.Containers, "containers filling the cell")
	fs.IntVar(&opts.Sequential, "sequential", opts.Sequential, "one-at-a-time starts measured")
	fs.IntVar(&opts.Raw, "raw", opts.Raw, "`ctr run` starts measured")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return containersbench.Run(ctx, opts, os.Stdout)
}
