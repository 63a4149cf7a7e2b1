package handlers

import (
	"errors"
	"net/http"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/bbs/events"
	"github.com/diego-go/diego/internal/models"
)

// taskEvents streams the task hub: task_created, task_changed and
// task_removed, to every subscriber (the stream has no filter and the
// request body is ignored). convert, if not nil, rewrites each event for
// a deprecated stream.
//
// The subscription is taken before the response headers are written, so a
// client whose subscribe call has returned sees every later change.
func (a *api) taskEvents(convert func(events.Event) events.Event) routeFunc {
	return func(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
		sub, err := a.Hubs.Task.Subscribe()
		if err != nil {
			logger.Error("failed-to-subscribe-to-task-hub", err)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		defer sub.Close()
		logger.Info("streaming-task-events")
		err = events.Stream(w, r, events.StreamOptions{Convert: convert}, sub)
		switch {
		case errors.Is(err, events.ErrSlowConsumer):
			logger.Info("slow-consumer-dropped")
		case err != nil && r.Context().Err() == nil && !errors.Is(err, events.ErrHubClosed):
			logger.Error("task-event-stream-failed", err)
		}
		logger.Info("finished-streaming-task-events")
	}
}

// taskEventToV2 gives the deprecated task stream its V2 tasks: the model
// down-conversion of the .r2 routes (image layers become cached
// dependencies and download actions), nothing more.
func taskEventToV2(ev events.Event) events.Event {
	if m, ok := events.Message(ev).(models.Event); ok {
		return models.TaskEventToV2(m)
	}
	return ev
}
