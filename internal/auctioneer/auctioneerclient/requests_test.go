package auctioneerclient

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/diego-go/diego/internal/models"
)

// The bodies of auction-rep-executor §1.2, printed by the reference's types.
const (
	goldenLRPs = `[{"process_guid":"pg-1","domain":"cf-apps","indices":[0,1],` +
		`"PlacementTags":["tagA"],"VolumeDrivers":["nfs"],"RootFs":"preloaded:cflinuxfs4",` +
		`"MemoryMB":1024,"DiskMB":2048,"MaxPids":100}]`
	goldenTasks = `[{"TaskGuid":"tg-1","Domain":"cf-tasks",` +
		`"PlacementTags":["tagA"],"VolumeDrivers":["nfs"],"RootFs":"preloaded:cflinuxfs4",` +
		`"MemoryMB":1024,"DiskMB":2048,"MaxPids":100,"state":"Invalid","failed":false}]`
)

func schedulingInfo() *models.DesiredLRPSchedulingInfo {
	return &models.DesiredLRPSchedulingInfo{
		DesiredLrpKey:      &models.DesiredLRPKey{ProcessGuid: "pg-1", Domain: "cf-apps", LogGuid: "lg"},
		Instances:          2,
		DesiredLrpResource: &models.DesiredLRPResource{MemoryMb: 1024, DiskMb: 2048, RootFs: "preloaded:cflinuxfs4", MaxPids: 100},
		VolumePlacement:    &models.VolumePlacement{DriverNames: []string{"nfs"}},
		PlacementTags:      []string{"tagA"},
	}
}

func task() *models.Task {
	return &models.Task{
		TaskGuid: "tg-1",
		Domain:   "cf-tasks",
		State:    models.Task_Pending,
		TaskDefinition: &models.TaskDefinition{
			RootFs:        "preloaded:cflinuxfs4",
			MemoryMb:      1024,
			DiskMb:        2048,
			MaxPids:       100,
			PlacementTags: []string{"tagA"},
			VolumeMounts:  []*models.VolumeMount{{Driver: "nfs", ContainerDir: "/data"}},
		},
	}
}

func marshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLRPStartRequestGolden(t *testing.T) {
	got := marshal(t, []*LRPStartRequest{NewLRPStartRequest(schedulingInfo(), 0, 1)})
	if got != goldenLRPs {
		t.Errorf("got  %s\nwant %s", got, goldenLRPs)
	}
}

func TestTaskStartRequestGolden(t *testing.T) {
	got := marshal(t, []*TaskStartRequest{NewTaskStartRequest(task())})
	if got != goldenTasks {
		t.Errorf("got  %s\nwant %s", got, goldenTasks)
	}
}

func TestEmptyListsPrintAsTheReferenceDoes(t *testing.T) {
	info := &models.DesiredLRPSchedulingInfo{
		DesiredLrpKey:      &models.DesiredLRPKey{ProcessGuid: "pg", Domain: "d"},
		DesiredLrpResource: &models.DesiredLRPResource{RootFs: "docker:///busybox"},
	}
	got := marshal(t, NewLRPStartRequest(info, 3))
	want := `{"process_guid":"pg","domain":"d","indices":[3],"PlacementTags":null,"VolumeDrivers":null,` +
		`"RootFs":"docker:///busybox","MemoryMB":0,"DiskMB":0,"MaxPids":0}`
	if got != want {
		t.Errorf("lrp: got  %s\nwant %s", got, want)
	}

	// A stored empty volume placement keeps its empty list.
	info.VolumePlacement = &models.VolumePlacement{DriverNames: []string{}}
	got = marshal(t, NewLRPStartRequest(info))
	want = `{"process_guid":"pg","domain":"d","indices":null,"PlacementTags":null,"VolumeDrivers":[],` +
		`"RootFs":"docker:///busybox","MemoryMB":0,"DiskMB":0,"MaxPids":0}`
	if got != want {
		t.Errorf("lrp with empty placement: got  %s\nwant %s", got, want)
	}

	// Task volume drivers are always a list, even without a definition.
	got = marshal(t, NewTaskStartRequest(&models.Task{TaskGuid: "t"}))
	want = `{"TaskGuid":"t","Domain":"","PlacementTags":null,"VolumeDrivers":[],"RootFs":"",` +
		`"MemoryMB":0,"DiskMB":0,"MaxPids":0,"state":"Invalid","failed":false}`
	if got != want {
		t.Errorf("task: got  %s\nwant %s", got, want)
	}
}

