package controllers

import (
	"sort"

	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/models"
	"google.golang.org/protobuf/proto"
)

// slotEvents computes what one write to an actual LRP slot tells the two
// actual-LRP streams: instance events (one per changed row) and the
// deprecated group events (from the slot resolved into a group before and
// after). crash selects the crash rules, under which the instance that
// crashed is announced with actual_lrp_crashed first.
//
// Each list is ordered as the reference orders it: actual_lrp_crashed
// first, then events whose resulting instance is RUNNING, then the rest, so
// that a route is added before the old one is removed. The sort is stable,
// so equal scores keep the order of the writes.
func slotEvents(u *db.SlotUpdate, traceID string, crash bool) (instance, group []models.Event) {
	if !u.Changed() {
		return nil, nil
	}
	for _, c := range u.Changes {
		if crash {
			instance = append(instance, crashInstanceEvents(c.Before, c.After, traceID)...)
		} else {
			instance = append(instance, instanceEvents(c.Before, c.After, traceID)...)
		}
	}
	before := models.ResolveActualLRPGroup(u.Before)
	after := models.ResolveActualLRPGroup(u.After)
	if crash {
		group = crashGroupEvents(before, after)
	} else {
		group = append(groupEvents(before.GetInstance(), after.GetInstance()), groupEvents(before.GetEvacuating(), after.GetEvacuating())...)
	}
	byScore(instance)
	byScore(group)
	return instance, group
}

func same(a, b *models.ActualLRP) bool {
	if a == nil || b == nil {
		return a == b
	}
	return proto.Equal(a, b)
}

// instanceEvents is what a change of one row announces on the instance
// stream.
func instanceEvents(before, after *models.ActualLRP, traceID string) []models.Event {
	switch {
	case same(before, after):
		return nil
	case after == nil:
		return []models.Event{models.NewActualLRPInstanceRemovedEvent(before, traceID)}
	case before == nil:
		return []models.Event{models.NewActualLRPInstanceCreatedEvent(after, traceID)}
	}
	switch after.GetState() {
	case models.ActualLRPStateUnclaimed:
		if before.GetState() == models.ActualLRPStateUnclaimed {
			return []models.Event{models.NewActualLRPInstanceChangedEvent(before, after, traceID)}
		}
		// A new auction: the old instance is gone and a new one waits.
		return []models.Event{
			models.NewActualLRPInstanceCreatedEvent(after, traceID),
			models.NewActualLRPInstanceRemovedEvent(before, traceID),
		}
	case models.ActualLRPStateClaimed, models.ActualLRPStateRunning:
		return []models.Event{models.NewActualLRPInstanceChangedEvent(before, after, traceID)}
	case models.ActualLRPStateCrashed:
		return []models.Event{
			models.NewActualLRPCrashedEvent(before, after),
			models.NewActualLRPInstanceChangedEvent(before, after, traceID),
		}
	}
	return nil
}

// crashInstanceEvents is the instance stream's view of a crash: a crash
// that restarts at once (the row went back to UNCLAIMED) is a crashed
// instance removed and a new one created.
func crashInstanceEvents(before, after *models.ActualLRP, traceID string) []models.Event {
	switch {
	case same(before, after):
		return nil
	case after == nil:
		return []models.Event{models.NewActualLRPInstanceRemovedEvent(before, traceID)}
	case before == nil:
		return []models.Event{models.NewActualLRPInstanceCreatedEvent(after, traceID)}
	case after.GetState() == models.ActualLRPStateCrashed:
		return []models.Event{
			models.NewActualLRPCrashedEvent(before, after),
			models.NewActualLRPInstanceChangedEvent(before, after, traceID),
		}
	}
	return []models.Event{
		models.NewActualLRPCrashedEvent(before, after),
		models.NewActualLRPInstanceCreatedEvent(after, traceID),
		models.NewActualLRPInstanceRemovedEvent(before, traceID),
	}
}

// groupEvents is what a change of one position of the group (instance or
// evacuating) announces on the deprecated group stream.
func groupEvents(before, after *models.ActualLRP) []models.Event {
	switch {
	case same(before, after):
		return nil
	case after == nil:
		return []models.Event{models.NewActualLRPRemovedEvent(before.ToActualLRPGroup())}
	case before == nil:
		return []models.Event{models.NewActualLRPCreatedEvent(after.ToActualLRPGroup())}
	}
	switch after.GetState() {
	case models.ActualLRPStateUnclaimed:
		return []models.Event{models.NewActualLRPChangedEvent(before.ToActualLRPGroup(), after.ToActualLRPGroup())}
	case models.ActualLRPStateClaimed, models.ActualLRPStateRunning:
		bk, ak := before.GetActualLrpInstanceKey(), after.GetActualLrpInstanceKey()
		beforeKeyed := bk.GetInstanceGuid() != "" || bk.GetCellId() != ""
		if beforeKeyed && (bk.GetInstanceGuid() != ak.GetInstanceGuid() || bk.GetCellId() != ak.GetCellId()) {
			// Another instance took the position.
			return []models.Event{
				models.NewActualLRPCreatedEvent(after.ToActualLRPGroup()),
				models.NewActualLRPRemovedEvent(before.ToActualLRPGroup()),
			}
		}
		return []models.Event{models.NewActualLRPChangedEvent(before.ToActualLRPGroup(), after.ToActualLRPGroup())}
	case models.ActualLRPStateCrashed:
		return []models.Event{
			models.NewActualLRPCrashedEvent(before, after),
			models.NewActualLRPChangedEvent(before.ToActualLRPGroup(), after.ToActualLRPGroup()),
		}
	}
	return nil
}

// crashGroupEvents is the group stream's view of a crash.
func crashGroupEvents(before, after *models.ActualLRPGroup) []models.Event {
	var out []models.Event
	for _, pos := range [][2]*models.ActualLRP{
		{before.GetInstance(), after.GetInstance()},
		{before.GetEvacuating(), after.GetEvacuating()},
	} {
		b, a := pos[0], pos[1]
		switch {
		case same(b, a):
		case a == nil:
			out = append(out, models.NewActualLRPRemovedEvent(b.ToActualLRPGroup()))
		case b == nil:
			out = append(out, models.NewActualLRPCreatedEvent(a.ToActualLRPGroup()))
		default:
			out = append(out, models.NewActualLRPCrashedEvent(b, a), models.NewActualLRPChangedEvent(before, after))
		}
	}
	return out
}

// score orders events within one emission: crashes first, then events
// whose resulting instance runs, then everything else.
func score(e models.Event) int {
	var lrp *models.ActualLRP
	switch x := e.(type) {
	case *models.ActualLRPCrashedEvent:
		return 2
	case *models.ActualLRPInstanceCreatedEvent:
		lrp = x.GetActualLrp()
	case *models.ActualLRPInstanceChangedEvent:
		if x.GetAfter().GetState() == models.ActualLRPStateRunning {
			return 1
		}
		return 0
	case *models.ActualLRPCreatedEvent:
		lrp, _, _ = x.GetActualLrpGroup().Resolve()
	case *models.ActualLRPChangedEvent:
		lrp, _, _ = x.GetAfter().Resolve()
	}
	if lrp.GetState() == models.ActualLRPStateRunning {
		return 1
	}
	return 0
}

func byScore(evs []models.Event) {
	sort.SliceStable(evs, func(i, j int) bool { return score(evs[i]) > score(evs[j]) })
}
