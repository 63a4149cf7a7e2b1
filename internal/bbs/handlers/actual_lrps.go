package handlers

import (
	"context"
	"net/http"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/models"
)

// The actual LRP reads and lifecycle calls (§1.5 rows 4–15). Lists return
// every presence; the deprecated group routes resolve the rows of each
// slot into a group.

// actualLRPsField is actual_lrps in ActualLRPsResponse.
const actualLRPsField = 2

func (a *api) actualLRPs(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req, resp := &models.ActualLRPsRequest{}, &models.ActualLRPsResponse{}
	a.unaryEncoded(logger, w, r, req, resp, func(ctx context.Context, sink db.Sink) error {
		filter := db.ActualLRPFilter{Domain: req.GetDomain(), CellID: req.GetCellId(), ProcessGUID: req.GetProcessGuid()}
		if req.Index != nil {
			index := req.GetIndex()
			filter.Index = &index
		}
		_, err := a.DB.EncodedActualLRPs(ctx, filter, actualLRPsField, sink)
		return err
	})
}

func (a *api) actualLRPsByProcessGuids(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req, resp := &models.ActualLRPsByProcessGuidsRequest{}, &models.ActualLRPsByProcessGuidsResponse{}
	a.unary(logger, w, r, req, resp, func(ctx context.Context) error {
		lrps, err := a.DB.ActualLRPsByProcessGuids(ctx, req.GetProcessGuids())
		resp.ActualLrps = lrps
		return err
	})
}

// actualLRPGroups filters by domain and cell only, as the reference does.
func (a *api) actualLRPGroups(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req, resp := &models.ActualLRPGroupsRequest{}, &models.ActualLRPGroupsResponse{}
	a.unary(logger, w, r, req, resp, func(ctx context.Context) error {
		lrps, err := a.DB.ActualLRPs(ctx, db.ActualLRPFilter{Domain: req.GetDomain(), CellID: req.GetCellId()})
		if err == nil {
			resp.ActualLrpGroups = models.ResolveActualLRPGroups(lrps)
		}
		return err
	})
}

func (a *api) actualLRPGroupsByProcessGuid(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req, resp := &models.ActualLRPGroupsByProcessGuidRequest{}, &models.ActualLRPGroupsResponse{}
	a.unary(logger, w, r, req, resp, func(ctx context.Context) error {
		lrps, err := a.DB.ActualLRPs(ctx, db.ActualLRPFilter{ProcessGUID: req.GetProcessGuid()})
		if err == nil {
			resp.ActualLrpGroups = models.ResolveActualLRPGroups(lrps)
		}
		return err
	})
}

// actualLRPGroupByProcessGuidAndIndex answers NotFound for an empty slot.
func (a *api) actualLRPGroupByProcessGuidAndIndex(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req, resp := &models.ActualLRPGroupByProcessGuidAndIndexRequest{}, &models.ActualLRPGroupResponse{}
	a.unary(logger, w, r, req, resp, func(ctx context.Context) error {
		lrps, err := a.DB.ActualLRPSlot(ctx, req.GetProcessGuid(), req.GetIndex())
		switch {
		case err != nil:
			return err
		case len(lrps) == 0:
			return models.ErrResourceNotFound
		}
		resp.ActualLrpGroup = models.ResolveActualLRPGroup(lrps)
		return nil
	})
}

func (a *api) claimActualLRP(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req := &models.ClaimActualLRPRequest{}
	a.unary(logger, w, r, req, &models.ActualLRPLifecycleResponse{}, func(ctx context.Context) error {
		return a.Controllers.ClaimActualLRP(ctx, req.GetProcessGuid(), req.GetIndex(), req.GetActualLrpInstanceKey())
	})
}

// startActualLRP serves start.r1.
func (a *api) startActualLRP(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	a.start(logger, w, r, true)
}

// startActualLRPR0 serves the deprecated start, which does not take the
// internal routes (stored empty) and metric tags (stored nil).
func (a *api) startActualLRPR0(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	a.start(logger, w, r, false)
}

func (a *api) start(logger lager.Logger, w http.ResponseWriter, r *http.Request, r1 bool) {
	req := &models.StartActualLRPRequest{}
	a.unary(logger, w, r, req, &models.ActualLRPLifecycleResponse{}, func(ctx context.Context) error {
		in := db.RunningInstance{
			InstanceKey:      req.GetActualLrpInstanceKey(),
			NetInfo:          req.GetActualLrpNetInfo(),
			InternalRoutes:   []*models.ActualLRPInternalRoute{},
			Routable:         req.Routable,
			AvailabilityZone: req.GetAvailabilityZone(),
		}
		if r1 {
			in.InternalRoutes = req.GetActualLrpInternalRoutes()
			in.MetricTags = req.GetMetricTags()
		}
		return a.Controllers.StartActualLRP(ctx, req.GetActualLrpKey(), in)
	})
}

func (a *api) crashActualLRP(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req := &models.CrashActualLRPRequest{}
	a.unary(logger, w, r, req, &models.ActualLRPLifecycleResponse{}, func(ctx context.Context) error {
		return a.Controllers.CrashActualLRP(ctx, req.GetActualLrpKey(), req.GetActualLrpInstanceKey(), req.GetErrorMessage())
	})
}

func (a *api) failActualLRP(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req := &models.FailActualLRPRequest{}
	a.unary(logger, w, r, req, &models.ActualLRPLifecycleResponse{}, func(ctx context.Context) error {
		return a.Controllers.FailActualLRP(ctx, req.GetActualLrpKey(), req.GetErrorMessage())
	})
}

func (a *api) removeActualLRP(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req := &models.RemoveActualLRPRequest{}
	a.unary(logger, w, r, req, &models.ActualLRPLifecycleResponse{}, func(ctx context.Context) error {
		return a.Controllers.RemoveActualLRP(ctx, req.GetProcessGuid(), req.GetIndex(), req.GetActualLrpInstanceKey())
	})
}

func (a *api) retireActualLRP(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req := &models.RetireActualLRPRequest{}
	a.unary(logger, w, r, req, &models.ActualLRPLifecycleResponse{}, func(ctx context.Context) error {
		return a.Controllers.RetireActualLRP(ctx, req.GetActualLrpKey())
	})
}
