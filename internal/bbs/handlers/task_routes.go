package handlers

import "github.com/diego-go/diego/internal/bbs/routes"

// taskRoutes serves tasks and the task event streams.
func (a *api) taskRoutes() map[string]routeFunc {
	return map[string]routeFunc{
		routes.Tasks:        a.tasks(taskV3),
		routes.TaskByGuid:   a.taskByGuid(taskV3),
		routes.TasksR2:      a.tasks(taskV2),
		routes.TaskByGuidR2: a.taskByGuid(taskV2),

		routes.DesireTask:    a.desireTask,
		routes.StartTask:     a.startTask,
		routes.CancelTask:    a.cancelTask,
		routes.FailTask:      a.failTask,
		routes.RejectTask:    a.rejectTask,
		routes.CompleteTask:  a.completeTask,
		routes.ResolvingTask: a.resolvingTask,
		routes.DeleteTask:    a.deleteTask,

		routes.TaskEventStream:   a.taskEvents(nil),
		routes.TaskEventStreamR0: a.taskEvents(taskEventToV2),
	}
}
