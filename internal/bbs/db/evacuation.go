package db

import (
	"context"
	"time"

	"github.com/diego-go/diego/internal/models"
)

// The storage side of evacuation (reference §4.4): the EVACUATING copy of an
// instance that keeps running on a draining cell while its replacement
// starts. Which of these a rep's evacuation call leads to is the
// controller's decision.

// EvacuateActualLRP creates the slot's EVACUATING row (RUNNING, fresh
// modification tag, what the rep reports) or, when there is one, refreshes
// it: instance key, domain, net info, internal routes, metric tags and
// availability zone replaced, since = now, tag advanced; its state and
// routable flag stay as they were, as in the reference. ResourceExists
// (nothing written) when the existing row already has this key, instance
// key and net info.
func (db *DB) EvacuateActualLRP(ctx context.Context, key *models.ActualLRPKey, in RunningInstance) (*SlotUpdate, error) {
	return db.updateSlot(ctx, key, func(s slot, now time.Time) (slotPlan, error) {
		epoch, err := db.guid()
		if err != nil {
			return slotPlan{}, err
		}
		return planEvacuate(s, key, in, now, epoch)
	})
}

// RemoveEvacuatingActualLRP deletes the EVACUATING row carrying ik.
// NotFound when no row of the slot carries ik, or when the row that does is
// not the EVACUATING one (so the evacuating row of another instance also
// gives NotFound).
func (db *DB) RemoveEvacuatingActualLRP(ctx context.Context, key *models.ActualLRPKey, ik *models.ActualLRPInstanceKey) (*SlotUpdate, error) {
	return db.updateSlot(ctx, key, func(s slot, _ time.Time) (slotPlan, error) {
		return planRemoveEvacuating(s, ik)
	})
}

// DeleteActualLRP deletes the slot's row of presence p, which must carry ik
// when ik is not nil (evacuation drops EVACUATING and SUSPECT copies this
// way; convergence retires suspects). NotFound when there is no such row.
func (db *DB) DeleteActualLRP(ctx context.Context, key *models.ActualLRPKey, p models.ActualLRP_Presence, ik *models.ActualLRPInstanceKey) (*SlotUpdate, error) {
	return db.updateSlot(ctx, key, func(s slot, _ time.Time) (slotPlan, error) {
		return planDeleteRow(s, p, ik)
	})
}

// planEvacuate creates or refreshes the EVACUATING row; epoch is the tag of
// a row it creates.
func planEvacuate(s slot, key *models.ActualLRPKey, in RunningInstance, now time.Time, epoch string) (slotPlan, error) {
	p := slotPlan{matched: s.carrying(in.InstanceKey)}
	ev := s.withPresence(models.ActualLRP_EVACUATING)
	if ev == nil {
		p.insert(newRunningActualLRP(key, models.ActualLRP_EVACUATING, in, now, epoch))
		return p, nil
	}
	if sameActualLRPKey(ev.GetActualLrpKey(), key) &&
		sameInstanceKey(ev.GetActualLrpInstanceKey(), in.InstanceKey) &&
		sameNetInfo(ev.GetActualLrpNetInfo(), in.NetInfo) {
		return p, models.ErrResourceExists
	}
	after := touched(ev, now)
	routable := after.Routable
	setRunning(after, in)
	after.Routable = routable
	after.ActualLrpKey = copyKey(key)
	p.update(ev, after)
	return p, nil
}

// planRemoveEvacuating deletes the EVACUATING row if it is the row carrying
// ik.
func planRemoveEvacuating(s slot, ik *models.ActualLRPInstanceKey) (slotPlan, error) {
	p := slotPlan{matched: s.carrying(ik)}
	if p.matched == nil || p.matched.GetPresence() != models.ActualLRP_EVACUATING {
		return p, models.ErrResourceNotFound
	}
	p.remove(p.matched)
	return p, nil
}

// planDeleteRow deletes the row of presence pr if it carries ik (any
// instance key when ik is nil).
func planDeleteRow(s slot, pr models.ActualLRP_Presence, ik *models.ActualLRPInstanceKey) (slotPlan, error) {
	var p slotPlan
	row := s.withPresence(pr)
	if ik != nil {
		p.matched = s.carrying(ik)
	}
	if row == nil || ik != nil && !sameInstanceKey(row.GetActualLrpInstanceKey(), ik) {
		return p, models.ErrResourceNotFound
	}
	p.remove(row)
	return p, nil
}
