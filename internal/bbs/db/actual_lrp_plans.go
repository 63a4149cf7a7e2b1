package db

import (
	"maps"
	"slices"
	"time"

	"github.com/diego-go/diego/internal/models"
	"google.golang.org/protobuf/proto"
)

// The decisions of the actual-LRP writes (reference §4.2, §4.5): given the
// rows of one slot and now, which rows to insert, update and delete. They
// touch no database; actual_lrps.go locks the slot, calls one of them and
// applies the plan in the same transaction.

// slot is the rows of one instance slot (process guid, index), at most one
// per presence, ordered by presence: ORDINARY, EVACUATING, SUSPECT. Its rows
// are never modified; plans work on copies.
type slot []*models.ActualLRP

// withPresence returns the row of presence p, or nil.
func (s slot) withPresence(p models.ActualLRP_Presence) *models.ActualLRP {
	for _, lrp := range s {
		if lrp.GetPresence() == p {
			return lrp
		}
	}
	return nil
}

// carrying returns the first row (in presence order) whose instance key is
// ik, or nil: the row a rep's request speaks about.
func (s slot) carrying(ik *models.ActualLRPInstanceKey) *models.ActualLRP {
	for _, lrp := range s {
		if sameInstanceKey(lrp.GetActualLrpInstanceKey(), ik) {
			return lrp
		}
	}
	return nil
}

// rowWrite is one write of a plan: an insert when before is nil, a delete
// when after is nil, else an update of the row before was read from.
type rowWrite struct {
	before, after *models.ActualLRP
}

// slotPlan is what a call does to a slot.
type slotPlan struct {
	writes []rowWrite
	// matched is the row carrying the request's instance key, for the calls
	// that have one.
	matched *models.ActualLRP
	// restart: a crash sent the instance straight back to UNCLAIMED.
	restart bool
}

func (p *slotPlan) insert(after *models.ActualLRP) {
	p.writes = append(p.writes, rowWrite{after: after})
}

func (p *slotPlan) update(before, after *models.ActualLRP) {
	p.writes = append(p.writes, rowWrite{before: before, after: after})
}

func (p *slotPlan) remove(before *models.ActualLRP) {
	if before != nil {
		p.writes = append(p.writes, rowWrite{before: before})
	}
}

// RunningInstance is what a rep reports about a running instance, for
// StartActualLRP and EvacuateActualLRP.
type RunningInstance struct {
	InstanceKey      *models.ActualLRPInstanceKey
	NetInfo          *models.ActualLRPNetInfo
	InternalRoutes   []*models.ActualLRPInternalRoute
	MetricTags       map[string]string
	Routable         *bool // nil means true, as the reference's clients expect
	AvailabilityZone string
}

func (r RunningInstance) routable() bool { return r.Routable == nil || *r.Routable }

func (r RunningInstance) netInfo() *models.ActualLRPNetInfo {
	if r.NetInfo == nil {
		return &models.ActualLRPNetInfo{}
	}
	return r.NetInfo
}

// planClaim: a rep claims the instance at index for ik.
func planClaim(s slot, ik *models.ActualLRPInstanceKey, now time.Time) (slotPlan, error) {
	p := slotPlan{matched: s.carrying(ik)}
	if p.matched.GetPresence() == models.ActualLRP_SUSPECT {
		return p, nil // the suspect's own cell: ignored
	}
	ord := s.withPresence(models.ActualLRP_ORDINARY)
	if ord == nil {
		return p, models.ErrResourceNotFound
	}
	if !ord.AllowsTransitionTo(ord.GetActualLrpKey(), ik, models.ActualLRPStateClaimed) {
		return p, models.ErrActualLRPCannotBeClaimed
	}
	if ord.GetState() == models.ActualLRPStateClaimed {
		return p, nil // already claimed by ik (the transition check says so)
	}
	after := touched(ord, now)
	after.State = models.ActualLRPStateClaimed
	after.ActualLrpInstanceKey = copyInstanceKey(ik)
	after.ActualLrpNetInfo = &models.ActualLRPNetInfo{}
	after.PlacementError = ""
	p.update(ord, after)
	return p, nil
}

// planStart: a rep reports the instance running. epoch is the tag of a row
// it creates.
func planStart(s slot, key *models.ActualLRPKey, in RunningInstance, now time.Time, epoch string) (slotPlan, error) {
	p := slotPlan{matched: s.carrying(in.InstanceKey)}
	if p.matched.GetPresence() == models.ActualLRP_SUSPECT {
		return p, nil // the suspect's own cell: ignored
	}
	ord := s.withPresence(models.ActualLRP_ORDINARY)
	switch {
	case ord == nil:
		p.insert(newRunningActualLRP(key, models.ActualLRP_ORDINARY, in, now, epoch))
	case runsAlready(ord, key, in):
		// nothing to change
	case !ord.AllowsTransitionTo(key, in.InstanceKey, models.ActualLRPStateRunning):
		return p, models.ErrActualLRPCannotBeStarted
	default:
		after := touched(ord, now)
		after.State = models.ActualLRPStateRunning
		setRunning(after, in)
		after.PlacementError = ""
		p.update(ord, after)
	}
	// The instance now runs: the copies it replaces go.
	p.remove(s.withPresence(models.ActualLRP_EVACUATING))
	p.remove(s.withPresence(models.ActualLRP_SUSPECT))
	return p, nil
}

