// Package runner is the auctioneer's batch loop (auction-rep-executor
// §1.3–1.7): it waits for work, finds the cells through their locket
// presences, fetches every cell's /state concurrently, drains the batch,
// asks the scheduler (internal/auction) for a plan, posts /work to the
// winners, and reports what could not be placed to the BBS.
//
//	POST /v1/lrps, /v1/tasks --> Batch --wake--> round:
//	    Cells() -> GET /state x N -> drain -> auction.Schedule -> POST /work x winners
//	    -> refused / unsent items: next round (bounded) -> BBS FailActualLRP / RejectTask
//
// Rounds never overlap; work arriving during a round waits for the next.
package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/auction"
	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/rep/repmodels"
)

// Cells lists the present cells (bbs/cells.Locket).
type Cells interface {
	Cells(ctx context.Context) ([]*models.CellPresence, error)
}

// Reps is how a round talks to cells (rep/repclient.AuctionClient).
type Reps interface {
	State(ctx context.Context, repURL string) (*repmodels.CellState, error)
	Perform(ctx context.Context, repURL string, work *repmodels.Work) (*repmodels.Work, error)
}

// BBS receives the failures (bbs/client.Client).
type BBS interface {
	FailActualLRP(ctx context.Context, key *models.ActualLRPKey, errorMessage string) error
	RejectTask(ctx context.Context, taskGuid, rejectionReason string) error
}

// Defaults of Config.
const (
	// DefaultWorkers is auction_runner_workers in the BOSH job.
	DefaultWorkers = 1000
	// DefaultMaxAttempts is how many rounds an item may go through before
	// a refusal by its cell, or a failed /work call, is reported as a
	// failure.
	DefaultMaxAttempts = 3
	// CellsRetryInterval separates attempts to list the cells (§1.4).
	CellsRetryInterval = time.Second
	// stateAttempts is how many times the states are fetched in a round
	// when no cell answers (§1.5).
	stateAttempts = 4
	// reportWorkers bounds the concurrent failure reports to the BBS.
	reportWorkers = 16
)

// MsgRejectedByCell is reported for an item its cell kept refusing in its
// /work answer (ours: the reference reports an empty message, which the
// BBS refuses, so the item is lost until convergence).
const MsgRejectedByCell = "cell rejected the work"

// Config is the runner's settings and dependencies.
type Config struct {
	Logger  lager.Logger
	Batch   *Batch
	Cells   Cells
	Reps    Reps
	BBS     BBS
	Metrics *Metrics // nil records nothing

	// Options are the scheduler's weights and in-flight limit.
	Options auction.Options
	// Workers bounds the concurrent /state and /work calls
	// (auction_runner_workers; 0 means DefaultWorkers).
	Workers int
	// MaxAttempts is the rounds an item may go through (0 means
	// DefaultMaxAttempts); see DefaultMaxAttempts.
	MaxAttempts int
}

// Runner is the batch loop, an ifrit runner.
type Runner struct {
	cfg Config
	log lager.Logger
	// suspects are the cells whose /work call failed in the last round
	// that had work (see dropSuspects). Only the loop touches it.
	suspects map[string]bool
}

// New checks cfg and returns a runner.
func New(cfg Config) (*Runner, error) {
	if cfg.Batch == nil || cfg.Cells == nil || cfg.Reps == nil || cfg.BBS == nil {
		return nil, errors.New("auction runner: batch, cells, reps and bbs are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = lager.NewLogger("auctioneer")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	return &Runner{cfg: cfg, log: cfg.Logger.Session("auction")}, nil
}

// Run implements ifrit.Runner: ready at once, then one round per wake-up
// until a signal. A signal cancels the round in progress.
func (r *Runner) Run(signals <-chan os.Signal, ready chan<- struct{}) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-signals:
			cancel()
		case <-done:
		}
	}()
	close(ready)
	return r.loop(ctx)
}

func (r *Runner) loop(ctx context.Context) error {
	var retry <-chan time.Time // armed while the cells cannot be listed
	pending := ""              // the trace id of the round being retried
	for {
		var traceID string
		select {
		case <-ctx.Done():
			return nil
		case traceID = <-r.cfg.Batch.Wake():
		case <-retry:
			traceID, retry = pending, nil
		}
		if retry != nil {
			// A request arrived while waiting to retry: keep waiting, the
			// batch keeps it.
			continue
		}
		if err := r.Round(ctx, traceID); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.log.Error("failed-to-fetch-reps", err)
			pending = traceID
			retry = time.After(CellsRetryInterval)
		}
	}
}

// Round runs one auction round with the batch as it is. It fails only when
// the cells cannot be listed; the batch is then left as it was.
func (r *Runner) Round(ctx context.Context, traceID string) error {
	start := time.Now()
	ctx = bbsclient.WithRequestID(ctx, traceID)
	logger := r.log
	if traceID != "" {
		logger = logger.WithData(lager.Data{"trace-id": traceID})
	}

	presences, err := r.cfg.Cells.Cells(ctx)
	if err != nil {
		return fmt.Errorf("listing cells: %w", err)
	}
	fetchStart := time.Now()
	cells, urls := r.fetchStates(ctx, logger, presences)
	fetched := time.Since(fetchStart)
	r.cfg.Metrics.fetchedStates(fetched)
	logger.Info("fetched-cell-states", lager.Data{
		"cells": len(presences), "cell-states": len(cells), "duration": fetched.String(),
	})

	lrps, tasks := r.cfg.Batch.drain()
	if len(lrps) == 0 && len(tasks) == 0 {
		logger.Info("nothing-to-auction")
		return nil
	}
	req := auction.Request{LRPs: make([]auction.LRP, len(lrps)), Tasks: make([]auction.Task, len(tasks))}
	for i := range lrps {
		req.LRPs[i] = lrps[i].lrp
	}
	for i := range tasks {
		req.Tasks[i] = tasks[i].task
	}
	plan := auction.Schedule(dropSuspects(logger, cells, r.suspects), req, r.cfg.Options)
	for _, c := range plan.IgnoredCells {
		logger.Info("ignored-cell", lager.Data{"cell-id": c.ID, "reason": c.Reason})
	}
	logger.Info("scheduled", lager.Data{
		"lrp-auctions": len(lrps), "task-auctions": len(tasks),
		"placed-lrps": len(plan.PlacedLRPs), "placed-tasks": len(plan.PlacedTasks),
		"failed-lrps": len(plan.FailedLRPs), "failed-tasks": len(plan.FailedTasks),
	})

	out := &outcome{}
	r.commit(ctx, logger, plan, urls, out)
	r.settle(ctx, logger, traceID, plan, lrps, tasks, out)
	d := time.Since(start)
	r.cfg.Metrics.roundDone(d, out)
	logger.Info("auction-completed", lager.Data{
		"started-lrps": out.startedLRPs, "started-tasks": out.startedTasks,
		"failed-lrps": out.failedLRPs, "failed-tasks": out.failedTasks,
		"requeued": out.requeued, "duration": d.String(),
	})
	return nil
}

// outcome counts what a round did.
type outcome struct {
	startedLRPs, startedTasks int
	failedLRPs, failedTasks   int // reported, or left to the BBS
	requeued                  int
	commitFailures            int
}
