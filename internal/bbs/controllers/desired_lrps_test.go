package controllers_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/diego-go/diego/internal/bbs/bbstest"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
	"google.golang.org/protobuf/proto"
)

// TestDesiredLRPLifecycle desires, scales up, scales down and removes an
// LRP whose instances are all unclaimed, on every SQL dialect.
func TestDesiredLRPLifecycle(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		api := bbstest.Start(t, bbstest.Options{DB: cfg})
		streams := dlSubscribe(t, api)
		ctx := dlTraceCtx()

		if err := api.Client.DesireLRP(ctx, dlDesired("pg", 3)); err != nil {
			t.Fatal(err)
		}
		dlExpectRows(t, api, "pg", "0:ORDINARY:UNCLAIMED", "1:ORDINARY:UNCLAIMED", "2:ORDINARY:UNCLAIMED")
		if got := dlAuctions(api); !slices.Equal(got, []string{"pg:[0 1 2]"}) {
			t.Errorf("auctions %v, want one for 0, 1 and 2", got)
		}
		instance, group := streams.drain(t)
		dlExpectNames(t, "instance", instance, "desired_lrp_created:pg",
			"actual_lrp_instance_created:0", "actual_lrp_instance_created:1", "actual_lrp_instance_created:2")
		dlExpectNames(t, "group", group, "desired_lrp_created:pg",
			"actual_lrp_created:0", "actual_lrp_created:1", "actual_lrp_created:2")
		stored, err := api.DB.DesiredLRPByProcessGuid(context.Background(), "pg")
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range instance {
			switch e := ev.(type) {
			case *models.DesiredLRPCreatedEvent:
				if !proto.Equal(e.GetDesiredLrp(), stored) || e.GetTraceId() != dlTrace {
					t.Errorf("desired_lrp_created %v (trace %q), want the stored %v", e.GetDesiredLrp(), e.GetTraceId(), stored)
				}
			case *models.ActualLRPInstanceCreatedEvent:
				if e.GetActualLrp().GetState() != models.ActualLRPStateUnclaimed || e.GetTraceId() != dlTrace {
					t.Errorf("actual_lrp_instance_created %v (trace %q)", e.GetActualLrp(), e.GetTraceId())
				}
			}
		}

		n := func(i int32) *int32 { return &i }
		if err := api.Client.UpdateDesiredLRP(ctx, "pg", &models.DesiredLRPUpdate{Instances: n(5)}); err != nil {
			t.Fatal(err)
		}
		dlExpectRows(t, api, "pg", "0:ORDINARY:UNCLAIMED", "1:ORDINARY:UNCLAIMED", "2:ORDINARY:UNCLAIMED", "3:ORDINARY:UNCLAIMED", "4:ORDINARY:UNCLAIMED")
		if got := dlAuctions(api); !slices.Equal(got, []string{"pg:[0 1 2]", "pg:[3 4]"}) {
			t.Errorf("auctions %v, want a second one for 3 and 4", got)
		}
		instance, group = streams.drain(t)
		dlExpectNames(t, "instance", instance, "desired_lrp_changed:pg", "actual_lrp_instance_created:3", "actual_lrp_instance_created:4")
		dlExpectNames(t, "group", group, "desired_lrp_changed:pg", "actual_lrp_created:3", "actual_lrp_created:4")
		for _, ev := range instance {
			if e, ok := ev.(*models.DesiredLRPChangedEvent); ok {
				if e.GetBefore().GetInstances() != 3 || e.GetAfter().GetInstances() != 5 || e.GetTraceId() != dlTrace ||
					e.GetAfter().GetModificationTag().GetIndex() != 1 {
					t.Errorf("desired_lrp_changed %v -> %v (trace %q)", e.GetBefore(), e.GetAfter(), e.GetTraceId())
				}
			}
		}

		if err := api.Client.UpdateDesiredLRP(ctx, "pg", &models.DesiredLRPUpdate{Instances: n(2)}); err != nil {
			t.Fatal(err)
		}
		dlExpectRows(t, api, "pg", "0:ORDINARY:UNCLAIMED", "1:ORDINARY:UNCLAIMED")
		instance, group = streams.drain(t)
		dlExpectNames(t, "instance", instance, "desired_lrp_changed:pg",
			"actual_lrp_instance_removed:2", "actual_lrp_instance_removed:3", "actual_lrp_instance_removed:4")
		dlExpectNames(t, "group", group, "desired_lrp_changed:pg",
			"actual_lrp_removed:2", "actual_lrp_removed:3", "actual_lrp_removed:4")

		if err := api.Client.RemoveDesiredLRP(ctx, "pg"); err != nil {
			t.Fatal(err)
		}
		dlExpectRows(t, api, "pg")
		instance, group = streams.drain(t)
		dlExpectNames(t, "instance", instance, "desired_lrp_removed:pg", "actual_lrp_instance_removed:0", "actual_lrp_instance_removed:1")
		dlExpectNames(t, "group", group, "desired_lrp_removed:pg", "actual_lrp_removed:0", "actual_lrp_removed:1")
		if _, err := api.Client.DesiredLRPByProcessGuid(ctx, "pg"); !errors.Is(err, models.ErrResourceNotFound) {
			t.Errorf("after remove: %v, want not found", err)
		}
		if got := len(api.Auctioneer.LRPRequests()); got != 2 {
			t.Errorf("%d auction requests, want 2", got)
		}
		if calls := api.Reps.Calls(); len(calls) != 0 {
			t.Errorf("rep calls %v, want none", calls)
		}
	})
}

