package routes

import (
	"net/http"
	"testing"
)

// want is §1.5 of the reference notes, row by row (method, path).
var want = [50][2]string{
	{"POST", "/v1/ping"},
	{"POST", "/v1/domains/list"},
	{"POST", "/v1/domains/upsert"},
	{"POST", "/v1/actual_lrps/list"},
	{"POST", "/v1/actual_lrps/list_by_process_guids"},
	{"POST", "/v1/actual_lrp_groups/list"},
	{"POST", "/v1/actual_lrp_groups/list_by_process_guid"},
	{"POST", "/v1/actual_lrp_groups/get_by_process_guid_and_index"},
	{"POST", "/v1/actual_lrps/claim"},
	{"POST", "/v1/actual_lrps/start.r1"},
	{"POST", "/v1/actual_lrps/start"},
	{"POST", "/v1/actual_lrps/crash"},
	{"POST", "/v1/actual_lrps/fail"},
	{"POST", "/v1/actual_lrps/remove"},
	{"POST", "/v1/actual_lrps/retire"},
	{"POST", "/v1/actual_lrps/remove_evacuating"},
	{"POST", "/v1/actual_lrps/evacuate_claimed"},
	{"POST", "/v1/actual_lrps/evacuate_crashed"},
	{"POST", "/v1/actual_lrps/evacuate_stopped"},
	{"POST", "/v1/actual_lrps/evacuate_running.r1"},
	{"POST", "/v1/actual_lrps/evacuate_running"},
	{"POST", "/v1/desired_lrp_scheduling_infos/list"},
	{"POST", "/v1/desired_lrp_scheduling_infos/get_by_process_guid"},
	{"POST", "/v1/desired_lrp_routing_infos/list"},
	{"POST", "/v1/desired_lrps/list.r3"},
	{"POST", "/v1/desired_lrps/get_by_process_guid.r3"},
	{"POST", "/v1/desired_lrps/list.r2"},
	{"POST", "/v1/desired_lrps/get_by_process_guid.r2"},
	{"POST", "/v1/desired_lrp/desire.r2"},
	{"POST", "/v1/desired_lrp/update"},
	{"POST", "/v1/desired_lrp/remove"},
	{"POST", "/v1/tasks/list.r3"},
	{"POST", "/v1/tasks/get_by_task_guid.r3"},
	{"POST", "/v1/tasks/list.r2"},
	{"POST", "/v1/tasks/get_by_task_guid.r2"},
	{"POST", "/v1/tasks/desire.r2"},
	{"POST", "/v1/tasks/start"},
	{"POST", "/v1/tasks/cancel"},
	{"POST", "/v1/tasks/fail"},
	{"POST", "/v1/tasks/reject"},
	{"POST", "/v1/tasks/complete"},
	{"POST", "/v1/tasks/resolving"},
	{"POST", "/v1/tasks/delete"},
	{"GET", "/v1/events.r1"},
	{"POST", "/v1/events/tasks.r1"},
	{"POST", "/v1/events/lrp_instances.r1"},
	{"GET", "/v1/events"},
	{"POST", "/v1/events/tasks"},
	{"POST", "/v1/events/lrp_instances"},
	{"POST", "/v1/cells/list.r1"},
}

func TestTableMatchesReference(t *testing.T) {
	all := All()
	if len(all) != len(want) {
		t.Fatalf("table has %d routes, want %d", len(all), len(want))
	}
	have := map[[2]string]bool{}
	for _, r := range all {
		have[[2]string{r.Method, r.Path}] = true
	}
	for _, w := range want {
		if !have[w] {
			t.Errorf("missing route %s %s", w[0], w[1])
		}
	}
}

func TestNamesAreUniqueAndLookedUp(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range All() {
		if r.Name == "" || seen[r.Name] {
			t.Errorf("route %s %s: empty or duplicate name %q", r.Method, r.Path, r.Name)
		}
		seen[r.Name] = true
		got, ok := Lookup(r.Name)
		if !ok || got != r {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v", r.Name, got, ok, r)
		}
	}
	if _, ok := Lookup("NoSuchRoute"); ok {
		t.Error("Lookup of an unknown name succeeded")
	}
}

func TestFlags(t *testing.T) {
	cases := []struct {
		name               string
		method, path       string
		deprecated, stream bool
	}{
		{StartActualLRP, http.MethodPost, "/v1/actual_lrps/start.r1", false, false},
		{StartActualLRPR0, http.MethodPost, "/v1/actual_lrps/start", true, false},
		{DesiredLRPByProcessGuidR2, http.MethodPost, "/v1/desired_lrps/get_by_process_guid.r2", true, false},
		{UpdateDesiredLRP, http.MethodPost, "/v1/desired_lrp/update", false, false},
		{LRPGroupEventStream, http.MethodGet, "/v1/events.r1", true, true},
		{LRPInstanceEventStream, http.MethodPost, "/v1/events/lrp_instances.r1", false, true},
		{TaskEventStreamR0, http.MethodPost, "/v1/events/tasks", true, true},
		{Cells, http.MethodPost, "/v1/cells/list.r1", false, false},
	}
	for _, c := range cases {
		r, ok := Lookup(c.name)
		if !ok {
			t.Errorf("%s: not found", c.name)
			continue
		}
		if r.Method != c.method || r.Path != c.path || r.Deprecated != c.deprecated || r.Stream != c.stream {
			t.Errorf("%s = %+v; want %s %s deprecated=%v stream=%v", c.name, r, c.method, c.path, c.deprecated, c.stream)
		}
	}
	n := 0
	for _, r := range All() {
		if r.Stream {
			n++
		}
	}
	if n != 6 {
		t.Errorf("%d stream routes, want 6", n)
	}
	all := All()
	all[0].Path = "/changed"
	if r, _ := Lookup(Ping); r.Path != "/v1/ping" {
		t.Error("All returned the table itself, not a copy")
	}
}
