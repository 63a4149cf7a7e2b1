package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/diego-go/diego/internal/bench/auctionbench"
)

func runAuction(_ context.Context, args []string) error {
	opts := auctionbench.DefaultOptions()
	fs := flag.NewFlagSet("auction", flag.ContinueOnError)
	workloads := fs.String("workloads", strings.Join(opts.Workloads, ","), "workloads: uniform, same-size, existing, sim-mix")
	cells := fs.String("cells", joinInts(opts.Cells), "cell counts")
	instances := fs.String("instances", joinInts(opts.Instances), "instances to place per round")
	fs.IntVar(&opts.Repeat, "repeat", opts.Repeat, "runs per configuration (the median is reported)")
	fs.Uint64Var(&opts.Seed, "seed", opts.Seed, "seed of the generated workloads")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts.Workloads = strings.Split(*workloads, ",")
	var err error
	if opts.Cells, err = parseInts(*cells); err != nil {
		return fmt.Errorf("-cells: %w", err)
	}
	if opts.Instances, err = parseInts(*instances); err != nil {
		return fmt.Errorf("-instances: %w", err)
	}
	return auctionbench.Run(opts, os.Stdout)
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}
