package handlers_test

import (
	"context"
	"testing"

	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/bbs/routes"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
	"google.golang.org/protobuf/proto"
)

// wantKeep checks an evacuation answer: keep_container and no error.
func wantKeep(t *testing.T, keep bool, err error, want bool) {
	t.Helper()
	if err != nil {
		t.Fatalf("evacuation error: %v", err)
	}
	if keep != want {
		t.Fatalf("keep_container = %v, want %v", keep, want)
	}
}

// wantKeepError checks an evacuation answer carrying an error of type typ.
func wantKeepError(t *testing.T, keep bool, err error, want bool, typ models.Error_Type) {
	t.Helper()
	wantError(t, err, typ, "")
	if keep != want {
		t.Fatalf("keep_container = %v, want %v (error %v)", keep, want, err)
	}
}

// evacuated makes (guid, index) run as ik, then evacuates it: ik is the
// EVACUATING row, index is UNCLAIMED again. Events and auctions so far are
// dropped from the checks by the caller's drain.
func (f *lrpFx) evacuated(guid string, index int32, ik *models.ActualLRPInstanceKey) *models.ActualLRPKey {
	f.t.Helper()
	key := f.running(guid, index, ik)
	keep, err := f.evacuateRunning(key, ik, netInfo("10.0.0.1", 61001))
	wantKeep(f.t, keep, err, true)
	f.drain()
	return key
}

func TestEvacuateClaimedActualLRP(t *testing.T) {
	f := newLRPFx(t, sqldb.Config{})
	f.desire("app", 4, models.DesiredLRP_ROLLING)
	ik := instKey("i-1", "cell-1")

	// The ORDINARY claimed instance goes back to the auctioneer.
	key := f.claimed("app", 0, ik)
	f.drain()
	keep, err := f.c.EvacuateClaimedActualLRP(f.ctx, key, ik)
	wantKeep(t, keep, err, false)
	inst, _ := f.expectEvents([]string{evCreated, evRemoved}, []string{evGroupChanged})
	if inst[0].(*models.ActualLRPInstanceCreatedEvent).GetActualLrp().GetState() != models.ActualLRPStateUnclaimed ||
		inst[1].(*models.ActualLRPInstanceRemovedEvent).GetActualLrp().GetState() != models.ActualLRPStateClaimed {
		t.Fatalf("events = %v", inst)
	}
	f.wantSlot("app", 0, "ORDINARY/UNCLAIMED")
	f.wantAuctions("app", 0)

	// Its EVACUATING copy is deleted.
	key1 := f.evacuated("app", 1, ik)
	keep, err = f.c.EvacuateClaimedActualLRP(f.ctx, key1, ik)
	wantKeep(t, keep, err, false)
	f.expectEvents([]string{evRemoved}, []string{evGroupRemoved})
	f.wantSlot("app", 1, "ORDINARY/UNCLAIMED")

	// Its SUSPECT copy is deleted, the replacement stays.
	key2 := f.running("app", 2, ik)
	f.suspect(key2)
	keep, err = f.c.EvacuateClaimedActualLRP(f.ctx, key2, ik)
	wantKeep(t, keep, err, false)
	f.expectEvents([]string{evRemoved}, []string{evGroupChanged})
	f.wantSlot("app", 2, "ORDINARY/UNCLAIMED")
	f.wantAuctions("app", 0, 1) // the evacuated() of index 1 auctioned it

	// No row carries the instance key.
	keep, err = f.c.EvacuateClaimedActualLRP(f.ctx, lrpKey("app", 3), ik)
	wantKeepError(t, keep, err, false, models.Error_ResourceNotFound)
	// An invalid request keeps the container.
	keep, err = f.c.EvacuateClaimedActualLRP(f.ctx, key, nil)
	wantKeepError(t, keep, err, true, models.Error_InvalidRequest)
	resp := &models.EvacuationResponse{}
	f.post(routes.EvacuateClaimedActualLRP, []byte{0xff, 0xff}, resp)
	if !resp.GetKeepContainer() || resp.GetError().GetType() != models.Error_InvalidRequest {
		t.Fatalf("unparseable request: %v", resp)
	}
	f.expectNoEvents()

	// Without a desired LRP the instance is unclaimed but not auctioned.
	orphan := &models.ActualLRPKey{ProcessGuid: "orphan", Index: 0, Domain: lrpDomain}
	if _, err := f.api.DB.CreateUnclaimedActualLRP(context.Background(), orphan); err != nil {
		t.Fatal(err)
	}
	noError(t, f.c.ClaimActualLRP(f.ctx, orphan, ik))
	f.drain()
	keep, err = f.c.EvacuateClaimedActualLRP(f.ctx, orphan, ik)
	wantKeep(t, keep, err, false)
	f.expectEvents([]string{evCreated, evRemoved}, []string{evGroupChanged})
	f.wantAuctions("app", 0, 1)

	// A failed auction request is not the rep's problem.
	f.api.Auctioneer.SetErr(errFake("auctioneer down"))
	key3 := f.claimed("app", 3, ik)
	f.drain()
	keep, err = f.c.EvacuateClaimedActualLRP(f.ctx, key3, ik)
	wantKeep(t, keep, err, false)
	f.expectEvents([]string{evCreated, evRemoved}, []string{evGroupChanged})
	f.wantAuctions("app", 0, 1, 3)
}

