package handlers

import (
	"context"
	"net/http"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/models"
)

// The evacuation calls of a draining cell's rep (§1.5 rows 16–21, §4.4).
// Every answer but remove_evacuating carries keep_container. A request the
// BBS cannot read or that is invalid answers keep_container true for a
// claimed or running instance (the rep keeps what it cannot hand over) and
// false for a crashed or stopped one.

func (a *api) removeEvacuatingActualLRP(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req := &models.RemoveEvacuatingActualLRPRequest{}
	a.unary(logger, w, r, req, &models.RemoveEvacuatingActualLRPResponse{}, func(ctx context.Context) error {
		return a.Controllers.RemoveEvacuatingActualLRP(ctx, req.GetActualLrpKey(), req.GetActualLrpInstanceKey())
	})
}

func (a *api) evacuateClaimedActualLRP(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req, resp := &models.EvacuateClaimedActualLRPRequest{}, &models.EvacuationResponse{KeepContainer: true}
	a.unary(logger, w, r, req, resp, func(ctx context.Context) error {
		keep, err := a.Controllers.EvacuateClaimedActualLRP(ctx, req.GetActualLrpKey(), req.GetActualLrpInstanceKey())
		resp.KeepContainer = keep
		return err
	})
}

func (a *api) evacuateCrashedActualLRP(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req := &models.EvacuateCrashedActualLRPRequest{}
	a.unary(logger, w, r, req, &models.EvacuationResponse{}, func(ctx context.Context) error {
		return a.Controllers.EvacuateCrashedActualLRP(ctx, req.GetActualLrpKey(), req.GetActualLrpInstanceKey(), req.GetErrorMessage())
	})
}

func (a *api) evacuateStoppedActualLRP(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req := &models.EvacuateStoppedActualLRPRequest{}
	a.unary(logger, w, r, req, &models.EvacuationResponse{}, func(ctx context.Context) error {
		return a.Controllers.EvacuateStoppedActualLRP(ctx, req.GetActualLrpKey(), req.GetActualLrpInstanceKey())
	})
}

// evacuateRunningActualLRP serves evacuate_running.r1.
func (a *api) evacuateRunningActualLRP(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	a.evacuateRunning(logger, w, r, true)
}

// evacuateRunningActualLRPR0 serves the deprecated evacuate_running, which
// does not take the internal routes and metric tags (fields 5 and 6).
func (a *api) evacuateRunningActualLRPR0(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	a.evacuateRunning(logger, w, r, false)
}

func (a *api) evacuateRunning(logger lager.Logger, w http.ResponseWriter, r *http.Request, r1 bool) {
	req, resp := &models.EvacuateRunningActualLRPRequest{}, &models.EvacuationResponse{KeepContainer: true}
	a.unary(logger, w, r, req, resp, func(ctx context.Context) error {
		in := db.RunningInstance{
			InstanceKey:      req.GetActualLrpInstanceKey(),
			NetInfo:          req.GetActualLrpNetInfo(),
			Routable:         req.Routable,
			AvailabilityZone: req.GetAvailabilityZone(),
		}
		if r1 {
			in.InternalRoutes = req.GetActualLrpInternalRoutes()
			in.MetricTags = req.GetMetricTags()
		}
		keep, err := a.Controllers.EvacuateRunningActualLRP(ctx, req.GetActualLrpKey(), in)
		resp.KeepContainer = keep
		return err
	})
}
