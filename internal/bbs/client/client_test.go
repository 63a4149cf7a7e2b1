package client

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/diego-go/diego/internal/bbs/routes"
	"github.com/diego-go/diego/internal/models"
)

// Fixtures shared by the route cases.
var (
	lrpKey      = &models.ActualLRPKey{ProcessGuid: "pg", Index: 2, Domain: "cf-apps"}
	instanceKey = &models.ActualLRPInstanceKey{InstanceGuid: "ig", CellId: "cell-1"}
	netInfo     = &models.ActualLRPNetInfo{Address: "10.0.0.1", Ports: []*models.PortMapping{{ContainerPort: 8080, HostPort: 61000}}, InstanceAddress: "10.255.0.2"}
	filterLRPs  = DesiredLRPFilter{Domain: "cf-apps", ProcessGuids: []string{"a", "b"}, AppGuids: []string{"app"}}
	lrpsRequest = &models.DesiredLRPsRequest{Domain: "cf-apps", ProcessGuids: []string{"a", "b"}, AppGuids: []string{"app"}}
)

func actualLRP() *models.ActualLRP {
	return &models.ActualLRP{ActualLrpKey: lrpKey, ActualLrpInstanceKey: instanceKey, ActualLrpNetInfo: netInfo, State: "RUNNING", Routable: ptr(true)}
}

func desiredLRP() *models.DesiredLRP {
	return &models.DesiredLRP{ProcessGuid: "pg", Domain: "cf-apps", RootFs: "preloaded:cflinuxfs4", Instances: 3,
		Routes: models.NewRoutes(map[string]json.RawMessage{"cf-router": json.RawMessage(`[{"hostnames":["a.example.com"],"port":8080}]`)})}
}

func task() *models.Task {
	return &models.Task{TaskGuid: "tg", Domain: "cf-tasks", CellId: "cell-1", State: models.Task_Running,
		TaskDefinition: &models.TaskDefinition{RootFs: "preloaded:cflinuxfs4", MemoryMb: 256}}
}

func startRequest() *models.StartActualLRPRequest {
	return &models.StartActualLRPRequest{
		ActualLrpKey: lrpKey, ActualLrpInstanceKey: instanceKey, ActualLrpNetInfo: netInfo,
		ActualLrpInternalRoutes: []*models.ActualLRPInternalRoute{{Hostname: "pg.apps.internal"}},
		MetricTags:              map[string]string{"source_id": "app", "index": "2"},
		Routable:                ptr(false),
		AvailabilityZone:        "z1",
	}
}

func evacuateRunningRequest() *models.EvacuateRunningActualLRPRequest {
	return &models.EvacuateRunningActualLRPRequest{
		ActualLrpKey: lrpKey, ActualLrpInstanceKey: instanceKey, ActualLrpNetInfo: netInfo,
		ActualLrpInternalRoutes: []*models.ActualLRPInternalRoute{{Hostname: "pg.apps.internal"}},
		MetricTags:              map[string]string{"source_id": "app"},
		Routable:                ptr(true),
		AvailabilityZone:        "z2",
	}
}

// routeCase is one RPC: what the client must send and how it must read
// the answer.
type routeCase struct {
	name  string
	route string
	req   proto.Message // nil: an empty body
	resp  proto.Message
	call  func(context.Context, *Client) (any, error)
	want  any
}

