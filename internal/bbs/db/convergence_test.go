package db

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/bbs/converge"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
)

// convFx helpers: desired LRPs and instances brought to a state through
// the store's own writes.

func (fx *storeFx) desire(guid string, instances int32) {
	fx.t.Helper()
	d := desiredFixture(guid, "cf-apps")
	d.Instances = instances
	if _, err := fx.db.DesireLRP(fx.ctx, d); err != nil {
		fx.t.Fatal(err)
	}
}

func (fx *storeFx) running(guid string, index int32, cell string, routes []string, tags map[string]string) {
	fx.t.Helper()
	key := &models.ActualLRPKey{ProcessGuid: guid, Index: index, Domain: "cf-apps"}
	in := RunningInstance{
		InstanceKey: &models.ActualLRPInstanceKey{InstanceGuid: "ig-" + guid + "-" + cell, CellId: cell},
		NetInfo:     &models.ActualLRPNetInfo{Address: "10.0.0.1", InstanceAddress: "10.255.0.1"},
		MetricTags:  tags,
	}
	for _, h := range routes {
		in.InternalRoutes = append(in.InternalRoutes, &models.ActualLRPInternalRoute{Hostname: h})
	}
	if _, err := fx.db.StartActualLRP(fx.ctx, key, in); err != nil {
		fx.t.Fatal(err)
	}
}

func (fx *storeFx) claimed(guid string, index int32, cell string) {
	fx.t.Helper()
	if _, err := fx.db.ClaimActualLRP(fx.ctx, guid, index, &models.ActualLRPInstanceKey{InstanceGuid: "ig-" + guid + "-" + cell, CellId: cell}); err != nil {
		fx.t.Fatal(err)
	}
}

func (fx *storeFx) slot(guid string, index int32) []*models.ActualLRP {
	fx.t.Helper()
	rows, err := fx.db.ActualLRPSlot(fx.ctx, guid, index)
	if err != nil {
		fx.t.Fatal(err)
	}
	return rows
}

// describeSlot prints a slot as presence:state@cell, in presence order.
func describeSlot(rows []*models.ActualLRP) string {
	var parts []string
	for _, r := range rows {
		parts = append(parts, fmt.Sprintf("%s:%s@%s", r.GetPresence(), r.GetState(), r.GetActualLrpInstanceKey().GetCellId()))
	}
	return strings.Join(parts, " ")
}

// plan loads a snapshot with cells present and plans a pass at the store's
// clock.
func (fx *storeFx) plan(memo *DriftMemo, cells ...string) (*converge.LRPSnapshot, converge.LRPPlan) {
	fx.t.Helper()
	s, err := fx.db.LoadLRPSnapshot(fx.ctx, memo)
	if err != nil {
		fx.t.Fatal(err)
	}
	s.Cells, s.CellsKnown = converge.NewCellSet(cells...), true
	return s, converge.PlanLRPs(s, fx.now())
}

func (fx *storeFx) apply(writes []converge.SlotWrite) []LRPWriteResult {
	fx.t.Helper()
	var out []LRPWriteResult
	for _, b := range converge.BatchWrites(writes, 2) {
		out = append(out, fx.db.ApplyLRPWrites(fx.ctx, b)...)
	}
	if len(out) != len(writes) {
		fx.t.Fatalf("%d results for %d writes", len(out), len(writes))
	}
	return out
}

