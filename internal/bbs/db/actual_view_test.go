package db

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/bbs/converge"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
	"google.golang.org/protobuf/encoding/protowire"
)

// compareLRPs orders actual LRPs as the table's primary key does.
func compareLRPs(a, b *models.ActualLRP) int {
	ka, kb := a.GetActualLrpKey(), b.GetActualLrpKey()
	return compareViewKeys(viewKey{ka.GetProcessGuid(), ka.GetIndex(), int32(a.GetPresence())},
		viewKey{kb.GetProcessGuid(), kb.GetIndex(), int32(b.GetPresence())})
}

// check compares every read the view serves with SQL.
func (p *viewPair) check(cells []string, guids []string) {
	p.t.Helper()
	if !p.viewed.ViewsLoaded() {
		p.t.Fatal("the view does not serve")
	}
	all, err := p.plain.ActualLRPs(p.ctx, ActualLRPFilter{})
	if err != nil {
		p.t.Fatal(err)
	}
	got, _ := p.viewed.ActualLRPs(p.ctx, ActualLRPFilter{})
	sameMessages(p.t, "all", got, all, compareLRPs)

	resp := &models.ActualLRPsResponse{}
	if n := encodedList(p.t, resp, func(sink Sink) (int, error) {
		return p.viewed.EncodedActualLRPs(p.ctx, ActualLRPFilter{}, 2, sink)
	}); n != len(all) {
		p.t.Fatalf("encoded list: %d rows, want %d", n, len(all))
	}
	sameMessages(p.t, "encoded", resp.GetActualLrps(), all, compareLRPs)

	for _, c := range cells {
		want, _ := p.plain.ActualLRPs(p.ctx, ActualLRPFilter{CellID: c})
		got, _ := p.viewed.ActualLRPs(p.ctx, ActualLRPFilter{CellID: c})
		sameMessages(p.t, "cell "+c, got, want, compareLRPs)
	}
	for _, g := range guids {
		want, _ := p.plain.ActualLRPs(p.ctx, ActualLRPFilter{ProcessGUID: g, Domain: "dom"})
		got, _ := p.viewed.ActualLRPs(p.ctx, ActualLRPFilter{ProcessGUID: g, Domain: "dom"})
		sameMessages(p.t, "guid "+g, got, want, compareLRPs)
		for i := range int32(3) {
			want, _ := p.plain.ActualLRPSlot(p.ctx, g, i)
			got, _ := p.viewed.ActualLRPSlot(p.ctx, g, i)
			sameMessages(p.t, fmt.Sprintf("slot %s/%d", g, i), got, want, compareLRPs)
		}
	}
	want, _ := p.plain.ActualLRPsByProcessGuids(p.ctx, guids)
	got, _ = p.viewed.ActualLRPsByProcessGuids(p.ctx, guids)
	sameMessages(p.t, "by guids", got, want, compareLRPs)

	slimView, ok := p.viewed.view.slimActual(nil)
	slimSQL, err := p.plain.loadSlimActual(p.ctx, "", nil)
	if !ok || err != nil || len(slimView) != len(slimSQL) {
		p.t.Fatalf("slim rows: view %d (%v), SQL %d (%v)", len(slimView), ok, len(slimSQL), err)
	}
	bySlimKey := func(a, b converge.ActualRow) int {
		return compareViewKeys(viewKey{a.ProcessGUID, a.Index, int32(a.Presence)}, viewKey{b.ProcessGUID, b.Index, int32(b.Presence)})
	}
	slices.SortFunc(slimSQL, bySlimKey)
	for i := range slimSQL {
		if slimView[i] != slimSQL[i] {
			p.t.Fatalf("slim row %d: view %+v, SQL %+v", i, slimView[i], slimSQL[i])
		}
	}
}

// randomOp applies one random lifecycle write to a random slot.
func (p *viewPair) randomOp(r *rand.Rand, guids, cells []string) {
	db := p.viewed
	g := guids[r.IntN(len(guids))]
	idx := int32(r.IntN(3))
	key := &models.ActualLRPKey{ProcessGuid: g, Index: idx, Domain: "dom"}
	cell := cells[r.IntN(len(cells))]
	ik := &models.ActualLRPInstanceKey{InstanceGuid: "ig-" + cell + "-" + g, CellId: cell}
	in := RunningInstance{
		InstanceKey:    ik,
		NetInfo:        &models.ActualLRPNetInfo{Address: "10.0.0." + fmt.Sprint(r.IntN(9)), InstanceAddress: "10.1.0.1", Ports: []*models.PortMapping{{ContainerPort: 8080, HostPort: 61000}}},
		InternalRoutes: []*models.ActualLRPInternalRoute{{Hostname: g + ".internal"}},
		MetricTags:     map[string]string{"app": g, "n": fmt.Sprint(r.IntN(2))},
	}
	var err error
	switch r.IntN(11) {
	case 0:
		_, err = db.CreateUnclaimedActualLRP(p.ctx, key)
	case 1:
		_, err = db.ClaimActualLRP(p.ctx, g, idx, ik)
	case 2, 3:
		_, err = db.StartActualLRP(p.ctx, key, in)
	case 4:
		_, err = db.CrashActualLRP(p.ctx, key, ik, "boom "+string(make([]byte, r.IntN(2)*1100)))
	case 5:
		_, err = db.FailActualLRP(p.ctx, key, "no cell")
	case 6:
		_, err = db.RemoveActualLRP(p.ctx, g, idx, nil)
	case 7:
		_, err = db.EvacuateActualLRP(p.ctx, key, in)
	case 8:
		_, err = db.ChangeActualLRPPresence(p.ctx, key, models.ActualLRP_ORDINARY, models.ActualLRP_SUSPECT)
	case 9:
		_, err = db.PromoteSuspectActualLRP(p.ctx, g, idx)
	case 10:
		_, err = db.UnclaimActualLRP(p.ctx, key)
	}
	p.wrote(err)
}