func TestDesireLRPAuctionRequest(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := context.Background()
	if err := api.Client.DesireLRP(ctx, dlDesired("many", 40)); err != nil {
		t.Fatal(err)
	}
	reqs := api.Auctioneer.LRPRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d auction requests, want exactly one", len(reqs))
	}
	r := reqs[0]
	want := make([]int, 40)
	for i := range want {
		want[i] = i
	}
	if r.ProcessGuid != "many" || r.Domain != "cf-apps" || !slices.Equal(r.Indices, want) || r.RootFs != "preloaded:cflinuxfs4" ||
		r.MemoryMB != 256 || r.DiskMB != 1024 || r.MaxPids != 512 || !slices.Equal(r.PlacementTags, []string{"zone-tag"}) {
		t.Errorf("auction request %+v", r)
	}
	if got := len(dlRows(t, api, "many")); got != 40 {
		t.Errorf("%d rows, want 40", got)
	}

	// No instances: no auction.
	if err := api.Client.DesireLRP(ctx, dlDesired("none", 0)); err != nil {
		t.Fatal(err)
	}
	if got := len(api.Auctioneer.LRPRequests()); got != 1 {
		t.Errorf("%d auction requests after desiring zero instances, want 1", got)
	}

	// An auctioneer failure is not the caller's.
	api.Auctioneer.SetErr(errors.New("auctioneer down"))
	if err := api.Client.DesireLRP(ctx, dlDesired("unplaced", 2)); err != nil {
		t.Fatalf("desire with the auctioneer down: %v", err)
	}
	dlExpectRows(t, api, "unplaced", "0:ORDINARY:UNCLAIMED", "1:ORDINARY:UNCLAIMED")
}

func TestUpdateDesiredLRPScaleDown(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	dlSeed(t, api, "pg")
	streams := dlSubscribe(t, api)
	one := int32(1)
	if err := api.Client.UpdateDesiredLRP(dlTraceCtx(), "pg", &models.DesiredLRPUpdate{Instances: &one}); err != nil {
		t.Fatal(err)
	}
	// The rep of a live cell stops its instances and removes their rows
	// itself; the rows of unplaced and crashed instances, and of the
	// instance on a vanished cell, go now; evacuating copies are left to
	// the evacuation.
	dlExpectRows(t, api, "pg", "0:ORDINARY:RUNNING", "1:ORDINARY:RUNNING", "5:SUSPECT:RUNNING", "6:EVACUATING:RUNNING")
	wantCalls := []string{"stop:" + dlRepURL + ":1:ig-pg-1", "stop:" + dlRepURL + ":5:ig-pg-5"}
	if got := dlRepCalls(api); !slices.Equal(got, wantCalls) {
		t.Errorf("rep calls\n got  %v\n want %v", got, wantCalls)
	}
	if got := dlAuctions(api); len(got) != 1 {
		t.Errorf("auctions %v, want the desire's only", got)
	}
	instance, group := streams.drain(t)
	dlExpectNames(t, "instance", instance, "desired_lrp_changed:pg", "actual_lrp_instance_removed:2", "actual_lrp_instance_removed:3",
		"actual_lrp_instance_removed:4", "actual_lrp_instance_removed:5", "actual_lrp_instance_removed:6")
	for _, ev := range instance {
		if e, ok := ev.(*models.ActualLRPInstanceRemovedEvent); ok && e.GetTraceId() != dlTrace {
			t.Errorf("removed event with trace %q", e.GetTraceId())
		}
	}
	// The group of index 5 resolves to its suspect before and after: the
	// deprecated stream sees no change there.
	dlExpectNames(t, "group", group, "desired_lrp_changed:pg", "actual_lrp_removed:2", "actual_lrp_removed:3", "actual_lrp_removed:4",
		"actual_lrp_removed:6")
}

