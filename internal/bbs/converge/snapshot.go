// Package converge decides what a BBS convergence pass does (reference
// notes: bbs-api §5): given a slim snapshot of the actual and desired LRPs,
// the domains and the cells, or of the tasks, and the time, it returns the
// plan of every write, retirement, auction and rep update the pass makes,
// and the figures it reports. It does no I/O: the store loads the
// snapshot and applies the plan with compare-and-swap, the converger emits
// the events and talks to the auctioneer and the reps.
package converge

import (
	"github.com/diego-go/diego/internal/models"
)

// Tag is a modification tag (epoch, index).
type Tag struct {
	Epoch string
	Index uint32
}

// CellSet is the ids of the cells present in locket.
type CellSet map[string]struct{}

// NewCellSet returns the set of ids.
func NewCellSet(ids ...string) CellSet {
	s := make(CellSet, len(ids))
	for _, id := range ids {
		s[id] = struct{}{}
	}
	return s
}

// Has reports whether the cell is present.
func (s CellSet) Has(id string) bool {
	_, ok := s[id]
	return ok
}

// ActualRow is one row of actual_lrps as convergence sees it: no net info,
// no encrypted column.
type ActualRow struct {
	ProcessGUID  string
	Index        int32
	Presence     models.ActualLRP_Presence
	Domain       string
	State        string
	InstanceGUID string
	CellID       string
	Since        int64 // Unix nanoseconds of the last write
	CrashCount   int32
	Tag          Tag
	// Drift is what an ORDINARY RUNNING row runs with, for the internal
	// route and metric tag checks; nil when the loader did not read it
	// because the row and its desired LRP are unchanged since they were
	// last found in sync.
	Drift *ActualDrift
}

// ActualDrift is what an instance was started with.
type ActualDrift struct {
	// InternalRoutes are the stored hostnames (none: nil or empty).
	InternalRoutes []string
	// MetricTags are the stored tags; nil when none are stored, which the
	// metric tag check skips (as the reference does).
	MetricTags map[string]string
}

// DesiredRow is one desired LRP as convergence sees it.
type DesiredRow struct {
	ProcessGUID string
	Domain      string
	Instances   int32
	Tag         Tag
	// Drift is what its running instances should have; nil when no row
	// of it needs checking this pass.
	Drift *DesiredDrift
}

// DesiredDrift is the desired side of the drift checks.
type DesiredDrift struct {
	// InternalRoutes are the hostnames of routes["internal-router"].
	InternalRoutes []string
	// RoutesInvalid: the routes could not be read; the route check is
	// skipped.
	RoutesInvalid bool
	// MetricTags are the desired metric tags, resolved per instance.
	MetricTags map[string]*models.MetricTagValue
	// TagsInvalid: the tags could not be read; the tag check is skipped.
	TagsInvalid bool
}

// Domain is a row of the domains table.
type Domain struct {
	Name       string
	ExpireTime int64 // Unix nanoseconds
}

// LRPSnapshot is what an LRP pass looks at.
type LRPSnapshot struct {
	Actual  []ActualRow
	Desired []DesiredRow
	Domains []Domain
	// Cells are the present cells; CellsKnown says whether the list was
	// fetched. An empty known list is taken literally (every instance is
	// on a missing cell); an unknown one makes the pass do nothing.
	Cells      CellSet
	CellsKnown bool
}

// RowRef is a row as the planner saw it: a write applies only while the
// row is still so (same presence, state, instance key and tag).
type RowRef struct {
	ProcessGUID  string
	Index        int32
	Presence     models.ActualLRP_Presence
	Domain       string
	State        string
	InstanceGUID string
	CellID       string
	Tag          Tag
}

func refOf(r *ActualRow) RowRef {
	return RowRef{
		ProcessGUID: r.ProcessGUID, Index: r.Index, Presence: r.Presence, Domain: r.Domain,
		State: r.State, InstanceGUID: r.InstanceGUID, CellID: r.CellID, Tag: r.Tag,
	}
}

// Key is the row's actual LRP key.
func (r RowRef) Key() *models.ActualLRPKey {
	return &models.ActualLRPKey{ProcessGuid: r.ProcessGUID, Index: r.Index, Domain: r.Domain}
}

// InstanceKey is the row's instance key.
func (r RowRef) InstanceKey() *models.ActualLRPInstanceKey {
	return &models.ActualLRPInstanceKey{InstanceGuid: r.InstanceGUID, CellId: r.CellID}
}

// ModificationTag is the row's tag as a model.
func (r RowRef) ModificationTag() *models.ModificationTag {
	return &models.ModificationTag{Epoch: r.Tag.Epoch, Index: r.Tag.Index}
}