func TestActualLRPViewMatchesSQL(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		p := newViewPair(t, cfg)
		guids := []string{"pg-a", "pg-b", "pg-c", "pg-d"}
		cells := []string{"cell-1", "cell-2", "cell-3"}
		r := rand.New(rand.NewPCG(1, 2))
		// Rows before the view loads, and writes after.
		for range 40 {
			p.randomOp(r, guids, cells)
		}
		p.enable()
		p.check(cells, guids)
		for i := range 400 {
			p.randomOp(r, guids, cells)
			if i%50 == 49 {
				p.check(cells, guids)
			}
		}
		p.check(cells, guids)

		// Convergence writes go through the view too.
		snap, err := p.viewed.LoadLRPSnapshot(p.ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var writes []converge.SlotWrite
		for _, row := range snap.Actual {
			if row.Presence == models.ActualLRP_ORDINARY && row.State == models.ActualLRPStateCrashed {
				writes = append(writes, converge.SlotWrite{Kind: converge.RestartCrashed, Row: converge.RowRef{
					ProcessGUID: row.ProcessGUID, Index: row.Index, Presence: row.Presence, Tag: row.Tag}})
			}
		}
		for _, g := range []string{"pg-new-1", "pg-new-2"} {
			writes = append(writes, converge.SlotWrite{Kind: converge.CreateMissing, Row: converge.RowRef{ProcessGUID: g, Index: 0, Domain: "dom"}})
		}
		p.viewed.ApplyLRPWrites(p.ctx, writes)
		p.check(cells, append(guids, "pg-new-1", "pg-new-2"))
	})
}

// A transaction that wrote and then failed leaves the view as the
// database is: its slot is read again.
func TestActualLRPViewRereadsFailedTransactions(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		p := newViewPair(t, cfg)
		p.enable()
		key := &models.ActualLRPKey{ProcessGuid: "pg-x", Index: 0, Domain: "dom"}
		boom := errors.New("boom")
		err := p.viewed.transactSlots(p.ctx, []slotKey{{"pg-x", 0}}, p.viewed.transact, func(ctx context.Context, tx *sqldb.Tx) error {
			if err := p.viewed.insertActualLRP(ctx, tx, newUnclaimedActualLRP(key, time.Now(), "e")); err != nil {
				return err
			}
			return boom
		})
		if err == nil {
			t.Fatal("the transaction did not fail")
		}
		if rows, _ := p.viewed.ActualLRPSlot(p.ctx, "pg-x", 0); len(rows) != 0 {
			t.Fatalf("the view kept a rolled-back row: %v", rows)
		}
		if _, err := p.viewed.CreateUnclaimedActualLRP(p.ctx, key); err != nil {
			t.Fatal(err)
		}
		p.check([]string{""}, []string{"pg-x"})
	})
}

// Writes while the view loads are not lost, and concurrent writers and
// readers agree with SQL at the end.
func TestActualLRPViewLoadsUnderConcurrentWrites(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		skipSQLite(t, cfg)
		p := newViewPair(t, cfg)
		guids := numberedGUIDs(50)
		cells := []string{"cell-1", "cell-2", "cell-3", "cell-4"}
		r := rand.New(rand.NewPCG(3, 4))
		for range 300 {
			p.randomOp(r, guids, cells)
		}
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 9))
				for range 150 {
					p.randomOp(r, guids, cells)
					if w == 0 {
						_, _ = p.viewed.ActualLRPs(p.ctx, ActualLRPFilter{CellID: "cell-1"})
						_, _ = p.viewed.EncodedActualLRPs(p.ctx, ActualLRPFilter{}, protowire.Number(2), func([]byte) error { return nil })
					}
				}
			})
		}
		time.Sleep(20 * time.Millisecond)
		// Writes between the loading statement and the catch-up, for sure.
		p.viewed.view.afterSelect = func() {
			r := rand.New(rand.NewPCG(7, 7))
			for range 100 {
				p.randomOp(r, guids, cells)
			}
		}
		p.enable()
		wg.Wait()
		p.check(cells, guids)
	})
}
