// Package cells is how the BBS learns about cells (reference notes:
// bbs-api §1.7, §7.2, §7.3): every rep holds a locket presence whose key is
// its cell id and whose value is its CellPresence in JSON. The BBS only
// reads them, to list cells, to find the rep of one cell and in
// convergence.
//
//	rep --Lock(PRESENCE, key=cell_id, value=JSON)--> locket <--Fetch / FetchAll-- Locket (this package)
//
// Controllers and handlers depend on the Lookup interface; Static is an
// in-memory Lookup for their tests.
package cells

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/diego-go/diego/internal/locket/locketpb"
	"github.com/diego-go/diego/internal/models"
)

// Lookup finds the cells that are present.
type Lookup interface {
	// CellByID returns the presence of one cell, or an error matching
	// models.ErrResourceNotFound when it has none.
	CellByID(ctx context.Context, cellID string) (*models.CellPresence, error)
	// Cells returns every present cell, ordered by cell id. Presences whose
	// value is not a CellPresence are skipped.
	Cells(ctx context.Context) ([]*models.CellPresence, error)
}

// presenceType is the deprecated type string sent beside the type code, as
// older locket servers read it.
const presenceType = "presence"

// Config configures a Locket lookup.
type Config struct {
	// Timeout bounds each locket call; the reference uses the BBS's
	// db_connection_timeout. Zero means only the caller's context bounds it.
	Timeout time.Duration
	// Logger receives the presences that cannot be decoded; nil discards.
	Logger lager.Logger
}

// Locket is a Lookup on a locket server.
type Locket struct {
	client  locketpb.LocketClient
	timeout time.Duration
	logger  lager.Logger
}

var _ Lookup = (*Locket)(nil)

// NewLocket returns a lookup through client.
func NewLocket(client locketpb.LocketClient, cfg Config) *Locket {
	logger := cfg.Logger
	if logger == nil {
		logger = lager.NewLogger("cells")
	}
	return &Locket{client: client, timeout: cfg.Timeout, logger: logger.Session("cells")}
}

func (l *Locket) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if l.timeout > 0 {
		return context.WithTimeout(ctx, l.timeout)
	}
	return context.WithCancel(ctx)
}

// CellByID fetches the presence of cellID. Locket's NotFound becomes
// models.ErrResourceNotFound; other locket errors are returned as they are,
// so that their gRPC message reaches the BBS's UnknownError.
func (l *Locket) CellByID(ctx context.Context, cellID string) (*models.CellPresence, error) {
	ctx, cancel := l.withTimeout(ctx)
	defer cancel()
	resp, err := l.client.Fetch(ctx, &locketpb.FetchRequest{Key: cellID})
	if err != nil {
		if status.Code(err) == codes.NotFound {
			return nil, models.ErrResourceNotFound
		}
		return nil, err
	}
	p, err := decode(resp.GetResource())
	if err != nil {
		l.logger.Error("failed-to-unmarshal-presence", err, lager.Data{"cell-id": cellID})
		return nil, err
	}
	return p, nil
}

// Cells fetches every presence. Two presences naming the same cell id
// yield one cell (the later one locket returns).
func (l *Locket) Cells(ctx context.Context) ([]*models.CellPresence, error) {
	ctx, cancel := l.withTimeout(ctx)
	defer cancel()
	resp, err := l.client.FetchAll(ctx, &locketpb.FetchAllRequest{Type: presenceType, TypeCode: locketpb.TypeCode_PRESENCE})
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*models.CellPresence, len(resp.GetResources()))
	for _, res := range resp.GetResources() {
		p, err := decode(res)
		if err != nil {
			l.logger.Error("failed-to-unmarshal-presence", err, lager.Data{"key": res.GetKey()})
			continue
		}
		byID[p.GetCellId()] = p
	}
	return sorted(byID), nil
}

func decode(res *locketpb.Resource) (*models.CellPresence, error) {
	p := &models.CellPresence{}
	if err := json.Unmarshal([]byte(res.GetValue()), p); err != nil {
		return nil, fmt.Errorf("presence %q: %w", res.GetKey(), err)
	}
	return p, nil
}

func sorted(byID map[string]*models.CellPresence) []*models.CellPresence {
	out := make([]*models.CellPresence, 0, len(byID))
	for _, p := range byID {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetCellId() < out[j].GetCellId() })
	return out
}
