package main

import (
	"errors"
	"flag"
	"os"
	"path/filepath"

	"github.com/diego-go/diego/internal/bench/bbsbench"
)

// bbsFlags registers the flags every BBS scenario shares on fs; call the
// returned function after Parse to resolve the binaries and check the
// database.
func bbsFlags(fs *flag.FlagSet, cfg *bbsbench.Config) func() error {
	fs.StringVar(&cfg.Driver, "driver", cfg.Driver, "database driver: mysql or postgres")
	fs.StringVar(&cfg.AdminDSN, "admin-dsn", cfg.AdminDSN, "DSN of a user who may create databases (default $DIEGO_TEST_MYSQL_DSN)")
	fs.IntVar(&cfg.DBPid, "db-pid", cfg.DBPid, "pid of the database server, for its CPU use (default $DIEGO_TEST_MYSQL_PID)")
	fs.StringVar(&cfg.BBSBin, "bbs-bin", "", "the BBS binary under test (default: bbs next to diego-bench)")
	fs.StringVar(&cfg.RefBBSBin, "ref-bbs-bin", "", "a second BBS binary (the reference) to run the same scenario against and compare")
	fs.StringVar(&cfg.LocketBin, "locket-bin", "", "the locket binary (default: locket next to diego-bench)")
	fs.IntVar(&cfg.Fleet.LRPs, "lrps", cfg.Fleet.LRPs, "desired LRPs")
	fs.IntVar(&cfg.Fleet.Instances, "instances", cfg.Fleet.Instances, "instances of each desired LRP")
	fs.IntVar(&cfg.Fleet.Cells, "cells", cfg.Fleet.Cells, "simulated cells")
	fs.BoolVar(&cfg.Fleet.BareActuals, "bare-actuals", false, "actual LRPs without metric tags (older reps); current reps report about 11")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "length of the measured steady phases")
	fs.StringVar(&cfg.ProfileDir, "profile", "", "directory for CPU profiles of the BBS taken during the main phases")
	fs.BoolVar(&cfg.KeepDir, "keep", false, "keep the work directory (configs, daemon logs)")
	return func() error {
		if cfg.AdminDSN == "" {
			return errors.New("no database: pass -admin-dsn or run under scripts/with-testdbs.sh (make bench does)")
		}
		if cfg.Fleet.LRPs <= 0 || cfg.Fleet.Instances <= 0 || cfg.Fleet.Cells <= 0 {
			return errors.New("-lrps, -instances and -cells must be positive")
		}
		var err error
		if cfg.BBSBin, err = besideMe(cfg.BBSBin, "bbs"); err != nil {
			return err
		}
		if cfg.LocketBin, err = besideMe(cfg.LocketBin, "locket"); err != nil {
			return err
		}
		if cfg.RefBBSBin != "" {
			if cfg.RefBBSBin, err = filepath.Abs(cfg.RefBBSBin); err != nil {
				return err
			}
		}
		return nil
	}
}

// besideMe returns path made absolute, or the binary name next to this
// executable when path is empty.
func besideMe(path, name string) (string, error) {
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", err
		}
		path = filepath.Join(filepath.Dir(exe), name)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", errors.New(name + " binary: " + err.Error() + " (run make build, or pass -" + name + "-bin)")
	}
	return abs, nil
}
