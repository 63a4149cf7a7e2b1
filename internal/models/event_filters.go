package models

// Cell filters of the LRP event streams (§2.1): a subscriber that names a
// cell only gets the actual LRP events of that cell. Desired LRP events (and
// anything else) always pass, and an empty cell id lets everything pass.

// InstanceEventMatchesCell reports whether an event of the instance stream
// goes to a subscriber of cellID: created and removed by the LRP's cell,
// changed by the event's instance key (the after LRP's, or the before LRP's
// when the after one had none), crashed by the crashed instance's cell.
func InstanceEventMatchesCell(ev Event, cellID string) bool {
	if cellID == "" {
		return true
	}
	switch e := ev.(type) {
	case *ActualLRPInstanceCreatedEvent:
		return e.GetActualLrp().GetActualLrpInstanceKey().GetCellId() == cellID
	case *ActualLRPInstanceChangedEvent:
		return e.GetActualLrpInstanceKey().GetCellId() == cellID
	case *ActualLRPInstanceRemovedEvent:
		return e.GetActualLrp().GetActualLrpInstanceKey().GetCellId() == cellID
	case *ActualLRPCrashedEvent:
		return e.GetActualLrpInstanceKey().GetCellId() == cellID
	}
	return true
}

// GroupEventMatchesCell reports whether an event of the deprecated group
// stream goes to a subscriber of cellID: created and removed by the cell of
// the group's resolved LRP, changed when the before or the after group's
// resolved LRP is on the cell, crashed by the crashed instance's cell.
//
// A group that does not resolve (neither instance nor evacuating) returns
// ErrActualLRPGroupInvalid; the reference ends the subscriber's stream on
// it.
func GroupEventMatchesCell(ev Event, cellID string) (bool, error) {
	if cellID == "" {
		return true, nil
	}
	switch e := ev.(type) {
	case *ActualLRPCreatedEvent:
		return groupOnCell(e.GetActualLrpGroup(), cellID)
	case *ActualLRPChangedEvent:
		before, err := groupOnCell(e.GetBefore(), cellID)
		if err != nil {
			return false, err
		}
		after, err := groupOnCell(e.GetAfter(), cellID)
		if err != nil {
			return false, err
		}
		return before || after, nil
	case *ActualLRPRemovedEvent:
		return groupOnCell(e.GetActualLrpGroup(), cellID)
	case *ActualLRPCrashedEvent:
		return e.GetActualLrpInstanceKey().GetCellId() == cellID, nil
	}
	return true, nil
}

func groupOnCell(g *ActualLRPGroup, cellID string) (bool, error) {
	lrp, _, err := g.Resolve()
	if err != nil {
		return false, err
	}
	return lrp.GetActualLrpInstanceKey().GetCellId() == cellID, nil
}