func TestLoadLRPSnapshot(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newStoreFx(t, cfg)
		if err := fx.db.UpsertDomain(fx.ctx, "cf-apps", 60); err != nil {
			t.Fatal(err)
		}
		fx.desire("p", 2)
		fx.running("p", 0, "c1", []string{"a.apps.internal"}, map[string]string{"source_id": "app<&>", "instance_id": "0"})
		if _, err := fx.db.CreateUnclaimedActualLRP(fx.ctx, &models.ActualLRPKey{ProcessGuid: "p", Index: 1, Domain: "cf-apps"}); err != nil {
			t.Fatal(err)
		}
		fx.claimed("p", 1, "c2")

		memo := NewDriftMemo(0)
		s, plan := fx.plan(memo, "c1", "c2")
		if len(s.Domains) != 1 || s.Domains[0].Name != "cf-apps" || s.Domains[0].ExpireTime != fxStart.Add(time.Minute).UnixNano() {
			t.Errorf("domains %+v", s.Domains)
		}
		if len(s.Desired) != 1 || s.Desired[0].Instances != 2 || s.Desired[0].Domain != "cf-apps" || s.Desired[0].Tag.Epoch == "" {
			t.Fatalf("desired %+v", s.Desired)
		}
		slices.SortFunc(s.Actual, func(a, b converge.ActualRow) int { return int(a.Index - b.Index) })
		want0 := converge.ActualRow{ProcessGUID: "p", Index: 0, Domain: "cf-apps", State: models.ActualLRPStateRunning,
			InstanceGUID: "ig-p-c1", CellID: "c1", Since: fxStart.UnixNano(), Tag: s.Actual[0].Tag}
		got0 := s.Actual[0]
		got0.Drift = nil
		if len(s.Actual) != 2 || got0 != want0 || s.Actual[0].Tag.Epoch == "" {
			t.Fatalf("actual %+v", s.Actual)
		}
		if s.Actual[1].State != models.ActualLRPStateClaimed || s.Actual[1].CellID != "c2" || s.Actual[1].Tag.Index != 1 || s.Actual[1].Drift != nil {
			t.Errorf("claimed row %+v", s.Actual[1])
		}
		d := s.Actual[0].Drift
		if d == nil || !slices.Equal(d.InternalRoutes, []string{"a.apps.internal"}) || d.MetricTags["source_id"] != "app<&>" {
			t.Fatalf("actual drift %+v", d)
		}
		dd := s.Desired[0].Drift
		if dd == nil || dd.RoutesInvalid || dd.TagsInvalid || !slices.Equal(dd.InternalRoutes, []string{"a.apps.internal"}) || len(dd.MetricTags) != 2 {
			t.Fatalf("desired drift %+v", dd)
		}
		if len(plan.InSync) != 1 || len(plan.RouteUpdates)+len(plan.TagUpdates) != 0 {
			t.Fatalf("plan: in sync %v, updates %v %v", plan.InSync, plan.RouteUpdates, plan.TagUpdates)
		}
		memo.Record(plan.InSync)

		// Unchanged: nothing read again.
		s, plan = fx.plan(memo, "c1", "c2")
		if s.Actual[0].Drift != nil || s.Actual[1].Drift != nil || s.Desired[0].Drift != nil || memo.Len() != 1 {
			t.Fatalf("an unchanged pair was read again: %+v %+v", s.Actual, s.Desired[0].Drift)
		}
		memo.Record(plan.InSync)
		if memo.Len() != 1 {
			t.Fatalf("memo lost the unchanged pair")
		}

		// The instance restarts with other tags: read again, found drifting.
		fx.running("p", 0, "c1", []string{"a.apps.internal"}, map[string]string{"source_id": "old"})
		_, plan = fx.plan(memo, "c1", "c2")
		if len(plan.TagUpdates) != 1 || plan.TagUpdates[0].MetricTags["instance_id"] != "0" || len(plan.InSync) != 0 {
			t.Fatalf("tag drift not found: %+v", plan.TagUpdates)
		}
		memo.Record(plan.InSync)
		if memo.Len() != 0 {
			t.Fatal("a drifting pair is remembered")
		}

		// The desired routes change: the desired side is read again.
		fx.running("p", 0, "c1", []string{"a.apps.internal"}, map[string]string{"source_id": "app<&>", "instance_id": "0"})
		_, plan = fx.plan(memo, "c1", "c2")
		memo.Record(plan.InSync)
		routes := models.NewRoutes(map[string]json.RawMessage{"internal-router": json.RawMessage(`[{"hostname":"b.apps.internal"}]`)})
		if _, _, err := fx.db.UpdateDesiredLRP(fx.ctx, "p", &models.DesiredLRPUpdate{Routes: routes}); err != nil {
			t.Fatal(err)
		}
		_, plan = fx.plan(memo, "c1", "c2")
		if len(plan.RouteUpdates) != 1 || !slices.Equal(plan.RouteUpdates[0].InternalRoutes, []string{"b.apps.internal"}) {
			t.Fatalf("route drift after a desired update: %+v", plan.RouteUpdates)
		}

		// A nil memo reads everything.
		s, _ = fx.plan(nil, "c1")
		if s.Actual[0].Drift == nil && s.Actual[1].Drift == nil {
			t.Fatal("nil memo: no drift read")
		}
	})
}