func routeCases() []routeCase {
	lrp, group := actualLRP(), &models.ActualLRPGroup{Instance: actualLRP()}
	d, tk := desiredLRP(), task()
	info := &models.DesiredLRPSchedulingInfo{DesiredLrpKey: &models.DesiredLRPKey{ProcessGuid: "pg", Domain: "cf-apps"}, Instances: 3}
	cell := &models.CellPresence{CellId: "cell-1", RepUrl: "https://cell-1.cell.service.cf.internal:1801", Zone: "z1"}
	update := &models.DesiredLRPUpdate{Instances: ptr(int32(0)), Annotation: ptr("")}
	def := &models.TaskDefinition{RootFs: "docker:///busybox", Action: &models.Action{RunAction: &models.RunAction{Path: "true", User: "vcap"}}}
	none := func(err error) (any, error) { return nil, err }
	return []routeCase{
		{"Ping", routes.Ping, nil, &models.PingResponse{Available: true},
			func(ctx context.Context, c *Client) (any, error) { return c.Ping(ctx), nil }, true},
		{"Domains", routes.Domains, nil, &models.DomainsResponse{Domains: []string{"cf-apps", "cf-tasks"}},
			func(ctx context.Context, c *Client) (any, error) { return c.Domains(ctx) }, []string{"cf-apps", "cf-tasks"}},
		{"UpsertDomain", routes.UpsertDomain, &models.UpsertDomainRequest{Domain: "cf-apps", Ttl: 90}, &models.UpsertDomainResponse{},
			func(ctx context.Context, c *Client) (any, error) {
				return none(c.UpsertDomain(ctx, "cf-apps", 90*time.Second))
			}, nil},
		{"Cells", routes.Cells, nil, &models.CellsResponse{Cells: []*models.CellPresence{cell}},
			func(ctx context.Context, c *Client) (any, error) { return c.Cells(ctx) }, []*models.CellPresence{cell}},

		{"ActualLRPs", routes.ActualLRPs,
			&models.ActualLRPsRequest{Domain: "cf-apps", CellId: "cell-1", ProcessGuid: "pg", Index: ptr(int32(0))},
			&models.ActualLRPsResponse{ActualLrps: []*models.ActualLRP{lrp}},
			func(ctx context.Context, c *Client) (any, error) {
				return c.ActualLRPs(ctx, ActualLRPFilter{Domain: "cf-apps", CellID: "cell-1", ProcessGuid: "pg", Index: ptr(int32(0))})
			}, []*models.ActualLRP{lrp}},
		{"ActualLRPsByProcessGuids", routes.ActualLRPsByProcessGuids,
			&models.ActualLRPsByProcessGuidsRequest{ProcessGuids: []string{"a", "b"}},
			&models.ActualLRPsByProcessGuidsResponse{ActualLrps: []*models.ActualLRP{lrp}},
			func(ctx context.Context, c *Client) (any, error) {
				return c.ActualLRPsByProcessGuids(ctx, []string{"a", "b"})
			},
			[]*models.ActualLRP{lrp}},
		{"ActualLRPGroups", routes.ActualLRPGroups,
			&models.ActualLRPGroupsRequest{Domain: "cf-apps", CellId: "cell-1"},
			&models.ActualLRPGroupsResponse{ActualLrpGroups: []*models.ActualLRPGroup{group}},
			func(ctx context.Context, c *Client) (any, error) {
				return c.ActualLRPGroups(ctx, ActualLRPFilter{Domain: "cf-apps", CellID: "cell-1", ProcessGuid: "ignored"})
			}, []*models.ActualLRPGroup{group}},
		{"ActualLRPGroupsByProcessGuid", routes.ActualLRPGroupsByProcessGuid,
			&models.ActualLRPGroupsByProcessGuidRequest{ProcessGuid: "pg"},
			&models.ActualLRPGroupsResponse{ActualLrpGroups: []*models.ActualLRPGroup{group}},
			func(ctx context.Context, c *Client) (any, error) { return c.ActualLRPGroupsByProcessGuid(ctx, "pg") },
			[]*models.ActualLRPGroup{group}},
		{"ActualLRPGroupByProcessGuidAndIndex", routes.ActualLRPGroupByProcessGuidAndIndex,
			&models.ActualLRPGroupByProcessGuidAndIndexRequest{ProcessGuid: "pg", Index: 2},
			&models.ActualLRPGroupResponse{ActualLrpGroup: group},
			func(ctx context.Context, c *Client) (any, error) {
				return c.ActualLRPGroupByProcessGuidAndIndex(ctx, "pg", 2)
			},
			group},

		{"ClaimActualLRP", routes.ClaimActualLRP,
			&models.ClaimActualLRPRequest{ProcessGuid: "pg", Index: 2, ActualLrpInstanceKey: instanceKey},
			&models.ActualLRPLifecycleResponse{},
			func(ctx context.Context, c *Client) (any, error) {
				return none(c.ClaimActualLRP(ctx, lrpKey, instanceKey))
			}, nil},
		{"StartActualLRP", routes.StartActualLRP, startRequest(), &models.ActualLRPLifecycleResponse{},
			func(ctx context.Context, c *Client) (any, error) { return none(c.StartActualLRP(ctx, startRequest())) }, nil},
		{"CrashActualLRP", routes.CrashActualLRP,
			&models.CrashActualLRPRequest{ActualLrpKey: lrpKey, ActualLrpInstanceKey: instanceKey, ErrorMessage: "boom"},
			&models.ActualLRPLifecycleResponse{},
			func(ctx context.Context, c *Client) (any, error) {
				return none(c.CrashActualLRP(ctx, lrpKey, instanceKey, "boom"))
			}, nil},
		{"FailActualLRP", routes.FailActualLRP,
			&models.FailActualLRPRequest{ActualLrpKey: lrpKey, ErrorMessage: "insufficient resources"},
			&models.ActualLRPLifecycleResponse{},
			func(ctx context.Context, c *Client) (any, error) {
				return none(c.FailActualLRP(ctx, lrpKey, "insufficient resources"))
			}, nil},
		{"RemoveActualLRP", routes.RemoveActualLRP,
			&models.RemoveActualLRPRequest{ProcessGuid: "pg", Index: 2, ActualLrpInstanceKey: instanceKey},
			&models.ActualLRPLifecycleResponse{},
			func(ctx context.Context, c *Client) (any, error) {
				return none(c.RemoveActualLRP(ctx, lrpKey, instanceKey))
			}, nil},
		{"RetireActualLRP", routes.RetireActualLRP,
			&models.RetireActualLRPRequest{ActualLrpKey: lrpKey}, &models.ActualLRPLifecycleResponse{},
			func(ctx context.Context, c *Client) (any, error) { return none(c.RetireActualLRP(ctx, lrpKey)) }, nil},

		{"RemoveEvacuatingActualLRP", routes.RemoveEvacuatingActualLRP,
			&models.RemoveEvacuatingActualLRPRequest{ActualLrpKey: lrpKey, ActualLrpInstanceKey: instanceKey},
			&models.RemoveEvacuatingActualLRPResponse{},
			func(ctx context.Context, c *Client) (any, error) {
				return none(c.RemoveEvacuatingActualLRP(ctx, lrpKey, instanceKey))
			}, nil},
		{"EvacuateClaimedActualLRP", routes.EvacuateClaimedActualLRP,
			&models.EvacuateClaimedActualLRPRequest{ActualLrpKey: lrpKey, ActualLrpInstanceKey: instanceKey},
			&models.EvacuationResponse{KeepContainer: false},
			func(ctx context.Context, c *Client) (any, error) {
				return c.EvacuateClaimedActualLRP(ctx, lrpKey, instanceKey)
			}, false},
		{"EvacuateCrashedActualLRP", routes.EvacuateCrashedActualLRP,
			&models.EvacuateCrashedActualLRPRequest{ActualLrpKey: lrpKey, ActualLrpInstanceKey: instanceKey, ErrorMessage: "crashed"},
			&models.EvacuationResponse{KeepContainer: true},
			func(ctx context.Context, c *Client) (any, error) {
				return c.EvacuateCrashedActualLRP(ctx, lrpKey, instanceKey, "crashed")
			}, true},
		{"EvacuateStoppedActualLRP", routes.EvacuateStoppedActualLRP,
			&models.EvacuateStoppedActualLRPRequest{ActualLrpKey: lrpKey, ActualLrpInstanceKey: instanceKey},
			&models.EvacuationResponse{KeepContainer: true},
			func(ctx context.Context, c *Client) (any, error) {
				return c.EvacuateStoppedActualLRP(ctx, lrpKey, instanceKey)
			}, true},
		{"EvacuateRunningActualLRP", routes.EvacuateRunningActualLRP, evacuateRunningRequest(),
			&models.EvacuationResponse{KeepContainer: false},
			func(ctx context.Context, c *Client) (any, error) {
				return c.EvacuateRunningActualLRP(ctx, evacuateRunningRequest())
			}, false},

		{"DesiredLRPSchedulingInfos", routes.DesiredLRPSchedulingInfos, lrpsRequest,
			&models.DesiredLRPSchedulingInfosResponse{DesiredLrpSchedulingInfos: []*models.DesiredLRPSchedulingInfo{info}},
			func(ctx context.Context, c *Client) (any, error) { return c.DesiredLRPSchedulingInfos(ctx, filterLRPs) },
			[]*models.DesiredLRPSchedulingInfo{info}},
		{"DesiredLRPSchedulingInfoByProcessGuid", routes.DesiredLRPSchedulingInfoByProcessGuid,
			&models.DesiredLRPByProcessGuidRequest{ProcessGuid: "pg"},
			&models.DesiredLRPSchedulingInfoByProcessGuidResponse{DesiredLrpSchedulingInfo: info},
			func(ctx context.Context, c *Client) (any, error) {
				return c.DesiredLRPSchedulingInfoByProcessGuid(ctx, "pg")
			},
			info},
		{"DesiredLRPRoutingInfos", routes.DesiredLRPRoutingInfos, lrpsRequest,
			&models.DesiredLRPsResponse{DesiredLrps: []*models.DesiredLRP{d}},
			func(ctx context.Context, c *Client) (any, error) { return c.DesiredLRPRoutingInfos(ctx, filterLRPs) },
			[]*models.DesiredLRP{d}},
		{"DesiredLRPs", routes.DesiredLRPs, lrpsRequest,
			&models.DesiredLRPsResponse{DesiredLrps: []*models.DesiredLRP{d}},
			func(ctx context.Context, c *Client) (any, error) { return c.DesiredLRPs(ctx, filterLRPs) },
			[]*models.DesiredLRP{d}},
		{"DesiredLRPsR2", routes.DesiredLRPsR2, lrpsRequest,
			&models.DesiredLRPsResponse{DesiredLrps: []*models.DesiredLRP{d}},
			func(ctx context.Context, c *Client) (any, error) { return c.DesiredLRPsR2(ctx, filterLRPs) },
			[]*models.DesiredLRP{d}},
		{"DesiredLRPByProcessGuid", routes.DesiredLRPByProcessGuid,
			&models.DesiredLRPByProcessGuidRequest{ProcessGuid: "pg"}, &models.DesiredLRPResponse{DesiredLrp: d},
			func(ctx context.Context, c *Client) (any, error) { return c.DesiredLRPByProcessGuid(ctx, "pg") }, d},
		{"DesiredLRPByProcessGuidR2", routes.DesiredLRPByProcessGuidR2,
			&models.DesiredLRPByProcessGuidRequest{ProcessGuid: "pg"}, &models.DesiredLRPResponse{DesiredLrp: d},
			func(ctx context.Context, c *Client) (any, error) { return c.DesiredLRPByProcessGuidR2(ctx, "pg") }, d},
		{"DesireLRP", routes.DesireDesiredLRP,
			&models.DesireLRPRequest{DesiredLrp: desiredLRP()}, &models.DesiredLRPLifecycleResponse{},
			func(ctx context.Context, c *Client) (any, error) { return none(c.DesireLRP(ctx, desiredLRP())) }, nil},
		{"UpdateDesiredLRP", routes.UpdateDesiredLRP,
			&models.UpdateDesiredLRPRequest{ProcessGuid: "pg", Update: update}, &models.DesiredLRPLifecycleResponse{},
			func(ctx context.Context, c *Client) (any, error) { return none(c.UpdateDesiredLRP(ctx, "pg", update)) }, nil},
		{"RemoveDesiredLRP", routes.RemoveDesiredLRP,
			&models.RemoveDesiredLRPRequest{ProcessGuid: "pg"}, &models.DesiredLRPLifecycleResponse{},
			func(ctx context.Context, c *Client) (any, error) { return none(c.RemoveDesiredLRP(ctx, "pg")) }, nil},

		{"Tasks", routes.Tasks, &models.TasksRequest{Domain: "cf-tasks", CellId: "cell-1"},
			&models.TasksResponse{Tasks: []*models.Task{tk}},
			func(ctx context.Context, c *Client) (any, error) {
				return c.Tasks(ctx, TaskFilter{Domain: "cf-tasks", CellID: "cell-1"})
			}, []*models.Task{tk}},
		{"TasksR2", routes.TasksR2, &models.TasksRequest{Domain: "cf-tasks"},
			&models.TasksResponse{Tasks: []*models.Task{tk}},
			func(ctx context.Context, c *Client) (any, error) {
				return c.TasksR2(ctx, TaskFilter{Domain: "cf-tasks"})
			},
			[]*models.Task{tk}},
		{"TaskByGuid", routes.TaskByGuid, &models.TaskByGuidRequest{TaskGuid: "tg"}, &models.TaskResponse{Task: tk},
			func(ctx context.Context, c *Client) (any, error) { return c.TaskByGuid(ctx, "tg") }, tk},
		{"TaskByGuidR2", routes.TaskByGuidR2, &models.TaskByGuidRequest{TaskGuid: "tg"}, &models.TaskResponse{Task: tk},
			func(ctx context.Context, c *Client) (any, error) { return c.TaskByGuidR2(ctx, "tg") }, tk},
		{"DesireTask", routes.DesireTask,
			&models.DesireTaskRequest{TaskGuid: "tg", Domain: "cf-tasks", TaskDefinition: def}, &models.TaskLifecycleResponse{},
			func(ctx context.Context, c *Client) (any, error) {
				return none(c.DesireTask(ctx, "tg", "cf-tasks", def))
			}, nil},
		{"StartTask", routes.StartTask, &models.StartTaskRequest{TaskGuid: "tg", CellId: "cell-1"},
			&models.StartTaskResponse{ShouldStart: true},
			func(ctx context.Context, c *Client) (any, error) { return c.StartTask(ctx, "tg", "cell-1") }, true},
		{"CancelTask", routes.CancelTask, &models.TaskGuidRequest{TaskGuid: "tg"}, &models.TaskLifecycleResponse{},
			func(ctx context.Context, c *Client) (any, error) { return none(c.CancelTask(ctx, "tg")) }, nil},
		{"FailTask", routes.FailTask, &models.FailTaskRequest{TaskGuid: "tg", FailureReason: "why"}, &models.TaskLifecycleResponse{},
			func(ctx context.Context, c *Client) (any, error) { return none(c.FailTask(ctx, "tg", "why")) }, nil},
		{"RejectTask", routes.RejectTask, &models.RejectTaskRequest{TaskGuid: "tg", RejectionReason: "full"}, &models.TaskLifecycleResponse{},
			func(ctx context.Context, c *Client) (any, error) { return none(c.RejectTask(ctx, "tg", "full")) }, nil},
		{"CompleteTask", routes.CompleteTask,
			&models.CompleteTaskRequest{TaskGuid: "tg", CellId: "cell-1", Failed: true, FailureReason: "exit 1", Result: "r"},
			&models.TaskLifecycleResponse{},
			func(ctx context.Context, c *Client) (any, error) {
				return none(c.CompleteTask(ctx, "tg", "cell-1", true, "exit 1", "r"))
			}, nil},
		{"ResolvingTask", routes.ResolvingTask, &models.TaskGuidRequest{TaskGuid: "tg"}, &models.TaskLifecycleResponse{},
			func(ctx context.Context, c *Client) (any, error) { return none(c.ResolvingTask(ctx, "tg")) }, nil},
		{"DeleteTask", routes.DeleteTask, &models.TaskGuidRequest{TaskGuid: "tg"}, &models.TaskLifecycleResponse{},
			func(ctx context.Context, c *Client) (any, error) { return none(c.DeleteTask(ctx, "tg")) }, nil},
	}
}

