package handlers

// taskRoutes serves tasks and the task event streams.
func (a *api) taskRoutes() map[string]routeFunc {
	return map[string]routeFunc{}
}
