package handlers

import "github.com/diego-go/diego/internal/bbs/routes"

// actualLRPRoutes serves the actual LRP reads (current and deprecated group
// routes), the lifecycle calls and evacuation.
func (a *api) actualLRPRoutes() map[string]routeFunc {
	return map[string]routeFunc{
		routes.ActualLRPs:                          a.actualLRPs,
		routes.ActualLRPsByProcessGuids:            a.actualLRPsByProcessGuids,
		routes.ActualLRPGroups:                     a.actualLRPGroups,
		routes.ActualLRPGroupsByProcessGuid:        a.actualLRPGroupsByProcessGuid,
		routes.ActualLRPGroupByProcessGuidAndIndex: a.actualLRPGroupByProcessGuidAndIndex,

		routes.ClaimActualLRP:   a.claimActualLRP,
		routes.StartActualLRP:   a.startActualLRP,
		routes.StartActualLRPR0: a.startActualLRPR0,
		routes.CrashActualLRP:   a.crashActualLRP,
		routes.FailActualLRP:    a.failActualLRP,
		routes.RemoveActualLRP:  a.removeActualLRP,
		routes.RetireActualLRP:  a.retireActualLRP,

		routes.RemoveEvacuatingActualLRP:  a.removeEvacuatingActualLRP,
		routes.EvacuateClaimedActualLRP:   a.evacuateClaimedActualLRP,
		routes.EvacuateCrashedActualLRP:   a.evacuateCrashedActualLRP,
		routes.EvacuateStoppedActualLRP:   a.evacuateStoppedActualLRP,
		routes.EvacuateRunningActualLRP:   a.evacuateRunningActualLRP,
		routes.EvacuateRunningActualLRPR0: a.evacuateRunningActualLRPR0,
	}
}
