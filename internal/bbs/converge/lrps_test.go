package converge

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/models"
)

var now = time.Unix(1_700_000_000, 0)

const (
	ord  = models.ActualLRP_ORDINARY
	evac = models.ActualLRP_EVACUATING
	susp = models.ActualLRP_SUSPECT

	unclaimed = models.ActualLRPStateUnclaimed
	claimed   = models.ActualLRPStateClaimed
	running   = models.ActualLRPStateRunning
	crashed   = models.ActualLRPStateCrashed
)

// row is an actual row of guid at index, written a second ago, in domain
// "cf-apps" (or the domain of a "stale/" guid).
func row(guid string, index int32, p models.ActualLRP_Presence, state, cell string, opts ...func(*ActualRow)) ActualRow {
	r := ActualRow{
		ProcessGUID: guid, Index: index, Presence: p, Domain: domainOf(guid), State: state, CellID: cell,
		Since: now.Add(-time.Second).UnixNano(), Tag: Tag{Epoch: fmt.Sprintf("e-%s-%d-%d", guid, index, p), Index: 1},
	}
	if cell != "" {
		r.InstanceGUID = "ig-" + cell
	}
	for _, o := range opts {
		o(&r)
	}
	return r
}

func domainOf(guid string) string {
	if strings.HasPrefix(guid, "stale") {
		return "stale-domain"
	}
	return "cf-apps"
}

func since(d time.Duration) func(*ActualRow) {
	return func(r *ActualRow) { r.Since = now.Add(-d).UnixNano() }
}

func crashes(n int32, ago time.Duration) func(*ActualRow) {
	return func(r *ActualRow) { r.CrashCount, r.Since = n, now.Add(-ago).UnixNano() }
}

func runsWith(routes []string, tags map[string]string) func(*ActualRow) {
	return func(r *ActualRow) { r.Drift = &ActualDrift{InternalRoutes: routes, MetricTags: tags} }
}

func desired(guid string, n int32) DesiredRow {
	return DesiredRow{ProcessGUID: guid, Domain: domainOf(guid), Instances: n, Tag: Tag{Epoch: "d-" + guid}}
}

func desiredWith(guid string, n int32, dd *DesiredDrift) DesiredRow {
	d := desired(guid, n)
	d.Drift = dd
	return d
}

// freshDomains: cf-apps is fresh, stale-domain expired a minute ago.
var freshDomains = []Domain{
	{Name: "cf-apps", ExpireTime: now.Add(time.Minute).UnixNano()},
	{Name: "stale-domain", ExpireTime: now.Add(-time.Minute).UnixNano()},
}

var presenceNames = map[models.ActualLRP_Presence]string{ord: "O", evac: "E", susp: "S"}

// describe prints a plan's actions, one line each, in plan order.
func describe(p LRPPlan) []string {
	var out []string
	for _, d := range p.PruneDomains {
		out = append(out, "prune-domain "+d)
	}
	for _, w := range p.Writes {
		s := fmt.Sprintf("%s %s/%d/%s", w.Kind, w.Row.ProcessGUID, w.Row.Index, presenceNames[w.Row.Presence])
		if w.Replaced != nil {
			s += " replacing " + w.Replaced.State
		}
		out = append(out, s)
	}
	for _, r := range p.Retirements {
		out = append(out, fmt.Sprintf("retire-%s %s/%d", r.Reason, r.Row.ProcessGUID, r.Row.Index))
	}
	for _, r := range p.StaleUnclaimed {
		out = append(out, fmt.Sprintf("auction-stale %s/%d", r.ProcessGUID, r.Index))
	}
	for _, u := range p.RouteUpdates {
		out = append(out, fmt.Sprintf("update-routes %s/%d %v", u.Row.ProcessGUID, u.Row.Index, u.InternalRoutes))
	}
	for _, u := range p.TagUpdates {
		keys := slices.Sorted(maps.Keys(u.MetricTags))
		var kv []string
		for _, k := range keys {
			kv = append(kv, k+"="+u.MetricTags[k])
		}
		out = append(out, fmt.Sprintf("update-tags %s/%d %s", u.Row.ProcessGUID, u.Row.Index, strings.Join(kv, ",")))
	}
	for _, c := range p.InSync {
		out = append(out, fmt.Sprintf("in-sync %s/%d", c.ProcessGUID, c.Index))
	}
	return out
}

