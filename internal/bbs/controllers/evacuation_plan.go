package controllers

import "github.com/diego-go/diego/internal/models"

// The decisions of EvacuateRunningActualLRP (reference §4.4), without I/O:
// given the rows of the slot and the instance key of the request, what to
// do with the instance a draining cell still runs. They come in two
// stages, because the second one depends on the desired LRP's update
// strategy, which is read only when the first stage leaves it open.

// evacuationStep is what one EvacuateRunning request does.
type evacuationStep int

const (
	// stepDeleteContainer: nothing to write; the rep deletes its container.
	stepDeleteContainer evacuationStep = iota
	// stepReadStrategy: the first stage cannot decide; read the update
	// strategy and take the second stage.
	stepReadStrategy
	// stepDropEvacuating: the instance is not needed any more; delete its
	// EVACUATING row (if the target is one), and the container.
	stepDropEvacuating
	// stepKeepEvacuating: create or refresh the EVACUATING row from the
	// request and keep the container (ROLLING).
	stepKeepEvacuating
	// stepDance: copy the target into an EVACUATING row, then unclaim and
	// auction the ORDINARY row (or delete the SUSPECT one); keep the
	// container (ROLLING).
	stepDance
	// stepDropSuspect: delete the target SUSPECT row and the container
	// (RECREATE).
	stepDropSuspect
	// stepRecreate: unclaim and auction the ORDINARY target only if every
	// desired instance runs, deleting the container; keep it otherwise
	// (RECREATE).
	stepRecreate
)

var evacuationStepNames = [...]string{"delete-container", "read-strategy", "drop-evacuating", "keep-evacuating", "dance", "drop-suspect", "recreate"}

func (s evacuationStep) String() string { return evacuationStepNames[s] }

// evacuateRunningFirst is the first stage: target is the row carrying the
// request's instance key (nil when none does).
//
//  1. an empty slot: delete the container;
//  2. no ORDINARY row (the desired LRP was removed), or an ORDINARY row of
//     another instance that is RUNNING or CRASHED (the replacement is
//     done): drop the evacuating copy;
//  3. otherwise it depends on the update strategy.
func evacuateRunningFirst(rows []*models.ActualLRP, target *models.ActualLRP) evacuationStep {
	if len(rows) == 0 {
		return stepDeleteContainer
	}
	ord := withPresence(rows, models.ActualLRP_ORDINARY)
	if ord == nil {
		return stepDropEvacuating
	}
	if ord != target && (ord.GetState() == models.ActualLRPStateRunning || ord.GetState() == models.ActualLRPStateCrashed) {
		return stepDropEvacuating
	}
	return stepReadStrategy
}

// evacuateRunningRolling is the second stage under the ROLLING strategy.
func evacuateRunningRolling(rows []*models.ActualLRP, target *models.ActualLRP) evacuationStep {
	if target == nil || target.GetPresence() == models.ActualLRP_EVACUATING {
		if ev := withPresence(rows, models.ActualLRP_EVACUATING); ev != nil && ev != target {
			return stepDeleteContainer // another instance evacuates this index already
		}
		return stepKeepEvacuating
	}
	if runningOrClaimed(target) {
		return stepDance
	}
	return stepDeleteContainer
}

// evacuateRunningRecreate is the second stage under the RECREATE strategy,
// which never keeps an evacuating copy.
func evacuateRunningRecreate(target *models.ActualLRP) evacuationStep {
	switch {
	case target == nil:
		return stepDeleteContainer
	case target.GetPresence() == models.ActualLRP_EVACUATING:
		return stepDropEvacuating
	case target.GetPresence() == models.ActualLRP_SUSPECT:
		return stepDropSuspect
	case runningOrClaimed(target):
		return stepRecreate
	}
	return stepDeleteContainer
}

func runningOrClaimed(lrp *models.ActualLRP) bool {
	return lrp.GetState() == models.ActualLRPStateRunning || lrp.GetState() == models.ActualLRPStateClaimed
}