func TestApplyLRPWritesSuspectFlow(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newStoreFx(t, cfg)
		if err := fx.db.UpsertDomain(fx.ctx, "cf-apps", 0); err != nil {
			t.Fatal(err)
		}
		fx.desire("p", 1)
		fx.running("p", 0, "c1", nil, nil)
		original := fx.slot("p", 0)[0]
		step := func(name string, cells []string, wantKinds []converge.WriteKind, want string) []LRPWriteResult {
			t.Helper()
			fx.advance(time.Second)
			_, plan := fx.plan(nil, cells...)
			var kinds []converge.WriteKind
			for _, w := range plan.Writes {
				kinds = append(kinds, w.Kind)
			}
			if !slices.Equal(kinds, wantKinds) {
				t.Fatalf("%s: planned %v, want %v", name, kinds, wantKinds)
			}
			results := fx.apply(plan.Writes)
			for _, r := range results {
				if r.Err != nil || !r.Update.Changed() {
					t.Fatalf("%s: %s: %v", name, r.Write.Kind, r.Err)
				}
			}
			if got := describeSlot(fx.slot("p", 0)); got != want {
				t.Fatalf("%s: slot %s, want %s", name, got, want)
			}
			return results
		}

		r := step("c1 vanishes", []string{"c2"}, []converge.WriteKind{converge.MarkSuspect}, "ORDINARY:UNCLAIMED@ SUSPECT:RUNNING@c1")
		u := r[0].Update
		if len(u.Changes) != 2 || u.Changes[0].After.GetPresence() != models.ActualLRP_SUSPECT || u.Changes[1].Before != nil {
			t.Fatalf("changes %+v", u.Changes)
		}
		suspect := fx.slot("p", 0)[1]
		if suspect.GetModificationTag().GetIndex() != original.GetModificationTag().GetIndex() || suspect.GetActualLrpNetInfo().GetAddress() != "10.0.0.1" {
			t.Errorf("the suspect is the instance as it was: %v", suspect)
		}
		fx.claimed("p", 0, "c2")
		step("c2 vanishes too", []string{"c3"}, []converge.WriteKind{converge.UnclaimReplacement}, "ORDINARY:UNCLAIMED@ SUSPECT:RUNNING@c1")
		fx.claimed("p", 0, "c3")
		r = step("c1 comes back", []string{"c1", "c3"}, []converge.WriteKind{converge.PromoteSuspect}, "ORDINARY:RUNNING@c1")
		if rows := fx.slot("p", 0); rows[0].GetModificationTag().GetEpoch() != original.GetModificationTag().GetEpoch() {
			t.Errorf("promoted row %v", rows[0])
		}
		if len(r[0].Update.Changes) != 2 || r[0].Update.Changes[0].After != nil {
			t.Fatalf("promotion changes %+v", r[0].Update.Changes)
		}

		// A suspect beside a running replacement goes.
		step("c1 vanishes again", []string{"c3"}, []converge.WriteKind{converge.MarkSuspect}, "ORDINARY:UNCLAIMED@ SUSPECT:RUNNING@c1")
		replacement := fx.slot("p", 0)[0]
		replacement.State = models.ActualLRPStateRunning
		replacement.ActualLrpInstanceKey = &models.ActualLRPInstanceKey{InstanceGuid: "ig-new", CellId: "c3"}
		fx.exec("DELETE FROM actual_lrps WHERE process_guid = ? AND presence = 0", "p")
		seedActualLRPs(t, fx.db, replacement)
		step("both run", []string{"c3"}, []converge.WriteKind{converge.RemoveSuspect}, "ORDINARY:RUNNING@c3")
	})
}

