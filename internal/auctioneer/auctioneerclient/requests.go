package auctioneerclient

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/diego-go/diego/internal/models"
)

// The request bodies of the auctioneer's API (reference notes: bbs-api §7.1,
// auction-rep-executor §1.2). Their JSON keys are a mix: the fields with an
// explicit tag are snake_case, the fields of the embedded Resource and
// PlacementConstraint carry their Go names (PlacementTags, MemoryMB, ...),
// because the reference embeds those structs without tags. encoding/json
// flattens embedded structs in field order, so
//
//	{"process_guid","domain","indices","PlacementTags","VolumeDrivers","RootFs","MemoryMB","DiskMB","MaxPids"}
//
// is exactly what an LRPStartRequest prints. Nil lists print as null. The
// rep's /state and /work bodies carry the same Resource, PlacementConstraint
// and Task, so the rep can reuse them.

// Resource is what an instance or a task needs from a cell.
type Resource struct {
	MemoryMB int32
	DiskMB   int32
	MaxPids  int32
}

// Valid reports whether memory and disk are not negative.
func (r Resource) Valid() bool {
	return r.MemoryMB >= 0 && r.DiskMB >= 0
}

// PlacementConstraint is what a cell must offer: the placement tags, the
// volume drivers and a root filesystem it can provide.
type PlacementConstraint struct {
	PlacementTags []string
	VolumeDrivers []string
	RootFs        string
}

// Valid reports whether a root filesystem is named.
func (p PlacementConstraint) Valid() bool {
	return p.RootFs != ""
}

// LRPStartRequest asks for instances (indices) of one desired LRP to be
// placed.
type LRPStartRequest struct {
	ProcessGuid string `json:"process_guid"`
	Domain      string `json:"domain"`
	Indices     []int  `json:"indices"`
	PlacementConstraint
	Resource
}

// NewLRPStartRequest builds the start request for the given indices of the
// desired LRP described by info. The volume drivers are the scheduling
// info's volume placement, and lists are kept as they are (nil stays null).
func NewLRPStartRequest(info *models.DesiredLRPSchedulingInfo, indices ...int) *LRPStartRequest {
	key := info.GetDesiredLrpKey()
	res := info.GetDesiredLrpResource()
	return &LRPStartRequest{
		ProcessGuid: key.GetProcessGuid(),
		Domain:      key.GetDomain(),
		Indices:     indices,
		PlacementConstraint: PlacementConstraint{
			PlacementTags: info.GetPlacementTags(),
			VolumeDrivers: info.GetVolumePlacement().GetDriverNames(),
			RootFs:        res.GetRootFs(),
		},
		Resource: Resource{MemoryMB: res.GetMemoryMb(), DiskMB: res.GetDiskMb(), MaxPids: res.GetMaxPids()},
	}
}

// Validate reports why the auctioneer would drop r, or nil.
func (r *LRPStartRequest) Validate() error {
	switch {
	case r.ProcessGuid == "":
		return errors.New("process guid is empty")
	case r.Domain == "":
		return errors.New("domain is empty")
	case len(r.Indices) == 0:
		return errors.New("indices must not be empty")
	case !r.Resource.Valid():
		return errors.New("resources cannot be less than 0")
	case !r.PlacementConstraint.Valid():
		return errors.New("placement constraint cannot be empty")
	}
	return nil
}

// Task is a task as the auction and the rep see it: its identity, what it
// needs and, in a cell's state, how it is doing.
type Task struct {
	TaskGuid string
	Domain   string
	PlacementConstraint
	Resource
	State  TaskState `json:"state"`
	Failed bool      `json:"failed"`
}

// TaskStartRequest asks for one task to be placed.
type TaskStartRequest struct {
	Task
}

// NewTaskStartRequest builds the start request of task. Its state is left
// Invalid, as the reference sends it; the volume drivers are those of the
// task's volume mounts (never nil, so [] in JSON).
func NewTaskStartRequest(task *models.Task) *TaskStartRequest {
	def := task.GetTaskDefinition()
	return &TaskStartRequest{Task{
		TaskGuid: task.GetTaskGuid(),
		Domain:   task.GetDomain(),
		PlacementConstraint: PlacementConstraint{
			PlacementTags: def.GetPlacementTags(),
			VolumeDrivers: def.VolumeDrivers(),
			RootFs:        def.GetRootFs(),
		},
		Resource: Resource{MemoryMB: def.GetMemoryMb(), DiskMB: def.GetDiskMb(), MaxPids: def.GetMaxPids()},
		State:    TaskState(models.Task_Invalid),
	}}
}

// Validate reports why the auctioneer would drop r, or nil.
func (r *TaskStartRequest) Validate() error {
	switch {
	case r.TaskGuid == "":
		return errors.New("task guid is empty")
	case !r.Resource.Valid():
		return errors.New("resources cannot be less than zero")
	case !r.PlacementConstraint.Valid():
		return errors.New("placement constraint cannot be empty")
	}
	return nil
}

// TaskState is a BBS task state whose JSON form is its name ("Invalid",
// "Pending", "Running", "Completed", "Resolving"), as in these bodies.
type TaskState models.Task_State

// MarshalJSON prints the state's name.
func (s TaskState) MarshalJSON() ([]byte, error) {
	return json.Marshal(models.Task_State(s).String())
}

// UnmarshalJSON reads a state name; anything else is an error.
func (s *TaskState) UnmarshalJSON(data []byte) error {
	var name string
	if err := json.Unmarshal(data, &name); err != nil {
		return err
	}
	v, ok := models.Task_State_value[name]
	if !ok {
		return fmt.Errorf("invalid state: %s", name)
	}
	*s = TaskState(v)
	return nil
}
