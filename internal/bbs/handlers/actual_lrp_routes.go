package handlers

// actualLRPRoutes serves the actual LRP reads (current and deprecated group
// routes), the lifecycle calls and evacuation.
func (a *api) actualLRPRoutes() map[string]routeFunc {
	return map[string]routeFunc{}
}
