package converge

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/diego-go/diego/internal/models"
)

// PlanLRPs plans an LRP pass (reference §5.1, steps 1–14) over a snapshot
// taken at about now. Without a known cell list it plans nothing
// (Skipped). The snapshot is not modified.
//
// Every slot (process guid, index) is decided once, with every rule, so
// that the writes of one slot never contradict each other:
//
//   - its EVACUATING row goes when its cell is missing (step 2);
//   - its SUSPECT row goes when its desired LRP is gone in a fresh domain
//     (8), when the ORDINARY row runs too (9) or when its index is no
//     longer desired in a fresh domain; otherwise it is promoted when its
//     cell is back (10);
//   - its ORDINARY row is retired when it is an orphan or beyond the
//     desired instances, in a fresh domain only (6, 7); at a desired index
//     it is auctioned again when UNCLAIMED too long (4), suspected and
//     replaced — or, if a suspect remains, unclaimed — when CLAIMED or
//     RUNNING on a missing cell (5), restarted when CRASHED and due (12),
//     and checked for internal route and metric tag drift when RUNNING
//     (13, 14); a desired index without one gets a new UNCLAIMED row (6).
//
// Unlike the reference, indices at or beyond the desired instances are
// never replaced, restarted or auctioned, and missing and extra indices are
// found even when their number happens to equal the desired instances.
func PlanLRPs(s *LRPSnapshot, now time.Time) LRPPlan {
	if s == nil || !s.CellsKnown {
		return LRPPlan{Skipped: true}
	}
	p := newPlanner(s, now, true)
	p.domains()
	p.walk()
	return p.finish()
}

// PlanMissingCells plans the part of an LRP pass that reacts to missing
// cells (steps 2 and 5) for a snapshot of some slots only: the slots with a
// row on a cell that just vanished, with their desired LRPs. Its metrics
// are zero.
func PlanMissingCells(s *LRPSnapshot, now time.Time) LRPPlan {
	if s == nil || !s.CellsKnown {
		return LRPPlan{Skipped: true}
	}
	p := newPlanner(s, now, false)
	p.walk()
	plan := p.plan
	plan.MissingCells = sortedKeys(p.missingCells)
	return plan
}

type planner struct {
	snap  *LRPSnapshot
	now   int64
	full  bool // the whole pass, not just missing cells
	calc  models.RestartCalculator
	fresh map[string]bool
	plan  LRPPlan

	missingCells map[string]struct{}
	crashing     map[string]struct{}
}

func newPlanner(s *LRPSnapshot, now time.Time, full bool) *planner {
	return &planner{
		snap: s, now: now.UnixNano(), full: full, calc: models.NewDefaultRestartCalculator(),
		fresh: map[string]bool{}, missingCells: map[string]struct{}{}, crashing: map[string]struct{}{},
	}
}

// domains sorts the domains into expired (pruned, step 1) and fresh
// (step 3).
func (p *planner) domains() {
	for _, d := range p.snap.Domains {
		if d.ExpireTime > p.now {
			p.fresh[d.Name] = true
			p.plan.FreshDomains = append(p.plan.FreshDomains, d.Name)
		} else {
			p.plan.PruneDomains = append(p.plan.PruneDomains, d.Name)
		}
	}
	slices.Sort(p.plan.FreshDomains)
	slices.Sort(p.plan.PruneDomains)
}

func (p *planner) finish() LRPPlan {
	m := &p.plan.Metrics
	m.CrashingDesired = len(p.crashing)
	m.PresentCells = len(p.snap.Cells)
	p.plan.MissingCells = sortedKeys(p.missingCells)
	m.SuspectCells = len(p.plan.MissingCells)
	for i := range p.snap.Desired {
		m.Desired += int(p.snap.Desired[i].Instances)
	}
	return p.plan
}

