// Package routes is the BBS HTTP route table (reference notes §1.5): the 50
// (method, path) pairs the server serves and the Go client calls. The
// handlers and the client both read it, so a path is written once.
//
// Route names are the reference's route names: they are not on the wire,
// but operators use them in the `advanced_metrics` route lists of the BBS
// config (e.g. "DesiredLRPs"), so they keep the reference's spelling,
// including its typos ("UpdateDesireLRP").
package routes

import "net/http"

// Wire constants shared by the server and its clients.
const (
	// ProtobufContentType is the content type of every RPC request and
	// response body.
	ProtobufContentType = "application/x-protobuf"
	// RequestIDHeader carries the caller's trace id; the server copies it
	// into the trace_id of the events a request causes.
	RequestIDHeader = "X-Vcap-Request-Id"
	// RouterErrorHeader marks a response produced by a gorouter, not the BBS.
	RouterErrorHeader = "X-Cf-Routererror"
)

// Route names. A name without a revision suffix is the current revision;
// R0/R2 name the deprecated revisions still served.
const (
	Ping = "Ping"

	Domains      = "Domains"
	UpsertDomain = "UpsertDomain"

	ActualLRPs                          = "ActualLRPs"
	ActualLRPsByProcessGuids            = "ActualLRPsByProcessGuids"
	ActualLRPGroups                     = "ActualLRPGroups"                      // deprecated
	ActualLRPGroupsByProcessGuid        = "ActualLRPGroupsByProcessGuid"         // deprecated
	ActualLRPGroupByProcessGuidAndIndex = "ActualLRPGroupsByProcessGuidAndIndex" // deprecated

	ClaimActualLRP   = "ClaimActualLRP"
	StartActualLRP   = "StartActualLRP"    // start.r1
	StartActualLRPR0 = "StartActualLRP_r0" // deprecated start
	CrashActualLRP   = "CrashActualLRP"
	FailActualLRP    = "FailActualLRP"
	RemoveActualLRP  = "RemoveActualLRP"
	RetireActualLRP  = "RetireActualLRP"

	RemoveEvacuatingActualLRP  = "RemoveEvacuatingActualLRP"
	EvacuateClaimedActualLRP   = "EvacuateClaimedActualLRP"
	EvacuateCrashedActualLRP   = "EvacuateCrashedActualLRP"
	EvacuateStoppedActualLRP   = "EvacuateStoppedActualLRP"
	EvacuateRunningActualLRP   = "EvacuateRunningActualLRP"    // evacuate_running.r1
	EvacuateRunningActualLRPR0 = "EvacuateRunningActualLRP_r0" // deprecated evacuate_running

	DesiredLRPSchedulingInfos             = "DesiredLRPSchedulingInfos"
	DesiredLRPSchedulingInfoByProcessGuid = "DesiredLRPSchedulingInfoByProcessGuid"
	DesiredLRPRoutingInfos                = "DesiredLRPRoutingInfos"
	DesiredLRPs                           = "DesiredLRPs"                // list.r3
	DesiredLRPByProcessGuid               = "DesiredLRPByProcessGuid"    // get_by_process_guid.r3
	DesiredLRPsR2                         = "DesiredLRPs_r2"             // deprecated, used by CC
	DesiredLRPByProcessGuidR2             = "DesiredLRPByProcessGuid_r2" // deprecated, used by CC

	DesireDesiredLRP = "DesireDesiredLRP" // desire.r2
	UpdateDesiredLRP = "UpdateDesireLRP"
	RemoveDesiredLRP = "RemoveDesiredLRP"

	Tasks        = "Tasks"         // list.r3
	TaskByGuid   = "TaskByGuid"    // get_by_task_guid.r3
	TasksR2      = "Tasks_r2"      // deprecated, used by CC
	TaskByGuidR2 = "TaskByGuid_r2" // deprecated, used by CC

	DesireTask    = "DesireTask" // desire.r2
	StartTask     = "StartTask"
	CancelTask    = "CancelTask"
	FailTask      = "FailTask" // deprecated
	RejectTask    = "RejectTask"
	CompleteTask  = "CompleteTask"
	ResolvingTask = "ResolvingTask"
	DeleteTask    = "DeleteTask"

	LRPGroupEventStream      = "EventStream" // GET /v1/events.r1, deprecated
	TaskEventStream          = "TaskEventStream"
	LRPInstanceEventStream   = "LRPInstanceEventStream"
	LRPGroupEventStreamR0    = "EventStream_r0"            // GET /v1/events, deprecated
	TaskEventStreamR0        = "TaskEventStream_r0"        // deprecated
	LRPInstanceEventStreamR0 = "LrpInstanceEventStream_r0" // deprecated

	Cells = "Cells"
)

// Route is one row of the table.
type Route struct {
	Name   string
	Method string
	Path   string
	// Deprecated routes are still served for older clients (§1.6).
	Deprecated bool
	// Stream routes answer with a server-sent event stream (§2).
	Stream bool
}

const post, get = http.MethodPost, http.MethodGet