func TestRemoveDesiredLRPStopsInstances(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	dlSeed(t, api, "pg")
	streams := dlSubscribe(t, api)
	api.Reps.SetErr(errors.New("rep unreachable")) // logged, not returned
	if err := api.Client.RemoveDesiredLRP(dlTraceCtx(), "pg"); err != nil {
		t.Fatal(err)
	}
	dlExpectRows(t, api, "pg", "0:ORDINARY:RUNNING", "1:ORDINARY:RUNNING", "5:SUSPECT:RUNNING", "6:EVACUATING:RUNNING")
	wantCalls := []string{"stop:" + dlRepURL + ":0:ig-pg-0", "stop:" + dlRepURL + ":1:ig-pg-1", "stop:" + dlRepURL + ":5:ig-pg-5"}
	if got := dlRepCalls(api); !slices.Equal(got, wantCalls) {
		t.Errorf("rep calls\n got  %v\n want %v", got, wantCalls)
	}
	instance, _ := streams.drain(t)
	dlExpectNames(t, "instance", instance, "desired_lrp_removed:pg", "actual_lrp_instance_removed:2", "actual_lrp_instance_removed:3",
		"actual_lrp_instance_removed:4", "actual_lrp_instance_removed:5", "actual_lrp_instance_removed:6")
	for _, ev := range instance {
		if e, ok := ev.(*models.DesiredLRPRemovedEvent); ok && (e.GetDesiredLrp().GetInstances() != 7 || e.GetTraceId() != dlTrace) {
			t.Errorf("desired_lrp_removed %v (trace %q), want the removed LRP", e.GetDesiredLrp(), e.GetTraceId())
		}
	}
}

