package converger_test

import (
	"errors"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/bbs/converger"
	"github.com/diego-go/diego/internal/models"
)

func TestLRPPassCreatesAndAuctionsMissingInstances(t *testing.T) {
	f := newFx(t, converger.Config{})
	f.desire("p", "cf-apps", 3)
	f.desire("q", "not-fresh", 1)
	f.unclaimed("p", 1, "cf-apps") // new: not auctioned again yet
	sum := f.lrpPass()

	wantList(t, "auctions", f.newAuctions(), []string{"p:[0 2]", "q:[0]"})
	for _, s := range []string{f.slot("p", 0), f.slot("p", 2), f.slot("q", 0)} {
		if s != "ORDINARY:UNCLAIMED@" {
			t.Errorf("slot %s", s)
		}
	}
	wantList(t, "instance events", sorted(drain(f.instance)), []string{
		"created p/0 ORDINARY UNCLAIMED", "created p/2 ORDINARY UNCLAIMED", "created q/0 ORDINARY UNCLAIMED"})
	wantList(t, "group events", sorted(drain(f.group)), []string{
		"group-created p/0 ORDINARY UNCLAIMED", "group-created p/2 ORDINARY UNCLAIMED", "group-created q/0 ORDINARY UNCLAIMED"})
	if m := sum.Metrics; m.Missing != 3 || m.Unclaimed != 4 || m.Desired != 4 || sum.Applied != 3 || sum.Auctioned != 3 {
		t.Errorf("summary %+v", sum)
	}

	// Nothing left to do: the next pass writes nothing and asks nothing.
	sum = f.lrpPass()
	if sum.Writes != 0 || len(f.newAuctions()) != 0 || len(drain(f.instance)) != 0 {
		t.Errorf("second pass %+v", sum)
	}
}

func TestLRPPassRetiresExtrasOnlyInFreshDomains(t *testing.T) {
	f := newFx(t, converger.Config{})
	f.desire("fresh", "cf-apps", 1)
	f.desire("stale", "not-fresh", 1)
	for _, g := range []struct{ guid, domain string }{{"fresh", "cf-apps"}, {"stale", "not-fresh"}} {
		f.running(g.guid, 0, g.domain, "c1")
		f.running(g.guid, 1, g.domain, "c1") // extra, running
		f.unclaimed(g.guid, 2, g.domain)     // extra, unclaimed
	}
	f.running("orphan", 0, "cf-apps", "c2")
	f.running("stale-orphan", 0, "not-fresh", "c2")
	sum := f.lrpPass()

	var stops []string
	for _, c := range f.api.Reps.Calls() {
		stops = append(stops, c.Op+" "+c.Key.GetProcessGuid()+" "+c.RepURL)
	}
	wantList(t, "rep calls", sorted(stops), []string{
		"stop fresh https://c1.cell.service.cf.internal:1801", "stop orphan https://c2.cell.service.cf.internal:1801"})
	for slot, want := range map[string]string{
		f.slot("fresh", 1):        "ORDINARY:RUNNING@c1", // until its rep removes it
		f.slot("fresh", 2):        "",
		f.slot("stale", 1):        "ORDINARY:RUNNING@c1",
		f.slot("stale", 2):        "ORDINARY:UNCLAIMED@",
		f.slot("orphan", 0):       "ORDINARY:RUNNING@c2",
		f.slot("stale-orphan", 0): "ORDINARY:RUNNING@c2",
	} {
		if slot != want {
			t.Errorf("slot %q, want %q", slot, want)
		}
	}
	wantList(t, "instance events", sorted(drain(f.instance)), []string{
		"removed fresh/1 ORDINARY RUNNING", "removed fresh/2 ORDINARY UNCLAIMED", "removed orphan/0 ORDINARY RUNNING"})
	if sum.Metrics.Extra != 3 || sum.Retirements != 3 || len(f.newAuctions()) != 0 {
		t.Errorf("summary %+v", sum)
	}
}

func (f *fx) crash(guid string, index int32, cell string, times int) {
	f.t.Helper()
	for range times {
		if _, err := f.api.DB.ClaimActualLRP(f.ctx, guid, index, ik(guid, index, cell)); err != nil {
			f.t.Fatal(err)
		}
		if _, err := f.api.DB.CrashActualLRP(f.ctx, key(guid, index, "cf-apps"), ik(guid, index, cell), "boom"); err != nil {
			f.t.Fatal(err)
		}
	}
}