type lrpCase struct {
	name    string
	desired []DesiredRow
	actual  []ActualRow
	cells   []string // present cells; nil is an empty, known list
	want    []string
}

// runLRPCases plans each case with PlanLRPs, or PlanMissingCells when
// partial, and compares the plans (PlanLRPs also prunes stale-domain).
func runLRPCases(t *testing.T, partial bool, cases []lrpCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &LRPSnapshot{Desired: c.desired, Actual: c.actual, Domains: freshDomains, Cells: NewCellSet(c.cells...), CellsKnown: true}
			before := fmt.Sprint(*s)
			var got, want []string
			if partial {
				got, want = describe(PlanMissingCells(s, now)), c.want
			} else {
				got, want = describe(PlanLRPs(s, now)), append([]string{"prune-domain stale-domain"}, c.want...)
			}
			if !slices.Equal(got, want) {
				t.Errorf("plan:\n  got  %q\n  want %q", got, want)
			}
			if fmt.Sprint(*s) != before {
				t.Error("the snapshot was modified")
			}
		})
	}
}

func TestPlanLRPsWithoutCellsDoesNothing(t *testing.T) {
	s := &LRPSnapshot{Desired: []DesiredRow{desired("p", 2)}, Domains: freshDomains}
	if p := PlanLRPs(s, now); !p.Skipped || len(describe(p)) != 0 {
		t.Fatalf("unknown cells: got %+v, want a skipped empty plan", p)
	}
	if p := PlanMissingCells(s, now); !p.Skipped || len(describe(p)) != 0 {
		t.Fatalf("unknown cells: got %+v, want a skipped empty plan", p)
	}
	if p := PlanLRPs(nil, now); !p.Skipped {
		t.Fatal("nil snapshot: want skipped")
	}
}

func TestPlanLRPsDomains(t *testing.T) {
	s := &LRPSnapshot{CellsKnown: true, Domains: []Domain{
		{Name: "b-fresh", ExpireTime: now.UnixNano() + 1},
		{Name: "a-now", ExpireTime: now.UnixNano()},
		{Name: "c-old", ExpireTime: 1},
		{Name: "a-forever", ExpireTime: 1<<63 - 1},
	}}
	p := PlanLRPs(s, now)
	if !slices.Equal(p.PruneDomains, []string{"a-now", "c-old"}) || !slices.Equal(p.FreshDomains, []string{"a-forever", "b-fresh"}) {
		t.Fatalf("prune %v fresh %v", p.PruneDomains, p.FreshDomains)
	}
}

func TestPlanLRPsInstanceCounts(t *testing.T) {
	runLRPCases(t, false, []lrpCase{
		{name: "nothing to do", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, running, "c1")}, cells: []string{"c1"}},
		{name: "missing indices are created", desired: []DesiredRow{desired("p", 3)},
			actual: []ActualRow{row("p", 1, ord, running, "c1")}, cells: []string{"c1"},
			want: []string{"create-missing p/0/O", "create-missing p/2/O"}},
		{name: "a desired LRP without instances rows gets all", desired: []DesiredRow{desired("p", 2)},
			want: []string{"create-missing p/0/O", "create-missing p/1/O"}},
		{name: "missing indices of a stale domain are created too", desired: []DesiredRow{desired("stale", 1)},
			want: []string{"create-missing stale/0/O"}},
		{name: "zero instances: none created", desired: []DesiredRow{desired("p", 0)}},
		{name: "a missing and an extra index are found even when the count matches", desired: []DesiredRow{desired("p", 3)},
			actual: []ActualRow{row("p", 0, ord, running, "c1"), row("p", 1, ord, running, "c1"), row("p", 5, ord, running, "c1")},
			cells:  []string{"c1"}, want: []string{"create-missing p/2/O", "retire-extra p/5"}},
		{name: "extra indices are retired in a fresh domain", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, running, "c1"), row("p", 1, ord, unclaimed, ""), row("p", 2, ord, crashed, "")},
			cells:  []string{"c1"}, want: []string{"retire-extra p/1", "retire-extra p/2"}},
		{name: "extra indices are kept in a stale domain", desired: []DesiredRow{desired("stale", 1)},
			actual: []ActualRow{row("stale", 0, ord, running, "c1"), row("stale", 1, ord, running, "c1")}, cells: []string{"c1"}},
		{name: "orphans are retired in a fresh domain", actual: []ActualRow{row("p", 0, ord, running, "c1"), row("p", 1, ord, crashed, "")},
			cells: []string{"c1"}, want: []string{"retire-orphaned p/0", "retire-orphaned p/1"}},
		{name: "orphans are kept in a stale domain", actual: []ActualRow{row("stale", 0, ord, running, "c1")}, cells: []string{"c1"}},
		{name: "orphans on a missing cell are retired, not suspected", actual: []ActualRow{row("p", 0, ord, running, "gone")},
			cells: []string{"c1"}, want: []string{"retire-orphaned p/0"}},
		{name: "rows in any order", desired: []DesiredRow{desired("q", 2), desired("p", 2)},
			actual: []ActualRow{row("q", 1, ord, running, "c1"), row("p", 1, ord, running, "c1"), row("q", 0, ord, running, "c1")},
			cells:  []string{"c1"}, want: []string{"create-missing p/0/O"}},
	})
}

