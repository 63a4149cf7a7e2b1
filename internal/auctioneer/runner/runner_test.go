package runner_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/lager/v3/lagertest"
	"github.com/diego-go/diego/internal/auction"
	"github.com/diego-go/diego/internal/auctioneer/auctioneerclient"
	"github.com/diego-go/diego/internal/auctioneer/runner"
	"github.com/diego-go/diego/internal/auctioneer/simrep"
	"github.com/diego-go/diego/internal/bbs/cells"
	"github.com/diego-go/diego/internal/certs"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/rep/repclient"
	"github.com/diego-go/diego/internal/tlsconfig"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/tedsuo/ifrit"
)

// fakeBBS records the failures reported to it.
type fakeBBS struct {
	mu      sync.Mutex
	lrps    map[string]string // "guid.index" -> placement error
	tasks   map[string]string // guid -> rejection reason
	failErr error
}

func (f *fakeBBS) FailActualLRP(_ context.Context, key *models.ActualLRPKey, msg string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lrps == nil {
		f.lrps = map[string]string{}
	}
	f.lrps[key.GetProcessGuid()+"."+itoa(int(key.GetIndex()))] = msg
	return f.failErr
}

func (f *fakeBBS) RejectTask(_ context.Context, guid, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tasks == nil {
		f.tasks = map[string]string{}
	}
	f.tasks[guid] = reason
	return f.failErr
}

func (f *fakeBBS) failed() (map[string]string, map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return clone(f.lrps), clone(f.tasks)
}

