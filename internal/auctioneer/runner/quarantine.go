package runner

import (
	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/auction"
)

// A cell whose /work call failed may still answer /state, and, having
// taken nothing, look like the best cell again: the items sent to it would
// go back to it on every retry. So the round after a failed /work leaves
// that cell out, unless no other cell answered.

// dropSuspects removes from cells those whose /work failed in the previous
// round, keeping them all if nothing else would be left.
func dropSuspects(logger lager.Logger, cells []auction.Cell, suspects map[string]bool) []auction.Cell {
	if len(suspects) == 0 {
		return cells
	}
	kept := make([]auction.Cell, 0, len(cells))
	for _, c := range cells {
		if !suspects[c.ID] {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		return cells
	}
	for _, c := range cells {
		if suspects[c.ID] {
			logger.Info("ignored-cell", lager.Data{"cell-id": c.ID, "reason": "its work request failed in the previous round"})
		}
	}
	return kept
}
