package handlers_test

import (
	"context"
	"testing"

	"github.com/diego-go/diego/internal/bbs/bbstest"
	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/bbs/routes"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"google.golang.org/protobuf/proto"
)

// Event names, short.
const (
	evCreated      = models.EventTypeActualLRPInstanceCreated
	evChanged      = models.EventTypeActualLRPInstanceChanged
	evRemoved      = models.EventTypeActualLRPInstanceRemoved
	evCrashed      = models.EventTypeActualLRPCrashed
	evGroupCreated = models.EventTypeActualLRPCreated
	evGroupChanged = models.EventTypeActualLRPChanged
	evGroupRemoved = models.EventTypeActualLRPRemoved
)

func i32(i int32) *int32 { return &i }

func TestActualLRPListsAndGroups(t *testing.T) {
	f := newLRPFx(t, sqldb.Config{})
	f.desire("app-a", 3, models.DesiredLRP_ROLLING)
	f.running("app-a", 0, instKey("a0", "cell-1"))
	f.claimed("app-a", 1, instKey("a1", "cell-2"))
	f.unclaimed("app-a", 2)
	bOther := &models.ActualLRPKey{ProcessGuid: "app-b", Index: 0, Domain: "other"}
	if _, err := f.api.DB.CreateUnclaimedActualLRP(context.Background(), bOther); err != nil {
		t.Fatal(err)
	}
	// An evacuating copy at index 0: a0 keeps running on cell-1 as
	// EVACUATING, index 0 is UNCLAIMED again.
	keep, err := f.evacuateRunning(lrpKey("app-a", 0), instKey("a0", "cell-1"), netInfo("10.0.0.1", 61001))
	if err != nil || !keep {
		t.Fatalf("evacuate = %v, %v", keep, err)
	}

	count := func(filter bbsclient.ActualLRPFilter) int {
		t.Helper()
		lrps, err := f.c.ActualLRPs(f.ctx, filter)
		noError(t, err)
		return len(lrps)
	}
	for name, c := range map[string]struct {
		filter bbsclient.ActualLRPFilter
		want   int
	}{
		"everything, every presence": {bbsclient.ActualLRPFilter{}, 5},
		"domain":                     {bbsclient.ActualLRPFilter{Domain: "other"}, 1},
		"cell":                       {bbsclient.ActualLRPFilter{CellID: "cell-1"}, 1},
		"process guid":               {bbsclient.ActualLRPFilter{ProcessGuid: "app-a"}, 4},
		"index 0 is a filter":        {bbsclient.ActualLRPFilter{ProcessGuid: "app-a", Index: i32(0)}, 2},
		"index 2":                    {bbsclient.ActualLRPFilter{Index: i32(2)}, 1},
		"and-ed":                     {bbsclient.ActualLRPFilter{Domain: lrpDomain, CellID: "cell-2", Index: i32(1)}, 1},
		"no match":                   {bbsclient.ActualLRPFilter{ProcessGuid: "app-a", CellID: "cell-9"}, 0},
	} {
		if got := count(c.filter); got != c.want {
			t.Errorf("%s: %d actual LRPs, want %d", name, got, c.want)
		}
	}

	lrps, err := f.c.ActualLRPsByProcessGuids(f.ctx, []string{"app-b", "app-a", "nope"})
	noError(t, err)
	if len(lrps) != 5 {
		t.Errorf("by process guids: %d, want 5", len(lrps))
	}
	_, err = f.c.ActualLRPsByProcessGuids(f.ctx, nil)
	wantError(t, err, models.Error_InvalidRequest, "process_guids must not be empty")

	// Deprecated group routes.
	groups, err := f.c.ActualLRPGroups(f.ctx, bbsclient.ActualLRPFilter{Domain: lrpDomain})
	noError(t, err)
	if len(groups) != 3 {
		t.Fatalf("groups = %d, want 3", len(groups))
	}
	groups, err = f.c.ActualLRPGroups(f.ctx, bbsclient.ActualLRPFilter{CellID: "cell-1"})
	noError(t, err)
	if len(groups) != 1 || groups[0].GetEvacuating().GetActualLrpInstanceKey().GetInstanceGuid() != "a0" || groups[0].GetInstance() != nil {
		t.Fatalf("groups on cell-1 = %v", groups)
	}
	groups, err = f.c.ActualLRPGroupsByProcessGuid(f.ctx, "app-a")
	noError(t, err)
	if len(groups) != 3 {
		t.Fatalf("groups of app-a = %d, want 3", len(groups))
	}
	_, err = f.c.ActualLRPGroupsByProcessGuid(f.ctx, "")
	wantError(t, err, models.Error_InvalidRequest, "Invalid field: process_guid")

	g, err := f.c.ActualLRPGroupByProcessGuidAndIndex(f.ctx, "app-a", 0)
	noError(t, err)
	if g.GetInstance().GetState() != models.ActualLRPStateUnclaimed || g.GetEvacuating().GetState() != models.ActualLRPStateRunning {
		t.Fatalf("group 0 = %v", g)
	}
	_, err = f.c.ActualLRPGroupByProcessGuidAndIndex(f.ctx, "app-a", 7)
	wantError(t, err, models.Error_ResourceNotFound, "")
	_, err = f.c.ActualLRPGroupByProcessGuidAndIndex(f.ctx, "app-a", -1)
	wantError(t, err, models.Error_InvalidRequest, "Invalid field: index")
}