var hexID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestEveryRouteSendsTheRightRequestAndDecodesTheAnswer(t *testing.T) {
	bbs := newFakeBBS(t)
	c := bbs.client(t, nil)
	covered := map[string]bool{
		// Reached only as fallbacks; see TestRouteFallbacks.
		routes.StartActualLRPR0: true, routes.EvacuateRunningActualLRPR0: true,
	}
	for _, tc := range routeCases() {
		t.Run(tc.name, func(t *testing.T) {
			route, ok := routes.Lookup(tc.route)
			if !ok {
				t.Fatalf("no route %q", tc.route)
			}
			covered[tc.route] = true
			bbs.setHandler(func(w http.ResponseWriter, r *http.Request, _ []byte) {
				if r.URL.Path != route.Path {
					http.NotFound(w, r)
					return
				}
				writeProto(w, encode(t, tc.resp))
			})
			got, err := tc.call(testContext(t), c)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if !sameResult(got, tc.want) {
				t.Errorf("result\n%v\nwant\n%v", got, tc.want)
			}
			reqs := bbs.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.method != route.Method || r.path != route.Path || r.proto != "HTTP/1.1" {
				t.Errorf("sent %s %s %s, want %s %s HTTP/1.1", r.method, r.path, r.proto, route.Method, route.Path)
			}
			if r.contentType != "application/x-protobuf" {
				t.Errorf("Content-Type %q", r.contentType)
			}
			if !hexID.MatchString(r.requestID) {
				t.Errorf("X-Vcap-Request-Id %q is not a generated id", r.requestID)
			}
			if r.peerCN != "client" {
				t.Errorf("client certificate CN %q", r.peerCN)
			}
			if tc.req == nil {
				if len(r.body) != 0 {
					t.Errorf("body %x, want none", r.body)
				}
				return
			}
			if got, want := decodeAs(t, tc.req, r.body), normalized(t, tc.req); !proto.Equal(got, want) {
				t.Errorf("request\n%v\nwant\n%v", got, want)
			}
		})
	}
	for _, r := range routes.All() {
		if !r.Stream && !covered[r.Name] {
			t.Errorf("route %s (%s) has no case", r.Name, r.Path)
		}
	}
}

// sameResult compares results, protobuf messages by value.
func sameResult(got, want any) bool {
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	if !gv.IsValid() || !wv.IsValid() {
		return gv.IsValid() == wv.IsValid()
	}
	if gm, ok := got.(proto.Message); ok {
		wm, ok := want.(proto.Message)
		return ok && proto.Equal(gm, wm)
	}
	if gv.Kind() == reflect.Slice && gv.Type() == wv.Type() {
		if gv.Len() != wv.Len() {
			return false
		}
		for i := range gv.Len() {
			if !sameResult(gv.Index(i).Interface(), wv.Index(i).Interface()) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(got, want)
}