func TestApplyLRPWritesCreateRestartPrune(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newStoreFx(t, cfg)
		fx.desire("p", 3)
		fx.running("p", 0, "c1", nil, nil)
		key := &models.ActualLRPKey{ProcessGuid: "p", Index: 1, Domain: "cf-apps"}
		fx.running("p", 1, "c1", nil, nil)
		for range 3 { // the third crash waits in CRASHED
			ik := fx.slot("p", 1)[0].GetActualLrpInstanceKey()
			if ik.GetCellId() == "" {
				fx.claimed("p", 1, "c1")
				ik = fx.slot("p", 1)[0].GetActualLrpInstanceKey()
			}
			if _, err := fx.db.CrashActualLRP(fx.ctx, key, ik, "boom"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := fx.db.EvacuateActualLRP(fx.ctx, &models.ActualLRPKey{ProcessGuid: "p", Index: 0, Domain: "cf-apps"}, RunningInstance{
			InstanceKey: &models.ActualLRPInstanceKey{InstanceGuid: "ig-old", CellId: "gone"}, NetInfo: &models.ActualLRPNetInfo{Address: "x"},
		}); err != nil {
			t.Fatal(err)
		}
		fx.advance(time.Minute)
		_, plan := fx.plan(nil, "c1")
		var kinds []string
		for _, w := range plan.Writes {
			kinds = append(kinds, fmt.Sprintf("%s %d", w.Kind, w.Row.Index))
		}
		if want := []string{"prune-evacuating 0", "restart-crashed 1", "create-missing 2"}; !slices.Equal(kinds, want) {
			t.Fatalf("planned %v, want %v", kinds, want)
		}
		for _, r := range fx.apply(plan.Writes) {
			if r.Err != nil {
				t.Fatalf("%s: %v", r.Write.Kind, r.Err)
			}
		}
		for i, want := range []string{"ORDINARY:RUNNING@c1", "ORDINARY:UNCLAIMED@", "ORDINARY:UNCLAIMED@"} {
			if got := describeSlot(fx.slot("p", int32(i))); got != want {
				t.Errorf("slot %d: %s, want %s", i, got, want)
			}
		}
		if got := fx.slot("p", 1)[0]; got.GetCrashCount() != 3 || got.GetSince() != fx.now().UnixNano() {
			t.Errorf("restarted row keeps its crash count and is new: %v", got)
		}
	})
}