func TestPlanLRPsStaleUnclaimed(t *testing.T) {
	runLRPCases(t, false, []lrpCase{
		{name: "unclaimed for more than 30 s is auctioned", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, unclaimed, "", since(31*time.Second))}, want: []string{"auction-stale p/0"}},
		{name: "exactly 30 s is not stale", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, unclaimed, "", since(30*time.Second))}},
		{name: "a fresh unclaimed row waits", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, unclaimed, "", since(29*time.Second))}},
		{name: "a stale orphan is not auctioned", actual: []ActualRow{row("stale", 0, ord, unclaimed, "", since(time.Hour))}},
		{name: "a stale extra index is retired, not auctioned", desired: []DesiredRow{desired("p", 0)},
			actual: []ActualRow{row("p", 0, ord, unclaimed, "", since(time.Hour))}, want: []string{"retire-extra p/0"}},
		{name: "a stale claimed row is not unclaimed-stale", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, claimed, "c1", since(time.Hour))}, cells: []string{"c1"}},
	})
}

func TestPlanLRPsCrashed(t *testing.T) {
	runLRPCases(t, false, []lrpCase{
		{name: "crash count under 3 restarts at once", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, crashed, "", crashes(2, 0))}, want: []string{"restart-crashed p/0/O"}},
		{name: "third crash waits 30 s", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, crashed, "", crashes(3, 29*time.Second))}},
		{name: "third crash restarts after 30 s", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, crashed, "", crashes(3, 30*time.Second))}, want: []string{"restart-crashed p/0/O"}},
		{name: "fourth crash waits 60 s", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, crashed, "", crashes(4, 59*time.Second))}},
		{name: "200 crashes never restart", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, crashed, "", crashes(200, 24*time.Hour))}},
		{name: "a crashed extra index is retired, not restarted", desired: []DesiredRow{desired("p", 0)},
			actual: []ActualRow{row("p", 0, ord, crashed, "", crashes(1, 0))}, want: []string{"retire-extra p/0"}},
		{name: "a crashed orphan is not restarted", actual: []ActualRow{row("stale", 0, ord, crashed, "", crashes(1, 0))}},
	})
}

