package client

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/diego-go/diego/internal/bbs/routes"
	"github.com/diego-go/diego/internal/models"
)

// The keep_container answers a rep assumes when the BBS cannot be reached
// (§1.4): keep a claimed or running container, delete a crashed or stopped
// one.
const (
	KeepContainer   = true
	DeleteContainer = false
)

// EvacuateClaimedActualLRP hands a claimed instance of a draining cell back
// to the auctioneer. It reports whether the rep should keep the container.
func (c *Client) EvacuateClaimedActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) (bool, error) {
	req := &models.EvacuateClaimedActualLRPRequest{ActualLrpKey: key, ActualLrpInstanceKey: instanceKey}
	return c.evacuate(ctx, routes.EvacuateClaimedActualLRP, KeepContainer, req)
}

// EvacuateCrashedActualLRP reports an instance of a draining cell crashed.
// keep_container is always false.
func (c *Client) EvacuateCrashedActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey, errorMessage string) (bool, error) {
	req := &models.EvacuateCrashedActualLRPRequest{ActualLrpKey: key, ActualLrpInstanceKey: instanceKey, ErrorMessage: errorMessage}
	return c.evacuate(ctx, routes.EvacuateCrashedActualLRP, DeleteContainer, req)
}

// EvacuateStoppedActualLRP reports an instance of a draining cell stopped.
// keep_container is always false.
func (c *Client) EvacuateStoppedActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) (bool, error) {
	req := &models.EvacuateStoppedActualLRPRequest{ActualLrpKey: key, ActualLrpInstanceKey: instanceKey}
	return c.evacuate(ctx, routes.EvacuateStoppedActualLRP, DeleteContainer, req)
}

// EvacuateRunningActualLRP keeps a running instance of a draining cell as
// evacuating while a replacement starts (`evacuate_running.r1`). It falls
// back to the old route on a plain 404, like StartActualLRP.
func (c *Client) EvacuateRunningActualLRP(ctx context.Context, req *models.EvacuateRunningActualLRPRequest) (bool, error) {
	if req == nil {
		req = &models.EvacuateRunningActualLRPRequest{}
	}
	keep, err := c.evacuate(ctx, routes.EvacuateRunningActualLRP, KeepContainer, req)
	if err == ErrEndpointNotFound {
		old := &models.EvacuateRunningActualLRPRequest{
			ActualLrpKey:         req.GetActualLrpKey(),
			ActualLrpInstanceKey: req.GetActualLrpInstanceKey(),
			ActualLrpNetInfo:     req.GetActualLrpNetInfo(),
		}
		keep, err = c.evacuate(ctx, routes.EvacuateRunningActualLRPR0, KeepContainer, old)
	}
	return keep, err
}

// RemoveEvacuatingActualLRP deletes the evacuating instance of key.
func (c *Client) RemoveEvacuatingActualLRP(ctx context.Context, key *models.ActualLRPKey, instanceKey *models.ActualLRPInstanceKey) error {
	req := &models.RemoveEvacuatingActualLRPRequest{ActualLrpKey: key, ActualLrpInstanceKey: instanceKey}
	return c.call(ctx, routes.RemoveEvacuatingActualLRP, req, &models.RemoveEvacuatingActualLRPResponse{})
}

// evacuate answers keepOnFailure when the BBS could not be asked, else its
// keep_container with its in-band error.
func (c *Client) evacuate(ctx context.Context, name string, keepOnFailure bool, req proto.Message) (bool, error) {
	var resp models.EvacuationResponse
	if err := c.do(ctx, name, req, &resp); err != nil {
		return keepOnFailure, err
	}
	return resp.GetKeepContainer(), inBand(&resp)
}