func TestEvacuateCrashedActualLRP(t *testing.T) {
	f := newLRPFx(t, sqldb.Config{})
	f.desire("app", 3, models.DesiredLRP_ROLLING)
	ik := instKey("i-1", "cell-1")

	// A first crash restarts at once, but no auction is requested, and the
	// events are those of an unclaim (no actual_lrp_crashed).
	key := f.running("app", 0, ik)
	keep, err := f.c.EvacuateCrashedActualLRP(f.ctx, key, ik, "oom")
	wantKeep(t, keep, err, false)
	f.expectEvents([]string{evCreated, evRemoved}, []string{evGroupChanged})
	if lrp := f.wantSlot("app", 0, "ORDINARY/UNCLAIMED")[0]; lrp.GetCrashCount() != 1 || lrp.GetCrashReason() != "oom" {
		t.Fatalf("row = %v", lrp)
	}
	f.wantAuctions("app")

	// Crashes from the third on wait in CRASHED.
	for range 2 {
		f.run(key, ik)
		keep, err = f.c.EvacuateCrashedActualLRP(f.ctx, key, ik, "oom")
		wantKeep(t, keep, err, false)
	}
	f.drain()
	if _, err := f.api.DB.UnclaimStaleActualLRP(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	f.run(key, ik)
	keep, err = f.c.EvacuateCrashedActualLRP(f.ctx, key, ik, "oom")
	wantKeep(t, keep, err, false)
	f.expectEvents([]string{evCrashed, evChanged}, []string{evCrashed, evGroupChanged})
	if lrp := f.wantSlot("app", 0, "ORDINARY/CRASHED")[0]; lrp.GetCrashCount() != 4 {
		t.Fatalf("crash count = %d, want 4", lrp.GetCrashCount())
	}

	// The EVACUATING copy is deleted, the ORDINARY row left alone.
	key1 := f.evacuated("app", 1, ik)
	keep, err = f.c.EvacuateCrashedActualLRP(f.ctx, key1, ik, "oom")
	wantKeep(t, keep, err, false)
	f.expectEvents([]string{evRemoved}, []string{evGroupRemoved})
	f.wantSlot("app", 1, "ORDINARY/UNCLAIMED")

	keep, err = f.c.EvacuateCrashedActualLRP(f.ctx, lrpKey("app", 2), ik, "oom")
	wantKeepError(t, keep, err, false, models.Error_ResourceNotFound)
	keep, err = f.c.EvacuateCrashedActualLRP(f.ctx, key, ik, "")
	wantKeepError(t, keep, err, false, models.Error_InvalidRequest)
	resp := &models.EvacuationResponse{KeepContainer: true}
	f.post(routes.EvacuateCrashedActualLRP, []byte{0xff, 0xff}, resp)
	if resp.GetKeepContainer() || resp.GetError().GetType() != models.Error_InvalidRequest {
		t.Fatalf("unparseable request: %v", resp)
	}
	f.expectNoEvents()
}

func TestEvacuateStoppedActualLRP(t *testing.T) {
	f := newLRPFx(t, sqldb.Config{})
	f.desire("app", 2, models.DesiredLRP_ROLLING)
	ik := instKey("i-1", "cell-1")

	key := f.running("app", 0, ik)
	keep, err := f.c.EvacuateStoppedActualLRP(f.ctx, key, instKey("other", "cell-1"))
	wantKeepError(t, keep, err, false, models.Error_ResourceNotFound)
	keep, err = f.c.EvacuateStoppedActualLRP(f.ctx, key, ik)
	wantKeep(t, keep, err, false)
	f.expectEvents([]string{evRemoved}, []string{evGroupRemoved})
	f.wantSlot("app", 0)

	key1 := f.evacuated("app", 1, ik)
	keep, err = f.c.EvacuateStoppedActualLRP(f.ctx, key1, ik)
	wantKeep(t, keep, err, false)
	f.expectEvents([]string{evRemoved}, []string{evGroupRemoved})
	f.wantSlot("app", 1, "ORDINARY/UNCLAIMED")

	keep, err = f.c.EvacuateStoppedActualLRP(f.ctx, &models.ActualLRPKey{ProcessGuid: "app"}, ik)
	wantKeepError(t, keep, err, false, models.Error_InvalidRequest)
	f.expectNoEvents()
}

func TestEvacuateRunningDance(t *testing.T) {
	f := newLRPFx(t, sqldb.Config{})
	f.desire("app", 3, models.DesiredLRP_ROLLING)
	ik := instKey("i-1", "cell-1")

	// Nothing at the index: delete the container.
	keep, err := f.evacuateRunning(lrpKey("app", 2), ik, netInfo("10.0.0.1", 1))
	wantKeep(t, keep, err, false)

	// RUNNING: the evacuation dance.
	key := f.running("app", 0, ik)
	before := f.row("app", 0, models.ActualLRP_ORDINARY)
	keep, err = f.evacuateRunning(key, ik, netInfo("10.9.9.9", 1))
	wantKeep(t, keep, err, true)
	inst, grp := f.expectEvents([]string{evChanged, evCreated}, []string{evGroupCreated, evGroupChanged})
	ch := inst[0].(*models.ActualLRPInstanceChangedEvent)
	if ch.GetBefore().GetPresence() != models.ActualLRP_ORDINARY || ch.GetAfter().GetPresence() != models.ActualLRP_EVACUATING ||
		ch.GetActualLrpInstanceKey().GetInstanceGuid() != "i-1" || ch.GetTraceId() != lrpTrace {
		t.Fatalf("changed = %v", ch)
	}
	if inst[1].(*models.ActualLRPInstanceCreatedEvent).GetActualLrp().GetState() != models.ActualLRPStateUnclaimed {
		t.Fatalf("created = %v", inst[1])
	}
	if grp[0].(*models.ActualLRPCreatedEvent).GetActualLrpGroup().GetEvacuating() == nil ||
		grp[1].(*models.ActualLRPChangedEvent).GetAfter().GetInstance().GetState() != models.ActualLRPStateUnclaimed {
		t.Fatalf("group events = %v", grp)
	}
	rows := f.wantSlot("app", 0, "ORDINARY/UNCLAIMED", "EVACUATING/RUNNING")
	ev := rows[1]
	// The copy carries what the database had, not what the request said.
	if !proto.Equal(ev.GetActualLrpNetInfo(), before.GetActualLrpNetInfo()) || !proto.Equal(ev.GetActualLrpInstanceKey(), ik) ||
		ev.GetModificationTag().GetIndex() != 0 || ev.GetModificationTag().GetEpoch() == before.GetModificationTag().GetEpoch() {
		t.Fatalf("evacuating row = %v", ev)
	}
	f.wantAuctions("app", 0)

	// Asking again with the same values changes nothing and keeps it.
	keep, err = f.evacuateRunning(key, ik, before.GetActualLrpNetInfo())
	wantKeep(t, keep, err, true)
	f.expectNoEvents()
	// New values refresh the evacuating row.
	keep, err = f.evacuateRunning(key, ik, netInfo("10.0.0.1", 62000))
	wantKeep(t, keep, err, true)
	f.expectEvents([]string{evChanged}, []string{evGroupChanged})
	// Another instance of the index cannot evacuate too.
	keep, err = f.evacuateRunning(key, instKey("i-2", "cell-2"), netInfo("10.0.0.2", 1))
	wantKeep(t, keep, err, false)
	f.expectNoEvents()
	f.wantSlot("app", 0, "ORDINARY/UNCLAIMED", "EVACUATING/RUNNING")

	// The replacement is claimed: still evacuating.
	repl := instKey("i-3", "cell-2")
	noError(t, f.c.ClaimActualLRP(f.ctx, key, repl))
	f.drain()
	keep, err = f.evacuateRunning(key, ik, netInfo("10.0.0.1", 62000))
	wantKeep(t, keep, err, true)
	f.expectNoEvents()
	// It runs: its start removed the evacuating row; the container goes.
	f.start(key, repl, netInfo("10.0.0.2", 61001))
	f.drain()
	keep, err = f.evacuateRunning(key, ik, netInfo("10.0.0.1", 62000))
	wantKeep(t, keep, err, false)
	f.expectNoEvents()
	f.wantSlot("app", 0, "ORDINARY/RUNNING")
	f.wantAuctions("app", 0)

	// A CLAIMED instance dances too; its copy is RUNNING, without net info.
	key1 := f.claimed("app", 1, ik)
	f.drain()
	keep, err = f.evacuateRunning(key1, ik, netInfo("10.0.0.1", 1))
	wantKeep(t, keep, err, true)
	f.expectEvents([]string{evChanged, evCreated}, []string{evGroupCreated, evGroupChanged})
	if ev := f.wantSlot("app", 1, "ORDINARY/UNCLAIMED", "EVACUATING/RUNNING")[1]; ev.GetActualLrpNetInfo().GetAddress() != "" {
		t.Fatalf("evacuating copy of a claimed row = %v", ev)
	}
	f.wantAuctions("app", 0, 1)
}

func TestEvacuateRunningReplacedOrRemoved(t *testing.T) {
	f := newLRPFx(t, sqldb.Config{})
	f.desire("app", 4, models.DesiredLRP_ROLLING)
	ik, repl := instKey("i-1", "cell-1"), instKey("i-2", "cell-2")
	evacuating := func(key *models.ActualLRPKey) {
		t.Helper()
		if _, err := f.api.DB.EvacuateActualLRP(context.Background(), key, db.RunningInstance{InstanceKey: ik, NetInfo: netInfo("10.0.0.1", 1)}); err != nil {
			t.Fatal(err)
		}
	}

	// The replacement runs: the evacuating row is deleted.
	key := f.running("app", 0, repl)
	evacuating(key)
	keep, err := f.evacuateRunning(key, ik, netInfo("10.0.0.1", 1))
	wantKeep(t, keep, err, false)
	f.expectEvents([]string{evRemoved}, []string{evGroupRemoved})
	f.wantSlot("app", 0, "ORDINARY/RUNNING")

	// The replacement crashed: the same.
	key1 := f.running("app", 1, repl)
	for range 3 {
		noError(t, f.c.CrashActualLRP(f.ctx, key1, repl, "x"))
		if f.row("app", 1, models.ActualLRP_ORDINARY).GetState() == models.ActualLRPStateUnclaimed {
			f.run(key1, repl)
		}
	}
	evacuating(key1)
	f.drain()
	keep, err = f.evacuateRunning(key1, ik, netInfo("10.0.0.1", 1))
	wantKeep(t, keep, err, false)
	f.expectEvents([]string{evRemoved}, []string{evGroupRemoved})
	f.wantSlot("app", 1, "ORDINARY/CRASHED")

	// The desired LRP was removed along with the ORDINARY row.
	key2 := f.evacuated("app", 2, ik)
	noError(t, f.c.RemoveActualLRP(f.ctx, key2, nil))
	f.drain()
	keep, err = f.evacuateRunning(key2, ik, netInfo("10.0.0.1", 1))
	wantKeep(t, keep, err, false)
	f.expectEvents([]string{evRemoved}, []string{evGroupRemoved})
	f.wantSlot("app", 2)

	// The desired LRP is gone but the ORDINARY row is not.
	gone := &models.ActualLRPKey{ProcessGuid: "gone", Index: 0, Domain: lrpDomain}
	if _, err := f.api.DB.CreateUnclaimedActualLRP(context.Background(), gone); err != nil {
		t.Fatal(err)
	}
	evacuating(gone)
	f.drain()
	keep, err = f.evacuateRunning(gone, ik, netInfo("10.0.0.1", 1))
	wantKeep(t, keep, err, false)
	f.expectEvents([]string{evRemoved}, []string{evGroupRemoved})
	f.wantSlot("gone", 0, "ORDINARY/UNCLAIMED")
	// ... and the instance asking is the ORDINARY one: nothing to delete.
	f.run(gone, ik)
	keep, err = f.evacuateRunning(gone, ik, netInfo("10.0.0.1", 61001))
	wantKeep(t, keep, err, false)
	f.expectNoEvents()
	f.wantSlot("gone", 0, "ORDINARY/RUNNING")
}

func TestEvacuateRunningUnknownInstanceAndSuspect(t *testing.T) {
	f := newLRPFx(t, sqldb.Config{})
	f.desire("app", 2, models.DesiredLRP_ROLLING)
	ik := instKey("i-1", "cell-1")

	// The BBS does not know the instance (its index was unclaimed): it is
	// kept as EVACUATING with what the rep reports.
	key := f.unclaimed("app", 0)
	routable := false
	keep, err := f.c.EvacuateRunningActualLRP(f.ctx, &models.EvacuateRunningActualLRPRequest{
		ActualLrpKey: key, ActualLrpInstanceKey: ik, ActualLrpNetInfo: netInfo("10.0.0.1", 61001),
		ActualLrpInternalRoutes: []*models.ActualLRPInternalRoute{{Hostname: "a.apps.internal"}},
		MetricTags:              map[string]string{"k": "v"}, Routable: &routable, AvailabilityZone: "z1",
	})
	wantKeep(t, keep, err, true)
	f.expectEvents([]string{evCreated}, []string{evGroupCreated})
	ev := f.wantSlot("app", 0, "ORDINARY/UNCLAIMED", "EVACUATING/RUNNING")[1]
	if ev.GetRoutable() || ev.GetAvailabilityZone() != "z1" || ev.GetMetricTags()["k"] != "v" || len(ev.GetActualLrpInternalRoutes()) != 1 {
		t.Fatalf("evacuating row = %v", ev)
	}
	f.wantAuctions("app")

	// A SUSPECT instance dances into an EVACUATING copy; the replacement
	// is already there, so no auction.
	key1 := f.running("app", 1, ik)
	f.suspect(key1)
	keep, err = f.evacuateRunning(key1, ik, netInfo("10.0.0.1", 61001))
	wantKeep(t, keep, err, true)
	inst, _ := f.expectEvents([]string{evChanged}, []string{evGroupCreated, evGroupChanged})
	if ch := inst[0].(*models.ActualLRPInstanceChangedEvent); ch.GetBefore().GetPresence() != models.ActualLRP_SUSPECT ||
		ch.GetAfter().GetPresence() != models.ActualLRP_EVACUATING {
		t.Fatalf("changed = %v", ch)
	}
	f.wantSlot("app", 1, "ORDINARY/UNCLAIMED", "EVACUATING/RUNNING")
	f.wantAuctions("app")
}

func TestEvacuateRunningDeprecatedRouteAndErrors(t *testing.T) {
	f := newLRPFx(t, sqldb.Config{})
	f.desire("app", 1, models.DesiredLRP_ROLLING)
	ik := instKey("i-1", "cell-1")
	key := f.unclaimed("app", 0)

	resp := &models.EvacuationResponse{}
	f.postMessage(routes.EvacuateRunningActualLRPR0, &models.EvacuateRunningActualLRPRequest{
		ActualLrpKey: key, ActualLrpInstanceKey: ik, ActualLrpNetInfo: netInfo("10.0.0.1", 61001),
		ActualLrpInternalRoutes: []*models.ActualLRPInternalRoute{{Hostname: "ignored"}},
		MetricTags:              map[string]string{"ignored": "yes"},
	}, resp)
	noRespError(t, resp.GetError())
	if !resp.GetKeepContainer() {
		t.Fatal("keep_container = false")
	}
	ev := f.wantSlot("app", 0, "ORDINARY/UNCLAIMED", "EVACUATING/RUNNING")[1]
	if len(ev.GetActualLrpInternalRoutes()) != 0 || len(ev.GetMetricTags()) != 0 || !ev.GetRoutable() {
		t.Fatalf("r0 evacuation stored %v", ev)
	}
	f.drain()

	// Invalid or unreadable requests keep the container.
	keep, err := f.evacuateRunning(key, ik, nil)
	wantKeepError(t, keep, err, true, models.Error_InvalidRequest)
	resp = &models.EvacuationResponse{}
	f.post(routes.EvacuateRunningActualLRP, []byte{0xff, 0xff}, resp)
	if !resp.GetKeepContainer() || resp.GetError().GetType() != models.Error_InvalidRequest {
		t.Fatalf("unparseable request: %v", resp)
	}

	// A failure to read the update strategy keeps the container.
	if _, err := f.api.DB.SQL().ExecContext(context.Background(), "ALTER TABLE desired_lrps RENAME TO desired_lrps_gone"); err != nil {
		t.Fatal(err)
	}
	keep, err = f.evacuateRunning(key, ik, netInfo("10.0.0.1", 61001))
	if err == nil || !keep {
		t.Fatalf("strategy read failure: keep %v, error %v", keep, err)
	}
	f.expectNoEvents()

	// So does a failure to read the slot.
	noError(t, f.api.DB.SQL().Close())
	keep, err = f.evacuateRunning(key, ik, netInfo("10.0.0.1", 61001))
	wantKeepError(t, keep, err, true, models.Error_UnknownError)
	keep, err = f.c.EvacuateStoppedActualLRP(f.ctx, key, ik)
	wantKeepError(t, keep, err, false, models.Error_UnknownError)
}

func TestEvacuateRunningRecreate(t *testing.T) {
	f := newLRPFx(t, sqldb.Config{})
	ik, other := instKey("i-1", "cell-1"), instKey("i-2", "cell-2")

	// Every desired instance runs: unclaim, auction, delete the container.
	f.desire("one", 1, models.DesiredLRP_RECREATE)
	key := f.running("one", 0, ik)
	keep, err := f.evacuateRunning(key, ik, netInfo("10.0.0.1", 61001))
	wantKeep(t, keep, err, false)
	f.expectEvents([]string{evCreated, evRemoved}, []string{evGroupChanged})
	f.wantSlot("one", 0, "ORDINARY/UNCLAIMED")
	f.wantAuctions("one", 0)

	// One of two is down: keep this one running, change nothing.
	f.desire("two", 2, models.DesiredLRP_RECREATE)
	key0 := f.running("two", 0, ik)
	f.unclaimed("two", 1)
	keep, err = f.evacuateRunning(key0, ik, netInfo("10.0.0.1", 61001))
	wantKeep(t, keep, err, true)
	f.expectNoEvents()
	f.wantSlot("two", 0, "ORDINARY/RUNNING")
	// Once both run, it goes.
	f.run(lrpKey("two", 1), other)
	keep, err = f.evacuateRunning(key0, ik, netInfo("10.0.0.1", 61001))
	wantKeep(t, keep, err, false)
	f.expectEvents([]string{evCreated, evRemoved}, []string{evGroupChanged})
	if got := f.api.Auctioneer.LRPRequests(); len(got) != 2 || got[1].ProcessGuid != "two" || len(got[1].Indices) != 1 || got[1].Indices[0] != 0 {
		t.Fatalf("auctions = %+v", got)
	}

	// An EVACUATING copy is deleted, never kept.
	f.desire("three", 3, models.DesiredLRP_RECREATE)
	key3 := f.unclaimed("three", 0)
	if _, err := f.api.DB.EvacuateActualLRP(context.Background(), key3, db.RunningInstance{InstanceKey: ik, NetInfo: netInfo("10.0.0.1", 1)}); err != nil {
		t.Fatal(err)
	}
	keep, err = f.evacuateRunning(key3, ik, netInfo("10.0.0.1", 1))
	wantKeep(t, keep, err, false)
	f.expectEvents([]string{evRemoved}, []string{evGroupRemoved})
	f.wantSlot("three", 0, "ORDINARY/UNCLAIMED")
	// An unknown instance is not kept as EVACUATING.
	keep, err = f.evacuateRunning(key3, ik, netInfo("10.0.0.1", 1))
	wantKeep(t, keep, err, false)
	f.expectNoEvents()
	f.wantSlot("three", 0, "ORDINARY/UNCLAIMED")
	// A SUSPECT instance is deleted.
	key31 := f.running("three", 1, ik)
	f.suspect(key31)
	keep, err = f.evacuateRunning(key31, ik, netInfo("10.0.0.1", 61001))
	wantKeep(t, keep, err, false)
	f.expectEvents([]string{evRemoved}, []string{evGroupChanged})
	f.wantSlot("three", 1, "ORDINARY/UNCLAIMED")
	if n := len(f.api.Auctioneer.LRPRequests()); n != 2 {
		t.Fatalf("auctions = %d, want 2", n)
	}
}

func TestRemoveEvacuatingActualLRP(t *testing.T) {
	f := newLRPFx(t, sqldb.Config{})
	f.desire("app", 1, models.DesiredLRP_ROLLING)
	ik, repl := instKey("i-1", "cell-1"), instKey("i-2", "cell-2")
	key := f.evacuated("app", 0, ik)
	noError(t, f.c.ClaimActualLRP(f.ctx, key, repl))
	f.drain()

	// The ORDINARY row's instance is not evacuating.
	wantError(t, f.c.RemoveEvacuatingActualLRP(f.ctx, key, repl), models.Error_ResourceNotFound, "")
	noError(t, f.c.RemoveEvacuatingActualLRP(f.ctx, key, ik))
	inst, _ := f.expectEvents([]string{evRemoved}, []string{evGroupRemoved})
	if inst[0].(*models.ActualLRPInstanceRemovedEvent).GetActualLrp().GetPresence() != models.ActualLRP_EVACUATING {
		t.Fatalf("removed = %v", inst[0])
	}
	f.wantSlot("app", 0, "ORDINARY/CLAIMED")
	wantError(t, f.c.RemoveEvacuatingActualLRP(f.ctx, key, ik), models.Error_ResourceNotFound, "")
	f.expectNoEvents()
}

// TestEvacuationOnEveryDialect runs one instance's life through a cell
// evacuation on SQLite, MySQL and PostgreSQL.
func TestEvacuationOnEveryDialect(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		f := newLRPFx(t, cfg)
		f.desire("app", 1, models.DesiredLRP_ROLLING)
		old, repl := instKey("old", "cell-1"), instKey("new", "cell-2")

		key := f.running("app", 0, old)
		keep, err := f.evacuateRunning(key, old, netInfo("10.0.0.1", 61001))
		wantKeep(t, keep, err, true)
		f.expectEvents([]string{evChanged, evCreated}, []string{evGroupCreated, evGroupChanged})
		f.wantAuctions("app", 0)

		noError(t, f.c.ClaimActualLRP(f.ctx, key, repl))
		f.start(key, repl, netInfo("10.0.0.2", 61001))
		f.expectEvents([]string{evChanged, evChanged, evRemoved}, []string{evGroupChanged, evGroupChanged, evGroupRemoved})
		keep, err = f.evacuateRunning(key, old, netInfo("10.0.0.1", 61001))
		wantKeep(t, keep, err, false)
		f.wantSlot("app", 0, "ORDINARY/RUNNING")

		noError(t, f.c.CrashActualLRP(f.ctx, key, repl, "boom"))
		f.expectEvents([]string{evCrashed, evCreated, evRemoved}, []string{evCrashed, evGroupChanged})
		f.wantAuctions("app", 0, 0)
		noError(t, f.c.RetireActualLRP(f.ctx, key))
		f.expectEvents([]string{evRemoved}, []string{evGroupRemoved})
		f.wantSlot("app", 0)

		// RECREATE: the instance goes only when every instance runs.
		f.desire("re", 2, models.DesiredLRP_RECREATE)
		key0, key1 := f.running("re", 0, old), f.unclaimed("re", 1)
		keep, err = f.evacuateRunning(key0, old, netInfo("10.0.0.1", 61001))
		wantKeep(t, keep, err, true)
		f.run(key1, repl)
		keep, err = f.evacuateRunning(key0, old, netInfo("10.0.0.1", 61001))
		wantKeep(t, keep, err, false)
		f.expectEvents([]string{evCreated, evRemoved}, []string{evGroupChanged})
		f.wantSlot("re", 0, "ORDINARY/UNCLAIMED")
	})
}