func TestActualLRPRequestValidation(t *testing.T) {
	f := newLRPFx(t, sqldb.Config{})
	key, ik := lrpKey("app", 0), instKey("i", "cell-1")
	for name, c := range map[string]struct {
		call func() error
		msg  string
	}{
		"claim without process guid": {func() error { return f.c.ClaimActualLRP(f.ctx, &models.ActualLRPKey{}, ik) }, "Invalid field: process_guid"},
		"claim without instance key": {func() error { return f.c.ClaimActualLRP(f.ctx, key, nil) }, "Invalid field: actual_lrp_instance_key"},
		"claim with an empty instance key": {func() error { return f.c.ClaimActualLRP(f.ctx, key, &models.ActualLRPInstanceKey{}) },
			"Invalid field: cell_id, Invalid field: instance_guid"},
		"start without net info": {func() error {
			return f.c.StartActualLRP(f.ctx, &models.StartActualLRPRequest{ActualLrpKey: key, ActualLrpInstanceKey: ik})
		}, "Invalid field: actual_lrp_net_info"},
		"start without address": {func() error {
			return f.c.StartActualLRP(f.ctx, &models.StartActualLRPRequest{ActualLrpKey: key, ActualLrpInstanceKey: ik, ActualLrpNetInfo: &models.ActualLRPNetInfo{}})
		}, "Invalid field: address"},
		"start with a bad key": {func() error {
			return f.c.StartActualLRP(f.ctx, &models.StartActualLRPRequest{ActualLrpKey: &models.ActualLRPKey{Index: -1}, ActualLrpInstanceKey: ik, ActualLrpNetInfo: netInfo("a", 1)})
		}, "Invalid field: process_guid, Invalid field: index, Invalid field: domain"},
		"crash without instance key": {func() error { return f.c.CrashActualLRP(f.ctx, key, nil, "boom") }, "Invalid field: actual_lrp_instance_key"},
		"fail without message":       {func() error { return f.c.FailActualLRP(f.ctx, key, "") }, "Invalid field: error_message"},
		"fail without key":           {func() error { return f.c.FailActualLRP(f.ctx, nil, "x") }, "Invalid field: actual_lrp_key"},
		"remove with negative index": {func() error {
			return f.c.RemoveActualLRP(f.ctx, &models.ActualLRPKey{ProcessGuid: "app", Index: -1}, nil)
		}, "Invalid field: index"},
		"retire without domain": {func() error { return f.c.RetireActualLRP(f.ctx, &models.ActualLRPKey{ProcessGuid: "app"}) }, "Invalid field: domain"},
		"remove evacuating without instance key": {func() error { return f.c.RemoveEvacuatingActualLRP(f.ctx, key, nil) },
			"Invalid field: actual_lrp_instance_key"},
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, c.call(), models.Error_InvalidRequest, c.msg)
		})
	}
	// A body that is not the request message.
	for _, name := range []string{routes.ClaimActualLRP, routes.StartActualLRP, routes.CrashActualLRP, routes.RetireActualLRP, routes.ActualLRPs} {
		resp := &models.ActualLRPLifecycleResponse{}
		f.post(name, []byte{0xff, 0xff, 0xff}, resp)
		wantError(t, resp.GetError(), models.Error_InvalidRequest, "the request received is invalid")
	}
	f.expectNoEvents()
}