// TestApplyLRPWritesConflicts changes every planned row after the snapshot:
// each write is skipped as a conflict and the row stays as the other
// writer left it.
func TestApplyLRPWritesConflicts(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newStoreFx(t, cfg)
		if err := fx.db.UpsertDomain(fx.ctx, "cf-apps", 0); err != nil {
			t.Fatal(err)
		}
		fx.desire("p", 4)
		fx.desire("q", 1)
		fx.running("p", 0, "gone", nil, nil)
		fx.running("p", 1, "c1", nil, nil)
		if _, err := fx.db.CrashActualLRP(fx.ctx, &models.ActualLRPKey{ProcessGuid: "p", Index: 1, Domain: "cf-apps"},
			fx.slot("p", 1)[0].GetActualLrpInstanceKey(), "boom"); err != nil { // restarts at once: UNCLAIMED
			t.Fatal(err)
		}
		fx.exec("UPDATE actual_lrps SET state = ? WHERE process_guid = ? AND instance_index = 1", models.ActualLRPStateCrashed, "p")
		fx.running("q", 0, "c1", nil, nil)
		if _, err := fx.db.EvacuateActualLRP(fx.ctx, &models.ActualLRPKey{ProcessGuid: "q", Index: 0, Domain: "cf-apps"}, RunningInstance{
			InstanceKey: &models.ActualLRPInstanceKey{InstanceGuid: "ig-old", CellId: "gone"}, NetInfo: &models.ActualLRPNetInfo{Address: "x"},
		}); err != nil {
			t.Fatal(err)
		}
		fx.advance(time.Minute)
		_, plan := fx.plan(nil, "c1")
		var kinds []string
		for _, w := range plan.Writes {
			kinds = append(kinds, fmt.Sprintf("%s %s/%d", w.Kind, w.Row.ProcessGUID, w.Row.Index))
		}
		want := []string{"mark-suspect p/0", "restart-crashed p/1", "create-missing p/2", "create-missing p/3", "prune-evacuating q/0"}
		if !slices.Equal(kinds, want) {
			t.Fatalf("planned %v, want %v", kinds, want)
		}

		// Other writers get there first.
		fx.advance(time.Second)
		fx.running("p", 0, "gone", nil, map[string]string{"x": "y"}) // restarted: new tag
		if _, err := fx.db.UnclaimActualLRP(fx.ctx, &models.ActualLRPKey{ProcessGuid: "p", Index: 1, Domain: "cf-apps"}); err != nil {
			t.Fatal(err)
		}
		if _, err := fx.db.CreateUnclaimedActualLRP(fx.ctx, &models.ActualLRPKey{ProcessGuid: "p", Index: 2, Domain: "cf-apps"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := fx.db.UpdateDesiredLRP(fx.ctx, "p", &models.DesiredLRPUpdate{Instances: ptr(int32(3))}); err != nil {
			t.Fatal(err)
		}
		if _, err := fx.db.EvacuateActualLRP(fx.ctx, &models.ActualLRPKey{ProcessGuid: "q", Index: 0, Domain: "cf-apps"}, RunningInstance{
			InstanceKey: &models.ActualLRPInstanceKey{InstanceGuid: "ig-old", CellId: "gone"}, NetInfo: &models.ActualLRPNetInfo{Address: "y"},
		}); err != nil {
			t.Fatal(err)
		}
		before := map[string]string{}
		for _, k := range []string{"p/0", "p/1", "p/2", "p/3", "q/0"} {
			var idx int32
			fmt.Sscanf(k[2:], "%d", &idx)
			before[k] = fmt.Sprint(fx.slot(k[:1], idx))
		}
		for _, r := range fx.apply(plan.Writes) {
			if !errors.Is(r.Err, models.ErrResourceConflict) || r.Update != nil {
				t.Errorf("%s %s/%d: got %v, want a conflict", r.Write.Kind, r.Write.Row.ProcessGUID, r.Write.Row.Index, r.Err)
			}
		}
		for k, b := range before {
			var idx int32
			fmt.Sscanf(k[2:], "%d", &idx)
			if after := fmt.Sprint(fx.slot(k[:1], idx)); after != b {
				t.Errorf("%s changed by a conflicting write:\n%s\n%s", k, b, after)
			}
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestLoadCellSlots(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newStoreFx(t, cfg)
		fx.desire("p", 2)
		fx.desire("q", 1)
		fx.running("p", 0, "lost", nil, nil)
		fx.running("p", 1, "c1", nil, nil)
		fx.running("q", 0, "c1", nil, nil)
		s, err := fx.db.LoadCellSlots(fx.ctx, []string{"lost", "other"})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Desired) != 1 || s.Desired[0].ProcessGUID != "p" || len(s.Actual) != 2 || len(s.Domains) != 0 {
			t.Fatalf("snapshot %+v", s)
		}
		s.Cells, s.CellsKnown = converge.NewCellSet("c1"), true
		plan := converge.PlanMissingCells(s, fx.now())
		if len(plan.Writes) != 1 || plan.Writes[0].Kind != converge.MarkSuspect || plan.Writes[0].Row.Index != 0 {
			t.Fatalf("plan %+v", plan.Writes)
		}
	})
}

func TestPruneDomains(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newStoreFx(t, cfg)
		for _, d := range []string{"old", "refreshed", "fresh"} {
			if err := fx.db.UpsertDomain(fx.ctx, d, 1); err != nil {
				t.Fatal(err)
			}
		}
		fx.advance(2 * time.Second)
		expiredAt := fx.now().UnixNano()
		if err := fx.db.UpsertDomain(fx.ctx, "refreshed", 60); err != nil {
			t.Fatal(err)
		}
		if err := fx.db.PruneDomains(fx.ctx, []string{"old", "refreshed"}, expiredAt); err != nil {
			t.Fatal(err)
		}
		if n := fx.count("domains", "domain IN (?, ?)", "refreshed", "fresh"); n != 2 || fx.count("domains", "1 = 1") != 2 {
			t.Fatalf("domains left: %d", fx.count("domains", "1 = 1"))
		}
	})
}
