package handlers

import (
	"fmt"
	"net/http"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/bbs/events"
	"github.com/diego-go/diego/internal/models"
)

// The LRP event streams (§2.1): desired LRP events merged with either the
// actual LRP instance events or the deprecated group events, the latter
// limited to one cell when the EventsByCellId body names one. Desired LRP
// events always pass; the deprecated streams show them as V0 models.

// desiredEventVersion turns a desired LRP event into what a stream shows;
// nil keeps the stored V3 models.
type desiredEventVersion func(models.Event) models.Event

// lrpInstanceEvents serves the desired and actual LRP instance events.
func (a *api) lrpInstanceEvents(version desiredEventVersion) routeFunc {
	return func(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
		a.streamLRPEvents(logger, w, r, a.Hubs.ActualInstance, version, func(cellID string, _ *events.Subscription) func(events.Event) bool {
			return func(ev events.Event) bool {
				m, ok := events.Message(ev).(models.Event)
				return !ok || models.InstanceEventMatchesCell(m, cellID)
			}
		})
	}
}

// lrpGroupEvents serves the desired and deprecated actual LRP group
// events. A group event that does not resolve to an LRP ends the stream
// of a subscriber with a cell filter, as in the reference.
func (a *api) lrpGroupEvents(version desiredEventVersion) routeFunc {
	return func(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
		a.streamLRPEvents(logger, w, r, a.Hubs.ActualGroup, version, func(cellID string, actual *events.Subscription) func(events.Event) bool {
			return func(ev events.Event) bool {
				m, ok := events.Message(ev).(models.Event)
				if !ok {
					return true
				}
				keep, err := models.GroupEventMatchesCell(m, cellID)
				if err != nil {
					logger.Error("failed-to-filter-event", err)
					actual.Close() // the stream ends on its next receive
					return false
				}
				return keep
			}
		})
	}
}

// streamLRPEvents reads the EventsByCellId body (a bad one is a 500 with no
// body), subscribes to the desired hub and actualHub, and streams until
// the client goes away, a hub closes or the subscriber falls too far
// behind. filter builds the cell filter of the actual events.
func (a *api) streamLRPEvents(logger lager.Logger, w http.ResponseWriter, r *http.Request, actualHub *events.Hub,
	version desiredEventVersion, filter func(cellID string, actual *events.Subscription) func(events.Event) bool) {
	req := &models.EventsByCellId{}
	if err := readRequest(r, req, a.MaxBodyBytes); err != nil {
		logger.Error("failed-to-parse-request", err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	desired, err := a.Hubs.Desired.Subscribe()
	if err != nil {
		logger.Error("failed-to-subscribe-to-desired-event-hub", err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	defer desired.Close()
	actual, err := actualHub.Subscribe()
	if err != nil {
		logger.Error("failed-to-subscribe-to-actual-event-hub", err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	defer actual.Close()

	cellID := req.GetCellId()
	var opts events.StreamOptions
	if cellID != "" {
		opts.Keep = filter(cellID, actual)
	}
	if version != nil {
		opts.Convert = func(ev events.Event) events.Event {
			if m, ok := events.Message(ev).(models.Event); ok {
				return version(m)
			}
			return ev
		}
	}
	logger.Info("subscribed-to-event-stream", lager.Data{"cell_id": cellID})
	err = events.Stream(w, r, opts, desired, actual)
	logger.Info("event-stream-ended", lager.Data{"reason": fmt.Sprint(err)})
}
