package bbsbench

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/bbs/encryption"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
)

// The seeded rows must read back as the fleet describes them, and a rep's
// heartbeat StartActualLRP must find nothing to change: the bulk loop and
// the event counts rely on it.
func TestSeedReadsBackAndHeartbeatsChangeNothing(t *testing.T) {
	for _, bare := range []bool{false, true} {
		t.Run(map[bool]string{false: "with-metric-tags", true: "bare"}[bare], func(t *testing.T) {
			testSeed(t, Fleet{LRPs: 450, Instances: 2, Cells: 7, BareActuals: bare})
		})
	}
}

func testSeed(t *testing.T, f Fleet) {
	ctx := context.Background()
	sqlDB := sqltest.Open(t, sqldb.Config{DriverName: "sqlite", ConnectionString: filepath.Join(t.TempDir(), "bbs.db")})
	crypt, err := encryption.New(benchKeys)
	if err != nil {
		t.Fatal(err)
	}
	if err := Seed(ctx, sqlDB, crypt, f); err != nil {
		t.Fatal(err)
	}
	store := db.New(db.Deps{SQL: sqlDB, Cryptor: crypt})
	all, err := store.ActualLRPs(ctx, db.ActualLRPFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != f.Total() {
		t.Fatalf("seeded %d actual LRPs, want %d", len(all), f.Total())
	}
	infos, err := store.DesiredLRPSchedulingInfos(ctx, db.DesiredLRPFilter{})
	if err != nil || len(infos) != f.LRPs {
		t.Fatalf("seeded %d scheduling infos (%v), want %d", len(infos), err, f.LRPs)
	}
	for _, inst := range [][2]int{{0, 0}, {0, 1}, {123, 1}, {449, 0}} {
		req := f.StartRequest(inst[0], inst[1])
		upd, err := store.StartActualLRP(ctx, req.ActualLrpKey, db.RunningInstance{
			InstanceKey: req.ActualLrpInstanceKey, NetInfo: req.ActualLrpNetInfo, InternalRoutes: req.ActualLrpInternalRoutes,
			MetricTags: req.MetricTags, Routable: req.Routable, AvailabilityZone: req.AvailabilityZone,
		})
		if err != nil {
			t.Fatal(err)
		}
		if upd.Changed() {
			t.Errorf("heartbeat start of %v changed the row: %+v", inst, upd.Changes)
		}
	}
}

func TestFleetSpreadsInstancesEvenly(t *testing.T) {
	f := Fleet{LRPs: 1000, Instances: 2, Cells: 100}
	per := map[int]int{}
	for lrp := range f.LRPs {
		for i := range f.Instances {
			per[f.CellOf(lrp, i)]++
		}
	}
	for c := range f.Cells {
		if per[c] != 20 {
			t.Fatalf("cell %d runs %d instances, want 20", c, per[c])
		}
	}
	in := newInstances(f)
	seen := map[[2]int]bool{}
	for range f.Total() {
		lrp, i := in.Next()
		seen[[2]int{lrp, i}] = true
	}
	if len(seen) != f.Total() {
		t.Fatalf("the walk visited %d instances of %d", len(seen), f.Total())
	}
}
