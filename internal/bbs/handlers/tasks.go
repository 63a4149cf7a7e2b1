package handlers

import (
	"context"
	"net/http"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/models"
)

// taskVersion turns a stored (V3) task into the model version of a route.
type taskVersion func(*models.Task) *models.Task

// taskV3 is the current model, as stored.
func taskV3(t *models.Task) *models.Task { return t }

// taskV2 is the model of the deprecated .r2 routes Cloud Controller still
// reads: image layers become cached dependencies and download actions.
func taskV2(t *models.Task) *models.Task { return models.TaskToV2(t) }

// tasks lists the tasks of a domain and/or a cell.
func (a *api) tasks(version taskVersion) routeFunc {
	return func(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
		req, resp := &models.TasksRequest{}, &models.TasksResponse{}
		a.unary(logger, w, r, req, resp, func(ctx context.Context) error {
			tasks, err := a.DB.Tasks(ctx, db.TaskFilter{Domain: req.GetDomain(), CellID: req.GetCellId()})
			if err != nil {
				return err
			}
			resp.Tasks = make([]*models.Task, len(tasks))
			for i, t := range tasks {
				resp.Tasks[i] = version(t)
			}
			return nil
		})
	}
}

// taskByGuid returns one task.
func (a *api) taskByGuid(version taskVersion) routeFunc {
	return func(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
		req, resp := &models.TaskByGuidRequest{}, &models.TaskResponse{}
		a.unary(logger, w, r, req, resp, func(ctx context.Context) error {
			t, err := a.DB.TaskByGuid(ctx, req.GetTaskGuid())
			if err != nil {
				return err
			}
			resp.Task = version(t)
			return nil
		})
	}
}

func (a *api) desireTask(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req := &models.DesireTaskRequest{}
	a.unary(logger, w, r, req, &models.TaskLifecycleResponse{}, func(ctx context.Context) error {
		return a.Controllers.DesireTask(ctx, req.GetTaskDefinition(), req.GetTaskGuid(), req.GetDomain())
	})
}

func (a *api) startTask(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req, resp := &models.StartTaskRequest{}, &models.StartTaskResponse{}
	a.unary(logger, w, r, req, resp, func(ctx context.Context) error {
		var err error
		resp.ShouldStart, err = a.Controllers.StartTask(ctx, req.GetTaskGuid(), req.GetCellId())
		return err
	})
}

func (a *api) cancelTask(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req := &models.TaskGuidRequest{}
	a.unary(logger, w, r, req, &models.TaskLifecycleResponse{}, func(ctx context.Context) error {
		return a.Controllers.CancelTask(ctx, req.GetTaskGuid())
	})
}

// failTask is the deprecated FailTask; clients cancel instead.
func (a *api) failTask(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req := &models.FailTaskRequest{}
	a.unary(logger, w, r, req, &models.TaskLifecycleResponse{}, func(ctx context.Context) error {
		return a.Controllers.FailTask(ctx, req.GetTaskGuid(), req.GetFailureReason())
	})
}

func (a *api) rejectTask(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req := &models.RejectTaskRequest{}
	a.unary(logger, w, r, req, &models.TaskLifecycleResponse{}, func(ctx context.Context) error {
		return a.Controllers.RejectTask(ctx, req.GetTaskGuid(), req.GetRejectionReason())
	})
}

func (a *api) completeTask(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req := &models.CompleteTaskRequest{}
	a.unary(logger, w, r, req, &models.TaskLifecycleResponse{}, func(ctx context.Context) error {
		return a.Controllers.CompleteTask(ctx, req.GetTaskGuid(), req.GetCellId(), req.GetFailed(), req.GetFailureReason(), req.GetResult())
	})
}

func (a *api) resolvingTask(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req := &models.TaskGuidRequest{}
	a.unary(logger, w, r, req, &models.TaskLifecycleResponse{}, func(ctx context.Context) error {
		return a.Controllers.ResolvingTask(ctx, req.GetTaskGuid())
	})
}

func (a *api) deleteTask(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req := &models.TaskGuidRequest{}
	a.unary(logger, w, r, req, &models.TaskLifecycleResponse{}, func(ctx context.Context) error {
		return a.Controllers.DeleteTask(ctx, req.GetTaskGuid())
	})
}
