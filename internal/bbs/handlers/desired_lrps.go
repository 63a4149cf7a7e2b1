package handlers

import (
	"context"
	"net/http"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/models"
)

// desiredVersion is the model version a desired LRP route answers with:
// V3 as stored, or the V2 of the deprecated .r2 routes.
type desiredVersion func(*models.DesiredLRP) *models.DesiredLRP

var (
	desiredV3 desiredVersion = func(d *models.DesiredLRP) *models.DesiredLRP { return d }
	desiredV2 desiredVersion = models.DesiredLRPToV2
)

// present is what every desired_lrps route shows of a stored desired LRP:
// the route's version, with metrics_guid and the source_id tag filled from
// each other.
func (v desiredVersion) present(d *models.DesiredLRP) *models.DesiredLRP {
	return models.PopulateMetricsGuid(v(d))
}

// desiredLRPsAs lists desired LRPs by domain, process guids and app guid
// prefixes, shown as version v.
func (a *api) desiredLRPsAs(v desiredVersion) routeFunc {
	return func(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
		req, resp := &models.DesiredLRPsRequest{}, &models.DesiredLRPsResponse{}
		a.unary(logger, w, r, req, resp, func(ctx context.Context) error {
			lrps, err := a.DB.DesiredLRPs(ctx, db.DesiredLRPFilter{
				Domain: req.GetDomain(), ProcessGuids: req.GetProcessGuids(), AppGuids: req.GetAppGuids(),
			})
			if err != nil {
				return err
			}
			for i, d := range lrps {
				lrps[i] = v.present(d)
			}
			resp.DesiredLrps = lrps
			return nil
		})
	}
}

// desiredLRPByProcessGuidAs returns one desired LRP, shown as version v.
func (a *api) desiredLRPByProcessGuidAs(v desiredVersion) routeFunc {
	return func(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
		req, resp := &models.DesiredLRPByProcessGuidRequest{}, &models.DesiredLRPResponse{}
		a.unary(logger, w, r, req, resp, func(ctx context.Context) error {
			d, err := a.DB.DesiredLRPByProcessGuid(ctx, req.GetProcessGuid())
			if err == nil {
				resp.DesiredLrp = v.present(d)
			}
			return err
		})
	}
}

// desiredLRPSchedulingInfos lists scheduling infos by domain and process
// guids; app guids are not looked at.
// schedulingInfosField is desired_lrp_scheduling_infos in
// DesiredLRPSchedulingInfosResponse.
const schedulingInfosField = 2

func (a *api) desiredLRPSchedulingInfos(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req, resp := &models.DesiredLRPsRequest{}, &models.DesiredLRPSchedulingInfosResponse{}
	a.unaryEncoded(logger, w, r, req, resp, func(ctx context.Context, sink db.Sink) error {
		_, err := a.DB.EncodedSchedulingInfos(ctx, db.DesiredLRPFilter{Domain: req.GetDomain(), ProcessGuids: req.GetProcessGuids()}, schedulingInfosField, sink)
		return err
	})
}

func (a *api) desiredLRPSchedulingInfoByProcessGuid(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req, resp := &models.DesiredLRPByProcessGuidRequest{}, &models.DesiredLRPSchedulingInfoByProcessGuidResponse{}
	a.unary(logger, w, r, req, resp, func(ctx context.Context) error {
		info, err := a.DB.DesiredLRPSchedulingInfoByProcessGuid(ctx, req.GetProcessGuid())
		resp.DesiredLrpSchedulingInfo = info
		return err
	})
}

// desiredLRPRoutingInfos lists the routing fields of desired LRPs; only
// the process guid filter is honoured.
func (a *api) desiredLRPRoutingInfos(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req, resp := &models.DesiredLRPsRequest{}, &models.DesiredLRPsResponse{}
	a.unary(logger, w, r, req, resp, func(ctx context.Context) error {
		lrps, err := a.DB.DesiredLRPRoutingInfos(ctx, db.DesiredLRPFilter{ProcessGuids: req.GetProcessGuids()})
		if err == nil {
			resp.DesiredLrps = lrps
		}
		return err
	})
}

func (a *api) desireLRP(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req := &models.DesireLRPRequest{}
	a.unary(logger, w, r, req, &models.DesiredLRPLifecycleResponse{}, func(ctx context.Context) error {
		return a.Controllers.DesireLRP(ctx, req.GetDesiredLrp())
	})
}

func (a *api) updateDesiredLRP(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req := &models.UpdateDesiredLRPRequest{}
	a.unary(logger, w, r, req, &models.DesiredLRPLifecycleResponse{}, func(ctx context.Context) error {
		return a.Controllers.UpdateDesiredLRP(ctx, req.GetProcessGuid(), req.GetUpdate())
	})
}

func (a *api) removeDesiredLRP(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req := &models.RemoveDesiredLRPRequest{}
	a.unary(logger, w, r, req, &models.DesiredLRPLifecycleResponse{}, func(ctx context.Context) error {
		return a.Controllers.RemoveDesiredLRP(ctx, req.GetProcessGuid())
	})
}
