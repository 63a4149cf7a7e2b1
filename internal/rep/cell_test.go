package rep_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/internal/auctioneer/auctioneerclient"
	"github.com/diego-go/diego/internal/executor"
	"github.com/diego-go/diego/internal/executor/memory"
	"github.com/diego-go/diego/internal/executor/steps"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/rep"
	"github.com/diego-go/diego/internal/rep/repclient"
	"github.com/diego-go/diego/internal/rep/repmodels"
)

func newCell(t *testing.T, mutate func(*rep.CellConfig)) (*rep.Cell, *executor.Executor) {
	t.Helper()
	backend := memory.New(memory.Config{Capacity: executor.Resources{MemoryMB: 1000, DiskMB: 4000, Containers: 10}})
	tr, err := steps.NewTransformer(steps.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := executor.New(context.Background(), executor.Config{CellID: "cell-1", Backend: backend, Transformer: tr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ex.Close)
	cfg := rep.CellConfig{
		CellID: "cell-1", CellIndex: 3, Zone: "z1", RepURL: "https://cell-1.cell.service.cf.internal:1801",
		PreloadedStacks: []string{"cflinuxfs4"}, PlacementTags: []string{"tagA"},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := rep.NewCell(cfg, ex)
	if err != nil {
		t.Fatal(err)
	}
	return c, ex
}

func lrp(pg string, index int32, mem int32, rootfs string) repmodels.LRP {
	return repmodels.LRP{ProcessGuid: pg, Index: index, Domain: "cf-apps",
		PlacementConstraint: auctioneerclient.PlacementConstraint{PlacementTags: []string{"tagA"}, RootFs: rootfs},
		Resource:            auctioneerclient.Resource{MemoryMB: mem, DiskMB: 100, MaxPids: 100}}
}

func task(guid string, mem int32, rootfs string) repmodels.Task {
	return repmodels.Task{TaskGuid: guid, Domain: "cf-tasks",
		PlacementConstraint: auctioneerclient.PlacementConstraint{RootFs: rootfs},
		Resource:            auctioneerclient.Resource{MemoryMB: mem, DiskMB: 100}}
}

func TestWorkIsReservedWithItsTagsAndShowsInTheState(t *testing.T) {
	c, ex := newCell(t, nil)
	failed, err := c.Perform(repmodels.Work{CellID: "cell-1",
		LRPs: []repmodels.LRP{
			lrp("pg-small", 0, 100, "preloaded:cflinuxfs4"),
			lrp("pg-big", 1, 600, "preloaded:cflinuxfs4"),
			lrp("pg-too-big", 0, 500, "preloaded:cflinuxfs4"), // 600 + 500 > 1000
			lrp("pg-nostack", 0, 10, "preloaded:cflinuxfs3"),
			lrp("pg-docker", 0, 10, "docker:///busybox"),
		},
		Tasks: []repmodels.Task{task("tg-1", 100, "preloaded:cflinuxfs4"), task("tg-bad", 1, "nope")},
	})
	if err != nil {
		t.Fatal(err)
	}
	var refused []string
	for _, l := range failed.LRPs {
		refused = append(refused, l.ProcessGuid)
	}
	for _, tk := range failed.Tasks {
		refused = append(refused, tk.TaskGuid)
	}
	if got := strings.Join(refused, ","); got != "pg-too-big,pg-nostack,tg-bad" {
		t.Fatalf("refused %s", got)
	}
	st := c.State()
	if len(st.LRPs) != 3 || len(st.Tasks) != 1 || st.StartingContainerCount != 4 {
		t.Fatalf("state %+v", st)
	}
	if st.AvailableResources != (repmodels.Resources{MemoryMB: 1000 - 100 - 600 - 10 - 100, DiskMB: 4000 - 400, Containers: 6}) {
		t.Fatalf("available %+v", st.AvailableResources)
	}
	for _, l := range st.LRPs {
		if len(l.InstanceGUID) != 28 || l.State != "CLAIMED" || l.Domain != "cf-apps" || l.PlacementTags[0] != "tagA" {
			t.Fatalf("lrp %+v", l)
		}
		ctr, err := ex.GetContainer(l.InstanceGUID)
		if err != nil || ctr.Tags["lifecycle"] != "lrp" || ctr.Tags["process-guid"] != l.ProcessGuid || ctr.Tags["placement-tags"] != `["tagA"]` || ctr.Tags["volume-drivers"] != "null" {
			t.Fatalf("container %+v %v", ctr.Tags, err)
		}
	}
	if tk := st.Tasks[0]; tk.TaskGuid != "tg-1" || models.Task_State(tk.State) != models.Task_Running || tk.Failed {
		t.Fatalf("task %+v", tk)
	}
	// A task that completes shows as Completed, failed.
	if err := ex.StopContainer("tg-1"); err != nil {
		t.Fatal(err)
	}
	if tk := c.State().Tasks[0]; models.Task_State(tk.State) != models.Task_Completed || !tk.Failed {
		t.Fatalf("stopped task %+v", tk)
	}
}

func TestWorkForAnotherCellOrAnEvacuatingCell(t *testing.T) {
	c, _ := newCell(t, nil)
	if _, err := c.Perform(repmodels.Work{CellID: "cell-2", LRPs: []repmodels.LRP{lrp("pg", 0, 1, "preloaded:cflinuxfs4")}}); !errors.Is(err, rep.ErrCellIDMismatch) {
		t.Fatalf("other cell: %v", err)
	}
	c.SetEvacuating()
	work := repmodels.Work{LRPs: []repmodels.LRP{lrp("pg", 0, 1, "preloaded:cflinuxfs4")}, Tasks: []repmodels.Task{task("tg", 1, "preloaded:cflinuxfs4")}}
	failed, err := c.Perform(work)
	if err != nil || len(failed.LRPs) != 1 || len(failed.Tasks) != 1 {
		t.Fatalf("evacuating: %+v %v", failed, err)
	}
	if st := c.State(); !st.Evacuating || len(st.LRPs) != 0 {
		t.Fatalf("state %+v", st)
	}
}

func TestProxyMemoryIsReservedForLRPs(t *testing.T) {
	c, ex := newCell(t, func(cfg *rep.CellConfig) { cfg.EnableContainerProxy, cfg.ProxyMemoryAllocationMB = true, 32 })
	if _, err := c.Perform(repmodels.Work{LRPs: []repmodels.LRP{lrp("pg", 0, 100, "preloaded:cflinuxfs4"), lrp("pg0", 0, 0, "preloaded:cflinuxfs4")}}); err != nil {
		t.Fatal(err)
	}
	if got := ex.RemainingResources().MemoryMB; got != 1000-132 {
		t.Fatalf("remaining memory %d, want %d (proxy only on LRPs with memory)", got, 1000-132)
	}
	if st := c.State(); st.ProxyMemoryAllocationMB != 32 {
		t.Fatalf("%+v", st)
	}
}

// The auctioneer's own client talks to the handlers over TLS.
func TestTheAuctioneersClientTalksToTheHandlers(t *testing.T) {
	c, _ := newCell(t, nil)
	var unhealthy atomic.Bool
	srv := httptest.NewTLSServer(rep.AuctionHandler(c, func() bool { return !unhealthy.Load() }, lager.NewLogger("test")))
	t.Cleanup(srv.Close)
	client, err := repclient.NewAuctionClient(repclient.AuctionConfig{TLS: srv.Client().Transport.(*http.Transport).TLSClientConfig, StateTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	failed, err := client.Perform(ctx, srv.URL, &repmodels.Work{CellID: "cell-1", LRPs: []repmodels.LRP{lrp("pg", 0, 100, "preloaded:cflinuxfs4"), lrp("pg", 1, 100, "preloaded:nope")}})
	if err != nil || len(failed.LRPs) != 1 || failed.LRPs[0].Index != 1 {
		t.Fatalf("perform: %+v %v", failed, err)
	}
	st, err := client.State(ctx, srv.URL)
	if err != nil || st.CellID != "cell-1" || st.Zone != "z1" || len(st.LRPs) != 1 || st.RootFSProviders["docker"].Type != repmodels.ProviderArbitrary ||
		len(st.RootFSProviders["preloaded"].Set) != 1 {
		t.Fatalf("state %+v %v", st, err)
	}
	// Unhealthy: 503 with the state.
	unhealthy.Store(true)
	resp, err := srv.Client().Get(srv.URL + "/state")
	if err != nil {
		t.Fatal(err)
	}
	var body repmodels.CellState
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || err != nil || body.CellID != "cell-1" {
		t.Fatalf("unhealthy: %d %v %+v", resp.StatusCode, err, body)
	}
	// Bad JSON: 400; another cell's work: 500.
	for body, want := range map[string]int{"{": 400, `{"cell_id":"cell-9"}`: 500} {
		resp, err := srv.Client().Post(srv.URL+"/work", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", body, resp.StatusCode, want)
		}
	}
}