func TestClaimActualLRP(t *testing.T) {
	f := newLRPFx(t, sqldb.Config{})
	f.desire("app", 2, models.DesiredLRP_ROLLING)
	key := f.unclaimed("app", 0)
	ik := instKey("i-1", "cell-1")

	noError(t, f.c.ClaimActualLRP(f.ctx, key, ik))
	inst, grp := f.expectEvents([]string{evChanged}, []string{evGroupChanged})
	ch := inst[0].(*models.ActualLRPInstanceChangedEvent)
	if ch.GetBefore().GetState() != models.ActualLRPStateUnclaimed || ch.GetAfter().GetState() != models.ActualLRPStateClaimed ||
		ch.GetActualLrpInstanceKey().GetInstanceGuid() != "i-1" || ch.GetTraceId() != lrpTrace {
		t.Fatalf("changed event = %v", ch)
	}
	if ch.GetAfter().GetModificationTag().GetIndex() != 1 {
		t.Fatalf("tag = %v, want index 1", ch.GetAfter().GetModificationTag())
	}
	gch := grp[0].(*models.ActualLRPChangedEvent)
	if gch.GetAfter().GetInstance().GetState() != models.ActualLRPStateClaimed {
		t.Fatalf("group changed = %v", gch)
	}
	lrp := f.wantSlot("app", 0, "ORDINARY/CLAIMED")[0]
	if !proto.Equal(lrp.GetActualLrpInstanceKey(), ik) || lrp.GetSince() != f.clock.Now().UnixNano() {
		t.Fatalf("claimed row = %v", lrp)
	}

	// Claiming again is a no-op without events.
	noError(t, f.c.ClaimActualLRP(f.ctx, key, ik))
	f.expectNoEvents()
	// Another instance cannot claim it.
	wantError(t, f.c.ClaimActualLRP(f.ctx, key, instKey("i-2", "cell-2")), models.Error_ActualLRPCannotBeClaimed, "cannot claim actual LRP")
	// Nothing to claim at index 1.
	wantError(t, f.c.ClaimActualLRP(f.ctx, lrpKey("app", 1), ik), models.Error_ResourceNotFound, "")

	// RUNNING -> CLAIMED by the same instance is a change.
	f.start(key, ik, netInfo("10.0.0.1", 61001))
	f.drain()
	noError(t, f.c.ClaimActualLRP(f.ctx, key, ik))
	f.expectEvents([]string{evChanged}, []string{evGroupChanged})
	lrp = f.wantSlot("app", 0, "ORDINARY/CLAIMED")[0]
	if lrp.GetActualLrpNetInfo().GetAddress() != "" {
		t.Fatalf("claim kept the net info: %v", lrp)
	}

	// A claim from a suspect's own cell is ignored.
	f.start(key, ik, netInfo("10.0.0.1", 61001))
	f.suspect(key)
	f.drain()
	noError(t, f.c.ClaimActualLRP(f.ctx, key, ik))
	f.expectNoEvents()
	f.wantSlot("app", 0, "ORDINARY/UNCLAIMED", "SUSPECT/RUNNING")
}

