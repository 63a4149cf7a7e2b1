// Command auctioneer places LRP instances and tasks on cells: it batches
// the BBS's auction requests, fetches every cell's state, schedules, and
// sends each winning rep its work. Only the holder of the locket lock
// "auctioneer" listens and schedules.
//
//	auctioneer -config auctioneer.json
package main

import (
	"flag"
	"fmt"
	"os"

	auctioneerdaemon "github.com/diego-go/diego/internal/auctioneer/daemon"
	"github.com/diego-go/diego/internal/daemon"
	"github.com/diego-go/diego/internal/logging"
)

func main() {
	configPath := flag.String("config", "", "path to the auctioneer JSON configuration file")
	flag.Parse()

	cfg := auctioneerdaemon.DefaultConfig()
	if err := daemon.LoadConfig(*configPath, &cfg); err != nil {
		daemon.ConfigError("auctioneer", err)
	}
	if err := cfg.Validate(); err != nil {
		daemon.ConfigError("auctioneer", err)
	}
	logger, sink, err := logging.New("auctioneer", cfg.LagerConfig, os.Stdout)
	if err != nil {
		daemon.ConfigError("auctioneer", err)
	}

	a, err := auctioneerdaemon.New(logger, sink, cfg)
	if err != nil {
		logger.Error("failed-to-start", err)
		fmt.Fprintf(os.Stderr, "auctioneer: %v\n", err)
		os.Exit(1)
	}
	err = daemon.Run(logger, a.Members)
	a.Close()
	if err != nil {
		os.Exit(1)
	}
}
