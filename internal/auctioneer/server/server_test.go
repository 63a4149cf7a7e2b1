package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"code.cloudfoundry.org/lager/v3/lagertest"
	"github.com/diego-go/diego/internal/auctioneer/auctioneerclient"
	"github.com/diego-go/diego/internal/auctioneer/server"
	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/models"
	"github.com/prometheus/client_golang/prometheus"
)

// recorder is a Scheduler that keeps what it is given.
type recorder struct {
	mu     sync.Mutex
	lrps   []auctioneerclient.LRPStartRequest
	tasks  []auctioneerclient.TaskStartRequest
	traces []string
}

func (r *recorder) AddLRPStarts(starts []auctioneerclient.LRPStartRequest, traceID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lrps = append(r.lrps, starts...)
	r.traces = append(r.traces, traceID)
	n := 0
	for _, s := range starts {
		n += len(s.Indices)
	}
	return n
}

func (r *recorder) AddTasks(tasks []auctioneerclient.TaskStartRequest, traceID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tasks = append(r.tasks, tasks...)
	r.traces = append(r.traces, traceID)
	return len(tasks)
}

func newServer(t *testing.T, maxBody int64) (*httptest.Server, *recorder, *lagertest.TestLogger) {
	t.Helper()
	rec := &recorder{}
	logger := lagertest.NewTestLogger("auctioneer")
	h := server.New(server.Config{Logger: logger, Scheduler: rec, Metrics: server.NewMetrics(prometheus.NewRegistry()), MaxBodyBytes: maxBody})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, rec, logger
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Vcap-Request-Id", "trace-42")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The reference bodies of §1.2, byte for byte.
const (
	refLRPs = `[{"process_guid":"pg-1","domain":"cf-apps","indices":[0,1],
  "PlacementTags":["tagA"],"VolumeDrivers":["nfs"],"RootFs":"preloaded:cflinuxfs4",
  "MemoryMB":1024,"DiskMB":2048,"MaxPids":100}]`
	refTasks = `[{"TaskGuid":"tg-1","Domain":"cf-tasks",
  "PlacementTags":["tagA"],"VolumeDrivers":["nfs"],"RootFs":"preloaded:cflinuxfs4",
  "MemoryMB":1024,"DiskMB":2048,"MaxPids":100,"state":"Invalid","failed":false}]`
)

func TestReferenceBodiesAreAccepted(t *testing.T) {
	srv, rec, _ := newServer(t, 0)
	if code, body := post(t, srv.URL+"/v1/lrps", refLRPs); code != http.StatusAccepted || body != "{}" {
		t.Fatalf("lrps: %d %q", code, body)
	}
	if code, body := post(t, srv.URL+"/v1/tasks", refTasks); code != http.StatusAccepted || body != "{}" {
		t.Fatalf("tasks: %d %q", code, body)
	}
	if len(rec.lrps) != 1 || len(rec.tasks) != 1 {
		t.Fatalf("queued %d lrps, %d tasks", len(rec.lrps), len(rec.tasks))
	}
	l := rec.lrps[0]
	if l.ProcessGuid != "pg-1" || l.Domain != "cf-apps" || len(l.Indices) != 2 || l.MemoryMB != 1024 || l.DiskMB != 2048 ||
		l.MaxPids != 100 || l.RootFs != "preloaded:cflinuxfs4" || l.PlacementTags[0] != "tagA" || l.VolumeDrivers[0] != "nfs" {
		t.Errorf("lrp decoded as %+v", l)
	}
	tk := rec.tasks[0]
	if tk.TaskGuid != "tg-1" || tk.Domain != "cf-tasks" || tk.MemoryMB != 1024 || tk.State != auctioneerclient.TaskState(models.Task_Invalid) {
		t.Errorf("task decoded as %+v", tk)
	}
	if rec.traces[0] != "trace-42" {
		t.Errorf("trace id %q", rec.traces[0])
	}
}

func TestMalformedJSONIsRefusedWhole(t *testing.T) {
	srv, rec, _ := newServer(t, 0)
	for _, path := range []string{"/v1/lrps", "/v1/tasks"} {
		for _, body := range []string{`[{"process_guid":`, `{"process_guid":"pg"}`, `not json`, `[1,2]`, ``} {
			code, resp := post(t, srv.URL+path, body)
			if code != http.StatusBadRequest {
				t.Errorf("%s %q: status %d, want 400", path, body, code)
				continue
			}
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal([]byte(resp), &e); err != nil || e.Error == "" {
				t.Errorf("%s %q: body %q, want {\"error\":...}", path, body, resp)
			}
		}
	}
	if len(rec.lrps)+len(rec.tasks) != 0 {
		t.Errorf("queued %v %v from malformed bodies", rec.lrps, rec.tasks)
	}
}

func TestInvalidElementsAreDroppedTheRestAccepted(t *testing.T) {
	srv, rec, logger := newServer(t, 0)
	lrps := `[
	 {"process_guid":"ok-1","domain":"d","indices":[0],"RootFs":"preloaded:x","MemoryMB":1},
	 {"process_guid":"","domain":"d","indices":[0],"RootFs":"preloaded:x"},
	 {"process_guid":"no-domain","domain":"","indices":[0],"RootFs":"preloaded:x"},
	 {"process_guid":"no-indices","domain":"d","indices":[],"RootFs":"preloaded:x"},
	 {"process_guid":"neg-mem","domain":"d","indices":[0],"RootFs":"preloaded:x","MemoryMB":-1},
	 {"process_guid":"neg-disk","domain":"d","indices":[0],"RootFs":"preloaded:x","DiskMB":-1},
	 {"process_guid":"no-rootfs","domain":"d","indices":[0]},
	 {"process_guid":"ok-2","domain":"d","indices":[3,4],"RootFs":"docker:///x"}]`
	if code, _ := post(t, srv.URL+"/v1/lrps", lrps); code != http.StatusAccepted {
		t.Fatalf("status %d", code)
	}
	tasks := `[
	 {"TaskGuid":"t-ok","Domain":"d","RootFs":"preloaded:x","state":"Pending"},
	 {"TaskGuid":"","Domain":"d","RootFs":"preloaded:x"},
	 {"TaskGuid":"t-neg","Domain":"d","RootFs":"preloaded:x","MemoryMB":-5},
	 {"TaskGuid":"t-no-rootfs","Domain":"d"},
	 {"TaskGuid":"t-ok-2","RootFs":"preloaded:x"}]`
	if code, _ := post(t, srv.URL+"/v1/tasks", tasks); code != http.StatusAccepted {
		t.Fatalf("status %d", code)
	}
	var gotL, gotT []string
	for _, l := range rec.lrps {
		gotL = append(gotL, l.ProcessGuid)
	}
	for _, tk := range rec.tasks {
		gotT = append(gotT, tk.TaskGuid)
	}
	if strings.Join(gotL, ",") != "ok-1,ok-2" || strings.Join(gotT, ",") != "t-ok,t-ok-2" {
		t.Fatalf("queued lrps %v tasks %v", gotL, gotT)
	}
	if n := strings.Count(string(logger.Buffer().Contents()), "start-validate-failed"); n != 6 {
		t.Errorf("%d start-validate-failed log lines, want 6", n)
	}
	if n := strings.Count(string(logger.Buffer().Contents()), "task-validate-failed"); n != 3 {
		t.Errorf("%d task-validate-failed log lines, want 3", n)
	}
}

func TestEmptyAndNullBodiesAreAccepted(t *testing.T) {
	srv, rec, _ := newServer(t, 0)
	for _, body := range []string{`[]`, `null`} {
		if code, _ := post(t, srv.URL+"/v1/lrps", body); code != http.StatusAccepted {
			t.Errorf("%q: status %d", body, code)
		}
	}
	if len(rec.lrps) != 0 {
		t.Errorf("queued %v", rec.lrps)
	}
}

func TestRoutesAndLimits(t *testing.T) {
	srv, _, _ := newServer(t, 1024)
	if code, _ := post(t, srv.URL+"/v1/lrps", "["+strings.Repeat(" ", 2048)+"]"); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: status %d, want 413", code)
	}
	if code, _ := post(t, srv.URL+"/v1/other", "[]"); code != http.StatusNotFound {
		t.Errorf("unknown route: status %d, want 404", code)
	}
	resp, err := http.Get(srv.URL + "/v1/lrps")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/lrps: status %d, want 405", resp.StatusCode)
	}
}

