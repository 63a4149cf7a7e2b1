package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/diego-go/diego/internal/bench/bbsbench"
)

func runBBSList(ctx context.Context, args []string) error {
	cfg := bbsbench.DefaultListConfig()
	fs := flag.NewFlagSet("bbs-list", flag.ContinueOnError)
	check := bbsFlags(fs, &cfg.Config)
	shapes := fs.String("shapes", "200000x1,100000x2", "shapes LRPSxINSTANCES to measure, comma separated (-lrps/-instances give a single one)")
	fs.IntVar(&cfg.Repeats, "repeats", cfg.Repeats, "measured repetitions of each bulk list")
	fs.DurationVar(&cfg.PollInterval, "poll-interval", cfg.PollInterval, "each cell's list interval")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := check(); err != nil {
		return err
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if explicit["lrps"] || explicit["instances"] {
		cfg.Shapes = []bbsbench.Fleet{cfg.Fleet}
	} else {
		cfg.Shapes = nil
		for _, s := range strings.Split(*shapes, ",") {
			f := cfg.Fleet
			if _, err := fmt.Sscanf(strings.TrimSpace(s), "%dx%d", &f.LRPs, &f.Instances); err != nil || f.LRPs <= 0 || f.Instances <= 0 {
				return fmt.Errorf("-shapes: %q is not LRPSxINSTANCES", s)
			}
			cfg.Shapes = append(cfg.Shapes, f)
		}
	}
	return bbsbench.RunList(ctx, cfg, progress)
}

// progress writes the scenarios' progress lines to stderr.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "# "+format+"\n", args...)
}
