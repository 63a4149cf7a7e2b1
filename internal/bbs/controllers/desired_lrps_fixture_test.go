package controllers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/bbs/bbstest"
	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/bbs/events"
	"github.com/diego-go/diego/internal/models"
)

// Fixtures of the desired-LRP scenarios: the LRP, the streams that record
// what they announce, and the actual-LRP states they start from.

const dlTrace = "trace-desired"

func dlDesired(guid string, n int32) *models.DesiredLRP {
	return &models.DesiredLRP{
		ProcessGuid: guid, Domain: "cf-apps", RootFs: "preloaded:cflinuxfs4", Instances: n,
		MemoryMb: 256, DiskMb: 1024, MaxPids: 512, PlacementTags: []string{"zone-tag"},
		Action:     &models.Action{RunAction: &models.RunAction{Path: "/bin/app", User: "vcap"}},
		Routes:     models.NewRoutes(map[string]json.RawMessage{"cf-router": json.RawMessage(`[{"hostnames":["a.example.com"],"port":8080}]`)}),
		MetricTags: map[string]*models.MetricTagValue{"source_id": {Static: guid}},
	}
}

// dlStreams are an unfiltered instance stream and an unfiltered group
// stream of one API.
type dlStreams struct {
	api             *bbstest.API
	instance, group *bbsclient.EventSource
}

func dlSubscribe(t *testing.T, api *bbstest.API) *dlStreams {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	s := &dlStreams{api: api}
	var err error
	if s.instance, err = api.Client.SubscribeToInstanceEvents(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.instance.Close() })
	if s.group, err = api.Client.SubscribeToEvents(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.group.Close() })
	return s
}

// dlSentinel is the process guid of the events that mark the end of what
// an operation announced.
const dlSentinel = "sentinel"

// drain returns the events each stream received so far. It emits a
// sentinel on each hub a stream reads (every hub delivers in order, the
// merge of two hubs does not) and reads until it has seen them.
func (s *dlStreams) drain(t *testing.T) (instance, group []events.Event) {
	t.Helper()
	h := s.api.Hubs
	sentinelLRP := &models.ActualLRP{ActualLrpKey: &models.ActualLRPKey{ProcessGuid: dlSentinel}}
	h.Desired.Emit(models.NewDesiredLRPRemovedEvent(&models.DesiredLRP{ProcessGuid: dlSentinel}, ""))
	h.ActualInstance.Emit(models.NewActualLRPInstanceRemovedEvent(sentinelLRP, ""))
	h.ActualGroup.Emit(models.NewActualLRPRemovedEvent(&models.ActualLRPGroup{Instance: sentinelLRP}))
	return dlReadUntilSentinels(t, s.instance), dlReadUntilSentinels(t, s.group)
}

func dlReadUntilSentinels(t *testing.T, src *bbsclient.EventSource) []events.Event {
	t.Helper()
	var out []events.Event
	for seen := 0; seen < 2; {
		ev, err := src.Next()
		if err != nil {
			t.Fatalf("reading events: %v (so far %s)", err, dlNames(out))
		}
		if dlIsSentinel(ev) {
			seen++
			continue
		}
		out = append(out, ev)
	}
	return out
}

func dlIsSentinel(ev events.Event) bool {
	switch e := ev.(type) {
	case *models.DesiredLRPRemovedEvent:
		return e.GetDesiredLrp().GetProcessGuid() == dlSentinel
	case *models.ActualLRPInstanceRemovedEvent:
		return e.GetActualLrp().GetActualLrpKey().GetProcessGuid() == dlSentinel
	case *models.ActualLRPRemovedEvent:
		return e.GetActualLrpGroup().GetInstance().GetActualLrpKey().GetProcessGuid() == dlSentinel
	}
	return false
}

// dlNames summarises events as sorted "name:index" strings (the index of
// the actual LRP, or the process guid of a desired LRP).
func dlNames(evs []events.Event) []string {
	var out []string
	for _, ev := range evs {
		var what string
		switch e := ev.(type) {
		case *models.DesiredLRPCreatedEvent:
			what = e.GetDesiredLrp().GetProcessGuid()
		case *models.DesiredLRPChangedEvent:
			what = e.GetAfter().GetProcessGuid()
		case *models.DesiredLRPRemovedEvent:
			what = e.GetDesiredLrp().GetProcessGuid()
		case *models.ActualLRPInstanceCreatedEvent:
			what = fmt.Sprint(e.GetActualLrp().GetActualLrpKey().GetIndex())
		case *models.ActualLRPInstanceRemovedEvent:
			what = fmt.Sprint(e.GetActualLrp().GetActualLrpKey().GetIndex())
		case *models.ActualLRPInstanceChangedEvent:
			what = fmt.Sprint(e.GetActualLrpKey().GetIndex())
		case *models.ActualLRPCreatedEvent:
			what = fmt.Sprint(e.GetActualLrpGroup().GetInstance().GetActualLrpKey().GetIndex())
		case *models.ActualLRPRemovedEvent:
			what = fmt.Sprint(e.GetActualLrpGroup().GetInstance().GetActualLrpKey().GetIndex())
		}
		out = append(out, ev.EventType()+":"+what)
	}
	slices.Sort(out)
	return out
}

func dlExpectNames(t *testing.T, stream string, evs []events.Event, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := dlNames(evs); !slices.Equal(got, want) {
		t.Errorf("%s stream:\n got  %v\n want %v", stream, got, want)
	}
}

// dlRows returns the rows of a process as "index:presence:state", sorted.
func dlRows(t *testing.T, api *bbstest.API, guid string) []string {
	t.Helper()
	lrps, err := api.DB.ActualLRPs(context.Background(), db.ActualLRPFilter{ProcessGUID: guid})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range lrps {
		out = append(out, fmt.Sprintf("%d:%s:%s", l.GetActualLrpKey().GetIndex(), l.GetPresence(), l.GetState()))
	}
	slices.Sort(out)
	return out
}

