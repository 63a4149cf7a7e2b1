package handlers

import (
	"context"
	"net/http"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/bbs/routes"
	"github.com/diego-go/diego/internal/models"
)

func (a *api) commonRoutes() map[string]routeFunc {
	return map[string]routeFunc{
		routes.Ping:         a.ping,
		routes.Domains:      a.domains,
		routes.UpsertDomain: a.upsertDomain,
		routes.Cells:        a.cells,
	}
}

// ping answers available once the API serves at all: before the
// migrations it is behind the gate's 503.
func (a *api) ping(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	writeResponse(w, logger, &models.PingResponse{Available: true})
}

// domains lists the fresh domains; the body is ignored.
func (a *api) domains(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	resp := &models.DomainsResponse{}
	domains, err := a.DB.FreshDomains(requestContext(r))
	if err == nil {
		resp.Domains = domains
	}
	a.respond(logger, w, resp, err)
}

func (a *api) upsertDomain(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	req := &models.UpsertDomainRequest{}
	a.unary(logger, w, r, req, &models.UpsertDomainResponse{}, func(ctx context.Context) error {
		return a.DB.UpsertDomain(ctx, req.GetDomain(), req.GetTtl())
	})
}

// cells lists the cells present in locket; the body is ignored.
func (a *api) cells(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	resp := &models.CellsResponse{}
	cells, err := a.Cells.Cells(requestContext(r))
	if err != nil {
		logger.Error("failed-to-fetch-cells", err)
		err = models.NewError(models.Error_UnknownError, err.Error())
	} else {
		resp.Cells = cells
	}
	a.respond(logger, w, resp, err)
}