func TestPlanLRPsMissingCells(t *testing.T) {
	runLRPCases(t, false, []lrpCase{
		{name: "running and claimed instances of a missing cell are suspected and replaced", desired: []DesiredRow{desired("p", 2)},
			actual: []ActualRow{row("p", 0, ord, running, "gone"), row("p", 1, ord, claimed, "gone")}, cells: []string{"c1"},
			want: []string{"mark-suspect p/0/O", "mark-suspect p/1/O"}},
		{name: "instances of present cells stay", desired: []DesiredRow{desired("p", 2)},
			actual: []ActualRow{row("p", 0, ord, running, "c1"), row("p", 1, ord, claimed, "c1")}, cells: []string{"c1"}},
		{name: "unclaimed and crashed rows have no cell to miss", desired: []DesiredRow{desired("p", 2)},
			actual: []ActualRow{row("p", 0, ord, unclaimed, ""), row("p", 1, ord, crashed, "", crashes(5, 0))}, cells: []string{"c1"}},
		{name: "an empty cell list makes every instance suspect", desired: []DesiredRow{desired("p", 2)},
			actual: []ActualRow{row("p", 0, ord, running, "c1"), row("p", 1, ord, claimed, "c2")},
			want:   []string{"mark-suspect p/0/O", "mark-suspect p/1/O"}},
		{name: "a replacement on a missing cell is unclaimed while a suspect remains", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, claimed, "c2"), row("p", 0, susp, running, "c1")}, cells: []string{"c3"},
			want: []string{"unclaim-replacement p/0/O"}},
		{name: "a running replacement on a missing cell beside a running suspect: suspect removed, replacement suspected",
			desired: []DesiredRow{desired("p", 1)},
			actual:  []ActualRow{row("p", 0, ord, running, "c2"), row("p", 0, susp, running, "c1")}, cells: []string{"c3"},
			want: []string{"remove-suspect p/0/S", "mark-suspect p/0/O"}},
		{name: "an extra index on a missing cell is retired, not replaced", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, running, "c1"), row("p", 1, ord, running, "gone")}, cells: []string{"c1"},
			want: []string{"retire-extra p/1"}},
		{name: "an extra index on a missing cell in a stale domain is left alone", desired: []DesiredRow{desired("stale", 0)},
			actual: []ActualRow{row("stale", 0, ord, running, "gone")}, cells: []string{"c1"}},
		{name: "evacuating rows of missing cells are pruned", desired: []DesiredRow{desired("p", 2)},
			actual: []ActualRow{row("p", 0, ord, unclaimed, ""), row("p", 0, evac, running, "gone"), row("p", 1, ord, running, "c1"), row("p", 1, evac, running, "c1")},
			cells:  []string{"c1"}, want: []string{"prune-evacuating p/0/E"}},
		{name: "an empty cell list prunes every evacuating row", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, unclaimed, ""), row("p", 0, evac, running, "c1")},
			want:   []string{"prune-evacuating p/0/E"}},
	})
}

func TestPlanLRPsSuspects(t *testing.T) {
	runLRPCases(t, false, []lrpCase{
		{name: "a suspect whose cell is back is promoted over its replacement", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, unclaimed, ""), row("p", 0, susp, running, "c1")}, cells: []string{"c1"},
			want: []string{"promote-suspect p/0/S replacing UNCLAIMED"}},
		{name: "a suspect whose cell is back is promoted even without replacement", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, susp, claimed, "c1")}, cells: []string{"c1"},
			want: []string{"promote-suspect p/0/S"}},
		{name: "promotion wins over unclaiming a replacement on a missing cell", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, claimed, "gone"), row("p", 0, susp, running, "c1")}, cells: []string{"c1"},
			want: []string{"promote-suspect p/0/S replacing CLAIMED"}},
		{name: "a suspect is not promoted on an empty cell list", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, unclaimed, ""), row("p", 0, susp, running, "c1")}},
		{name: "a suspect of a missing cell waits for its replacement", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, claimed, "c2"), row("p", 0, susp, running, "gone")}, cells: []string{"c2"}},
		{name: "a suspect beside a running replacement is removed", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, running, "c2"), row("p", 0, susp, running, "c1")}, cells: []string{"c1", "c2"},
			want: []string{"remove-suspect p/0/S"}},
		{name: "a claimed suspect beside a running replacement stays while its cell is missing", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, running, "c2"), row("p", 0, susp, claimed, "gone")}, cells: []string{"c2"}},
		{name: "an orphaned suspect of a fresh domain is removed", actual: []ActualRow{row("p", 0, susp, running, "c1")}, cells: []string{"c1"},
			want: []string{"remove-suspect p/0/S"}},
		{name: "an orphaned suspect of a stale domain stays while its cell is missing", actual: []ActualRow{row("stale", 0, susp, running, "gone")},
			cells: []string{"c1"}},
		{name: "an orphaned suspect of a stale domain is promoted when its cell is back", actual: []ActualRow{row("stale", 0, susp, running, "c1")},
			cells: []string{"c1"}, want: []string{"promote-suspect stale/0/S"}},
		{name: "a suspect beyond the desired instances of a fresh domain is removed", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, running, "c1"), row("p", 1, susp, running, "gone")}, cells: []string{"c1"},
			want: []string{"remove-suspect p/1/S"}},
		{name: "a suspect beyond the desired instances of a stale domain stays", desired: []DesiredRow{desired("stale", 1)},
			actual: []ActualRow{row("stale", 0, ord, running, "c1"), row("stale", 1, susp, running, "gone")}, cells: []string{"c1"}},
	})
}

