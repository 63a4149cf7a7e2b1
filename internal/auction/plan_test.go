package auction

import (
	"fmt"
	"testing"
)

func TestPlanWorkAndCommit(t *testing.T) {
	cells := []Cell{mkCell("c1", "z1", 100), mkCell("c2", "z2", 100), mkCell("c3", "z3", 1)}
	req := Request{
		LRPs:  []LRP{mkLRP("a", 0, 10), mkLRP("a", 1, 10), mkLRP("b", 1, 10)},
		Tasks: []Task{mkTask("t1", 5), mkTask("t2", 5)},
	}
	plan := Schedule(cells, req, DefaultOptions())
	var got []string
	for _, w := range plan.Work() {
		s := w.Cell + ":"
		for _, l := range w.LRPs {
			s += fmt.Sprintf(" %s.%d", l.ProcessGuid, l.Index)
		}
		for _, t := range w.Tasks {
			s += " " + t.TaskGuid
		}
		got = append(got, s)
	}
	// a.0 -> c1 (tie with c2, first cell); t1 -> c2 (c1 is starting one);
	// t2 -> c1 (c2 holds a task); a.1 -> c2 (zone z1 holds a.0; c3 is too
	// small); b.1 -> c1 (c1 and c2 are now identical).
	if want := "[c1: a.0 b.1 t2 c2: a.1 t1]"; fmt.Sprint(got) != want {
		t.Errorf("work: %v, want %s", got, want)
	}

	// A cell refuses part of its work: those items fail with an empty
	// error, as the reference reports them.
	var onC1 []LRPKey
	for _, l := range plan.PlacedLRPs {
		if l.Cell == "c1" {
			onC1 = append(onC1, l.Key())
		}
	}
	if len(onC1) == 0 {
		t.Fatalf("nothing on c1: %s", summary(plan))
	}
	placed := len(plan.PlacedLRPs) + len(plan.PlacedTasks)
	plan.Rejected("c1", onC1[:1], nil)
	if len(plan.FailedLRPs) != 1 || plan.FailedLRPs[0].Key() != onC1[0] || plan.FailedLRPs[0].Error != "" || plan.FailedLRPs[0].Cause != CauseRejected {
		t.Fatalf("rejected: %+v", plan.FailedLRPs)
	}
	plan.Rejected("c2", onC1, []string{"nope"}) // not on c2: ignored
	if len(plan.PlacedLRPs)+len(plan.PlacedTasks) != placed-1 {
		t.Fatalf("rejecting items of another cell changed the plan: %s", summary(plan))
	}

	// A /work call fails: everything of that cell becomes a failure with
	// a message instead of vanishing (quirk Q4, fixed).
	plan.CommitFailed("c2")
	for _, l := range plan.PlacedLRPs {
		if l.Cell == "c2" {
			t.Errorf("still placed on c2: %+v", l)
		}
	}
	for _, tk := range plan.PlacedTasks {
		if tk.Cell == "c2" {
			t.Errorf("still placed on c2: %+v", tk)
		}
	}
	n := 0
	for _, f := range plan.FailedLRPs {
		if f.Cause == CauseCommitFailed && f.Error == MsgCommitFailed {
			n++
		}
	}
	for _, f := range plan.FailedTasks {
		if f.Cause == CauseCommitFailed && f.Error == MsgCommitFailed {
			n++
		}
	}
	total := len(plan.PlacedLRPs) + len(plan.PlacedTasks) + len(plan.FailedLRPs) + len(plan.FailedTasks)
	if n == 0 || total != 5 {
		t.Errorf("commit failure: %d failed with the message, %d items in all: %s", n, total, summary(plan))
	}
	for _, w := range plan.Work() {
		if w.Cell == "c2" {
			t.Errorf("c2 still has work: %+v", w)
		}
	}
}

func TestScheduleLeavesInputsAlone(t *testing.T) {
	cells := []Cell{mkCell("c1", "z", 100, func(c *Cell) { c.Instances = map[string]int{"a": 1} })}
	req := Request{LRPs: []LRP{mkLRP("a", 1, 10), mkLRP("a", 0, 20)}, Tasks: []Task{mkTask("t", 1)}}
	before := fmt.Sprintf("%+v %+v", cells, req)
	Schedule(cells, req, DefaultOptions())
	if after := fmt.Sprintf("%+v %+v", cells, req); after != before {
		t.Errorf("inputs changed:\n%s\n%s", before, after)
	}
}

// TestOddInputs: nothing panics, whatever the numbers.
func TestOddInputs(t *testing.T) {
	odd := []int64{-1 << 62, -5, 0, 1, 1 << 62}
	for _, total := range odd {
		for _, avail := range odd {
			c := Cell{ID: "c", RootFSProviders: linux, Total: Resources{total, total, total}, Available: Resources{avail, avail, avail},
				ProxyMemoryMB: avail, StartingContainers: int(avail % (1 << 40)), Tasks: -3, Instances: map[string]int{"a": -2, "b": 1 << 40}}
			for _, mem := range odd {
				req := Request{
					LRPs:  []LRP{{ProcessGuid: "a", Index: -1, Constraint: Constraint{RootFs: "preloaded:linux"}, MemoryMB: mem, DiskMB: mem}, {ProcessGuid: "b", Index: 3, Constraint: Constraint{RootFs: "preloaded:linux"}, MemoryMB: mem}},
					Tasks: []Task{{TaskGuid: "t", Constraint: Constraint{RootFs: "preloaded:linux"}, MemoryMB: mem, DiskMB: mem}},
				}
				for _, w := range []float64{0.25, -1e300, 1e300} {
					plan := Schedule([]Cell{c, c}, req, Options{StartingContainerWeight: w, BinPackFirstFitWeight: w})
					if n := len(plan.PlacedLRPs) + len(plan.FailedLRPs) + len(plan.PlacedTasks) + len(plan.FailedTasks); n != 3 {
						t.Fatalf("%d outcomes for 3 items", n)
					}
				}
			}
		}
	}
}
