package controllers

import (
	"context"

	"github.com/diego-go/diego/internal/bbs/converge"
	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/models"
)

// What the converger (bbs/converger) needs of the lifecycle logic: the
// events of its slot writes, and retirement as the API does it.

// EmitConvergence announces a slot write of a convergence pass (reference
// §2.4, convergence row). The instance stream hears of every changed row as
// for any other write. The deprecated group stream hears only of some, each
// row on its own: a created missing index, a restarted crashed row, and the
// rows deleted (pruned evacuating rows, removed suspects, the replacement
// of a promoted suspect); the suspect transitions themselves (marking,
// replacement creation and unclaim, promotion) are not announced there.
func (c *Controllers) EmitConvergence(ctx context.Context, kind converge.WriteKind, u *db.SlotUpdate) {
	instance, group := convergenceEvents(kind, u, traceID(ctx))
	for _, e := range group {
		c.Hubs.ActualGroup.Emit(e)
	}
	for _, e := range instance {
		c.Hubs.ActualInstance.Emit(e)
	}
}

func convergenceEvents(kind converge.WriteKind, u *db.SlotUpdate, traceID string) (instance, group []models.Event) {
	if !u.Changed() {
		return nil, nil
	}
	for _, ch := range u.Changes {
		instance = append(instance, instanceEvents(ch.Before, ch.After, traceID)...)
		switch {
		case kind == converge.MarkSuspect || kind == converge.UnclaimReplacement:
		case ch.After == nil:
			group = append(group, models.NewActualLRPRemovedEvent(ch.Before.ToActualLRPGroup()))
		case kind == converge.PromoteSuspect:
		case ch.Before == nil:
			group = append(group, models.NewActualLRPCreatedEvent(ch.After.ToActualLRPGroup()))
		default:
			group = append(group, models.NewActualLRPChangedEvent(ch.Before.ToActualLRPGroup(), ch.After.ToActualLRPGroup()))
		}
	}
	byScore(instance)
	return instance, group
}

// RetireSeenActualLRP is RetireActualLRP for convergence: it retires the
// ORDINARY instance at key only while it still carries tag, the
// modification tag the caller saw, and returns ResourceConflict otherwise
// (the instance changed since: the next pass decides again).
func (c *Controllers) RetireSeenActualLRP(ctx context.Context, key *models.ActualLRPKey, tag *models.ModificationTag) error {
	return c.retire(ctx, key, tag)
}
