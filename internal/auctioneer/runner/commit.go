package runner

import (
	"context"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/auction"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/rep/repmodels"
)

// commit posts each winning cell its work, concurrently (§1.6), and moves
// what did not start from the plan's placements to its failures: the
// items a rep refused in its answer (plan.Rejected) and everything sent
// to a cell whose call failed (plan.CommitFailed).
func (r *Runner) commit(ctx context.Context, logger lager.Logger, plan *auction.Plan, urls map[string]string, out *outcome) {
	works := plan.Work()
	type answer struct {
		refused *repmodels.Work
		err     error
	}
	answers := make([]answer, len(works))
	r.suspects = nil
	parallel(r.cfg.Workers, len(works), func(i int) {
		w := &works[i]
		body := &repmodels.Work{CellID: w.Cell}
		for j := range w.LRPs {
			body.LRPs = append(body.LRPs, repLRP(&w.LRPs[j]))
		}
		for j := range w.Tasks {
			body.Tasks = append(body.Tasks, repTask(&w.Tasks[j]))
		}
		refused, err := r.cfg.Reps.Perform(ctx, urls[w.Cell], body)
		answers[i] = answer{refused, err}
	})
	for i, a := range answers {
		cell := works[i].Cell
		if a.err != nil {
			out.commitFailures++
			logger.Error("failed-to-commit", a.err, lager.Data{"cell-id": cell, "lrps": len(works[i].LRPs), "tasks": len(works[i].Tasks)})
			plan.CommitFailed(cell)
			if r.suspects == nil {
				r.suspects = map[string]bool{}
			}
			r.suspects[cell] = true
			continue
		}
		if a.refused.Empty() {
			continue
		}
		keys := make([]auction.LRPKey, 0, len(a.refused.LRPs))
		for _, l := range a.refused.LRPs {
			keys = append(keys, auction.LRPKey{ProcessGuid: l.ProcessGuid, Index: int(l.Index)})
		}
		guids := make([]string, 0, len(a.refused.Tasks))
		for _, t := range a.refused.Tasks {
			guids = append(guids, t.TaskGuid)
		}
		logger.Info("cell-refused-work", lager.Data{"cell-id": cell, "lrps": len(keys), "tasks": len(guids)})
		plan.Rejected(cell, keys, guids)
	}
}

// report is one failure to tell the BBS.
type report struct {
	lrp  *models.ActualLRPKey // or
	task string
	msg  string
}

// settle decides what becomes of every item of the round once the commit
// is known. Placement failures go to the BBS at once, as the reference
// does (convergence asks again later). An item its cell refused, or sent
// to a cell whose /work call failed, is queued again for the next round,
// which fetches fresh states, until it went through MaxAttempts rounds;
// then it is reported: an LRP with FailActualLRP (which the BBS refuses if
// a cell claimed it meanwhile, so nothing runs twice), a refused task with
// RejectTask. A task whose last /work call failed is not rejected: the
// cell may have started it, and a task it did not start is still pending
// in the BBS, which auctions it again on its next convergence pass.
func (r *Runner) settle(ctx context.Context, logger lager.Logger, traceID string, plan *auction.Plan, lrps []lrpEntry, tasks []taskEntry, out *outcome) {
	out.startedLRPs = len(plan.PlacedLRPs)
	out.startedTasks = len(plan.PlacedTasks)

	lrpAttempts := make(map[auction.LRPKey]int, len(lrps))
	for _, e := range lrps {
		lrpAttempts[e.lrp.Key()] = e.attempts
	}
	taskAttempts := make(map[string]int, len(tasks))
	for _, e := range tasks {
		taskAttempts[e.task.TaskGuid] = e.attempts
	}

	var reports []report
	var againL []lrpEntry
	var againT []taskEntry
	for _, f := range plan.FailedLRPs {
		msg := f.Error
		if f.Cause != auction.CausePlacement {
			n := lrpAttempts[f.Key()] + 1
			if n < r.cfg.MaxAttempts {
				againL = append(againL, lrpEntry{lrp: f.LRP, attempts: n})
				continue
			}
			msg = failureMessage(f.Cause)
		}
		out.failedLRPs++
		reports = append(reports, report{
			lrp: &models.ActualLRPKey{ProcessGuid: f.ProcessGuid, Index: int32(f.Index), Domain: f.Domain},
			msg: msg,
		})
	}
	for _, f := range plan.FailedTasks {
		msg := f.Error
		if f.Cause != auction.CausePlacement {
			n := taskAttempts[f.TaskGuid] + 1
			if n < r.cfg.MaxAttempts {
				againT = append(againT, taskEntry{task: f.Task, attempts: n})
				continue
			}
			if f.Cause == auction.CauseCommitFailed {
				out.failedTasks++
				logger.Info("task-left-pending", lager.Data{"task-guid": f.TaskGuid, "reason": auction.MsgCommitFailed})
				continue
			}
			msg = failureMessage(f.Cause)
		}
		out.failedTasks++
		reports = append(reports, report{task: f.TaskGuid, msg: msg})
	}

	if len(againL)+len(againT) > 0 {
		out.requeued = len(againL) + len(againT)
		logger.Info("requeued", lager.Data{"lrps": len(againL), "tasks": len(againT)})
		r.cfg.Batch.requeue(againL, againT, traceID)
	}
	r.report(ctx, logger, reports)
}

func failureMessage(c auction.Cause) string {
	if c == auction.CauseCommitFailed {
		return auction.MsgCommitFailed
	}
	return MsgRejectedByCell
}

// report tells the BBS about every failure, a few calls at a time, and
// returns when all are done (§1.7). A failed call is logged: the BBS still
// holds the item (UNCLAIMED LRP, PENDING task) and convergence retries it.
func (r *Runner) report(ctx context.Context, logger lager.Logger, reports []report) {
	parallel(reportWorkers, len(reports), func(i int) {
		rep := &reports[i]
		if rep.lrp != nil {
			if err := r.cfg.BBS.FailActualLRP(ctx, rep.lrp, rep.msg); err != nil {
				logger.Error("failed-to-fail-LRP", err, lager.Data{"process-guid": rep.lrp.ProcessGuid, "index": rep.lrp.Index, "placement-error": rep.msg})
			}
			return
		}
		if err := r.cfg.BBS.RejectTask(ctx, rep.task, rep.msg); err != nil {
			logger.Error("failed-to-reject-task", err, lager.Data{"task-guid": rep.task, "rejection-reason": rep.msg})
		}
	})
}