func TestRequestsDecodeTheReferenceBodies(t *testing.T) {
	var lrps []*LRPStartRequest
	if err := json.Unmarshal([]byte(goldenLRPs), &lrps); err != nil {
		t.Fatal(err)
	}
	if want := []*LRPStartRequest{NewLRPStartRequest(schedulingInfo(), 0, 1)}; !reflect.DeepEqual(lrps, want) {
		t.Errorf("lrps: got %+v, want %+v", lrps[0], want[0])
	}

	var tasks []*TaskStartRequest
	if err := json.Unmarshal([]byte(goldenTasks), &tasks); err != nil {
		t.Fatal(err)
	}
	if want := []*TaskStartRequest{NewTaskStartRequest(task())}; !reflect.DeepEqual(tasks, want) {
		t.Errorf("tasks: got %+v, want %+v", tasks[0], want[0])
	}
}

func TestTaskStateJSON(t *testing.T) {
	for _, s := range []models.Task_State{models.Task_Invalid, models.Task_Pending, models.Task_Running, models.Task_Completed, models.Task_Resolving} {
		b, err := json.Marshal(TaskState(s))
		if err != nil {
			t.Fatal(err)
		}
		if want := `"` + s.String() + `"`; string(b) != want {
			t.Errorf("marshal %v: got %s, want %s", s, b, want)
		}
		var back TaskState
		if err := json.Unmarshal(b, &back); err != nil || models.Task_State(back) != s {
			t.Errorf("round trip %v: got %v, %v", s, back, err)
		}
	}
	for _, bad := range []string{`"Bogus"`, `1`, `null`, `"running"`} {
		var s TaskState
		// null is refused too, as by the reference (it reads as the name "").
		if err := json.Unmarshal([]byte(bad), &s); err == nil {
			t.Errorf("%s: expected an error", bad)
		}
	}
}

func TestValidate(t *testing.T) {
	valid := func() *LRPStartRequest { return NewLRPStartRequest(schedulingInfo(), 0) }
	lrpCases := map[string]func(*LRPStartRequest){
		"no process guid": func(r *LRPStartRequest) { r.ProcessGuid = "" },
		"no domain":       func(r *LRPStartRequest) { r.Domain = "" },
		"no indices":      func(r *LRPStartRequest) { r.Indices = nil },
		"negative memory": func(r *LRPStartRequest) { r.MemoryMB = -1 },
		"negative disk":   func(r *LRPStartRequest) { r.DiskMB = -1 },
		"no rootfs":       func(r *LRPStartRequest) { r.RootFs = "" },
	}
	if err := valid().Validate(); err != nil {
		t.Errorf("valid lrp: %v", err)
	}
	for name, breakIt := range lrpCases {
		r := valid()
		breakIt(r)
		if r.Validate() == nil {
			t.Errorf("lrp %s: expected an error", name)
		}
	}

	validTask := func() *TaskStartRequest { return NewTaskStartRequest(task()) }
	taskCases := map[string]func(*TaskStartRequest){
		"no task guid":    func(r *TaskStartRequest) { r.TaskGuid = "" },
		"negative memory": func(r *TaskStartRequest) { r.MemoryMB = -1 },
		"negative disk":   func(r *TaskStartRequest) { r.DiskMB = -1 },
		"no rootfs":       func(r *TaskStartRequest) { r.RootFs = "" },
	}
	if err := validTask().Validate(); err != nil {
		t.Errorf("valid task: %v", err)
	}
	noDomain := validTask()
	noDomain.Domain = ""
	if err := noDomain.Validate(); err != nil {
		t.Errorf("a task without domain is accepted by the reference: %v", err)
	}
	for name, breakIt := range taskCases {
		r := validTask()
		breakIt(r)
		if r.Validate() == nil {
			t.Errorf("task %s: expected an error", name)
		}
	}
}
