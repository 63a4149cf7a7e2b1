// Package controllers holds what a BBS request does beyond one storage
// call: emitting events after the commit in the reference's order, asking
// the auctioneer for auctions, and asking reps to stop instances or cancel
// tasks. Handlers decode and validate; controllers act; db stores.
package controllers

import (
	"context"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/auctioneer/auctioneerclient"
	"github.com/diego-go/diego/internal/bbs/cells"
	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/bbs/events"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/rep/repclient"
)

// Auctioneer places work on cells.
type Auctioneer interface {
	RequestLRPAuctions(ctx context.Context, starts []*auctioneerclient.LRPStartRequest) error
	RequestTaskAuctions(ctx context.Context, starts []*auctioneerclient.TaskStartRequest) error
}

// Reps talks to the cell agents.
type Reps interface {
	StopLRPInstance(ctx context.Context, repURL string, key *models.ActualLRPKey, ik *models.ActualLRPInstanceKey) error
	CancelTask(ctx context.Context, repURL, taskGuid string) error
	UpdateLRPInstance(ctx context.Context, repURL string, u *repclient.LRPUpdate) error
}

// Callbacks runs task completion callbacks.
type Callbacks interface {
	Submit(task *models.Task)
}

var (
	_ Auctioneer = (*auctioneerclient.Client)(nil)
	_ Reps       = (*repclient.Client)(nil)
)

// Hubs are the event hubs the streams read from.
type Hubs struct {
	Desired        *events.Hub // desired LRP events, on the instance and group streams
	ActualInstance *events.Hub // actual LRP instance events
	ActualGroup    *events.Hub // deprecated actual LRP group events
	Task           *events.Hub // task events
}

// NewHubs returns a set of open hubs.
func NewHubs() Hubs {
	return Hubs{Desired: events.NewHub(), ActualInstance: events.NewHub(), ActualGroup: events.NewHub(), Task: events.NewHub()}
}

// Close ends every stream.
func (h Hubs) Close() {
	h.Desired.Close()
	h.ActualInstance.Close()
	h.ActualGroup.Close()
	h.Task.Close()
}

// Deps are what the controllers need.
type Deps struct {
	Logger     lager.Logger
	DB         *db.DB
	Hubs       Hubs
	Auctioneer Auctioneer
	Reps       Reps
	Cells      cells.Lookup
	Callbacks  Callbacks
	// UpdateWorkers bounds the parallel creation of actual LRPs when an LRP
	// is desired or scaled up.
	UpdateWorkers int
}

// traceID is the caller's X-Vcap-Request-Id, carried in the context.
func traceID(ctx context.Context) string { return bbsclient.RequestID(ctx) }

// emitSlot announces one actual-LRP slot write on the instance and group
// hubs.
func emitSlot(h Hubs, ctx context.Context, u *db.SlotUpdate, crash bool) {
	instance, group := slotEvents(u, traceID(ctx), crash)
	for _, e := range group {
		h.ActualGroup.Emit(e)
	}
	for _, e := range instance {
		h.ActualInstance.Emit(e)
	}
}

// Controllers carries out the API's operations; its methods are spread over
// one file per resource.
type Controllers struct {
	Deps

	taskStats taskStats // per-cell task counts, see TaskCounts
}

// New returns the controllers.
func New(d Deps) *Controllers {
	if d.UpdateWorkers <= 0 {
		d.UpdateWorkers = 1000
	}
	return &Controllers{Deps: d}
}
