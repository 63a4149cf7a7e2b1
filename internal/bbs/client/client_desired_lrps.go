package client

import (
	"context"

	"github.com/diego-go/diego/internal/bbs/routes"
	"github.com/diego-go/diego/internal/models"
)

// DesiredLRPFilter selects desired LRPs. Which fields a route honours
// differs (§1.5): list.r3 all three, scheduling infos domain and process
// guids, routing infos process guids only.
type DesiredLRPFilter struct {
	Domain       string
	ProcessGuids []string
	AppGuids     []string
}

func (f DesiredLRPFilter) request() *models.DesiredLRPsRequest {
	return &models.DesiredLRPsRequest{Domain: f.Domain, ProcessGuids: f.ProcessGuids, AppGuids: f.AppGuids}
}

// DesiredLRPs lists full desired LRPs (`list.r3`, current models).
func (c *Client) DesiredLRPs(ctx context.Context, filter DesiredLRPFilter) ([]*models.DesiredLRP, error) {
	return c.desiredLRPs(ctx, routes.DesiredLRPs, filter)
}

// DesiredLRPsR2 lists desired LRPs down-converted to V2 models (image
// layers turned into cached dependencies and download actions).
//
// Deprecated: use DesiredLRPs.
func (c *Client) DesiredLRPsR2(ctx context.Context, filter DesiredLRPFilter) ([]*models.DesiredLRP, error) {
	return c.desiredLRPs(ctx, routes.DesiredLRPsR2, filter)
}

// DesiredLRPRoutingInfos lists the routing part of desired LRPs.
func (c *Client) DesiredLRPRoutingInfos(ctx context.Context, filter DesiredLRPFilter) ([]*models.DesiredLRP, error) {
	return c.desiredLRPs(ctx, routes.DesiredLRPRoutingInfos, filter)
}

func (c *Client) desiredLRPs(ctx context.Context, name string, filter DesiredLRPFilter) ([]*models.DesiredLRP, error) {
	var resp models.DesiredLRPsResponse
	if err := c.call(ctx, name, filter.request(), &resp); err != nil {
		return nil, err
	}
	return resp.GetDesiredLrps(), nil
}

// DesiredLRPByProcessGuid returns one desired LRP (`get_by_process_guid.r3`).
func (c *Client) DesiredLRPByProcessGuid(ctx context.Context, processGuid string) (*models.DesiredLRP, error) {
	return c.desiredLRP(ctx, routes.DesiredLRPByProcessGuid, processGuid)
}

// DesiredLRPByProcessGuidR2 returns one desired LRP as a V2 model.
//
// Deprecated: use DesiredLRPByProcessGuid.
func (c *Client) DesiredLRPByProcessGuidR2(ctx context.Context, processGuid string) (*models.DesiredLRP, error) {
	return c.desiredLRP(ctx, routes.DesiredLRPByProcessGuidR2, processGuid)
}

func (c *Client) desiredLRP(ctx context.Context, name, processGuid string) (*models.DesiredLRP, error) {
	var resp models.DesiredLRPResponse
	if err := c.call(ctx, name, &models.DesiredLRPByProcessGuidRequest{ProcessGuid: processGuid}, &resp); err != nil {
		return nil, err
	}
	return resp.GetDesiredLrp(), nil
}

// DesiredLRPSchedulingInfos lists the scheduling part of desired LRPs.
func (c *Client) DesiredLRPSchedulingInfos(ctx context.Context, filter DesiredLRPFilter) ([]*models.DesiredLRPSchedulingInfo, error) {
	var resp models.DesiredLRPSchedulingInfosResponse
	if err := c.call(ctx, routes.DesiredLRPSchedulingInfos, filter.request(), &resp); err != nil {
		return nil, err
	}
	return resp.GetDesiredLrpSchedulingInfos(), nil
}

// DesiredLRPSchedulingInfoByProcessGuid returns the scheduling part of one
// desired LRP.
func (c *Client) DesiredLRPSchedulingInfoByProcessGuid(ctx context.Context, processGuid string) (*models.DesiredLRPSchedulingInfo, error) {
	var resp models.DesiredLRPSchedulingInfoByProcessGuidResponse
	req := &models.DesiredLRPByProcessGuidRequest{ProcessGuid: processGuid}
	if err := c.call(ctx, routes.DesiredLRPSchedulingInfoByProcessGuid, req, &resp); err != nil {
		return nil, err
	}
	return resp.GetDesiredLrpSchedulingInfo(), nil
}

// DesireLRP creates lrp and its unclaimed instances (`desire.r2`).
func (c *Client) DesireLRP(ctx context.Context, lrp *models.DesiredLRP) error {
	req := &models.DesireLRPRequest{DesiredLrp: lrp}
	return c.call(ctx, routes.DesireDesiredLRP, req, &models.DesiredLRPLifecycleResponse{})
}

// UpdateDesiredLRP changes instances, routes, annotation, metric tags or
// image credentials of a desired LRP.
func (c *Client) UpdateDesiredLRP(ctx context.Context, processGuid string, update *models.DesiredLRPUpdate) error {
	req := &models.UpdateDesiredLRPRequest{ProcessGuid: processGuid, Update: update}
	return c.call(ctx, routes.UpdateDesiredLRP, req, &models.DesiredLRPLifecycleResponse{})
}

// RemoveDesiredLRP deletes a desired LRP; its instances are stopped.
func (c *Client) RemoveDesiredLRP(ctx context.Context, processGuid string) error {
	req := &models.RemoveDesiredLRPRequest{ProcessGuid: processGuid}
	return c.call(ctx, routes.RemoveDesiredLRP, req, &models.DesiredLRPLifecycleResponse{})
}