func TestStartActualLRP(t *testing.T) {
	f := newLRPFx(t, sqldb.Config{})
	f.desire("app", 3, models.DesiredLRP_ROLLING)
	ik := instKey("i-1", "cell-1")

	// No row: a RUNNING row is created.
	key := lrpKey("app", 0)
	f.start(key, ik, netInfo("10.0.0.1", 61001))
	inst, grp := f.expectEvents([]string{evCreated}, []string{evGroupCreated})
	created := inst[0].(*models.ActualLRPInstanceCreatedEvent).GetActualLrp()
	if created.GetState() != models.ActualLRPStateRunning || !created.GetRoutable() || created.GetModificationTag().GetIndex() != 0 {
		t.Fatalf("created = %v", created)
	}
	if grp[0].(*models.ActualLRPCreatedEvent).GetActualLrpGroup().GetInstance().GetState() != models.ActualLRPStateRunning {
		t.Fatalf("group created = %v", grp[0])
	}

	// The same start again changes nothing.
	f.start(key, ik, netInfo("10.0.0.1", 61001))
	f.expectNoEvents()
	// A new port is a change.
	f.start(key, ik, netInfo("10.0.0.1", 61002))
	inst, _ = f.expectEvents([]string{evChanged}, []string{evGroupChanged})
	if inst[0].(*models.ActualLRPInstanceChangedEvent).GetAfter().GetActualLrpNetInfo().GetPorts()[0].GetHostPort() != 61002 {
		t.Fatalf("changed = %v", inst[0])
	}

	// UNCLAIMED -> RUNNING with routes, tags, routable false and a zone.
	key1 := f.unclaimed("app", 1)
	routable := false
	noError(t, f.c.StartActualLRP(f.ctx, &models.StartActualLRPRequest{
		ActualLrpKey: key1, ActualLrpInstanceKey: instKey("i-2", "cell-2"), ActualLrpNetInfo: netInfo("10.0.0.2", 61001),
		ActualLrpInternalRoutes: []*models.ActualLRPInternalRoute{{Hostname: "a.apps.internal"}},
		MetricTags:              map[string]string{"app_name": "a"}, Routable: &routable, AvailabilityZone: "z2",
	}))
	f.expectEvents([]string{evChanged}, []string{evGroupChanged})
	lrp := f.wantSlot("app", 1, "ORDINARY/RUNNING")[0]
	if lrp.GetRoutable() || lrp.GetAvailabilityZone() != "z2" || lrp.GetMetricTags()["app_name"] != "a" ||
		len(lrp.GetActualLrpInternalRoutes()) != 1 || lrp.GetModificationTag().GetIndex() != 1 {
		t.Fatalf("started row = %v", lrp)
	}

	// A CLAIMED row may be started by any instance.
	key2 := f.claimed("app", 2, instKey("i-3", "cell-1"))
	f.drain()
	f.start(key2, instKey("i-4", "cell-2"), netInfo("10.0.0.2", 61003))
	f.expectEvents([]string{evChanged}, []string{evGroupCreated, evGroupRemoved})
	// A RUNNING row only by its own instance.
	err := f.c.StartActualLRP(f.ctx, &models.StartActualLRPRequest{ActualLrpKey: key2, ActualLrpInstanceKey: instKey("i-5", "cell-1"), ActualLrpNetInfo: netInfo("10.0.0.1", 1)})
	wantError(t, err, models.Error_ActualLRPCannotBeStarted, "cannot start actual LRP")
	f.expectNoEvents()
}