func clone(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func itoa(i int) string {
	return string(rune('0'+i/10)) + string(rune('0'+i%10))
}

// fixture is a runner with simulated reps behind mutual TLS.
type fixture struct {
	t      *testing.T
	reps   map[string]*simrep.Rep
	cells  *cells.Static
	bbs    *fakeBBS
	batch  *runner.Batch
	runner *runner.Runner
	reg    *prometheus.Registry
	pki    struct{ server, client certs.Paths }
}

func newFixture(t *testing.T, cellIDs ...string) *fixture {
	t.Helper()
	f := &fixture{t: t, reps: map[string]*simrep.Rep{}, cells: cells.NewStatic(), bbs: &fakeBBS{}, batch: runner.NewBatch(), reg: prometheus.NewRegistry()}
	dir := t.TempDir()
	ca, err := certs.NewAuthority("runner test CA")
	if err != nil {
		t.Fatal(err)
	}
	if f.pki.server, err = ca.WriteLeaf(dir, "rep", certs.LocalNames("rep")); err != nil {
		t.Fatal(err)
	}
	if f.pki.client, err = ca.WriteLeaf(dir, "auctioneer", certs.LocalNames("auctioneer")); err != nil {
		t.Fatal(err)
	}
	for i, id := range cellIDs {
		f.addRep(simrep.Config{CellID: id, CellIndex: i, Zone: "z1"})
	}
	reps, err := repclient.NewAuctionClient(repclient.AuctionConfig{
		CAFile: f.pki.client.CAFile, CertFile: f.pki.client.CertFile, KeyFile: f.pki.client.KeyFile,
		StateTimeout: 5 * time.Second, WorkTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reps.CloseIdleConnections)
	f.runner, err = runner.New(runner.Config{
		Logger: lagertest.NewTestLogger("auctioneer"), Batch: f.batch, Cells: f.cells, Reps: reps, BBS: f.bbs,
		Metrics: runner.NewMetrics(f.reg), Options: auction.DefaultOptions(), Workers: 8,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) addRep(cfg simrep.Config) *simrep.Rep {
	f.t.Helper()
	tc, err := tlsconfig.Server(tlsconfig.Files{CAFile: f.pki.server.CAFile, CertFile: f.pki.server.CertFile, KeyFile: f.pki.server.KeyFile})
	if err != nil {
		f.t.Fatal(err)
	}
	cfg.TLS = tc
	if cfg.Total.MemoryMB == 0 {
		cfg.Total.MemoryMB, cfg.Total.DiskMB, cfg.Total.Containers = 4096, 16384, 100
	}
	rep, err := simrep.Start(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { rep.Close() })
	f.reps[cfg.CellID] = rep
	f.cells.Set(rep.Presence())
	return rep
}

func (f *fixture) round() {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.runner.Round(ctx, "trace-1"); err != nil {
		f.t.Fatal(err)
	}
}

func lrpStart(guid string, memory int32, indices ...int) auctioneerclient.LRPStartRequest {
	return auctioneerclient.LRPStartRequest{
		ProcessGuid: guid, Domain: "cf-apps", Indices: indices,
		PlacementConstraint: auctioneerclient.PlacementConstraint{RootFs: "preloaded:cflinuxfs4"},
		Resource:            auctioneerclient.Resource{MemoryMB: memory, DiskMB: 128},
	}
}

func taskStart(guid string, memory int32, rootfs string) auctioneerclient.TaskStartRequest {
	return auctioneerclient.TaskStartRequest{Task: auctioneerclient.Task{
		TaskGuid: guid, Domain: "cf-tasks",
		PlacementConstraint: auctioneerclient.PlacementConstraint{RootFs: rootfs},
		Resource:            auctioneerclient.Resource{MemoryMB: memory, DiskMB: 128},
	}}
}

// placed lists "guid.index@cell" and "task@cell" for everything the reps
// hold, sorted.
func (f *fixture) placed() []string {
	var out []string
	for id, rep := range f.reps {
		for _, l := range rep.LRPs() {
			out = append(out, l.ProcessGuid+"."+itoa(int(l.Index))+"@"+id)
		}
		for _, t := range rep.Tasks() {
			out = append(out, t.TaskGuid+"@"+id)
		}
	}
	sort.Strings(out)
	return out
}

func TestRoundSpreadsInstancesAndKeepsFirstDuplicate(t *testing.T) {
	f := newFixture(t, "cell-a", "cell-b", "cell-c")
	f.batch.AddLRPStarts([]auctioneerclient.LRPStartRequest{lrpStart("app", 256, 0, 1, 2, 3, 4, 5)}, "t")
	// Duplicates, even with other resources, are dropped: first wins.
	f.batch.AddLRPStarts([]auctioneerclient.LRPStartRequest{lrpStart("app", 999, 0, 5)}, "t")
	f.batch.AddTasks([]auctioneerclient.TaskStartRequest{taskStart("task-1", 64, "docker:///busybox"), taskStart("task-1", 999, "docker:///x")}, "t")
	f.round()

	got := f.placed()
	if len(got) != 7 {
		t.Fatalf("placed %v, want 6 instances and 1 task", got)
	}
	perCell := map[string]int{}
	for id, rep := range f.reps {
		for _, l := range rep.LRPs() {
			perCell[id]++
			if l.MemoryMB != 256 {
				t.Errorf("%s.%d placed with %d MB: a later duplicate won", l.ProcessGuid, l.Index, l.MemoryMB)
			}
		}
		for _, w := range rep.Received() {
			if w.CellID != id {
				t.Errorf("work for %s carries cell_id %q", id, w.CellID)
			}
		}
		if ts := rep.Tasks(); len(ts) == 1 && ts[0].MemoryMB != 64 {
			t.Errorf("task placed with %d MB: a later duplicate won", ts[0].MemoryMB)
		}
	}
	for id, n := range perCell {
		if n != 2 {
			t.Errorf("%s holds %d instances of the app, want 2 (spread): %v", id, n, got)
		}
	}
	if l, tk := f.bbs.failed(); len(l)+len(tk) != 0 {
		t.Errorf("failures reported: %v %v", l, tk)
	}
	if f.batch.Len() != 0 {
		t.Errorf("batch holds %d after the round", f.batch.Len())
	}
}

func TestPlacementFailuresGoToTheBBS(t *testing.T) {
	f := newFixture(t, "cell-a", "cell-b")
	f.batch.AddLRPStarts([]auctioneerclient.LRPStartRequest{lrpStart("huge", 8192, 0), lrpStart("ok", 128, 0)}, "t")
	f.batch.AddTasks([]auctioneerclient.TaskStartRequest{taskStart("t-rootfs", 64, "preloaded:windows2016")}, "t")
	f.round()

	lrps, tasks := f.bbs.failed()
	if want := map[string]string{"huge.00": "insufficient resources: memory"}; !equal(lrps, want) {
		t.Errorf("failed LRPs %v, want %v", lrps, want)
	}
	if want := map[string]string{"t-rootfs": auction.MsgRootFSMismatch}; !equal(tasks, want) {
		t.Errorf("rejected tasks %v, want %v", tasks, want)
	}
	if got := f.placed(); len(got) != 1 || got[0][:5] != "ok.00" {
		t.Errorf("placed %v", got)
	}
}

func TestRefusedWorkIsRetriedNextRound(t *testing.T) {
	f := newFixture(t, "cell-a", "cell-b")
	f.reps["cell-a"].RefuseNext(1)
	f.reps["cell-b"].RefuseNext(1)
	f.batch.AddLRPStarts([]auctioneerclient.LRPStartRequest{lrpStart("app", 256, 0, 1)}, "t")
	f.batch.AddTasks([]auctioneerclient.TaskStartRequest{taskStart("task-1", 64, "docker:///busybox")}, "t")
	f.round()
	if got := f.placed(); len(got) != 0 {
		t.Fatalf("placed %v although every cell refused", got)
	}
	if f.batch.Len() != 3 {
		t.Fatalf("batch holds %d, want the 3 refused items back", f.batch.Len())
	}
	select {
	case <-f.batch.Wake():
	default:
		t.Fatal("requeued work did not wake the runner")
	}
	f.round()
	if got := f.placed(); len(got) != 3 {
		t.Fatalf("placed %v after the retry, want all 3", got)
	}
	if l, tk := f.bbs.failed(); len(l)+len(tk) != 0 {
		t.Errorf("failures reported: %v %v", l, tk)
	}
}

func TestWorkRefusedEveryRoundIsReported(t *testing.T) {
	f := newFixture(t, "cell-a")
	f.reps["cell-a"].RefuseNext(1000)
	f.batch.AddLRPStarts([]auctioneerclient.LRPStartRequest{lrpStart("app", 256, 0)}, "t")
	f.batch.AddTasks([]auctioneerclient.TaskStartRequest{taskStart("task-1", 64, "docker:///busybox")}, "t")
	for i := 0; i < runner.DefaultMaxAttempts; i++ {
		if l, tk := f.bbs.failed(); len(l)+len(tk) != 0 {
			t.Fatalf("reported before attempt %d: %v %v", i+1, l, tk)
		}
		f.round()
	}
	lrps, tasks := f.bbs.failed()
	if !equal(lrps, map[string]string{"app.00": runner.MsgRejectedByCell}) || !equal(tasks, map[string]string{"task-1": runner.MsgRejectedByCell}) {
		t.Fatalf("reported %v %v", lrps, tasks)
	}
	if f.batch.Len() != 0 {
		t.Errorf("batch holds %d after the last attempt", f.batch.Len())
	}
	_, work := f.reps["cell-a"].Calls()
	if work != runner.DefaultMaxAttempts {
		t.Errorf("%d /work calls, want %d", work, runner.DefaultMaxAttempts)
	}
}

func TestFailedWorkCallMovesTheWorkToAnotherCell(t *testing.T) {
	f := newFixture(t, "cell-a", "cell-b")
	f.reps["cell-a"].FailWork(http.StatusInternalServerError)
	f.batch.AddLRPStarts([]auctioneerclient.LRPStartRequest{lrpStart("app", 256, 0)}, "t")
	f.batch.AddTasks([]auctioneerclient.TaskStartRequest{taskStart("task-1", 64, "docker:///busybox")}, "t")
	f.round() // ties go to cell-a, whose /work fails
	if _, work := f.reps["cell-a"].Calls(); work != 1 {
		t.Fatalf("cell-a got %d /work calls, want 1", work)
	}
	f.round() // cell-a sits this round out
	got := f.placed()
	if want := []string{"app.00@cell-b", "task-1@cell-b"}; !slices.Equal(got, want) {
		t.Fatalf("placed %v, want %v", got, want)
	}
	if l, tk := f.bbs.failed(); len(l)+len(tk) != 0 {
		t.Errorf("failures reported: %v %v", l, tk)
	}
}

func TestFailedWorkCallsEndInAFailedLRPAndAPendingTask(t *testing.T) {
	f := newFixture(t, "cell-a")
	f.reps["cell-a"].FailWork(http.StatusInternalServerError)
	f.batch.AddLRPStarts([]auctioneerclient.LRPStartRequest{lrpStart("app", 256, 0)}, "t")
	f.batch.AddTasks([]auctioneerclient.TaskStartRequest{taskStart("task-1", 64, "docker:///busybox")}, "t")
	for i := 0; i < runner.DefaultMaxAttempts; i++ {
		f.round()
	}
	lrps, tasks := f.bbs.failed()
	if !equal(lrps, map[string]string{"app.00": auction.MsgCommitFailed}) {
		t.Errorf("failed LRPs %v", lrps)
	}
	// The cell may have started the task: it is left pending in the BBS.
	if len(tasks) != 0 {
		t.Errorf("rejected tasks %v, want none", tasks)
	}
	if f.batch.Len() != 0 {
		t.Errorf("batch holds %d", f.batch.Len())
	}
}

func TestCellsLeftOutOfTheRound(t *testing.T) {
	f := newFixture(t, "cell-a", "cell-b", "cell-c", "cell-good")
	f.reps["cell-a"].FailState(http.StatusServiceUnavailable)
	f.reps["cell-b"].SetEvacuating(true)
	// A presence pointing at another cell's rep.
	wrong := f.reps["cell-c"].Presence()
	wrong.CellId = "cell-0"
	f.cells.Set(wrong)
	f.cells.Remove("cell-c")
	// A presence whose rep_url is not https.
	plain := f.reps["cell-good"].Presence()
	plain.CellId, plain.RepUrl = "cell-plain", "http://127.0.0.1:1"
	f.cells.Set(plain)

	f.batch.AddLRPStarts([]auctioneerclient.LRPStartRequest{lrpStart("app", 64, 0, 1, 2, 3)}, "t")
	f.round()
	got := f.placed()
	if want := []string{"app.00@cell-good", "app.01@cell-good", "app.02@cell-good", "app.03@cell-good"}; !slices.Equal(got, want) {
		t.Fatalf("placed %v, want everything on the one good cell", got)
	}
	if n := counter(t, f.reg, "AuctioneerFailedCellStateRequests"); n != 1 {
		t.Errorf("AuctioneerFailedCellStateRequests = %v, want 1", n)
	}
	if n := counter(t, f.reg, "AuctioneerLRPAuctionsStarted"); n != 4 {
		t.Errorf("AuctioneerLRPAuctionsStarted = %v, want 4", n)
	}
}

func TestNoCellAnswering(t *testing.T) {
	f := newFixture(t, "cell-a")
	f.reps["cell-a"].FailState(http.StatusInternalServerError)
	f.batch.AddLRPStarts([]auctioneerclient.LRPStartRequest{lrpStart("app", 64, 0)}, "t")
	f.batch.AddTasks([]auctioneerclient.TaskStartRequest{taskStart("task-1", 64, "docker:///busybox")}, "t")
	f.round()
	lrps, tasks := f.bbs.failed()
	if !equal(lrps, map[string]string{"app.00": auction.MsgCellCommunication}) || !equal(tasks, map[string]string{"task-1": auction.MsgCellCommunication}) {
		t.Errorf("reported %v %v", lrps, tasks)
	}
	if state, _ := f.reps["cell-a"].Calls(); state != 4 {
		t.Errorf("%d /state calls, want 4 attempts", state)
	}
}

func TestCellsUnavailableKeepsTheBatch(t *testing.T) {
	f := newFixture(t, "cell-a")
	f.cells.FailWith(errors.New("locket down"))
	f.batch.AddLRPStarts([]auctioneerclient.LRPStartRequest{lrpStart("app", 64, 0)}, "t")
	if err := f.runner.Round(context.Background(), "t"); err == nil {
		t.Fatal("round succeeded without cells")
	}
	if f.batch.Len() != 1 {
		t.Fatalf("batch holds %d, want the work kept", f.batch.Len())
	}
	f.cells.FailWith(nil)
	f.round()
	if got := f.placed(); len(got) != 1 {
		t.Fatalf("placed %v", got)
	}
}

func TestRunPlacesWorkAsItArrives(t *testing.T) {
	f := newFixture(t, "cell-a", "cell-b")
	proc := ifrit.Background(f.runner)
	defer func() {
		proc.Signal(os.Interrupt)
		select {
		case err := <-proc.Wait():
			if err != nil {
				t.Error(err)
			}
		case <-time.After(10 * time.Second):
			t.Error("runner did not stop")
		}
	}()
	for i := 0; i < 5; i++ {
		f.batch.AddLRPStarts([]auctioneerclient.LRPStartRequest{lrpStart("app-"+itoa(i), 64, 0, 1)}, "t")
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(f.placed()) < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("placed %v within the deadline", f.placed())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