func TestUpdateDesiredLRPInstanceUpdates(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := context.Background()
	dlSeed(t, api, "pg")
	routes := func(internal string) *models.ProtoRoutes {
		r := map[string]json.RawMessage{"cf-router": json.RawMessage(`[{"hostnames":["b.example.com"],"port":8080}]`)}
		if internal != "" {
			r["internal-router"] = json.RawMessage(internal)
		}
		return models.NewRoutes(r)
	}
	// Only the CLAIMED and RUNNING instances that stay hear of it: 0 and 1
	// on cell-1, and the suspect 5; 4's cell is gone; evacuating copies are
	// not told.
	wantCalls := []string{"update:" + dlRepURL + ":0:ig-pg-0", "update:" + dlRepURL + ":1:ig-pg-1", "update:" + dlRepURL + ":5:ig-pg-5"}

	steps := []struct {
		name       string
		update     *models.DesiredLRPUpdate
		wantCalls  bool
		wantRoutes []string // nil: internal routes not sent
		wantTags   bool
	}{
		{"internal routes added", &models.DesiredLRPUpdate{Routes: routes(`[{"hostname":"a.apps.internal"},{"hostname":"b.apps.internal"}]`)},
			true, []string{"a.apps.internal", "b.apps.internal"}, false},
		{"other routes only", &models.DesiredLRPUpdate{Routes: routes(`[{"hostname":"a.apps.internal"},{"hostname":"b.apps.internal"}]`)},
			false, nil, false},
		{"metric tags", &models.DesiredLRPUpdate{MetricTags: map[string]*models.MetricTagValue{
			"source_id": {Static: "pg"}, "index": {Dynamic: models.MetricTagValue_INDEX}, "instance": {Dynamic: models.MetricTagValue_INSTANCE_GUID},
		}}, true, nil, true},
		{"same metric tags", &models.DesiredLRPUpdate{MetricTags: map[string]*models.MetricTagValue{
			"source_id": {Static: "pg"}, "index": {Dynamic: models.MetricTagValue_INDEX}, "instance": {Dynamic: models.MetricTagValue_INSTANCE_GUID},
		}}, false, nil, false},
		{"internal routes removed", &models.DesiredLRPUpdate{Routes: routes("")}, true, []string{}, false},
		{"annotation", &models.DesiredLRPUpdate{Annotation: new(string)}, false, nil, false},
	}
	for _, step := range steps {
		before := len(api.Reps.Calls())
		if err := api.Client.UpdateDesiredLRP(ctx, "pg", step.update); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		calls := api.Reps.Calls()[before:]
		if !step.wantCalls {
			if len(calls) != 0 {
				t.Errorf("%s: rep calls %v, want none", step.name, calls)
			}
			continue
		}
		var got []string
		for _, c := range calls {
			got = append(got, fmt.Sprintf("%s:%s:%d:%s", c.Op, c.RepURL, c.Update.Index, c.Update.InstanceGuid))
			u := c.Update
			if u.ProcessGuid != "pg" || u.Domain != "cf-apps" {
				t.Errorf("%s: update %+v", step.name, u)
			}
			var hosts []string
			if u.InternalRoutes != nil {
				hosts = []string{}
			}
			for _, r := range u.InternalRoutes {
				hosts = append(hosts, r.Hostname)
			}
			if (hosts == nil) != (step.wantRoutes == nil) || !slices.Equal(hosts, step.wantRoutes) {
				t.Errorf("%s: internal routes %v, want %v", step.name, hosts, step.wantRoutes)
			}
			switch {
			case !step.wantTags && u.MetricTags != nil:
				t.Errorf("%s: metric tags %v sent", step.name, u.MetricTags)
			case step.wantTags:
				want := map[string]string{"source_id": "pg", "index": fmt.Sprint(u.Index), "instance": u.InstanceGuid}
				if !equalStringMaps(u.MetricTags, want) {
					t.Errorf("%s: metric tags %v, want %v", step.name, u.MetricTags, want)
				}
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, wantCalls) {
			t.Errorf("%s: rep calls\n got  %v\n want %v", step.name, got, wantCalls)
		}
	}

	// A scale-down with new routes stops the extra instances and updates
	// the others only.
	before := len(api.Reps.Calls())
	one := int32(1)
	if err := api.Client.UpdateDesiredLRP(ctx, "pg", &models.DesiredLRPUpdate{Instances: &one, Routes: routes(`[{"hostname":"c.apps.internal"}]`)}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range api.Reps.Calls()[before:] {
		idx := int32(-1)
		if c.Update != nil {
			idx = c.Update.Index
		} else {
			idx = c.Key.GetIndex()
		}
		got = append(got, fmt.Sprintf("%s:%d", c.Op, idx))
	}
	slices.Sort(got)
	if want := []string{"stop:1", "stop:5", "update:0"}; !slices.Equal(got, want) {
		t.Errorf("scale-down with new routes: rep calls %v, want %v", got, want)
	}
}

func equalStringMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestUpdateDesiredLRPWithoutChange(t *testing.T) {
	api := bbstest.Start(t, bbstest.Options{})
	ctx := context.Background()
	if err := api.Client.DesireLRP(ctx, dlDesired("pg", 2)); err != nil {
		t.Fatal(err)
	}
	streams := dlSubscribe(t, api)
	two, same := int32(2), ""
	for i := range 2 {
		if err := api.Client.UpdateDesiredLRP(ctx, "pg", &models.DesiredLRPUpdate{Instances: &two, Annotation: &same}); err != nil {
			t.Fatal(err)
		}
		instance, group := streams.drain(t)
		dlExpectNames(t, "instance", instance, "desired_lrp_changed:pg")
		dlExpectNames(t, "group", group, "desired_lrp_changed:pg")
		e := instance[0].(*models.DesiredLRPChangedEvent)
		if e.GetBefore().GetModificationTag().GetIndex() != uint32(i) || e.GetAfter().GetModificationTag().GetIndex() != uint32(i+1) {
			t.Errorf("update %d: modification tags %v -> %v", i, e.GetBefore().GetModificationTag(), e.GetAfter().GetModificationTag())
		}
	}
	dlExpectRows(t, api, "pg", "0:ORDINARY:UNCLAIMED", "1:ORDINARY:UNCLAIMED")
	if got := dlAuctions(api); !slices.Equal(got, []string{"pg:[0 1]"}) {
		t.Errorf("auctions %v, want the desire's only", got)
	}
	if calls := api.Reps.Calls(); len(calls) != 0 {
		t.Errorf("rep calls %v, want none", calls)
	}
}