func TestPlanLRPsDrift(t *testing.T) {
	tags := map[string]*models.MetricTagValue{"source_id": {Static: "p"}, "index": {Dynamic: models.MetricTagValue_INDEX}}
	inSyncTags := map[string]string{"source_id": "p", "index": "0"}
	runLRPCases(t, false, []lrpCase{
		{name: "in sync", desired: []DesiredRow{desiredWith("p", 1, &DesiredDrift{InternalRoutes: []string{"a", "b"}, MetricTags: tags})},
			actual: []ActualRow{row("p", 0, ord, running, "c1", runsWith([]string{"b", "a"}, inSyncTags))}, cells: []string{"c1"},
			want: []string{"in-sync p/0"}},
		{name: "routes differ", desired: []DesiredRow{desiredWith("p", 1, &DesiredDrift{InternalRoutes: []string{"a"}, MetricTags: tags})},
			actual: []ActualRow{row("p", 0, ord, running, "c1", runsWith([]string{"b"}, inSyncTags))}, cells: []string{"c1"},
			want: []string{"update-routes p/0 [a]"}},
		{name: "routes removed", desired: []DesiredRow{desiredWith("p", 1, &DesiredDrift{MetricTags: tags})},
			actual: []ActualRow{row("p", 0, ord, running, "c1", runsWith([]string{"b"}, inSyncTags))}, cells: []string{"c1"},
			want: []string{"update-routes p/0 []"}},
		{name: "no routes either side", desired: []DesiredRow{desiredWith("p", 1, &DesiredDrift{MetricTags: tags})},
			actual: []ActualRow{row("p", 0, ord, running, "c1", runsWith([]string{}, inSyncTags))}, cells: []string{"c1"},
			want: []string{"in-sync p/0"}},
		{name: "tags differ", desired: []DesiredRow{desiredWith("p", 1, &DesiredDrift{MetricTags: tags})},
			actual: []ActualRow{row("p", 0, ord, running, "c1", runsWith(nil, map[string]string{"source_id": "old"}))}, cells: []string{"c1"},
			want: []string{"update-tags p/0 index=0,source_id=p"}},
		{name: "instances without stored tags are not compared", desired: []DesiredRow{desiredWith("p", 1, &DesiredDrift{MetricTags: tags})},
			actual: []ActualRow{row("p", 0, ord, running, "c1", runsWith(nil, nil))}, cells: []string{"c1"},
			want: []string{"in-sync p/0"}},
		{name: "unreadable desired routes and tags are skipped", desired: []DesiredRow{desiredWith("p", 1, &DesiredDrift{RoutesInvalid: true, TagsInvalid: true})},
			actual: []ActualRow{row("p", 0, ord, running, "c1", runsWith([]string{"x"}, map[string]string{"a": "b"}))}, cells: []string{"c1"}},
		{name: "rows not loaded are not checked", desired: []DesiredRow{desiredWith("p", 1, &DesiredDrift{InternalRoutes: []string{"a"}})},
			actual: []ActualRow{row("p", 0, ord, running, "c1")}, cells: []string{"c1"}},
		{name: "claimed rows are not checked", desired: []DesiredRow{desiredWith("p", 1, &DesiredDrift{InternalRoutes: []string{"a"}})},
			actual: []ActualRow{row("p", 0, ord, claimed, "c1", runsWith(nil, nil))}, cells: []string{"c1"}},
		{name: "rows of missing cells are suspected, not updated", desired: []DesiredRow{desiredWith("p", 1, &DesiredDrift{InternalRoutes: []string{"a"}})},
			actual: []ActualRow{row("p", 0, ord, running, "gone", runsWith(nil, nil))}, cells: []string{"c1"},
			want: []string{"mark-suspect p/0/O"}},
	})
}