// walk visits every process guid, desired or not, in order, and within it
// every slot with a row or a desired index.
func (p *planner) walk() {
	desired := sortedDesired(p.snap.Desired)
	actual := sortedActual(p.snap.Actual)
	i, j := 0, 0
	for i < len(desired) || j < len(actual) {
		var guid string
		switch {
		case i == len(desired):
			guid = actual[j].ProcessGUID
		case j == len(actual):
			guid = desired[i].ProcessGUID
		default:
			guid = min(desired[i].ProcessGUID, actual[j].ProcessGUID)
		}
		var d *DesiredRow
		if i < len(desired) && desired[i].ProcessGUID == guid {
			d = desired[i]
			i++
		}
		k := j
		for k < len(actual) && actual[k].ProcessGUID == guid {
			k++
		}
		p.process(d, guid, actual[j:k])
		j = k
	}
}

// slotRows are the rows of one slot by presence.
type slotRows struct {
	ord, evac, susp *ActualRow
}

// process visits the slots of one process guid; rows are its rows sorted
// by index and presence.
func (p *planner) process(d *DesiredRow, guid string, rows []*ActualRow) {
	var instances int32
	if d != nil && p.full {
		instances = d.Instances
	}
	next := int32(0) // the lowest desired index not visited yet
	for len(rows) > 0 {
		index := rows[0].Index
		var v slotRows
		n := 0
		for n < len(rows) && rows[n].Index == index {
			switch rows[n].Presence {
			case models.ActualLRP_ORDINARY:
				v.ord = rows[n]
			case models.ActualLRP_EVACUATING:
				v.evac = rows[n]
			case models.ActualLRP_SUSPECT:
				v.susp = rows[n]
			}
			n++
		}
		rows = rows[n:]
		for ; next < min(index, instances); next++ {
			p.slot(d, guid, next, slotRows{})
		}
		p.slot(d, guid, index, v)
		next = max(next, index+1)
	}
	for ; next < instances; next++ {
		p.slot(d, guid, next, slotRows{})
	}
}

func (p *planner) write(kind WriteKind, row *ActualRow, reason string) {
	p.plan.Writes = append(p.plan.Writes, SlotWrite{Kind: kind, Row: refOf(row), Reason: reason})
}

// cellMissing reports whether the row's cell is not present. With an empty
// cell list every cell is missing; otherwise a row without a cell is not
// on a missing cell (the reference asks for a non-empty cell_id).
func (p *planner) cellMissing(r *ActualRow) bool {
	if len(p.snap.Cells) == 0 {
		return true
	}
	return r.CellID != "" && !p.snap.Cells.Has(r.CellID)
}

func live(r *ActualRow) bool {
	return r != nil && (r.State == models.ActualLRPStateClaimed || r.State == models.ActualLRPStateRunning)
}

// slot decides one slot. d is the desired LRP of the process (nil when
// there is none).
func (p *planner) slot(d *DesiredRow, guid string, index int32, v slotRows) {
	desiredIndex := d != nil && index < d.Instances

	// Step 2: evacuating copies of missing cells go.
	if v.evac != nil && p.cellMissing(v.evac) {
		p.write(PruneEvacuating, v.evac, "missing-cell")
	}
	// SuspectCells: every missing cell that still has instances of a
	// desired LRP, whatever their presence.
	if d != nil {
		for _, r := range []*ActualRow{v.ord, v.susp} {
			if live(r) && p.cellMissing(r) {
				p.missingCells[r.CellID] = struct{}{}
			}
		}
	}
	if !p.full {
		if desiredIndex {
			p.missingCell(v.ord, v.susp)
		}
		return
	}

	susp, ord, promoted := p.suspect(d, index, v)
	switch {
	case promoted:
		// The suspect is the instance again; nothing else this pass.
	case v.ord == nil:
		if desiredIndex {
			p.createMissing(d, guid, index)
			ord = &ActualRow{State: models.ActualLRPStateUnclaimed}
		}
	case d == nil:
		ord = p.retire(v.ord, v.ord.Domain, "orphaned")
	case !desiredIndex:
		ord = p.retire(v.ord, d.Domain, "extra")
	default:
		ord = p.ordinary(d, v.ord, susp)
	}
	p.count(guid, ord)
}

