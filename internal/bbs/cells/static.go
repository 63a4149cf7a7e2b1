package cells

import (
	"context"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/diego-go/diego/internal/models"
)

// Static is an in-memory Lookup: the cells it holds are present. It is
// safe for concurrent use and hands out copies.
type Static struct {
	mu    sync.Mutex
	cells map[string]*models.CellPresence
	err   error
}

var _ Lookup = (*Static)(nil)

// NewStatic returns a lookup holding cells.
func NewStatic(cells ...*models.CellPresence) *Static {
	s := &Static{cells: make(map[string]*models.CellPresence, len(cells))}
	for _, c := range cells {
		s.Set(c)
	}
	return s
}

// Set makes c present, replacing the cell with the same id.
func (s *Static) Set(c *models.CellPresence) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cells[c.GetCellId()] = proto.Clone(c).(*models.CellPresence)
}

// Remove makes the cell cellID absent.
func (s *Static) Remove(cellID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cells, cellID)
}

// FailWith makes every later call return err (nil restores service), as a
// lookup whose locket is unreachable.
func (s *Static) FailWith(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// CellByID returns a copy of the cell, or models.ErrResourceNotFound.
func (s *Static) CellByID(_ context.Context, cellID string) (*models.CellPresence, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	c, ok := s.cells[cellID]
	if !ok {
		return nil, models.ErrResourceNotFound
	}
	return proto.Clone(c).(*models.CellPresence), nil
}

// Cells returns copies of every cell, ordered by cell id.
func (s *Static) Cells(context.Context) ([]*models.CellPresence, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	byID := make(map[string]*models.CellPresence, len(s.cells))
	for id, c := range s.cells {
		byID[id] = proto.Clone(c).(*models.CellPresence)
	}
	return sorted(byID), nil
}
