package client

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/diego-go/diego/internal/bbs/routes"
	"github.com/diego-go/diego/internal/models"
)

// TaskFilter selects tasks; empty fields match everything.
type TaskFilter struct {
	Domain string
	CellID string
}

// Tasks lists tasks (`list.r3`, current models).
func (c *Client) Tasks(ctx context.Context, filter TaskFilter) ([]*models.Task, error) {
	return c.tasks(ctx, routes.Tasks, filter)
}

// TasksR2 lists tasks down-converted to V2 models.
//
// Deprecated: use Tasks.
func (c *Client) TasksR2(ctx context.Context, filter TaskFilter) ([]*models.Task, error) {
	return c.tasks(ctx, routes.TasksR2, filter)
}

func (c *Client) tasks(ctx context.Context, name string, filter TaskFilter) ([]*models.Task, error) {
	var resp models.TasksResponse
	if err := c.call(ctx, name, &models.TasksRequest{Domain: filter.Domain, CellId: filter.CellID}, &resp); err != nil {
		return nil, err
	}
	return resp.GetTasks(), nil
}

// TaskByGuid returns one task (`get_by_task_guid.r3`).
func (c *Client) TaskByGuid(ctx context.Context, taskGuid string) (*models.Task, error) {
	return c.task(ctx, routes.TaskByGuid, taskGuid)
}

// TaskByGuidR2 returns one task as a V2 model.
//
// Deprecated: use TaskByGuid.
func (c *Client) TaskByGuidR2(ctx context.Context, taskGuid string) (*models.Task, error) {
	return c.task(ctx, routes.TaskByGuidR2, taskGuid)
}

func (c *Client) task(ctx context.Context, name, taskGuid string) (*models.Task, error) {
	var resp models.TaskResponse
	if err := c.call(ctx, name, &models.TaskByGuidRequest{TaskGuid: taskGuid}, &resp); err != nil {
		return nil, err
	}
	return resp.GetTask(), nil
}

// DesireTask creates a pending task (`desire.r2`).
func (c *Client) DesireTask(ctx context.Context, taskGuid, domain string, def *models.TaskDefinition) error {
	req := &models.DesireTaskRequest{TaskGuid: taskGuid, Domain: domain, TaskDefinition: def}
	return c.call(ctx, routes.DesireTask, req, &models.TaskLifecycleResponse{})
}

// StartTask moves a task to Running on cellID. It reports whether the cell
// should run it (false, without error, when it already runs there).
func (c *Client) StartTask(ctx context.Context, taskGuid, cellID string) (bool, error) {
	var resp models.StartTaskResponse
	if err := c.call(ctx, routes.StartTask, &models.StartTaskRequest{TaskGuid: taskGuid, CellId: cellID}, &resp); err != nil {
		return false, err
	}
	return resp.GetShouldStart(), nil
}

// CancelTask cancels a pending or running task.
func (c *Client) CancelTask(ctx context.Context, taskGuid string) error {
	return c.taskLifecycle(ctx, routes.CancelTask, &models.TaskGuidRequest{TaskGuid: taskGuid})
}

// FailTask fails a task with failureReason.
//
// Deprecated: use CancelTask.
func (c *Client) FailTask(ctx context.Context, taskGuid, failureReason string) error {
	return c.taskLifecycle(ctx, routes.FailTask, &models.FailTaskRequest{TaskGuid: taskGuid, FailureReason: failureReason})
}

// RejectTask returns a task a cell could not run to Pending (or fails it
// after too many rejections).
func (c *Client) RejectTask(ctx context.Context, taskGuid, rejectionReason string) error {
	return c.taskLifecycle(ctx, routes.RejectTask, &models.RejectTaskRequest{TaskGuid: taskGuid, RejectionReason: rejectionReason})
}

// CompleteTask records the outcome of a task that ran on cellID.
func (c *Client) CompleteTask(ctx context.Context, taskGuid, cellID string, failed bool, failureReason, result string) error {
	req := &models.CompleteTaskRequest{
		TaskGuid:      taskGuid,
		CellId:        cellID,
		Failed:        failed,
		FailureReason: failureReason,
		Result:        result,
	}
	return c.taskLifecycle(ctx, routes.CompleteTask, req)
}

// ResolvingTask marks a completed task as being resolved by its client.
func (c *Client) ResolvingTask(ctx context.Context, taskGuid string) error {
	return c.taskLifecycle(ctx, routes.ResolvingTask, &models.TaskGuidRequest{TaskGuid: taskGuid})
}

// DeleteTask deletes a resolving task.
func (c *Client) DeleteTask(ctx context.Context, taskGuid string) error {
	return c.taskLifecycle(ctx, routes.DeleteTask, &models.TaskGuidRequest{TaskGuid: taskGuid})
}

func (c *Client) taskLifecycle(ctx context.Context, name string, req proto.Message) error {
	return c.call(ctx, name, req, &models.TaskLifecycleResponse{})
}
