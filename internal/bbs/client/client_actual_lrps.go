package client

import (
	"context"

	"github.com/diego-go/diego/internal/bbs/routes"
	"github.com/diego-go/diego/internal/models"
)

// ActualLRPFilter selects actual LRPs; the fields are AND-ed and empty ones
// match everything.
type ActualLRPFilter struct {
	Domain      string
	CellID      string
	ProcessGuid string
	Index       *int32 // nil: every index
}

// ActualLRPs lists the actual LRPs matching filter, every presence
// (ordinary, evacuating, suspect).
func (c *Client) ActualLRPs(ctx context.Context, filter ActualLRPFilter) ([]*models.ActualLRP, error) {
	req := &models.ActualLRPsRequest{Domain: filter.Domain, CellId: filter.CellID, ProcessGuid: filter.ProcessGuid}
	if filter.Index != nil {
		index := *filter.Index
		req.Index = &index
	}
	var resp models.ActualLRPsResponse
	if err := c.call(ctx, routes.ActualLRPs, req, &resp); err != nil {
		return nil, err
	}
	return resp.GetActualLrps(), nil
}

// ActualLRPsByProcessGuids lists the actual LRPs of the given process guids
// (an empty list is an InvalidRequest).
func (c *Client) ActualLRPsByProcessGuids(ctx context.Context, processGuids []string) ([]*models.ActualLRP, error) {
	req := &models.ActualLRPsByProcessGuidsRequest{ProcessGuids: processGuids}
	var resp models.ActualLRPsByProcessGuidsResponse
	if err := c.call(ctx, routes.ActualLRPsByProcessGuids, req, &resp); err != nil {
		return nil, err
	}
	return resp.GetActualLrps(), nil
}

// ActualLRPGroups lists actual LRP groups by domain and cell (ProcessGuid
// and Index of filter are not part of this route).
//
// Deprecated: use ActualLRPs.
func (c *Client) ActualLRPGroups(ctx context.Context, filter ActualLRPFilter) ([]*models.ActualLRPGroup, error) {
	req := &models.ActualLRPGroupsRequest{Domain: filter.Domain, CellId: filter.CellID}
	var resp models.ActualLRPGroupsResponse
	if err := c.call(ctx, routes.ActualLRPGroups, req, &resp); err != nil {
		return nil, err
	}
	return resp.GetActualLrpGroups(), nil
}

// ActualLRPGroupsByProcessGuid lists the actual LRP groups of a process.
//
// Deprecated: use ActualLRPs.
func (c *Client) ActualLRPGroupsByProcessGuid(ctx context.Context, processGuid string) ([]*models.ActualLRPGroup, error) {
	req := &models.ActualLRPGroupsByProcessGuidRequest{ProcessGuid: processGuid}
	var resp models.ActualLRPGroupsResponse
	if err := c.call(ctx, routes.ActualLRPGroupsByProcessGuid, req, &resp); err != nil {
		return nil, err
	}
	return resp.GetActualLrpGroups(), nil
}

// ActualLRPGroupByProcessGuidAndIndex returns one actual LRP group.
//
// Deprecated: use ActualLRPs.
func (c *Client) ActualLRPGroupByProcessGuidAndIndex(ctx context.Context, processGuid string, index int32) (*models.ActualLRPGroup, error) {
	req := &models.ActualLRPGroupByProcessGuidAndIndexRequest{ProcessGuid: processGuid, Index: index}
	var resp models.ActualLRPGroupResponse
	if err := c.call(ctx, routes.ActualLRPGroupByProcessGuidAndIndex, req, &resp); err != nil {
		return nil, err
	}
	return resp.GetActualLrpGroup(), nil
}

// ClaimActualLRP claims the instance key's slot for the cell of instanceKey.
func (c *Client) ClaimActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) error {
	req := &models.ClaimActualLRPRequest{
		ProcessGuid:          key.GetProcessGuid(),
		Index:                key.GetIndex(),
		ActualLrpInstanceKey: instanceKey,
	}
	return c.call(ctx, routes.ClaimActualLRP, req, &models.ActualLRPLifecycleResponse{})
}

// StartActualLRP reports an instance running (`start.r1`). A request
// without Routable means routable. If the BBS does not know start.r1 (a
// plain 404) the request is sent again to the old `start` route, without
// the internal routes, metric tags, routable and availability zone, which
// that route does not take.
func (c *Client) StartActualLRP(ctx context.Context, req *models.StartActualLRPRequest) error {
	if req == nil {
		req = &models.StartActualLRPRequest{}
	}
	var resp models.ActualLRPLifecycleResponse
	err := c.do(ctx, routes.StartActualLRP, req, &resp)
	if err == ErrEndpointNotFound {
		old := &models.StartActualLRPRequest{
			ActualLrpKey:         req.GetActualLrpKey(),
			ActualLrpInstanceKey: req.GetActualLrpInstanceKey(),
			ActualLrpNetInfo:     req.GetActualLrpNetInfo(),
		}
		err = c.do(ctx, routes.StartActualLRPR0, old, &resp)
	}
	if err != nil {
		return err
	}
	return inBand(&resp)
}

// CrashActualLRP reports the instance crashed with errorMessage.
func (c *Client) CrashActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey, errorMessage string) error {
	req := &models.CrashActualLRPRequest{ActualLrpKey: key, ActualLrpInstanceKey: instanceKey, ErrorMessage: errorMessage}
	return c.call(ctx, routes.CrashActualLRP, req, &models.ActualLRPLifecycleResponse{})
}

// FailActualLRP records that an unclaimed instance could not be placed.
func (c *Client) FailActualLRP(ctx context.Context, key *models.ActualLRPKey, errorMessage string) error {
	req := &models.FailActualLRPRequest{ActualLrpKey: key, ErrorMessage: errorMessage}
	return c.call(ctx, routes.FailActualLRP, req, &models.ActualLRPLifecycleResponse{})
}

// RemoveActualLRP deletes the ordinary instance at key's index; a nil
// instanceKey matches any instance.
func (c *Client) RemoveActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) error {
	req := &models.RemoveActualLRPRequest{
		ProcessGuid:          key.GetProcessGuid(),
		Index:                key.GetIndex(),
		ActualLrpInstanceKey: instanceKey,
	}
	return c.call(ctx, routes.RemoveActualLRP, req, &models.ActualLRPLifecycleResponse{})
}

// RetireActualLRP stops the instance at key without changing the desired
// state.
func (c *Client) RetireActualLRP(ctx context.Context, key *models.ActualLRPKey) error {
	req := &models.RetireActualLRPRequest{ActualLrpKey: key}
	return c.call(ctx, routes.RetireActualLRP, req, &models.ActualLRPLifecycleResponse{})
}
