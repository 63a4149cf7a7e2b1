package converger_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/lager/v3/lagertest"
	"github.com/diego-go/diego/internal/auctioneer/auctioneerclient"
	"github.com/diego-go/diego/internal/bbs/bbstest"
	"github.com/diego-go/diego/internal/bbs/converger"
	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/bbs/events"
	"github.com/diego-go/diego/internal/clock/fakeclock"
	"github.com/diego-go/diego/internal/models"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// fx is a BBS API in the test process (SQLite) with a converger on a fake
// clock, two present cells c1 and c2, the fresh domain cf-apps, and
// recorders of the three actual-LRP and task streams.
type fx struct {
	t     *testing.T
	ctx   context.Context
	api   *bbstest.API
	clock *fakeclock.Clock
	conv  *converger.Converger
	reg   *prometheus.Registry

	instance, group, tasks *events.Subscription
	seenLRPAuctions        int
}

var epoch = time.Unix(1_700_000_000, 0)

func newFx(t *testing.T, cfg converger.Config) *fx {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	clk := fakeclock.New(epoch)
	api := bbstest.Start(t, bbstest.Options{Now: clk.Now})
	return newFxOn(t, ctx, api, clk, cfg)
}

func newFxOn(t *testing.T, ctx context.Context, api *bbstest.API, clk *fakeclock.Clock, cfg converger.Config) *fx {
	t.Helper()
	f := &fx{t: t, ctx: ctx, api: api, clock: clk, reg: prometheus.NewRegistry()}
	metrics := converger.NewMetrics()
	f.reg.MustRegister(metrics.Collectors()...)
	deps := converger.Deps{Logger: lagertest.NewTestLogger("converger"), DB: api.DB, Controllers: api.Controllers, Metrics: metrics}
	if clk != nil {
		deps.Clock = clk
	}
	var err error
	if f.conv, err = converger.New(deps, cfg); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []struct {
		hub *events.Hub
		to  **events.Subscription
	}{{api.Hubs.ActualInstance, &f.instance}, {api.Hubs.ActualGroup, &f.group}, {api.Hubs.Task, &f.tasks}} {
		s, err := sub.hub.Subscribe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		*sub.to = s
	}
	api.Cells.Set(bbstest.Cell("c1", "z1"))
	api.Cells.Set(bbstest.Cell("c2", "z2"))
	if err := api.DB.UpsertDomain(ctx, "cf-apps", 0); err != nil {
		t.Fatal(err)
	}
	return f
}

func desiredLRP(guid, domain string, instances int32) *models.DesiredLRP {
	return &models.DesiredLRP{
		ProcessGuid: guid, Domain: domain, RootFs: "preloaded:cflinuxfs4", Instances: instances,
		MemoryMb: 256, DiskMb: 1024, MaxPids: 512, PlacementTags: []string{"tag"},
		Action:     &models.Action{RunAction: &models.RunAction{Path: "/bin/app", User: "vcap"}},
		MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: guid}},
	}
}

// desire stores a desired LRP without instance rows.
func (f *fx) desire(guid, domain string, instances int32) {
	f.t.Helper()
	if _, err := f.api.DB.DesireLRP(f.ctx, desiredLRP(guid, domain, instances)); err != nil {
		f.t.Fatal(err)
	}
}

func key(guid string, index int32, domain string) *models.ActualLRPKey {
	return &models.ActualLRPKey{ProcessGuid: guid, Index: index, Domain: domain}
}

func ik(guid string, index int32, cell string) *models.ActualLRPInstanceKey {
	return &models.ActualLRPInstanceKey{InstanceGuid: fmt.Sprintf("ig-%s-%d-%s", guid, index, cell), CellId: cell}
}

// unclaimed creates an UNCLAIMED row.
func (f *fx) unclaimed(guid string, index int32, domain string) {
	f.t.Helper()
	if _, err := f.api.DB.CreateUnclaimedActualLRP(f.ctx, key(guid, index, domain)); err != nil {
		f.t.Fatal(err)
	}
}