func TestLRPPassRestartsCrashedInstancesWhenDue(t *testing.T) {
	f := newFx(t, converger.Config{})
	f.desire("p", "cf-apps", 1)
	f.unclaimed("p", 0, "cf-apps")
	f.crash("p", 0, "c1", 3) // the third crash waits 30 s
	if s := f.slot("p", 0); s != "ORDINARY:CRASHED@" {
		t.Fatalf("slot %s", s)
	}
	f.clock.Increment(29 * time.Second)
	if sum := f.lrpPass(); sum.Writes != 0 || sum.Metrics.Crashed != 1 || sum.Metrics.CrashingDesired != 1 {
		t.Fatalf("restarted early: %+v", sum)
	}
	f.clock.Increment(time.Second)
	sum := f.lrpPass()
	if f.slot("p", 0) != "ORDINARY:UNCLAIMED@" || sum.Metrics.Crashed != 0 || sum.Metrics.Unclaimed != 1 {
		t.Fatalf("not restarted: %s %+v", f.slot("p", 0), sum)
	}
	wantList(t, "auctions", f.newAuctions(), []string{"p:[0]"})
	wantList(t, "instance events", drain(f.instance), []string{"created p/0 ORDINARY UNCLAIMED", "removed p/0 ORDINARY CRASHED"})
	wantList(t, "group events", drain(f.group), []string{"group-changed p/0 ORDINARY CRASHED -> p/0 ORDINARY UNCLAIMED"})
}

func TestLRPPassAuctionsStaleUnclaimedInstancesAgain(t *testing.T) {
	f := newFx(t, converger.Config{})
	f.desire("p", "cf-apps", 2)
	f.unclaimed("p", 0, "cf-apps")
	f.clock.Increment(20 * time.Second)
	f.unclaimed("p", 1, "cf-apps")
	f.clock.Increment(11 * time.Second)
	sum := f.lrpPass()
	wantList(t, "auctions", f.newAuctions(), []string{"p:[0]"})
	if len(drain(f.instance))+len(drain(f.group)) != 0 || sum.Writes != 0 {
		t.Error("re-auctioning a stale instance changed something")
	}
	f.clock.Increment(20 * time.Second)
	f.lrpPass()
	wantList(t, "auctions", f.newAuctions(), []string{"p:[0 1]"})
}

func TestEmptyCellListIsLiteralButFailedFetchSkips(t *testing.T) {
	f := newFx(t, converger.Config{})
	f.desire("p", "cf-apps", 1)
	f.running("p", 0, "cf-apps", "c1")
	if _, err := f.api.DB.EvacuateActualLRP(f.ctx, key("p", 0, "cf-apps"), evacuating("p", "c2")); err != nil {
		t.Fatal(err)
	}
	f.task("t", "c1")
	before := f.slot("p", 0)

	f.api.Cells.FailWith(errors.New("locket unreachable"))
	lrp, err := f.conv.RunLRPPass(f.ctx)
	if err == nil || !lrp.Skipped {
		t.Fatalf("LRP pass with a failed cell fetch: %+v %v", lrp, err)
	}
	tasks, err := f.conv.RunTaskPass(f.ctx)
	if err == nil || !tasks.Skipped {
		t.Fatalf("task pass with a failed cell fetch: %+v %v", tasks, err)
	}
	if f.slot("p", 0) != before || f.taskState("t") != models.Task_Running || len(drain(f.instance))+len(drain(f.tasks)) != 0 {
		t.Fatal("a skipped pass changed something")
	}

	f.api.Cells.FailWith(nil)
	f.api.Cells.Remove("c1")
	f.api.Cells.Remove("c2")
	f.lrpPass()
	if _, err := f.conv.RunTaskPass(f.ctx); err != nil {
		t.Fatal(err)
	}
	if s := f.slot("p", 0); s != "ORDINARY:UNCLAIMED@ SUSPECT:RUNNING@c1" {
		t.Errorf("with no cells: slot %s", s)
	}
	if f.taskState("t") != models.Task_Completed {
		t.Error("with no cells the running task is not failed")
	}
	wantList(t, "instance events", sorted(drain(f.instance)), []string{
		"changed p/0 ORDINARY RUNNING -> SUSPECT RUNNING", "created p/0 ORDINARY UNCLAIMED", "removed p/0 EVACUATING RUNNING"})
	wantList(t, "group events", drain(f.group), []string{"group-removed p/0 EVACUATING RUNNING"})
	wantList(t, "auctions", f.newAuctions(), []string{"p:[0]"})
}
