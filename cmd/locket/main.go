// Command locket serves locks and presences over gRPC with mutual TLS.
//
//	locket -config locket.json
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/diego-go/diego/internal/daemon"
	locketdaemon "github.com/diego-go/diego/internal/locket/daemon"
	"github.com/diego-go/diego/internal/logging"
)

func main() {
	configPath := flag.String("config", "", "path to the locket JSON configuration file")
	flag.Parse()

	cfg := locketdaemon.DefaultConfig()
	if err := daemon.LoadConfig(*configPath, &cfg); err != nil {
		daemon.ConfigError("locket", err)
	}
	if err := cfg.Validate(); err != nil {
		daemon.ConfigError("locket", err)
	}
	logger, sink, err := logging.New("locket", cfg.LagerConfig, os.Stdout)
	if err != nil {
		daemon.ConfigError("locket", err)
	}

	l, err := locketdaemon.New(logger, sink, cfg)
	if err != nil {
		logger.Error("failed-to-start", err)
		fmt.Fprintf(os.Stderr, "locket: %v\n", err)
		os.Exit(1)
	}
	defer l.Close()
	if err := daemon.Run(logger, l.Members); err != nil {
		l.Close()
		os.Exit(1)
	}
}
