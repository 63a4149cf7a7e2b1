package handlers

import (
	"github.com/diego-go/diego/internal/bbs/routes"
	"github.com/diego-go/diego/internal/models"
)

// desiredLRPRoutes serves desired LRPs (current and .r2 routes), scheduling
// and routing infos, and the LRP event streams.
func (a *api) desiredLRPRoutes() map[string]routeFunc {
	return map[string]routeFunc{
		routes.DesiredLRPSchedulingInfos:             a.desiredLRPSchedulingInfos,
		routes.DesiredLRPSchedulingInfoByProcessGuid: a.desiredLRPSchedulingInfoByProcessGuid,
		routes.DesiredLRPRoutingInfos:                a.desiredLRPRoutingInfos,
		routes.DesiredLRPs:                           a.desiredLRPsAs(desiredV3),
		routes.DesiredLRPByProcessGuid:               a.desiredLRPByProcessGuidAs(desiredV3),
		routes.DesiredLRPsR2:                         a.desiredLRPsAs(desiredV2),
		routes.DesiredLRPByProcessGuidR2:             a.desiredLRPByProcessGuidAs(desiredV2),

		routes.DesireDesiredLRP: a.desireLRP,
		routes.UpdateDesiredLRP: a.updateDesiredLRP,
		routes.RemoveDesiredLRP: a.removeDesiredLRP,

		routes.LRPInstanceEventStream:   a.lrpInstanceEvents(nil),
		routes.LRPInstanceEventStreamR0: a.lrpInstanceEvents(models.DesiredLRPEventToV0),
		routes.LRPGroupEventStream:      a.lrpGroupEvents(nil),
		routes.LRPGroupEventStreamR0:    a.lrpGroupEvents(models.DesiredLRPEventToV0),
	}
}