// table is in the reference's order.
var table = [...]Route{
	{Name: Ping, Method: post, Path: "/v1/ping"},

	{Name: Domains, Method: post, Path: "/v1/domains/list"},
	{Name: UpsertDomain, Method: post, Path: "/v1/domains/upsert"},

	{Name: ActualLRPs, Method: post, Path: "/v1/actual_lrps/list"},
	{Name: ActualLRPsByProcessGuids, Method: post, Path: "/v1/actual_lrps/list_by_process_guids"},
	{Name: ActualLRPGroups, Method: post, Path: "/v1/actual_lrp_groups/list", Deprecated: true},
	{Name: ActualLRPGroupsByProcessGuid, Method: post, Path: "/v1/actual_lrp_groups/list_by_process_guid", Deprecated: true},
	{Name: ActualLRPGroupByProcessGuidAndIndex, Method: post, Path: "/v1/actual_lrp_groups/get_by_process_guid_and_index", Deprecated: true},

	{Name: ClaimActualLRP, Method: post, Path: "/v1/actual_lrps/claim"},
	{Name: StartActualLRP, Method: post, Path: "/v1/actual_lrps/start.r1"},
	{Name: StartActualLRPR0, Method: post, Path: "/v1/actual_lrps/start", Deprecated: true},
	{Name: CrashActualLRP, Method: post, Path: "/v1/actual_lrps/crash"},
	{Name: FailActualLRP, Method: post, Path: "/v1/actual_lrps/fail"},
	{Name: RemoveActualLRP, Method: post, Path: "/v1/actual_lrps/remove"},
	{Name: RetireActualLRP, Method: post, Path: "/v1/actual_lrps/retire"},

	{Name: RemoveEvacuatingActualLRP, Method: post, Path: "/v1/actual_lrps/remove_evacuating"},
	{Name: EvacuateClaimedActualLRP, Method: post, Path: "/v1/actual_lrps/evacuate_claimed"},
	{Name: EvacuateCrashedActualLRP, Method: post, Path: "/v1/actual_lrps/evacuate_crashed"},
	{Name: EvacuateStoppedActualLRP, Method: post, Path: "/v1/actual_lrps/evacuate_stopped"},
	{Name: EvacuateRunningActualLRP, Method: post, Path: "/v1/actual_lrps/evacuate_running.r1"},
	{Name: EvacuateRunningActualLRPR0, Method: post, Path: "/v1/actual_lrps/evacuate_running", Deprecated: true},

	{Name: DesiredLRPSchedulingInfos, Method: post, Path: "/v1/desired_lrp_scheduling_infos/list"},
	{Name: DesiredLRPSchedulingInfoByProcessGuid, Method: post, Path: "/v1/desired_lrp_scheduling_infos/get_by_process_guid"},
	{Name: DesiredLRPRoutingInfos, Method: post, Path: "/v1/desired_lrp_routing_infos/list"},
	{Name: DesiredLRPs, Method: post, Path: "/v1/desired_lrps/list.r3"},
	{Name: DesiredLRPByProcessGuid, Method: post, Path: "/v1/desired_lrps/get_by_process_guid.r3"},
	{Name: DesiredLRPsR2, Method: post, Path: "/v1/desired_lrps/list.r2", Deprecated: true},
	{Name: DesiredLRPByProcessGuidR2, Method: post, Path: "/v1/desired_lrps/get_by_process_guid.r2", Deprecated: true},

	{Name: DesireDesiredLRP, Method: post, Path: "/v1/desired_lrp/desire.r2"},
	{Name: UpdateDesiredLRP, Method: post, Path: "/v1/desired_lrp/update"},
	{Name: RemoveDesiredLRP, Method: post, Path: "/v1/desired_lrp/remove"},

	{Name: Tasks, Method: post, Path: "/v1/tasks/list.r3"},
	{Name: TaskByGuid, Method: post, Path: "/v1/tasks/get_by_task_guid.r3"},
	{Name: TasksR2, Method: post, Path: "/v1/tasks/list.r2", Deprecated: true},
	{Name: TaskByGuidR2, Method: post, Path: "/v1/tasks/get_by_task_guid.r2", Deprecated: true},

	{Name: DesireTask, Method: post, Path: "/v1/tasks/desire.r2"},
	{Name: StartTask, Method: post, Path: "/v1/tasks/start"},
	{Name: CancelTask, Method: post, Path: "/v1/tasks/cancel"},
	{Name: FailTask, Method: post, Path: "/v1/tasks/fail", Deprecated: true},
	{Name: RejectTask, Method: post, Path: "/v1/tasks/reject"},
	{Name: CompleteTask, Method: post, Path: "/v1/tasks/complete"},
	{Name: ResolvingTask, Method: post, Path: "/v1/tasks/resolving"},
	{Name: DeleteTask, Method: post, Path: "/v1/tasks/delete"},

	{Name: LRPGroupEventStream, Method: get, Path: "/v1/events.r1", Deprecated: true, Stream: true},
	{Name: TaskEventStream, Method: post, Path: "/v1/events/tasks.r1", Stream: true},
	{Name: LRPInstanceEventStream, Method: post, Path: "/v1/events/lrp_instances.r1", Stream: true},
	{Name: LRPGroupEventStreamR0, Method: get, Path: "/v1/events", Deprecated: true, Stream: true},
	{Name: TaskEventStreamR0, Method: post, Path: "/v1/events/tasks", Deprecated: true, Stream: true},
	{Name: LRPInstanceEventStreamR0, Method: post, Path: "/v1/events/lrp_instances", Deprecated: true, Stream: true},

	{Name: Cells, Method: post, Path: "/v1/cells/list.r1"},
}

var byName = func() map[string]Route {
	m := make(map[string]Route, len(table))
	for _, r := range table {
		m[r.Name] = r
	}
	return m
}()

// All returns the whole table, in the reference's order. The slice is a
// copy; callers may keep or change it.
func All() []Route {
	return append([]Route(nil), table[:]...)
}

// Lookup returns the route called name.
func Lookup(name string) (Route, bool) {
	r, ok := byName[name]
	return r, ok
}
