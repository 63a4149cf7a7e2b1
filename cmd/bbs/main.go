// Command bbs serves the Bulletin Board System API: desired and actual
// LRPs, tasks, domains and events, over HTTPS with mutual TLS, on SQL.
//
//	bbs -config bbs.json
package main

import (
	"flag"
	"fmt"
	"os"

	bbsdaemon "github.com/diego-go/diego/internal/bbs/daemon"
	"github.com/diego-go/diego/internal/daemon"
	"github.com/diego-go/diego/internal/logging"
)

func main() {
	configPath := flag.String("config", "", "path to the BBS JSON configuration file")
	flag.Parse()

	cfg := bbsdaemon.DefaultConfig()
	if err := daemon.LoadConfig(*configPath, &cfg); err != nil {
		daemon.ConfigError("bbs", err)
	}
	if err := cfg.Validate(); err != nil {
		daemon.ConfigError("bbs", err)
	}
	logger, sink, err := logging.New(cfg.SessionName, cfg.LagerConfig, os.Stdout)
	if err != nil {
		daemon.ConfigError("bbs", err)
	}

	b, err := bbsdaemon.New(logger, sink, cfg)
	if err != nil {
		logger.Error("failed-to-start", err)
		fmt.Fprintf(os.Stderr, "bbs: %v\n", err)
		os.Exit(1)
	}
	err = daemon.Run(logger, b.Members)
	b.Close()
	if err != nil {
		os.Exit(1)
	}
}
