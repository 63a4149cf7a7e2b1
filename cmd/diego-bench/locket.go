package main

import (
	"context"
	"errors"
	"flag"
	"os"

	"github.com/diego-go/diego/internal/bench/benchdb"
	"github.com/diego-go/diego/internal/bench/locketbench"
)

func runLocket(ctx context.Context, args []string) error {
	opts := locketbench.DefaultOptions()
	fs := flag.NewFlagSet("locket", flag.ContinueOnError)
	driver := fs.String("driver", "mysql", "database driver: mysql or postgres")
	admin := fs.String("admin-dsn", os.Getenv("DIEGO_TEST_MYSQL_DSN"), "DSN of a user who may create databases (default $DIEGO_TEST_MYSQL_DSN)")
	fs.IntVar(&opts.Presences, "presences", opts.Presences, "cells holding a presence")
	fs.Int64Var(&opts.TTL, "ttl", opts.TTL, "presence ttl in seconds")
	fs.DurationVar(&opts.Interval, "interval", opts.Interval, "presence refresh interval")
	fs.DurationVar(&opts.Duration, "duration", opts.Duration, "measured steady state")
	fs.IntVar(&opts.Conns, "conns", opts.Conns, "client connections shared by the holders")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *admin == "" {
		return errors.New("no database: pass -admin-dsn or run under scripts/with-testdbs.sh (make bench does)")
	}
	cfg, drop, err := benchdb.Create(ctx, *driver, *admin, "diego_bench_locket")
	if err != nil {
		return err
	}
	defer drop()
	opts.DB = cfg
	return locketbench.Run(ctx, opts, os.Stdout)
}