// runsAlready reports whether ord is RUNNING with exactly what the rep
// reports, so that a repeated start changes nothing (not even the tag).
func runsAlready(ord *models.ActualLRP, key *models.ActualLRPKey, in RunningInstance) bool {
	return ord.GetState() == models.ActualLRPStateRunning &&
		sameActualLRPKey(ord.GetActualLrpKey(), key) &&
		sameInstanceKey(ord.GetActualLrpInstanceKey(), in.InstanceKey) &&
		sameNetInfo(ord.GetActualLrpNetInfo(), in.NetInfo) &&
		sameInternalRoutes(ord.GetActualLrpInternalRoutes(), in.InternalRoutes) &&
		maps.Equal(ord.GetMetricTags(), in.MetricTags) &&
		ord.GetRoutable() == in.routable() &&
		ord.GetAvailabilityZone() == in.AvailabilityZone
}

// planCrash: a rep reports the instance crashed. reason is stored
// truncated.
func planCrash(s slot, ik *models.ActualLRPInstanceKey, reason string, now time.Time) (slotPlan, error) {
	p := slotPlan{matched: s.carrying(ik)}
	if p.matched.GetPresence() == models.ActualLRP_SUSPECT {
		p.remove(p.matched) // a suspect that crashed is gone, no crash accounting
		return p, nil
	}
	ord := s.withPresence(models.ActualLRP_ORDINARY)
	if ord == nil {
		return p, models.ErrResourceNotFound
	}
	if !ord.AllowsTransitionTo(ord.GetActualLrpKey(), ik, models.ActualLRPStateCrashed) {
		return p, models.ErrActualLRPCannotBeCrashed
	}
	outcome := models.NextCrash(ord.GetState(), ord.GetSince(), ord.GetCrashCount(), now)
	after := touched(ord, now)
	after.State = models.ActualLRPStateCrashed
	if outcome.RestartImmediately {
		after.State = models.ActualLRPStateUnclaimed
	}
	after.ActualLrpInstanceKey = &models.ActualLRPInstanceKey{}
	after.ActualLrpNetInfo = &models.ActualLRPNetInfo{}
	after.CrashCount = outcome.CrashCount
	after.CrashReason = truncate(reason, maxReasonLength)
	p.update(ord, after)
	p.restart = outcome.RestartImmediately
	return p, nil
}

// planFail: the auctioneer could not place the UNCLAIMED instance. A
// missing row is not an error (the instance was removed meanwhile).
func planFail(s slot, placementError string, now time.Time) (slotPlan, error) {
	var p slotPlan
	ord := s.withPresence(models.ActualLRP_ORDINARY)
	if ord == nil {
		return p, nil
	}
	if ord.GetState() != models.ActualLRPStateUnclaimed {
		return p, models.ErrActualLRPCannotBeFailed
	}
	after := touched(ord, now)
	after.PlacementError = truncate(placementError, maxReasonLength)
	p.update(ord, after)
	return p, nil
}

// planRemove deletes the ORDINARY row, which must carry ik when ik is set.
func planRemove(s slot, ik *models.ActualLRPInstanceKey) (slotPlan, error) {
	var p slotPlan
	ord := s.withPresence(models.ActualLRP_ORDINARY)
	if ord == nil || ik != nil && !sameInstanceKey(ord.GetActualLrpInstanceKey(), ik) {
		return p, models.ErrResourceNotFound
	}
	p.remove(ord)
	return p, nil
}

// planUnclaim sends the ORDINARY row back to UNCLAIMED. With leaveClaimed
// (the reference's isStale), a CLAIMED row is left to the cell that claimed
// it.
func planUnclaim(s slot, leaveClaimed bool, now time.Time) (slotPlan, error) {
	var p slotPlan
	ord := s.withPresence(models.ActualLRP_ORDINARY)
	switch {
	case ord == nil:
		return p, models.ErrResourceNotFound
	case ord.GetState() == models.ActualLRPStateUnclaimed,
		leaveClaimed && ord.GetState() == models.ActualLRPStateClaimed:
		return p, models.ErrActualLRPCannotBeUnclaimed
	}
	after := touched(ord, now)
	after.State = models.ActualLRPStateUnclaimed
	after.ActualLrpInstanceKey = &models.ActualLRPInstanceKey{}
	after.ActualLrpNetInfo = &models.ActualLRPNetInfo{}
	p.update(ord, after)
	return p, nil
}