func TestPlanMissingCells(t *testing.T) {
	runLRPCases(t, true, []lrpCase{
		{name: "only steps 2 and 5", desired: []DesiredRow{desired("p", 3)},
			actual: []ActualRow{
				row("p", 0, ord, running, "gone"), row("p", 0, evac, running, "gone"),
				row("p", 1, ord, claimed, "c1"), row("p", 1, susp, running, "c1"),
				row("p", 4, ord, crashed, "", crashes(1, 0)),
			},
			cells: []string{"c1"}, want: []string{"prune-evacuating p/0/E", "mark-suspect p/0/O"}},
		{name: "a replacement on a missing cell beside a suspect is unclaimed", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 0, ord, running, "gone"), row("p", 0, susp, running, "gone2")}, cells: []string{"c1"},
			want: []string{"unclaim-replacement p/0/O"}},
		{name: "orphans and extra indices are left to the pass", desired: []DesiredRow{desired("p", 1)},
			actual: []ActualRow{row("p", 1, ord, running, "gone"), row("q", 0, ord, running, "gone")}, cells: []string{"c1"}},
	})
}

func TestPlanLRPsMetrics(t *testing.T) {
	s := &LRPSnapshot{
		CellsKnown: true, Cells: NewCellSet("c1", "c2"), Domains: freshDomains,
		Desired: []DesiredRow{desired("p", 4), desired("q", 2), desired("stale", 1)},
		Actual: []ActualRow{
			row("p", 0, ord, running, "c1"),                        // running
			row("p", 1, ord, running, "gone"),                      // suspected: unclaimed replacement
			row("p", 2, ord, crashed, "", crashes(1, 0)),           // restarted: unclaimed
			row("p", 4, ord, running, "c2"),                        // extra, retired but still running
			row("p", 5, ord, unclaimed, ""),                        // extra, retired and deleted
			row("q", 0, ord, claimed, "c2"),                        // claimed
			row("q", 0, susp, running, "gone2"),                    // suspect running
			row("q", 1, ord, crashed, "", crashes(5, time.Second)), // crashed, waiting
			row("stale", 0, ord, crashed, "", crashes(9, 0)),       // crashed
			row("stale", 0, susp, claimed, "gone"),                 // suspect claimed
			row("orphan", 0, ord, running, "c1"),                   // retired, still running
			row("stale-orphan", 0, ord, running, "c1", since(time.Hour)),
		},
	}
	got := PlanLRPs(s, now).Metrics
	want := LRPMetrics{
		Unclaimed: 3, Claimed: 1, Running: 4, Crashed: 2, CrashingDesired: 2, Desired: 7,
		Missing: 1, Extra: 3, SuspectRunning: 1, SuspectClaimed: 1, PresentCells: 2, SuspectCells: 2,
	}
	if got != want {
		t.Fatalf("metrics\n got  %+v\n want %+v", got, want)
	}
}

func TestPlanLRPsWriteDetails(t *testing.T) {
	s := &LRPSnapshot{
		CellsKnown: true, Cells: NewCellSet("c1"), Domains: freshDomains, Desired: []DesiredRow{desired("p", 2)},
		Actual: []ActualRow{row("p", 0, ord, unclaimed, ""), row("p", 0, susp, running, "c1")},
	}
	p := PlanLRPs(s, now)
	if len(p.Writes) != 2 {
		t.Fatalf("writes %v", describe(p))
	}
	promote, create := p.Writes[0], p.Writes[1]
	if promote.Row.Tag != s.Actual[1].Tag || promote.Row.CellID != "c1" || promote.Row.InstanceGUID != "ig-c1" ||
		promote.Replaced == nil || promote.Replaced.Tag != s.Actual[0].Tag {
		t.Errorf("promotion carries what was seen: %+v", promote)
	}
	if create.Row != (RowRef{ProcessGUID: "p", Index: 1, Presence: ord, Domain: "cf-apps"}) {
		t.Errorf("creation: %+v", create.Row)
	}
	if !CreateMissing.Auctions() || !MarkSuspect.Auctions() || !RestartCrashed.Auctions() ||
		UnclaimReplacement.Auctions() || PromoteSuspect.Auctions() || RemoveSuspect.Auctions() || PruneEvacuating.Auctions() {
		t.Error("auctioned kinds")
	}
}