func TestStartActualLRPReplacesCopies(t *testing.T) {
	f := newLRPFx(t, sqldb.Config{})
	f.desire("app", 2, models.DesiredLRP_ROLLING)
	old, repl := instKey("old", "cell-1"), instKey("new", "cell-2")

	// The replacement of an evacuating instance starts: the evacuating row goes.
	key := f.running("app", 0, old)
	if keep, err := f.evacuateRunning(key, old, netInfo("10.0.0.1", 61001)); err != nil || !keep {
		t.Fatalf("evacuate = %v %v", keep, err)
	}
	noError(t, f.c.ClaimActualLRP(f.ctx, key, repl))
	f.drain()
	f.start(key, repl, netInfo("10.0.0.2", 61001))
	inst, _ := f.expectEvents([]string{evChanged, evRemoved}, []string{evGroupChanged, evGroupRemoved})
	if inst[1].(*models.ActualLRPInstanceRemovedEvent).GetActualLrp().GetPresence() != models.ActualLRP_EVACUATING {
		t.Fatalf("removed = %v", inst[1])
	}
	f.wantSlot("app", 0, "ORDINARY/RUNNING")

	// The replacement of a suspect starts: the suspect row goes.
	key1 := f.running("app", 1, old)
	f.suspect(key1)
	noError(t, f.c.ClaimActualLRP(f.ctx, key1, repl))
	f.drain()
	f.start(key1, repl, netInfo("10.0.0.2", 61002))
	inst, _ = f.expectEvents([]string{evChanged, evRemoved}, []string{evGroupCreated, evGroupRemoved})
	if inst[1].(*models.ActualLRPInstanceRemovedEvent).GetActualLrp().GetPresence() != models.ActualLRP_SUSPECT {
		t.Fatalf("removed = %v", inst[1])
	}
	f.wantSlot("app", 1, "ORDINARY/RUNNING")

	// A start from a suspect's own cell is ignored.
	f.suspect(key1)
	f.drain()
	f.start(key1, repl, netInfo("10.0.0.2", 61009))
	f.expectNoEvents()
	f.wantSlot("app", 1, "ORDINARY/UNCLAIMED", "SUSPECT/RUNNING")
}

func TestStartActualLRPDeprecatedRoute(t *testing.T) {
	f := newLRPFx(t, sqldb.Config{})
	f.desire("app", 1, models.DesiredLRP_ROLLING)
	key := f.unclaimed("app", 0)
	resp := &models.ActualLRPLifecycleResponse{}
	f.postMessage(routes.StartActualLRPR0, &models.StartActualLRPRequest{
		ActualLrpKey: key, ActualLrpInstanceKey: instKey("i", "cell-1"), ActualLrpNetInfo: netInfo("10.0.0.1", 61001),
		ActualLrpInternalRoutes: []*models.ActualLRPInternalRoute{{Hostname: "ignored"}},
		MetricTags:              map[string]string{"ignored": "yes"}, AvailabilityZone: "z1",
	}, resp)
	noRespError(t, resp.GetError())
	lrp := f.wantSlot("app", 0, "ORDINARY/RUNNING")[0]
	if len(lrp.GetActualLrpInternalRoutes()) != 0 || len(lrp.GetMetricTags()) != 0 || lrp.GetAvailabilityZone() != "z1" || !lrp.GetRoutable() {
		t.Fatalf("r0 start stored %v", lrp)
	}
	f.expectEvents([]string{evChanged}, []string{evGroupChanged})

	f.postMessage(routes.StartActualLRPR0, &models.StartActualLRPRequest{ActualLrpKey: key}, resp)
	wantError(t, resp.GetError(), models.Error_InvalidRequest, "Invalid field: actual_lrp_instance_key, Invalid field: actual_lrp_net_info")
}

