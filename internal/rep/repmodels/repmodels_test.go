package repmodels_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/diego-go/diego/internal/auctioneer/auctioneerclient"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/rep/repmodels"
)

// The reference bodies (auction-rep-executor §3.2, §3.3), generated from
// the reference's types.
const (
	refWork = `{"LRPs":[{"instance_guid":"","process_guid":"pg-1","index":0,"domain":"cf-apps",` +
		`"PlacementTags":["tagA"],"VolumeDrivers":["nfs"],"RootFs":"preloaded:cflinuxfs4",` +
		`"MemoryMB":1024,"DiskMB":2048,"MaxPids":100,"state":""}],` +
		`"Tasks":[{"TaskGuid":"tg-1","Domain":"cf-tasks","PlacementTags":["tagA"],"VolumeDrivers":["nfs"],` +
		`"RootFs":"preloaded:cflinuxfs4","MemoryMB":1024,"DiskMB":2048,"MaxPids":100,` +
		`"state":"Invalid","failed":false}],"cell_id":"cell-1"}`
	refState = `{"rep_url":"https://cell-1.cell.service.cf.internal:1801","cell_id":"cell-1","cell_index":3,
 "RootFSProviders":{"docker":{"type":"arbitrary"},
                    "preloaded":{"set":{"cflinuxfs4":{}},"type":"fixed_set"},
                    "preloaded+layer":{"set":{"cflinuxfs4":{}},"type":"fixed_set"}},
 "AvailableResources":{"MemoryMB":1000,"DiskMB":2000,"Containers":240},
 "TotalResources":{"MemoryMB":16000,"DiskMB":64000,"Containers":249},
 "LRPs":[{"instance_guid":"ig-1","process_guid":"pg-1","index":0,"domain":"cf-apps",
          "PlacementTags":["tagA"],"VolumeDrivers":["nfs"],"RootFs":"preloaded:cflinuxfs4",
          "MemoryMB":1024,"DiskMB":2048,"MaxPids":100,"state":"RUNNING"}],
 "Tasks":[{"TaskGuid":"tg-1","Domain":"cf-tasks","PlacementTags":null,"VolumeDrivers":null,
           "RootFs":"preloaded:cflinuxfs4","MemoryMB":1024,"DiskMB":2048,"MaxPids":100,
           "state":"Running","failed":false}],
 "StartingContainerCount":1,"Zone":"z1","Evacuating":false,"VolumeDrivers":["nfs"],
 "PlacementTags":["tagA"],"OptionalPlacementTags":["opt"],"ProxyMemoryAllocationMB":32}`
)

var (
	pc  = auctioneerclient.PlacementConstraint{PlacementTags: []string{"tagA"}, VolumeDrivers: []string{"nfs"}, RootFs: "preloaded:cflinuxfs4"}
	res = auctioneerclient.Resource{MemoryMB: 1024, DiskMB: 2048, MaxPids: 100}
)

func TestWorkIsTheReferenceBody(t *testing.T) {
	w := repmodels.Work{
		LRPs:   []repmodels.LRP{{ProcessGuid: "pg-1", Domain: "cf-apps", PlacementConstraint: pc, Resource: res}},
		Tasks:  []repmodels.Task{{TaskGuid: "tg-1", Domain: "cf-tasks", PlacementConstraint: pc, Resource: res}},
		CellID: "cell-1",
	}
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != refWork {
		t.Fatalf("work\n got %s\nwant %s", b, refWork)
	}
	var back repmodels.Work
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, w) {
		t.Fatalf("round trip %+v %v", back, err)
	}
	empty, _ := json.Marshal(repmodels.Work{})
	if string(empty) != `{"LRPs":null,"Tasks":null}` {
		t.Errorf("empty work %s", empty)
	}
}

func TestCellStateReadsAndPrintsTheReferenceBody(t *testing.T) {
	var s repmodels.CellState
	if err := json.Unmarshal([]byte(refState), &s); err != nil {
		t.Fatal(err)
	}
	want := repmodels.CellState{
		RepURL: "https://cell-1.cell.service.cf.internal:1801", CellID: "cell-1", CellIndex: 3,
		RootFSProviders: repmodels.RootFSProviders{
			"docker": repmodels.Arbitrary(), "preloaded": repmodels.FixedSet("cflinuxfs4"), "preloaded+layer": repmodels.FixedSet("cflinuxfs4"),
		},
		AvailableResources: repmodels.Resources{MemoryMB: 1000, DiskMB: 2000, Containers: 240},
		TotalResources:     repmodels.Resources{MemoryMB: 16000, DiskMB: 64000, Containers: 249},
		LRPs:               []repmodels.LRP{{InstanceGUID: "ig-1", ProcessGuid: "pg-1", Domain: "cf-apps", PlacementConstraint: pc, Resource: res, State: "RUNNING"}},
		Tasks: []repmodels.Task{{TaskGuid: "tg-1", Domain: "cf-tasks", PlacementConstraint: auctioneerclient.PlacementConstraint{RootFs: "preloaded:cflinuxfs4"},
			Resource: res, State: auctioneerclient.TaskState(models.Task_Running)}},
		StartingContainerCount: 1, Zone: "z1", VolumeDrivers: []string{"nfs"}, PlacementTags: []string{"tagA"},
		OptionalPlacementTags: []string{"opt"}, ProxyMemoryAllocationMB: 32,
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("decoded\n%+v\nwant\n%+v", s, want)
	}
	// Printed back, it is the same JSON document.
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var got, ref any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(refState), &ref); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ref) {
		t.Fatalf("printed %s", b)
	}
}

func TestUnknownProviderTypeIsKept(t *testing.T) {
	var p repmodels.RootFSProviders
	if err := json.Unmarshal([]byte(`{"x":{"type":"future","set":{"a":{}}}}`), &p); err != nil {
		t.Fatal(err)
	}
	if p["x"].Type != "future" || p["x"].Set != nil {
		t.Errorf("decoded %+v", p["x"])
	}
	if err := json.Unmarshal([]byte(`{"x":[]}`), &p); err == nil {
		t.Error("a provider that is not an object was accepted")
	}
}