// suspect decides the slot's SUSPECT row, and returns the suspect and
// ORDINARY rows it leaves (promoted: the suspect became the ORDINARY row).
func (p *planner) suspect(d *DesiredRow, index int32, v slotRows) (susp, ord *ActualRow, promoted bool) {
	susp, ord = v.susp, v.ord
	if susp == nil {
		return nil, ord, false
	}
	switch susp.State {
	case models.ActualLRPStateRunning:
		p.plan.Metrics.SuspectRunning++
	case models.ActualLRPStateClaimed:
		p.plan.Metrics.SuspectClaimed++
	}
	switch {
	case d == nil && p.fresh[susp.Domain]:
		p.write(RemoveSuspect, susp, "orphaned-suspect")
		return nil, ord, false
	case ord != nil && ord.State == models.ActualLRPStateRunning && susp.State == models.ActualLRPStateRunning:
		p.write(RemoveSuspect, susp, "extra-suspect")
		return nil, ord, false
	case d != nil && index >= d.Instances && p.fresh[d.Domain]:
		p.write(RemoveSuspect, susp, "extra-index-suspect")
		return nil, ord, false
	case len(p.snap.Cells) > 0 && p.snap.Cells.Has(susp.CellID):
		w := SlotWrite{Kind: PromoteSuspect, Row: refOf(susp), Reason: "cell-present"}
		if ord != nil {
			r := refOf(ord)
			w.Replaced = &r
		}
		p.plan.Writes = append(p.plan.Writes, w)
		return nil, susp, true
	}
	return susp, ord, false
}

// ordinary decides the ORDINARY row of a desired index, and returns what
// it becomes.
func (p *planner) ordinary(d *DesiredRow, ord, susp *ActualRow) *ActualRow {
	switch ord.State {
	case models.ActualLRPStateUnclaimed:
		if p.now-ord.Since > models.StaleUnclaimedActualLRPDuration.Nanoseconds() {
			p.plan.StaleUnclaimed = append(p.plan.StaleUnclaimed, refOf(ord))
		}
	case models.ActualLRPStateClaimed, models.ActualLRPStateRunning:
		if p.cellMissing(ord) {
			p.missingCell(ord, susp)
			return &ActualRow{State: models.ActualLRPStateUnclaimed}
		}
		if ord.State == models.ActualLRPStateRunning {
			p.drift(d, ord)
		}
	case models.ActualLRPStateCrashed:
		if p.calc.ShouldRestart(p.now, ord.Since, ord.CrashCount) {
			p.write(RestartCrashed, ord, "crashed-instance")
			return &ActualRow{State: models.ActualLRPStateUnclaimed}
		}
	}
	return ord
}

// missingCell is step 5 for the ORDINARY row of a desired index: on a
// missing cell it becomes a suspect with a new replacement, unless the
// slot still has a suspect, in which case it (the replacement) is unclaimed.
func (p *planner) missingCell(ord, susp *ActualRow) {
	if !live(ord) || !p.cellMissing(ord) {
		return
	}
	if live(susp) {
		p.write(UnclaimReplacement, ord, "missing-cell")
		return
	}
	p.write(MarkSuspect, ord, "missing-cell")
}

func (p *planner) createMissing(d *DesiredRow, guid string, index int32) {
	p.plan.Metrics.Missing++
	p.plan.Writes = append(p.plan.Writes, SlotWrite{
		Kind:   CreateMissing,
		Row:    RowRef{ProcessGUID: guid, Index: index, Presence: models.ActualLRP_ORDINARY, Domain: d.Domain},
		Reason: "missing-instance",
	})
}

// retire retires ord when domain is fresh, and returns what remains of it:
// a row no cell runs, or whose cell is gone, is deleted; a live one stays
// until its rep removes it.
func (p *planner) retire(ord *ActualRow, domain, reason string) *ActualRow {
	if !p.fresh[domain] {
		return ord
	}
	p.plan.Metrics.Extra++
	p.plan.Retirements = append(p.plan.Retirements, Retirement{Row: refOf(ord), Reason: reason})
	if !live(ord) || p.cellMissing(ord) {
		return nil
	}
	return ord
}