func TestCrashActualLRP(t *testing.T) {
	f := newLRPFx(t, sqldb.Config{})
	f.desire("app", 1, models.DesiredLRP_ROLLING)
	ik := instKey("i-1", "cell-1")
	key := f.running("app", 0, ik)

	// Crashes 1 and 2 restart at once: UNCLAIMED and auctioned.
	for n := int32(1); n <= 2; n++ {
		noError(t, f.c.CrashActualLRP(f.ctx, key, ik, "boom"))
		inst, grp := f.expectEvents([]string{evCrashed, evCreated, evRemoved}, []string{evCrashed, evGroupChanged})
		crashed := inst[0].(*models.ActualLRPCrashedEvent)
		if crashed.GetCrashCount() != n || crashed.GetCrashReason() != "boom" || crashed.GetActualLrpInstanceKey().GetInstanceGuid() != "i-1" {
			t.Fatalf("crashed event = %v", crashed)
		}
		if inst[1].(*models.ActualLRPInstanceCreatedEvent).GetActualLrp().GetState() != models.ActualLRPStateUnclaimed ||
			inst[2].(*models.ActualLRPInstanceRemovedEvent).GetActualLrp().GetState() != models.ActualLRPStateRunning {
			t.Fatalf("instance events = %v", inst)
		}
		if grp[1].(*models.ActualLRPChangedEvent).GetAfter().GetInstance().GetState() != models.ActualLRPStateUnclaimed {
			t.Fatalf("group changed = %v", grp[1])
		}
		lrp := f.wantSlot("app", 0, "ORDINARY/UNCLAIMED")[0]
		if lrp.GetCrashCount() != n || lrp.GetActualLrpInstanceKey().GetInstanceGuid() != "" {
			t.Fatalf("row after crash %d = %v", n, lrp)
		}
		f.wantAuctions("app", make([]int, n)...)
		f.run(key, ik) // the rep gets it again
	}

	// Crash 3 waits in CRASHED, without an auction.
	noError(t, f.c.CrashActualLRP(f.ctx, key, ik, "boom"))
	inst, _ := f.expectEvents([]string{evCrashed, evChanged}, []string{evCrashed, evGroupChanged})
	if after := inst[1].(*models.ActualLRPInstanceChangedEvent).GetAfter(); after.GetState() != models.ActualLRPStateCrashed || after.GetCrashCount() != 3 {
		t.Fatalf("changed = %v", inst[1])
	}
	lrp := f.wantSlot("app", 0, "ORDINARY/CRASHED")[0]
	if lrp.GetActualLrpInstanceKey().GetCellId() != "" || lrp.GetActualLrpNetInfo().GetAddress() != "" {
		t.Fatalf("crashed row keeps its instance = %v", lrp)
	}
	f.wantAuctions("app", 0, 0)
	// A CRASHED row cannot crash.
	wantError(t, f.c.CrashActualLRP(f.ctx, key, ik, "again"), models.Error_ActualLRPCannotBeCrashed, "cannot crash actual LRP")
	// Nor can another instance crash a running one. (Convergence unclaims
	// the crashed row when it is due.)
	if _, err := f.api.DB.UnclaimStaleActualLRP(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	f.run(key, ik)
	wantError(t, f.c.CrashActualLRP(f.ctx, key, instKey("x", "cell-2"), "x"), models.Error_ActualLRPCannotBeCrashed, "")
	f.expectNoEvents()

	// After more than 5 minutes of running the count starts again at 1.
	f.clock.advance(models.CrashResetTimeout + 1)
	noError(t, f.c.CrashActualLRP(f.ctx, key, ik, "late"))
	f.expectEvents([]string{evCrashed, evCreated, evRemoved}, []string{evCrashed, evGroupChanged})
	if lrp := f.wantSlot("app", 0, "ORDINARY/UNCLAIMED")[0]; lrp.GetCrashCount() != 1 {
		t.Fatalf("crash count = %d, want 1", lrp.GetCrashCount())
	}
	f.wantAuctions("app", 0, 0, 0)

	wantError(t, f.c.CrashActualLRP(f.ctx, lrpKey("app", 5), ik, "x"), models.Error_ResourceNotFound, "")

	// A failed auction request does not fail the crash.
	f.run(key, ik)
	f.api.Auctioneer.SetErr(errFake("auctioneer down"))
	noError(t, f.c.CrashActualLRP(f.ctx, key, ik, "again"))
	f.expectEvents([]string{evCrashed, evCreated, evRemoved}, []string{evCrashed, evGroupChanged})
	f.wantAuctions("app", 0, 0, 0, 0)
}

func TestCrashSuspectActualLRP(t *testing.T) {
	f := newLRPFx(t, sqldb.Config{})
	f.desire("app", 3, models.DesiredLRP_ROLLING)
	susp := instKey("s", "cell-1")
	for i, c := range []struct {
		replacement string // the ORDINARY row's state
		group       []string
	}{
		{models.ActualLRPStateUnclaimed, []string{evGroupChanged}},
		{models.ActualLRPStateClaimed, []string{evGroupCreated, evGroupRemoved}},
		{"", []string{evGroupRemoved}},
	} {
		key := f.running("app", int32(i), susp)
		f.suspect(key)
		switch c.replacement {
		case models.ActualLRPStateClaimed:
			noError(t, f.c.ClaimActualLRP(f.ctx, key, instKey("r", "cell-2")))
		case "":
			noError(t, f.c.RemoveActualLRP(f.ctx, key, nil))
		}
		f.drain()
		noError(t, f.c.CrashActualLRP(f.ctx, key, susp, "gone"))
		inst, _ := f.expectEvents([]string{evRemoved}, c.group)
		if inst[0].(*models.ActualLRPInstanceRemovedEvent).GetActualLrp().GetPresence() != models.ActualLRP_SUSPECT {
			t.Fatalf("removed = %v", inst[0])
		}
		if c.replacement == "" {
			f.wantSlot("app", int32(i))
		} else {
			f.wantSlot("app", int32(i), "ORDINARY/"+c.replacement)
		}
	}
	f.wantAuctions("app")
}

func TestFailActualLRP(t *testing.T) {
	f := newLRPFx(t, sqldb.Config{})
	f.desire("app", 2, models.DesiredLRP_ROLLING)
	key := f.unclaimed("app", 0)
	noError(t, f.c.FailActualLRP(f.ctx, key, "insufficient resources"))
	inst, _ := f.expectEvents([]string{evChanged}, []string{evGroupChanged})
	if after := inst[0].(*models.ActualLRPInstanceChangedEvent).GetAfter(); after.GetPlacementError() != "insufficient resources" || after.GetState() != models.ActualLRPStateUnclaimed {
		t.Fatalf("changed = %v", inst[0])
	}
	if lrp := f.wantSlot("app", 0, "ORDINARY/UNCLAIMED")[0]; lrp.GetPlacementError() != "insufficient resources" {
		t.Fatalf("row = %v", lrp)
	}
	// A missing instance is not an error.
	noError(t, f.c.FailActualLRP(f.ctx, lrpKey("app", 1), "x"))
	f.expectNoEvents()
	// Only UNCLAIMED instances fail.
	f.run(key, instKey("i", "cell-1"))
	wantError(t, f.c.FailActualLRP(f.ctx, key, "x"), models.Error_ActualLRPCannotBeFailed, "cannot fail actual LRP")
	f.expectNoEvents()
	// The claim clears the placement error (checked above by the start).
	if lrp := f.wantSlot("app", 0, "ORDINARY/RUNNING")[0]; lrp.GetPlacementError() != "" {
		t.Fatalf("placement error kept: %v", lrp)
	}
}

func TestRemoveActualLRP(t *testing.T) {
	f := newLRPFx(t, sqldb.Config{})
	f.desire("app", 2, models.DesiredLRP_ROLLING)
	ik := instKey("i", "cell-1")
	key := f.running("app", 0, ik)

	wantError(t, f.c.RemoveActualLRP(f.ctx, key, instKey("other", "cell-1")), models.Error_ResourceNotFound, "")
	noError(t, f.c.RemoveActualLRP(f.ctx, key, ik))
	inst, _ := f.expectEvents([]string{evRemoved}, []string{evGroupRemoved})
	if inst[0].(*models.ActualLRPInstanceRemovedEvent).GetActualLrp().GetActualLrpInstanceKey().GetInstanceGuid() != "i" {
		t.Fatalf("removed = %v", inst[0])
	}
	f.wantSlot("app", 0)
	wantError(t, f.c.RemoveActualLRP(f.ctx, key, ik), models.Error_ResourceNotFound, "")

	// Without an instance key, whatever holds the slot goes.
	key1 := f.unclaimed("app", 1)
	noError(t, f.c.RemoveActualLRP(f.ctx, key1, nil))
	f.expectEvents([]string{evRemoved}, []string{evGroupRemoved})
	f.wantSlot("app", 1)
}

func TestRetireActualLRP(t *testing.T) {
	f := newLRPFx(t, sqldb.Config{})
	f.desire("app", 4, models.DesiredLRP_ROLLING)

	// UNCLAIMED: deleted.
	key := f.unclaimed("app", 0)
	noError(t, f.c.RetireActualLRP(f.ctx, key))
	f.expectEvents([]string{evRemoved}, []string{evGroupRemoved})
	f.wantSlot("app", 0)
	wantError(t, f.c.RetireActualLRP(f.ctx, key), models.Error_ResourceNotFound, "")

	// RUNNING on a present cell: the rep stops it, the row stays, removed
	// is announced at once.
	ik := instKey("i-1", "cell-1")
	key1 := f.running("app", 1, ik)
	noError(t, f.c.RetireActualLRP(f.ctx, key1))
	f.expectEvents([]string{evRemoved}, []string{evGroupRemoved})
	f.wantSlot("app", 1, "ORDINARY/RUNNING")
	calls := f.api.Reps.Calls()
	if len(calls) != 1 || calls[0].Op != "stop" || calls[0].RepURL != bbstest.Cell("cell-1", "").GetRepUrl() ||
		!proto.Equal(calls[0].Key, key1) || !proto.Equal(calls[0].Instance, ik) {
		t.Fatalf("rep calls = %+v", calls)
	}
	// The rep removes it when stopped: a second removed.
	noError(t, f.c.RemoveActualLRP(f.ctx, key1, ik))
	f.expectEvents([]string{evRemoved}, []string{evGroupRemoved})

	// CLAIMED on a cell that is gone: deleted, no rep call.
	key2 := f.claimed("app", 2, instKey("i-2", "cell-9"))
	f.drain()
	noError(t, f.c.RetireActualLRP(f.ctx, key2))
	f.expectEvents([]string{evRemoved}, []string{evGroupRemoved})
	f.wantSlot("app", 2)
	if n := len(f.api.Reps.Calls()); n != 1 {
		t.Fatalf("rep calls = %d, want 1", n)
	}

	// A rep that fails is asked 5 times; nothing is announced.
	key3 := f.running("app", 3, instKey("i-3", "cell-2"))
	f.api.Reps.SetErr(errFake("rep down"))
	err := f.c.RetireActualLRP(f.ctx, key3)
	wantError(t, err, models.Error_UnknownError, "rep down")
	f.api.Reps.SetErr(nil)
	if n := len(f.api.Reps.Calls()); n != 1+models.RetireActualLRPRetryAttempts {
		t.Fatalf("rep calls = %d, want %d", n, 1+models.RetireActualLRPRetryAttempts)
	}
	f.expectNoEvents()

	// A cell lookup that fails is returned at once.
	f.api.Cells.FailWith(errFake("locket down"))
	wantError(t, f.c.RetireActualLRP(f.ctx, key3), models.Error_UnknownError, "locket down")
	f.api.Cells.FailWith(nil)
	f.expectNoEvents()
	f.wantSlot("app", 3, "ORDINARY/RUNNING")
}

type errFake string

func (e errFake) Error() string { return string(e) }