func dlExpectRows(t *testing.T, api *bbstest.API, guid string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := dlRows(t, api, guid); !slices.Equal(got, want) {
		t.Errorf("rows of %s:\n got  %v\n want %v", guid, got, want)
	}
}

// dlAuctions returns the auction requests as "guid:indices".
func dlAuctions(api *bbstest.API) []string {
	var out []string
	for _, r := range api.Auctioneer.LRPRequests() {
		out = append(out, fmt.Sprintf("%s:%v", r.ProcessGuid, r.Indices))
	}
	return out
}

// dlRepCalls returns the rep calls as "op:rep url:index:instance guid".
func dlRepCalls(api *bbstest.API) []string {
	var out []string
	for _, c := range api.Reps.Calls() {
		switch c.Op {
		case "stop":
			out = append(out, fmt.Sprintf("stop:%s:%d:%s", c.RepURL, c.Key.GetIndex(), c.Instance.GetInstanceGuid()))
		case "update":
			out = append(out, fmt.Sprintf("update:%s:%d:%s", c.RepURL, c.Update.Index, c.Update.InstanceGuid))
		}
	}
	slices.Sort(out)
	return out
}

func dlTraceCtx() context.Context {
	return bbsclient.WithRequestID(context.Background(), dlTrace)
}

// Cells of the scenarios: cell-1 is present, cell-gone is not.
const (
	dlCell     = "cell-1"
	dlGoneCell = "cell-gone"
)

var dlRepURL = bbstest.Cell(dlCell, "z1").GetRepUrl()

func dlKey(guid string, index int32) *models.ActualLRPKey {
	return &models.ActualLRPKey{ProcessGuid: guid, Index: index, Domain: "cf-apps"}
}

func dlInstanceKey(guid string, index int32, cell string) *models.ActualLRPInstanceKey {
	return &models.ActualLRPInstanceKey{InstanceGuid: fmt.Sprintf("ig-%s-%d", guid, index), CellId: cell}
}

func dlClaim(t *testing.T, api *bbstest.API, guid string, index int32, cell string) {
	t.Helper()
	if _, err := api.DB.ClaimActualLRP(context.Background(), guid, index, dlInstanceKey(guid, index, cell)); err != nil {
		t.Fatalf("claim %s/%d: %v", guid, index, err)
	}
}

func dlStart(t *testing.T, api *bbstest.API, guid string, index int32, cell string) {
	t.Helper()
	_, err := api.DB.StartActualLRP(context.Background(), dlKey(guid, index), db.RunningInstance{
		InstanceKey: dlInstanceKey(guid, index, cell), NetInfo: &models.ActualLRPNetInfo{Address: "10.0.0.1"},
	})
	if err != nil {
		t.Fatalf("start %s/%d: %v", guid, index, err)
	}
}

// dlCrash crashes the instance until its row is CRASHED (the first crashes
// restart at once).
func dlCrash(t *testing.T, api *bbstest.API, guid string, index int32) {
	t.Helper()
	for range 5 {
		dlClaim(t, api, guid, index, dlCell)
		u, err := api.DB.CrashActualLRP(context.Background(), dlKey(guid, index), dlInstanceKey(guid, index, dlCell), "boom")
		if err != nil {
			t.Fatal(err)
		}
		if !u.RestartImmediately {
			return
		}
	}
	t.Fatalf("%s/%d never became CRASHED", guid, index)
}

// dlSeed desires guid with n instances and brings them into the states of
// the stop scenarios:
//
//	0 RUNNING on cell-1        4 CLAIMED on cell-gone
//	1 RUNNING on cell-1        5 SUSPECT RUNNING on cell-1 (+ UNCLAIMED replacement)
//	2 UNCLAIMED                6 EVACUATING RUNNING on cell-1 (+ UNCLAIMED ordinary)
//	3 CRASHED
func dlSeed(t *testing.T, api *bbstest.API, guid string) {
	t.Helper()
	ctx := context.Background()
	api.Cells.Set(bbstest.Cell(dlCell, "z1"))
	if err := api.Client.DesireLRP(ctx, dlDesired(guid, 7)); err != nil {
		t.Fatal(err)
	}
	dlStart(t, api, guid, 0, dlCell)
	dlStart(t, api, guid, 1, dlCell)
	dlCrash(t, api, guid, 3)
	dlClaim(t, api, guid, 4, dlGoneCell)
	dlStart(t, api, guid, 5, dlCell)
	if _, err := api.DB.ChangeActualLRPPresence(ctx, dlKey(guid, 5), models.ActualLRP_ORDINARY, models.ActualLRP_SUSPECT); err != nil {
		t.Fatal(err)
	}
	if _, err := api.DB.CreateUnclaimedActualLRP(ctx, dlKey(guid, 5)); err != nil {
		t.Fatal(err)
	}
	if _, err := api.DB.EvacuateActualLRP(ctx, dlKey(guid, 6), db.RunningInstance{
		InstanceKey: dlInstanceKey(guid, 6, dlCell), NetInfo: &models.ActualLRPNetInfo{Address: "10.0.0.6"},
	}); err != nil {
		t.Fatal(err)
	}
	dlExpectRows(t, api, guid, "0:ORDINARY:RUNNING", "1:ORDINARY:RUNNING", "2:ORDINARY:UNCLAIMED", "3:ORDINARY:CRASHED",
		"4:ORDINARY:CLAIMED", "5:SUSPECT:RUNNING", "5:ORDINARY:UNCLAIMED", "6:EVACUATING:RUNNING", "6:ORDINARY:UNCLAIMED")
}