// drift compares a RUNNING instance with its desired LRP (steps 13, 14).
func (p *planner) drift(d *DesiredRow, ord *ActualRow) {
	if ord.Drift == nil || d.Drift == nil {
		return // unchanged since last found in sync, or not loaded
	}
	inSync := !d.Drift.RoutesInvalid && !d.Drift.TagsInvalid
	if !d.Drift.RoutesInvalid && !sameHostnames(ord.Drift.InternalRoutes, d.Drift.InternalRoutes) {
		routes := append([]string{}, d.Drift.InternalRoutes...)
		p.plan.RouteUpdates = append(p.plan.RouteUpdates, InstanceUpdate{Row: refOf(ord), InternalRoutes: routes})
		inSync = false
	}
	if !d.Drift.TagsInvalid && ord.Drift.MetricTags != nil {
		want := models.ResolveMetricTags(d.Drift.MetricTags, ord.Index, ord.InstanceGUID)
		if !maps.Equal(want, ord.Drift.MetricTags) {
			p.plan.TagUpdates = append(p.plan.TagUpdates, InstanceUpdate{Row: refOf(ord), MetricTags: want})
			inSync = false
		}
	}
	if inSync {
		p.plan.InSync = append(p.plan.InSync, DriftCheck{ProcessGUID: ord.ProcessGUID, Index: ord.Index, Actual: ord.Tag, Desired: d.Tag})
	}
}

// sameHostnames is the reference's comparison of internal routes: as many
// of each, and every desired hostname among the actual ones.
func sameHostnames(actual, desired []string) bool {
	if len(actual) != len(desired) {
		return false
	}
	have := make(map[string]struct{}, len(actual))
	for _, h := range actual {
		have[h] = struct{}{}
	}
	for _, h := range desired {
		if _, ok := have[h]; !ok {
			return false
		}
	}
	return true
}

// count adds the ORDINARY row a slot is left with to the state counts.
func (p *planner) count(guid string, ord *ActualRow) {
	if ord == nil {
		return
	}
	m := &p.plan.Metrics
	switch ord.State {
	case models.ActualLRPStateUnclaimed:
		m.Unclaimed++
	case models.ActualLRPStateClaimed:
		m.Claimed++
	case models.ActualLRPStateRunning:
		m.Running++
	case models.ActualLRPStateCrashed:
		m.Crashed++
		p.crashing[guid] = struct{}{}
	}
}

// sortedDesired returns pointers to the rows ordered by process guid,
// without sorting when they already are.
func sortedDesired(rows []DesiredRow) []*DesiredRow {
	out := make([]*DesiredRow, len(rows))
	for i := range rows {
		out[i] = &rows[i]
	}
	byGUID := func(a, b *DesiredRow) int { return strings.Compare(a.ProcessGUID, b.ProcessGUID) }
	if !slices.IsSortedFunc(out, byGUID) {
		slices.SortStableFunc(out, byGUID)
	}
	return out
}

// sortedActual returns pointers to the rows ordered by process guid, index
// and presence, without sorting when they already are.
func sortedActual(rows []ActualRow) []*ActualRow {
	out := make([]*ActualRow, len(rows))
	for i := range rows {
		out[i] = &rows[i]
	}
	bySlot := func(a, b *ActualRow) int {
		if c := strings.Compare(a.ProcessGUID, b.ProcessGUID); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Index, b.Index); c != 0 {
			return c
		}
		return cmp.Compare(a.Presence, b.Presence)
	}
	if !slices.IsSortedFunc(out, bySlot) {
		slices.SortStableFunc(out, bySlot)
	}
	return out
}

func sortedKeys(m map[string]struct{}) []string {
	return slices.Sorted(maps.Keys(m))
}