// The BBS's client of the auctioneer talks to this server as it is.
func TestTheBBSClientIsUnderstood(t *testing.T) {
	srv, rec, _ := newServer(t, 0)
	c, err := auctioneerclient.New(auctioneerclient.Config{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := bbsclient.WithRequestID(context.Background(), "trace-bbs")
	info := &models.DesiredLRPSchedulingInfo{
		DesiredLrpKey:      &models.DesiredLRPKey{ProcessGuid: "pg", Domain: "cf-apps"},
		DesiredLrpResource: &models.DesiredLRPResource{MemoryMb: 128, DiskMb: 256, RootFs: "preloaded:cflinuxfs4"},
	}
	if err := c.RequestLRPAuctions(ctx, []*auctioneerclient.LRPStartRequest{auctioneerclient.NewLRPStartRequest(info, 0, 1, 2)}); err != nil {
		t.Fatal(err)
	}
	task := &models.Task{TaskGuid: "tg", Domain: "d", TaskDefinition: &models.TaskDefinition{RootFs: "docker:///x", MemoryMb: 64}}
	if err := c.RequestTaskAuctions(ctx, []*auctioneerclient.TaskStartRequest{auctioneerclient.NewTaskStartRequest(task)}); err != nil {
		t.Fatal(err)
	}
	if len(rec.lrps) != 1 || len(rec.lrps[0].Indices) != 3 || len(rec.tasks) != 1 || rec.tasks[0].TaskGuid != "tg" {
		t.Fatalf("queued %+v %+v", rec.lrps, rec.tasks)
	}
	if rec.traces[0] != "trace-bbs" {
		t.Errorf("trace %q", rec.traces[0])
	}
}
