package client

import (
	"context"
	"math"
	"time"

	"github.com/diego-go/diego/internal/bbs/routes"
	"github.com/diego-go/diego/internal/models"
)

// Domains lists the fresh domains.
func (c *Client) Domains(ctx context.Context) ([]string, error) {
	var resp models.DomainsResponse
	if err := c.call(ctx, routes.Domains, nil, &resp); err != nil {
		return nil, err
	}
	return resp.GetDomains(), nil
}

// UpsertDomain creates domain or renews it for ttl, in whole seconds (0 or
// less: it never expires).
func (c *Client) UpsertDomain(ctx context.Context, domain string, ttl time.Duration) error {
	secs := int64(ttl / time.Second)
	secs = max(0, min(secs, math.MaxUint32))
	req := &models.UpsertDomainRequest{Domain: domain, Ttl: uint32(secs)}
	return c.call(ctx, routes.UpsertDomain, req, &models.UpsertDomainResponse{})
}

// Cells lists the cells present in locket.
func (c *Client) Cells(ctx context.Context) ([]*models.CellPresence, error) {
	var resp models.CellsResponse
	if err := c.call(ctx, routes.Cells, nil, &resp); err != nil {
		return nil, err
	}
	return resp.GetCells(), nil
}
