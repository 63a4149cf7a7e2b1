package handlers

import (
	"maps"
)

// table maps every route name to its handler. Each resource file
// contributes its routes.
func (a *api) table() map[string]routeFunc {
	t := map[string]routeFunc{}
	maps.Copy(t, a.commonRoutes())
	maps.Copy(t, a.actualLRPRoutes())
	maps.Copy(t, a.desiredLRPRoutes())
	maps.Copy(t, a.taskRoutes())
	return t
}
