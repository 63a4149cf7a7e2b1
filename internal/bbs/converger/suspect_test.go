package converger_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/bbs/bbstest"
	"github.com/diego-go/diego/internal/bbs/converger"
	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/models"
	"github.com/tedsuo/ifrit"
)

func evacuating(guid, cell string) db.RunningInstance {
	return db.RunningInstance{InstanceKey: ik(guid, 0, cell), NetInfo: &models.ActualLRPNetInfo{Address: "10.0.0.2"}}
}

// TestSuspectFlow follows an instance whose cell leaves and comes back,
// then leaves again until its replacement runs (reference §4.5).
func TestSuspectFlow(t *testing.T) {
	f := newFx(t, converger.Config{})
	f.desire("p", "cf-apps", 1)
	f.running("p", 0, "cf-apps", "c1")
	step := func(name, wantSlot string, wantInstance, wantGroup, wantAuctions []string) converger.LRPPassSummary {
		t.Helper()
		sum := f.lrpPass()
		if s := f.slot("p", 0); s != wantSlot {
			t.Fatalf("%s: slot %s, want %s", name, s, wantSlot)
		}
		wantList(t, name+": instance events", sorted(drain(f.instance)), wantInstance)
		wantList(t, name+": group events", drain(f.group), wantGroup)
		wantList(t, name+": auctions", f.newAuctions(), wantAuctions)
		return sum
	}

	f.api.Cells.Remove("c1")
	sum := step("c1 vanishes", "ORDINARY:UNCLAIMED@ SUSPECT:RUNNING@c1",
		[]string{"changed p/0 ORDINARY RUNNING -> SUSPECT RUNNING", "created p/0 ORDINARY UNCLAIMED"}, nil, []string{"p:[0]"})
	if m := sum.Metrics; m.SuspectCells != 1 || m.PresentCells != 1 || m.SuspectRunning != 0 || m.Unclaimed != 1 || m.Running != 0 {
		t.Errorf("metrics when the cell vanished: %+v", m)
	}
	sum = step("still gone", "ORDINARY:UNCLAIMED@ SUSPECT:RUNNING@c1", nil, nil, nil)
	if sum.Metrics.SuspectRunning != 1 || sum.Metrics.SuspectCells != 1 {
		t.Errorf("suspect metrics: %+v", sum.Metrics)
	}

	f.api.Cells.Set(bbstest.Cell("c1", "z1"))
	step("c1 comes back", "ORDINARY:RUNNING@c1",
		[]string{"changed p/0 SUSPECT RUNNING -> ORDINARY RUNNING", "removed p/0 ORDINARY UNCLAIMED"},
		[]string{"group-removed p/0 ORDINARY UNCLAIMED"}, nil)

	f.api.Cells.Remove("c1")
	step("c1 vanishes again", "ORDINARY:UNCLAIMED@ SUSPECT:RUNNING@c1",
		[]string{"changed p/0 ORDINARY RUNNING -> SUSPECT RUNNING", "created p/0 ORDINARY UNCLAIMED"}, nil, []string{"p:[0]"})
	if _, err := f.api.DB.ClaimActualLRP(f.ctx, "p", 0, ik("p", 0, "c2")); err != nil {
		t.Fatal(err)
	}
	drain(f.instance)

	f.api.Cells.Remove("c2")
	step("the replacement's cell vanishes too", "ORDINARY:UNCLAIMED@ SUSPECT:RUNNING@c1",
		[]string{"created p/0 ORDINARY UNCLAIMED", "removed p/0 ORDINARY CLAIMED"}, nil, nil)

	// The replacement is placed on c3 and runs: its start drops the suspect.
	f.api.Cells.Set(bbstest.Cell("c3", "z1"))
	if err := f.api.Controllers.ClaimActualLRP(f.ctx, "p", 0, ik("p", 0, "c3")); err != nil {
		t.Fatal(err)
	}
	f.running("p", 0, "cf-apps", "c3")
	drain(f.instance)
	step("the replacement runs", "ORDINARY:RUNNING@c3", nil, nil, nil)
}

// TestLostCellIsReplacedBetweenPasses removes a cell while the converger
// runs with a one-hour interval: the cell watch alone replaces its
// instances. It logs how long that took.
func TestLostCellIsReplacedBetweenPasses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	api := bbstest.Start(t, bbstest.Options{})
	f := newFxOn(t, ctx, api, nil, converger.Config{RepeatInterval: time.Hour, CellPollInterval: time.Second})
	f.desire("p", "cf-apps", 3)
	f.running("p", 0, "cf-apps", "c1")
	f.running("p", 1, "cf-apps", "c2")
	f.running("p", 2, "cf-apps", "c1")
	process := ifrit.Invoke(f.conv)
	t.Cleanup(func() {
		process.Signal(os.Interrupt)
		if err := <-process.Wait(); err != nil {
			t.Error(err)
		}
	})

	removed := time.Now()
	f.api.Cells.Remove("c1")
	eventually(t, 5*time.Second, "replacements auctioned", func() bool {
		return len(f.api.Auctioneer.LRPRequests()) > 0
	})
	t.Logf("lost-cell reaction: instances of the vanished cell auctioned %s after it vanished (cell poll interval 1s, convergence interval 1h)",
		time.Since(removed).Round(time.Millisecond))
	wantList(t, "auctions", f.newAuctions(), []string{"p:[0 2]"})
	for _, i := range []int32{0, 2} {
		if s := f.slot("p", i); s != "ORDINARY:UNCLAIMED@ SUSPECT:RUNNING@c1" {
			t.Errorf("slot %d: %s", i, s)
		}
	}
	if s := f.slot("p", 1); s != "ORDINARY:RUNNING@c2" {
		t.Errorf("slot 1: %s", s)
	}
	if m := f.scrape(); !strings.Contains(m, "bbs_convergence_missing_cell_reactions_total 1") || !strings.Contains(m, "ConvergenceLRPRuns 0") {
		t.Errorf("metrics:\n%s", m)
	}
}