// running creates (if needed) and starts an instance on cell.
func (f *fx) running(guid string, index int32, domain, cell string) {
	f.t.Helper()
	in := db.RunningInstance{InstanceKey: ik(guid, index, cell), NetInfo: &models.ActualLRPNetInfo{Address: "10.0.0.1"}}
	if _, err := f.api.DB.StartActualLRP(f.ctx, key(guid, index, domain), in); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fx) slot(guid string, index int32) string {
	f.t.Helper()
	rows, err := f.api.DB.ActualLRPSlot(f.ctx, guid, index)
	if err != nil {
		f.t.Fatal(err)
	}
	var parts []string
	for _, r := range rows {
		parts = append(parts, fmt.Sprintf("%s:%s@%s", r.GetPresence(), r.GetState(), r.GetActualLrpInstanceKey().GetCellId()))
	}
	return strings.Join(parts, " ")
}

func (f *fx) lrpPass() converger.LRPPassSummary {
	f.t.Helper()
	sum, err := f.conv.RunLRPPass(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	return sum
}

// newAuctions returns the LRP auction requests since the last call, as
// "guid:[indices]" in request order.
func (f *fx) newAuctions() []string {
	reqs := f.api.Auctioneer.LRPRequests()
	var out []string
	for _, r := range reqs[f.seenLRPAuctions:] {
		out = append(out, auctionString(r))
	}
	f.seenLRPAuctions = len(reqs)
	return out
}

func auctionString(r *auctioneerclient.LRPStartRequest) string {
	return fmt.Sprintf("%s:%v", r.ProcessGuid, r.Indices)
}

// drain returns the events emitted so far on s, described; events are
// emitted before a pass returns.
func drain(s *events.Subscription) []string {
	var out []string
	for {
		select {
		case e := <-s.C():
			out = append(out, describeEvent(e))
		default:
			return out
		}
	}
}

func lrpString(l *models.ActualLRP) string {
	if l == nil {
		return "-"
	}
	return fmt.Sprintf("%s/%d %s %s", l.GetActualLrpKey().GetProcessGuid(), l.GetActualLrpKey().GetIndex(), l.GetPresence(), l.GetState())
}

func groupString(g *models.ActualLRPGroup) string {
	if g.GetEvacuating() != nil {
		return lrpString(g.GetEvacuating())
	}
	return lrpString(g.GetInstance())
}

func describeEvent(e events.Event) string {
	switch m := events.Message(e).(type) {
	case *models.ActualLRPInstanceCreatedEvent:
		return "created " + lrpString(m.GetActualLrp())
	case *models.ActualLRPInstanceRemovedEvent:
		return "removed " + lrpString(m.GetActualLrp())
	case *models.ActualLRPInstanceChangedEvent:
		k := m.GetActualLrpKey()
		return fmt.Sprintf("changed %s/%d %s %s -> %s %s", k.GetProcessGuid(), k.GetIndex(),
			m.GetBefore().GetPresence(), m.GetBefore().GetState(), m.GetAfter().GetPresence(), m.GetAfter().GetState())
	case *models.ActualLRPCreatedEvent:
		return "group-created " + groupString(m.GetActualLrpGroup())
	case *models.ActualLRPRemovedEvent:
		return "group-removed " + groupString(m.GetActualLrpGroup())
	case *models.ActualLRPChangedEvent:
		return "group-changed " + groupString(m.GetBefore()) + " -> " + groupString(m.GetAfter())
	case *models.TaskChangedEvent:
		return fmt.Sprintf("task-changed %s %s -> %s", m.GetAfter().GetTaskGuid(), m.GetBefore().GetState(), m.GetAfter().GetState())
	case *models.TaskRemovedEvent:
		return "task-removed " + m.GetTask().GetTaskGuid()
	}
	return e.EventType()
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}

func wantList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n  got  %q\n  want %q", what, got, want)
	}
}

// scrape returns the registry's metrics in Prometheus text.
func (f *fx) scrape() string {
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(f.reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// eventually polls cond every 10 ms until it holds or the deadline passes.
func eventually(t *testing.T, deadline time.Duration, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(deadline)
	for !cond() {
		select {
		case <-tick.C:
		case <-timeout:
			t.Fatalf("%s: not within %s", what, deadline)
		}
	}
}
