// Package auctionnet is the `diego-bench auction-net` scenario: the
// auctioneer's round loop (internal/auctioneer/runner) against many
// simulated reps over loopback with mutual TLS. It measures what the
// in-process scheduler benchmark (auctionbench) leaves out: fetching
// /state from every cell, cold (new connections and full handshakes), warm
// (kept-alive connections) and resumed (new connections, TLS session
// resumption), and whole rounds placing a batch end to end: states,
// schedule, POST /work to every winner.
package auctionnet

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/auction"
	"github.com/diego-go/diego/internal/auctioneer/auctioneerclient"
	"github.com/diego-go/diego/internal/auctioneer/runner"
	"github.com/diego-go/diego/internal/auctioneer/simrep"
	"github.com/diego-go/diego/internal/bbs/cells"
	"github.com/diego-go/diego/internal/bench/report"
	"github.com/diego-go/diego/internal/certs"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/rep/repclient"
	"github.com/diego-go/diego/internal/rep/repmodels"
	"github.com/diego-go/diego/internal/tlsconfig"
	"github.com/prometheus/client_golang/prometheus"
)

// Options shape the scenario.
type Options struct {
	Cells     int // simulated reps
	Instances int // LRP instances placed in the end-to-end round
	Zones     int
	// Rounds is how many end-to-end rounds are run (the cells are emptied
	// between them; the median is reported).
	Rounds int
	// Workers is auction_runner_workers.
	Workers int
}

// DefaultOptions is the scenario of the issue: 1,000 cells, 10,000
// placements.
func DefaultOptions() Options {
	return Options{Cells: 1000, Instances: 10000, Zones: 3, Rounds: 3, Workers: runner.DefaultWorkers}
}

// countingBBS counts the failures rounds report.
type countingBBS struct{ lrps, tasks atomic.Int64 }

func (b *countingBBS) FailActualLRP(context.Context, *models.ActualLRPKey, string) error {
	b.lrps.Add(1)
	return nil
}

func (b *countingBBS) RejectTask(context.Context, string, string) error {
	b.tasks.Add(1)
	return nil
}

// env is the running scenario.
type env struct {
	reps    []*simrep.Rep
	client  *repclient.AuctionClient
	runner  *runner.Runner
	batch   *runner.Batch
	reg     *prometheus.Registry
	workers int
}

// Run sets the reps up, measures, prints the table and the RESULT line.
func Run(ctx context.Context, opts Options, w io.Writer) error {
	if opts.Cells < 1 || opts.Instances < 0 || opts.Zones < 1 || opts.Workers < 1 {
		return fmt.Errorf("auction-net: cells, zones and workers must be positive")
	}
	if opts.Rounds < 1 {
		opts.Rounds = 1
	}
	dir, err := os.MkdirTemp("", "auction-net")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	e, err := setup(dir, opts)
	if err != nil {
		return err
	}
	defer e.close()

	table := report.Table{
		Title:  fmt.Sprintf("diego-bench auction-net: %d simulated reps over loopback mTLS, auction_runner_workers %d", opts.Cells, opts.Workers),
		Header: []string{"phase", "cells answered", "items", "time", "cpu", "per second", "placed", "failed", "per cell"},
	}
	figures := map[string]any{"cells": opts.Cells, "instances": opts.Instances}

	fetch := func(name, key string) error {
		d, cpu, answered, err := e.fetchOnly(ctx)
		if err != nil {
			return err
		}
		table.Row(name, answered, "-", d, cpu, fmt.Sprintf("%.0f states", float64(answered)/d.Seconds()), "-", "-", "-")
		figures[key+"_s"] = d.Seconds()
		figures[key+"_cells_answered"] = answered
		return nil
	}
	if err := fetch("state fetch, cold (new connections, full handshakes)", "fetch_cold"); err != nil {
		return err
	}
	if err := fetch("state fetch, warm (kept-alive connections)", "fetch_warm"); err != nil {
		return err
	}
	e.client.CloseIdleConnections()
	if err := fetch("state fetch, resumed (new connections, TLS resumption)", "fetch_resumed"); err != nil {
		return err
	}

	var times []time.Duration
	var last roundResult
	for i := 0; i < opts.Rounds; i++ {
		for _, r := range e.reps {
			r.Reset()
		}
		res, err := e.placeRound(ctx, opts.Instances)
		if err != nil {
			return err
		}
		table.Row(fmt.Sprintf("round %d: %d instances end to end", i+1, opts.Instances), opts.Cells, opts.Instances, res.time, res.cpu,
			fmt.Sprintf("%.0f placements", float64(res.placed)/res.time.Seconds()), res.placed, res.failed,
			fmt.Sprintf("%d-%d", res.minPerCell, res.maxPerCell))
		times = append(times, res.time)
		last = res
	}
	table.Print(w)
	fmt.Fprintln(w, "\nstate fetch: one GET /state to every cell, concurrently; round: GET /state to every cell, schedule, POST /work to every winner; per cell: instances a cell holds after the round (min-max); cpu: the process's, reps' side included")

	med := median(times)
	figures["round_s"] = med.Seconds()
	figures["placements_per_s"] = float64(opts.Instances) / med.Seconds()
	figures["placed"] = last.placed
	figures["failed"] = last.failed
	figures["per_cell_spread"] = last.maxPerCell - last.minPerCell
	return report.Result(w, "auction-net", figures)
}