// planChangePresence moves the row of presence from to presence to; a
// presence change alone does not advance the modification tag.
func planChangePresence(s slot, from, to models.ActualLRP_Presence) (slotPlan, error) {
	var p slotPlan
	row := s.withPresence(from)
	switch {
	case row == nil:
		return p, models.ErrResourceNotFound
	case from == to:
		return p, nil
	case s.withPresence(to) != nil:
		return p, models.ErrResourceExists
	}
	after := cloneActualLRP(row)
	after.Presence = to
	p.update(row, after)
	return p, nil
}

// planPromoteSuspect: the suspect's cell came back; the suspect becomes the
// ORDINARY row again and its replacement, whatever its state, goes.
func planPromoteSuspect(s slot) (slotPlan, error) {
	var p slotPlan
	suspect := s.withPresence(models.ActualLRP_SUSPECT)
	if suspect == nil {
		return p, models.ErrResourceNotFound
	}
	p.remove(s.withPresence(models.ActualLRP_ORDINARY))
	after := cloneActualLRP(suspect)
	after.Presence = models.ActualLRP_ORDINARY
	p.update(suspect, after)
	return p, nil
}

// newRunningActualLRP is a new RUNNING row with a fresh tag.
func newRunningActualLRP(key *models.ActualLRPKey, presence models.ActualLRP_Presence, in RunningInstance, now time.Time, epoch string) *models.ActualLRP {
	lrp := &models.ActualLRP{
		ActualLrpKey:    copyKey(key),
		State:           models.ActualLRPStateRunning,
		Since:           now.UnixNano(),
		ModificationTag: &models.ModificationTag{Epoch: epoch},
		Presence:        presence,
	}
	setRunning(lrp, in)
	return lrp
}

// setRunning copies what a rep reports into lrp.
func setRunning(lrp *models.ActualLRP, in RunningInstance) {
	routable := in.routable()
	lrp.ActualLrpInstanceKey = copyInstanceKey(in.InstanceKey)
	lrp.ActualLrpNetInfo = proto.Clone(in.netInfo()).(*models.ActualLRPNetInfo)
	lrp.ActualLrpInternalRoutes = copyInternalRoutes(in.InternalRoutes)
	lrp.MetricTags = maps.Clone(in.MetricTags)
	lrp.Routable = &routable
	lrp.AvailabilityZone = in.AvailabilityZone
}

// touched is a copy of lrp updated at now: next tag, since = now.
func touched(lrp *models.ActualLRP, now time.Time) *models.ActualLRP {
	c := cloneActualLRP(lrp)
	if c.ModificationTag == nil {
		c.ModificationTag = &models.ModificationTag{}
	}
	c.ModificationTag.Increment()
	c.Since = now.UnixNano()
	return c
}

func cloneActualLRP(lrp *models.ActualLRP) *models.ActualLRP {
	return proto.Clone(lrp).(*models.ActualLRP)
}

func copyKey(k *models.ActualLRPKey) *models.ActualLRPKey {
	return &models.ActualLRPKey{ProcessGuid: k.GetProcessGuid(), Index: k.GetIndex(), Domain: k.GetDomain()}
}

func copyInstanceKey(ik *models.ActualLRPInstanceKey) *models.ActualLRPInstanceKey {
	return &models.ActualLRPInstanceKey{InstanceGuid: ik.GetInstanceGuid(), CellId: ik.GetCellId()}
}

func copyInternalRoutes(routes []*models.ActualLRPInternalRoute) []*models.ActualLRPInternalRoute {
	if routes == nil {
		return nil
	}
	out := make([]*models.ActualLRPInternalRoute, len(routes))
	for i, r := range routes {
		out[i] = &models.ActualLRPInternalRoute{Hostname: r.GetHostname()}
	}
	return out
}

func sameActualLRPKey(a, b *models.ActualLRPKey) bool {
	return a.GetProcessGuid() == b.GetProcessGuid() && a.GetIndex() == b.GetIndex() && a.GetDomain() == b.GetDomain()
}

func sameInstanceKey(a, b *models.ActualLRPInstanceKey) bool {
	return a.GetInstanceGuid() == b.GetInstanceGuid() && a.GetCellId() == b.GetCellId()
}

// sameNetInfo compares net infos, nil being the empty one.
func sameNetInfo(a, b *models.ActualLRPNetInfo) bool {
	if a == nil {
		a = &models.ActualLRPNetInfo{}
	}
	if b == nil {
		b = &models.ActualLRPNetInfo{}
	}
	return proto.Equal(a, b)
}

// sameInternalRoutes compares route lists by hostname, nil being empty.
func sameInternalRoutes(a, b []*models.ActualLRPInternalRoute) bool {
	return slices.EqualFunc(a, b, func(x, y *models.ActualLRPInternalRoute) bool {
		return x.GetHostname() == y.GetHostname()
	})
}
