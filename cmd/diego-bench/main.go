// Command diego-bench runs benchmark scenarios and prints, for each, a
// readable table and a last line `RESULT {json}`.
//
//	diego-bench locket [flags]
//	diego-bench bbs-list|bbs-writes|convergence|bbs-events [flags]
//	diego-bench containers [flags]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

var scenarios = map[string]func(ctx context.Context, args []string) error{
	"locket":      runLocket,
	"auction":     runAuction,
	"auction-net": runAuctionNet,
	"bbs-list":    runBBSList,
	"bbs-writes":  runBBSWrites,
	"convergence": runConvergence,
	"bbs-events":  runBBSEvents,
	"containers":  runContainers,
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: diego-bench SCENARIO [flags]

scenarios:
  locket       presences and locks refreshed against locket on a real database
  auction      the scheduler in process on the reference workload
  auction-net  the auctioneer against 1,000 simulated reps over loopback mTLS
  bbs-list     bulk lists and per-cell lists of a BBS holding 200,000 actual LRPs
  bbs-writes   rep-like writes: steady rate, saturation, every cell's bulk loop
  convergence  convergence pass time, idle and under load; a vanished cell's instances
  bbs-events   1,000 cell-filtered event subscribers and a global one under writes
  containers   the executor on a real cell: start latency, filling 250, overhead against ctr`)
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	run, ok := scenarios[os.Args[1]]
	if !ok {
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if path := os.Getenv("DIEGO_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	if err := run(ctx, os.Args[2:]); err != nil {
		if err == flag.ErrHelp {
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "diego-bench %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
