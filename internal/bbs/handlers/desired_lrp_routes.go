package handlers

// desiredLRPRoutes serves desired LRPs (current and .r2 routes), scheduling
// and routing infos, and the LRP event streams.
func (a *api) desiredLRPRoutes() map[string]routeFunc {
	return map[string]routeFunc{}
}
