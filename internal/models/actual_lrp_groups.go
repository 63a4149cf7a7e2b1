package models

import "errors"

// ActualLRPGroup is how the deprecated routes and the /v1/events stream show
// a slot (process guid, index): its EVACUATING row in `evacuating`, and the
// better of its ORDINARY and SUSPECT rows in `instance`. The conversion is
// lossy: a slot with both an ORDINARY and a SUSPECT row shows only one.

// ErrActualLRPGroupInvalid is what resolving a group with neither an
// instance nor an evacuating LRP returns.
var ErrActualLRPGroupInvalid = errors.New("ActualLRPGroup invalid")

// Actual LRP state names, as group resolution compares them.
const (
	groupStateClaimed = "CLAIMED"
	groupStateRunning = "RUNNING"
	groupStateCrashed = "CRASHED"
)

// ResolveActualLRPGroup returns the group of the rows of one slot: an
// evacuating row goes to Evacuating (the last one wins), and the ordinary
// and suspect rows compete for Instance (see outranks). Nil rows are
// skipped; no rows give an empty group.
func ResolveActualLRPGroup(rows []*ActualLRP) *ActualLRPGroup {
	g := &ActualLRPGroup{}
	for _, lrp := range rows {
		g.add(lrp)
	}
	return g
}

// ResolveActualLRPGroups groups rows by their actual LRP key (process guid,
// index and domain, as the reference does; the rows of one slot share the
// domain) and resolves each group. Groups come in the order their first row
// appears in rows, so the output is as stable as the input.
func ResolveActualLRPGroups(rows []*ActualLRP) []*ActualLRPGroup {
	type slot struct {
		guid   string
		index  int32
		domain string
	}
	bySlot := make(map[slot]*ActualLRPGroup)
	var groups []*ActualLRPGroup
	for _, lrp := range rows {
		if lrp == nil {
			continue
		}
		k := lrp.GetActualLrpKey()
		s := slot{k.GetProcessGuid(), k.GetIndex(), k.GetDomain()}
		g := bySlot[s]
		if g == nil {
			g = &ActualLRPGroup{}
			bySlot[s] = g
			groups = append(groups, g)
		}
		g.add(lrp)
	}
	return groups
}

func (x *ActualLRPGroup) add(lrp *ActualLRP) {
	switch {
	case lrp == nil:
	case lrp.GetPresence() == ActualLRP_EVACUATING:
		x.Evacuating = lrp
	case outranks(lrp, x.Instance):
		x.Instance = lrp
	}
}

// outranks reports whether candidate should replace current in a group's
// instance slot. An ORDINARY RUNNING row always wins; an ORDINARY CLAIMED
// row wins over a row that is neither RUNNING nor CLAIMED; a SUSPECT
// RUNNING or CLAIMED row wins over a row that is not RUNNING. Anything wins
// over nothing, and nothing else wins, so between two rows that tie the
// first one seen stays (the reference's rule is order-dependent there).
func outranks(candidate, current *ActualLRP) bool {
	if current == nil {
		return true
	}
	state, currentState := candidate.GetState(), current.GetState()
	switch candidate.GetPresence() {
	case ActualLRP_ORDINARY:
		switch state {
		case groupStateRunning:
			return true
		case groupStateClaimed:
			return currentState != groupStateRunning && currentState != groupStateClaimed
		}
	case ActualLRP_SUSPECT:
		if state == groupStateRunning || state == groupStateClaimed {
			return currentState != groupStateRunning
		}
	}
	return false
}

// ToActualLRPGroup returns the group showing x alone: in Evacuating if it
// is an evacuating row, in Instance otherwise; nil for nil.
func (x *ActualLRP) ToActualLRPGroup() *ActualLRPGroup {
	switch {
	case x == nil:
		return nil
	case x.GetPresence() == ActualLRP_EVACUATING:
		return &ActualLRPGroup{Evacuating: x}
	default:
		return &ActualLRPGroup{Instance: x}
	}
}

// Resolve returns the one LRP the group stands for, and whether it is the
// evacuating one: the instance when it is alone, RUNNING or CRASHED,
// otherwise the evacuating LRP. A nil or empty group is
// ErrActualLRPGroupInvalid.
func (x *ActualLRPGroup) Resolve() (lrp *ActualLRP, evacuating bool, err error) {
	inst, evac := x.GetInstance(), x.GetEvacuating()
	switch {
	case inst == nil && evac == nil:
		return nil, false, ErrActualLRPGroupInvalid
	case inst == nil:
		return evac, true, nil
	case evac == nil:
		return inst, false, nil
	case inst.GetState() == groupStateRunning || inst.GetState() == groupStateCrashed:
		return inst, false, nil
	default:
		return evac, true, nil
	}
}
