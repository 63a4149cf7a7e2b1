package db

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/diego-go/diego/internal/bbs/converge"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
)

// randomDesiredOp desires, updates or removes a random desired LRP.
func (p *viewPair) randomDesiredOp(r *rand.Rand, guids []string) {
	db := p.viewed
	g := guids[r.IntN(len(guids))]
	var err error
	switch r.IntN(5) {
	case 0, 1:
		d := desiredFixture(g, []string{"cf-apps", "other"}[r.IntN(2)])
		d.Instances = int32(r.IntN(4))
		if r.IntN(2) == 0 {
			d.Routes = nil
			d.MetricTags = nil
		}
		_, err = db.DesireLRP(p.ctx, d)
	case 2, 3:
		n := int32(r.IntN(5))
		u := &models.DesiredLRPUpdate{}
		u.Instances = &n
		if r.IntN(2) == 0 {
			routes := models.NewRoutes(map[string]json.RawMessage{
				"internal-router": json.RawMessage(fmt.Sprintf(`[{"hostname":"h%d.apps.internal"}]`, r.IntN(3))),
			})
			u.Routes = routes
		}
		if r.IntN(2) == 0 {
			u.MetricTags = map[string]*models.MetricTagValue{"k": {Static: fmt.Sprint(r.IntN(3))}}
		}
		_, _, err = db.UpdateDesiredLRP(p.ctx, g, u)
	case 4:
		_, err = db.RemoveDesiredLRP(p.ctx, g)
	}
	p.wrote(err)
}

func compareInfos(a, b *models.DesiredLRPSchedulingInfo) int {
	return strings.Compare(a.GetDesiredLrpKey().GetProcessGuid(), b.GetDesiredLrpKey().GetProcessGuid())
}

// checkDesired compares every desired read the view serves with SQL.
func (p *viewPair) checkDesired(guids []string) {
	p.t.Helper()
	if !p.viewed.ViewsLoaded() {
		p.t.Fatal("the views do not serve")
	}
	for _, f := range []DesiredLRPFilter{{}, {Domain: "cf-apps"}, {ProcessGuids: guids[:2]}, {Domain: "other", ProcessGuids: guids}} {
		want, err := p.plain.DesiredLRPSchedulingInfos(p.ctx, f)
		if err != nil {
			p.t.Fatal(err)
		}
		got, err := p.viewed.DesiredLRPSchedulingInfos(p.ctx, f)
		if err != nil {
			p.t.Fatal(err)
		}
		sameMessages(p.t, fmt.Sprintf("filter %+v", f), got, want, compareInfos)
		resp := &models.DesiredLRPSchedulingInfosResponse{}
		if n := encodedList(p.t, resp, func(sink Sink) (int, error) {
			return p.viewed.EncodedSchedulingInfos(p.ctx, f, 2, sink)
		}); n != len(want) {
			p.t.Fatalf("encoded scheduling infos: %d, want %d", n, len(want))
		}
		sameMessages(p.t, fmt.Sprintf("encoded, filter %+v", f), resp.GetDesiredLrpSchedulingInfos(), want, compareInfos)
	}

	slimView, ok := p.viewed.dview.slim(nil)
	slimSQL, err := p.plain.loadSlimDesired(p.ctx, "", nil)
	if !ok || err != nil || len(slimView) != len(slimSQL) {
		p.t.Fatalf("slim desired: view %d (%v), SQL %d (%v)", len(slimView), ok, len(slimSQL), err)
	}
	slices.SortFunc(slimSQL, func(a, b converge.DesiredRow) int { return strings.Compare(a.ProcessGUID, b.ProcessGUID) })
	for i := range slimSQL {
		if slimView[i].ProcessGUID != slimSQL[i].ProcessGUID || slimView[i].Domain != slimSQL[i].Domain ||
			slimView[i].Instances != slimSQL[i].Instances || slimView[i].Tag != slimSQL[i].Tag {
			p.t.Fatalf("slim desired %d: view %+v, SQL %+v", i, slimView[i], slimSQL[i])
		}
	}
	// Drift, on copies of the SQL rows.
	wantDrift, gotDrift := map[string]*converge.DesiredRow{}, map[string]*converge.DesiredRow{}
	for _, d := range slimSQL {
		a, b := d, d
		wantDrift[d.ProcessGUID], gotDrift[d.ProcessGUID] = &a, &b
	}
	if err := p.plain.readDesiredDrift(p.ctx, wantDrift); err != nil {
		p.t.Fatal(err)
	}
	if !p.viewed.dview.fillDrift(gotDrift) {
		p.t.Fatal("the view did not fill the drift")
	}
	for g, w := range wantDrift {
		if fmt.Sprintf("%+v", gotDrift[g].Drift) != fmt.Sprintf("%+v", w.Drift) {
			p.t.Fatalf("drift of %s: view %+v, SQL %+v", g, gotDrift[g].Drift, w.Drift)
		}
	}
}

func TestDesiredLRPViewMatchesSQL(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		p := newViewPair(t, cfg)
		guids := []string{"pg-a", "pg-b", "pg-c", "pg-d", "pg-e"}
		r := rand.New(rand.NewPCG(5, 6))
		for range 20 {
			p.randomDesiredOp(r, guids)
		}
		p.enable()
		p.checkDesired(guids)
		for i := range 200 {
			p.randomDesiredOp(r, guids)
			if i%40 == 39 {
				p.checkDesired(guids)
			}
		}
		p.checkDesired(guids)
	})
}

func TestDesiredLRPViewLoadsUnderConcurrentWrites(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		skipSQLite(t, cfg)
		p := newViewPair(t, cfg)
		guids := numberedGUIDs(30)
		r := rand.New(rand.NewPCG(8, 9))
		for range 60 {
			p.randomDesiredOp(r, guids)
		}
		p.viewed.dview.afterSelect = func() {
			r := rand.New(rand.NewPCG(10, 11))
			for range 40 {
				p.randomDesiredOp(r, guids)
			}
		}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 12))
				for range 40 {
					p.randomDesiredOp(r, guids)
				}
			})
		}
		p.enable()
		wg.Wait()
		p.checkDesired(guids)
	})
}