func setup(dir string, opts Options) (*env, error) {
	ca, err := certs.NewAuthority("auction-net CA")
	if err != nil {
		return nil, err
	}
	// One certificate for every rep, for their reference host names,
	// <cell-id>.cell.service.cf.internal, resolved to loopback below.
	srv, err := ca.WriteLeaf(filepath.Join(dir, "rep"), "rep", certs.LocalNames("rep", "*.cell.service.cf.internal"))
	if err != nil {
		return nil, err
	}
	cli, err := ca.WriteLeaf(filepath.Join(dir, "auctioneer"), "auctioneer", certs.LocalNames("auctioneer"))
	if err != nil {
		return nil, err
	}
	tc, err := tlsconfig.Server(tlsconfig.Files{CAFile: srv.CAFile, CertFile: srv.CertFile, KeyFile: srv.KeyFile})
	if err != nil {
		return nil, err
	}
	e := &env{batch: runner.NewBatch(), reg: prometheus.NewRegistry(), workers: opts.Workers}
	static := cells.NewStatic()
	for i := 0; i < opts.Cells; i++ {
		id := fmt.Sprintf("cell-%04d", i)
		r, err := simrep.Start(simrep.Config{
			CellID: id, CellIndex: i, Host: id + ".cell.service.cf.internal", Zone: "z" + strconv.Itoa(i%opts.Zones), TLS: tc,
			Total: repmodels.Resources{MemoryMB: 64 * 1024, DiskMB: 200 * 1024, Containers: 250},
		})
		if err != nil {
			e.close()
			return nil, fmt.Errorf("starting rep %d: %w", i, err)
		}
		e.reps = append(e.reps, r)
		static.Set(r.Presence())
	}
	e.client, err = repclient.NewAuctionClient(repclient.AuctionConfig{
		CAFile: cli.CAFile, CertFile: cli.CertFile, KeyFile: cli.KeyFile, SessionCacheSize: 4096,
		StateTimeout: 30 * time.Second, WorkTimeout: 30 * time.Second,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			var d net.Dialer
			return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
		},
	})
	if err != nil {
		e.close()
		return nil, err
	}
	e.runner, err = runner.New(runner.Config{
		Logger: lager.NewLogger("auction-net"), Batch: e.batch, Cells: static, Reps: e.client, BBS: &countingBBS{},
		Metrics: runner.NewMetrics(e.reg), Options: auction.DefaultOptions(), Workers: opts.Workers,
	})
	if err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *env) close() {
	for _, r := range e.reps {
		r.Close()
	}
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
}

// fetchOnly runs a round with an empty batch: it lists the cells, fetches
// every state and stops.
func (e *env) fetchOnly(ctx context.Context) (time.Duration, time.Duration, int, error) {
	before := e.stateCalls()
	cpu0, t0 := cpuTime(), time.Now()
	if err := e.runner.Round(ctx, ""); err != nil {
		return 0, 0, 0, err
	}
	d, cpu := time.Since(t0), cpuTime()-cpu0
	answered := e.stateCalls() - before
	return d, cpu, answered, nil
}

func (e *env) stateCalls() int {
	n := 0
	for _, r := range e.reps {
		s, _ := r.Calls()
		n += s
	}
	return n
}

type roundResult struct {
	time, cpu              time.Duration
	placed, failed         int
	minPerCell, maxPerCell int
}

// placeRound queues instances (apps of 10 instances of 256, 512 or 1024
// MB, as the reference's measurement) and runs one round.
func (e *env) placeRound(ctx context.Context, instances int) (roundResult, error) {
	sizes := []int32{256, 512, 1024}
	var starts []auctioneerclient.LRPStartRequest
	for app := 0; app*10 < instances; app++ {
		n := min(10, instances-app*10)
		indices := make([]int, n)
		for i := range indices {
			indices[i] = i
		}
		starts = append(starts, auctioneerclient.LRPStartRequest{
			ProcessGuid: fmt.Sprintf("app-%05d", app), Domain: "bench", Indices: indices,
			PlacementConstraint: auctioneerclient.PlacementConstraint{RootFs: "preloaded:cflinuxfs4"},
			Resource:            auctioneerclient.Resource{MemoryMB: sizes[app%len(sizes)], DiskMB: 1024},
		})
	}
	e.batch.AddLRPStarts(starts, "")
	cpu0, t0 := cpuTime(), time.Now()
	if err := e.runner.Round(ctx, ""); err != nil {
		return roundResult{}, err
	}
	res := roundResult{time: time.Since(t0), cpu: cpuTime() - cpu0, minPerCell: -1}
	for _, r := range e.reps {
		n := len(r.LRPs())
		res.placed += n
		if res.minPerCell < 0 || n < res.minPerCell {
			res.minPerCell = n
		}
		res.maxPerCell = max(res.maxPerCell, n)
	}
	res.failed = instances - res.placed
	return res, nil
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
