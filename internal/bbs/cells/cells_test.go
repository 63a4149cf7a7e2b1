package cells

import (
	"context"
	"errors"
	"testing"
	"time"

	"code.cloudfoundry.org/lager/v3/lagertest"
	"google.golang.org/protobuf/proto"

	"github.com/diego-go/diego/internal/locket/locketpb"
	"github.com/diego-go/diego/internal/locket/lockettest"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
)

// A presence value as a rep writes it (auction-rep-executor §3.6).
const cell1JSON = `{"cell_id":"cell-1","rep_address":"http://10.0.0.5:1800",
 "zone":"z1","capacity":{"memory_mb":16000,"disk_mb":64000,"containers":249},
 "rootfs_provider_list":[{"name":"preloaded","properties":["cflinuxfs4@1.2"]},{"name":"docker"}],
 "placement_tags":["tagA"],"optional_placement_tags":["opt"],
 "rep_url":"https://cell-1.cell.service.cf.internal:1801"}`

var cell1 = &models.CellPresence{
	CellId:                "cell-1",
	RepAddress:            "http://10.0.0.5:1800",
	Zone:                  "z1",
	Capacity:              &models.CellCapacity{MemoryMb: 16000, DiskMb: 64000, Containers: 249},
	RootfsProviders:       []*models.Provider{{Name: "preloaded", Properties: []string{"cflinuxfs4@1.2"}}, {Name: "docker"}},
	PlacementTags:         []string{"tagA"},
	OptionalPlacementTags: []string{"opt"},
	RepUrl:                "https://cell-1.cell.service.cf.internal:1801",
}

const cell2JSON = `{"cell_id":"cell-2","rep_address":"http://10.0.0.6:1800","zone":"z2",
 "capacity":{"memory_mb":8000,"disk_mb":32000,"containers":100},"rep_url":"https://cell-2.cell.service.cf.internal:1801",
 "annotations":{"k":"v"}}`

var cell2 = &models.CellPresence{
	CellId:      "cell-2",
	RepAddress:  "http://10.0.0.6:1800",
	Zone:        "z2",
	Capacity:    &models.CellCapacity{MemoryMb: 8000, DiskMb: 32000, Containers: 100},
	RepUrl:      "https://cell-2.cell.service.cf.internal:1801",
	Annotations: map[string]string{"k": "v"},
}

func claim(t *testing.T, c locketpb.LocketClient, key, value string, code locketpb.TypeCode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.Lock(ctx, &locketpb.LockRequest{
		Resource:     &locketpb.Resource{Key: key, Owner: "owner-" + key, Value: value, TypeCode: code},
		TtlInSeconds: 60,
	})
	if err != nil {
		t.Fatalf("claiming %s: %v", key, err)
	}
}

func equalCells(got, want []*models.CellPresence) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !proto.Equal(got[i], want[i]) {
			return false
		}
	}
	return true
}

func TestLocketLookup(t *testing.T) {
	srv := lockettest.Start(t, sqldb.Config{})
	conn := srv.Dial()
	// Claimed out of order, plus a broken presence and a lock that is no cell.
	claim(t, conn, "cell-2", cell2JSON, locketpb.TypeCode_PRESENCE)
	claim(t, conn, "cell-bad", `{"cell_id":`, locketpb.TypeCode_PRESENCE)
	claim(t, conn, "cell-1", cell1JSON, locketpb.TypeCode_PRESENCE)
	claim(t, conn, "bbs", `{"cell_id":"not-a-cell"}`, locketpb.TypeCode_LOCK)

	logger := lagertest.NewTestLogger("test")
	l := NewLocket(conn, Config{Timeout: 5 * time.Second, Logger: logger})
	ctx := context.Background()

	got, err := l.Cells(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []*models.CellPresence{cell1, cell2}; !equalCells(got, want) {
		t.Errorf("Cells:\ngot  %v\nwant %v", got, want)
	}
	if len(logger.LogMessages()) == 0 {
		t.Error("the broken presence was not logged")
	}

	c, err := l.CellByID(ctx, "cell-1")
	if err != nil || !proto.Equal(c, cell1) {
		t.Errorf("CellByID(cell-1): got %v, %v", c, err)
	}
	if _, err := l.CellByID(ctx, "cell-9"); !errors.Is(err, models.ErrResourceNotFound) {
		t.Errorf("CellByID(cell-9): got %v, want ResourceNotFound", err)
	}
	if _, err := l.CellByID(ctx, "cell-bad"); err == nil || errors.Is(err, models.ErrResourceNotFound) {
		t.Errorf("CellByID(cell-bad): got %v, want a decoding error", err)
	}

	// Without locket, both fail and nothing is made up.
	srv.Stop()
	if cells, err := l.Cells(ctx); err == nil || cells != nil {
		t.Errorf("Cells without locket: got %v, %v", cells, err)
	}
	if _, err := l.CellByID(ctx, "cell-1"); err == nil || errors.Is(err, models.ErrResourceNotFound) {
		t.Errorf("CellByID without locket: got %v, want an error that is not ResourceNotFound", err)
	}
}

func TestLocketLookupWithoutCells(t *testing.T) {
	srv := lockettest.Start(t, sqldb.Config{})
	l := NewLocket(srv.Dial(), Config{})
	got, err := l.Cells(context.Background())
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("got %v, %v; want an empty list", got, err)
	}
}

func TestStatic(t *testing.T) {
	ctx := context.Background()
	s := NewStatic(cell2, cell1)
	got, err := s.Cells(ctx)
	if err != nil || !equalCells(got, []*models.CellPresence{cell1, cell2}) {
		t.Fatalf("Cells: got %v, %v", got, err)
	}
	got[0].Zone = "changed"
	c, err := s.CellByID(ctx, "cell-1")
	if err != nil || !proto.Equal(c, cell1) {
		t.Fatalf("CellByID: got %v, %v (copies must not be shared)", c, err)
	}

	s.Remove("cell-1")
	if _, err := s.CellByID(ctx, "cell-1"); !errors.Is(err, models.ErrResourceNotFound) {
		t.Errorf("removed cell: got %v", err)
	}
	changed := proto.Clone(cell2).(*models.CellPresence)
	changed.Zone = "z9"
	s.Set(changed)
	if c, _ := s.CellByID(ctx, "cell-2"); c.GetZone() != "z9" {
		t.Errorf("Set did not replace: %v", c)
	}

	boom := errors.New("locket unavailable")
	s.FailWith(boom)
	if _, err := s.Cells(ctx); !errors.Is(err, boom) {
		t.Errorf("Cells: got %v", err)
	}
	if _, err := s.CellByID(ctx, "cell-2"); !errors.Is(err, boom) {
		t.Errorf("CellByID: got %v", err)
	}
	s.FailWith(nil)
	if got, err := s.Cells(ctx); err != nil || len(got) != 1 {
		t.Errorf("after recovery: %v, %v", got, err)
	}
}