// WriteKind is what a slot write does.
type WriteKind int

// The slot writes of an LRP pass, in the order they apply within a slot.
const (
	// PruneEvacuating deletes an EVACUATING row whose cell is gone (step 2).
	PruneEvacuating WriteKind = iota + 1
	// RemoveSuspect deletes a SUSPECT row: orphaned (step 8), doubled by a
	// RUNNING replacement (step 9), or at an index no longer desired.
	RemoveSuspect
	// PromoteSuspect makes a SUSPECT row whose cell came back ORDINARY
	// again, deleting the ORDINARY replacement (step 10).
	PromoteSuspect
	// MarkSuspect turns a CLAIMED or RUNNING ORDINARY row on a missing cell
	// into a SUSPECT and inserts an UNCLAIMED replacement (step 5).
	MarkSuspect
	// UnclaimReplacement unclaims a replacement whose cell went missing
	// while the slot still has a suspect (step 5).
	UnclaimReplacement
	// CreateMissing inserts an UNCLAIMED row at a desired index that has
	// none (step 6).
	CreateMissing
	// RestartCrashed unclaims a CRASHED row that is due (step 12).
	RestartCrashed
)

var writeKindNames = map[WriteKind]string{
	PruneEvacuating: "prune-evacuating", RemoveSuspect: "remove-suspect", PromoteSuspect: "promote-suspect",
	MarkSuspect: "mark-suspect", UnclaimReplacement: "unclaim-replacement", CreateMissing: "create-missing",
	RestartCrashed: "restart-crashed",
}

func (k WriteKind) String() string {
	if n, ok := writeKindNames[k]; ok {
		return n
	}
	return "unknown"
}

// Auctions reports whether the instance a successful write of this kind
// leaves UNCLAIMED is auctioned in this pass.
func (k WriteKind) Auctions() bool {
	return k == MarkSuspect || k == CreateMissing || k == RestartCrashed
}

// SlotWrite is one write to an instance slot.
type SlotWrite struct {
	Kind WriteKind
	// Row is the row written as seen. For CreateMissing only its key and
	// domain are set (there is no row).
	Row RowRef
	// Replaced is, for PromoteSuspect, the ORDINARY row that goes (nil when
	// the slot has none).
	Replaced *RowRef
	// Reason says why, for the logs.
	Reason string
}

// Retirement is an ORDINARY instance to retire as the API's
// RetireActualLRP does (step 6 extra indices and step 7 orphans, fresh
// domains only).
type Retirement struct {
	Row    RowRef
	Reason string
}

// InstanceUpdate is a rep update of one running instance (steps 13, 14).
type InstanceUpdate struct {
	Row RowRef
	// InternalRoutes, for a route update: the desired hostnames (never nil).
	InternalRoutes []string
	// MetricTags, for a tag update: the desired tags resolved for the
	// instance.
	MetricTags map[string]string
}

// DriftCheck is a row whose drift was checked and found in sync, with the
// tags it was checked at: until either changes it need not be read again.
type DriftCheck struct {
	ProcessGUID string
	Index       int32
	Actual      Tag
	Desired     Tag
}

// LRPMetrics are the figures of an LRP pass (reference §8.2). The state
// counts are of ORDINARY rows as the plan leaves them when every write
// succeeds; Missing and Extra count what the pass found; the suspect
// counts are of the SUSPECT rows it found.
type LRPMetrics struct {
	Unclaimed, Claimed, Running, Crashed int
	CrashingDesired                      int
	Desired                              int
	Missing, Extra                       int
	SuspectRunning, SuspectClaimed       int
	PresentCells, SuspectCells           int
}

// LRPPlan is what an LRP pass does.
type LRPPlan struct {
	// Skipped: the cell list was not known; nothing is done.
	Skipped bool
	// PruneDomains are the expired domains to delete (step 1).
	PruneDomains []string
	// FreshDomains are the domains that are not expired, sorted.
	FreshDomains []string
	// Writes are the slot writes, the writes of one slot together and in
	// the order they apply.
	Writes []SlotWrite
	// Retirements are the instances to retire.
	Retirements []Retirement
	// StaleUnclaimed are UNCLAIMED rows waiting too long, auctioned again
	// without a write (step 4).
	StaleUnclaimed []RowRef
	// RouteUpdates and TagUpdates are the rep updates of steps 13 and 14.
	RouteUpdates, TagUpdates []InstanceUpdate
	// InSync are the rows whose drift was read and found in sync.
	InSync []DriftCheck
	// MissingCells are the ids of the missing cells that still have
	// CLAIMED or RUNNING instances, sorted.
	MissingCells []string
	Metrics      LRPMetrics
}
