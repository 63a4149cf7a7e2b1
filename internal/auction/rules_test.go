package auction

import (
	"fmt"
	"math"
	"testing"
)

var linux = map[string]RootFSProvider{"preloaded": {Kind: ProviderFixedSet, Set: []string{"linux"}}}

// mkCell is an empty cell of mem MB, 100 GB disk and 100 containers.
func mkCell(id, zone string, mem int64, edit ...func(*Cell)) Cell {
	total := Resources{MemoryMB: mem, DiskMB: 100000, Containers: 100}
	c := Cell{ID: id, Zone: zone, RootFSProviders: linux, Total: total, Available: total}
	for _, e := range edit {
		e(&c)
	}
	return c
}

func mkLRP(guid string, index int, mem int64) LRP {
	return LRP{ProcessGuid: guid, Index: index, Domain: "d", Constraint: Constraint{RootFs: "preloaded:linux"}, MemoryMB: mem, DiskMB: 1}
}

func mkTask(guid string, mem int64) Task {
	return Task{TaskGuid: guid, Domain: "d", Constraint: Constraint{RootFs: "preloaded:linux"}, MemoryMB: mem, DiskMB: 1}
}

// outcome is "cell" or "!error" per item, LRPs as guid.index, tasks by guid.
func outcome(p *Plan) map[string]string {
	out := map[string]string{}
	for _, l := range p.PlacedLRPs {
		out[fmt.Sprintf("%s.%d", l.ProcessGuid, l.Index)] = l.Cell
	}
	for _, l := range p.FailedLRPs {
		out[fmt.Sprintf("%s.%d", l.ProcessGuid, l.Index)] = "!" + l.Error
	}
	for _, t := range p.PlacedTasks {
		out[t.TaskGuid] = t.Cell
	}
	for _, t := range p.FailedTasks {
		out[t.TaskGuid] = "!" + t.Error
	}
	return out
}

type ruleCase struct {
	name  string
	cells []Cell
	req   Request
	opts  *Options
	want  map[string]string
}

func runCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := DefaultOptions()
			if tc.opts != nil {
				opts = *tc.opts
			}
			got := outcome(Schedule(tc.cells, tc.req, opts))
			for k, want := range tc.want {
				if got[k] != want {
					t.Errorf("%s: got %q, want %q (all: %v)", k, got[k], want, got)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("got %d outcomes, want %d: %v", len(got), len(tc.want), got)
			}
			// The simple scheduler agrees on every case.
			if want := outcome(simpleSchedule(tc.cells, tc.req, opts)); fmt.Sprint(want) != fmt.Sprint(got) {
				t.Errorf("simple scheduler disagrees: %v", want)
			}
		})
	}
}

func TestOrderOfWork(t *testing.T) {
	one := []Cell{mkCell("c1", "z", 50)}
	runCases(t, []ruleCase{
		{name: "only index 0: tasks go first (quirk Q1, kept)", cells: one,
			req:  Request{LRPs: []LRP{mkLRP("app", 0, 40)}, Tasks: []Task{mkTask("t", 40)}},
			want: map[string]string{"t": "c1", "app.0": "!insufficient resources: memory"}},
		{name: "an index 1 in the batch puts index 0 before tasks", cells: one,
			req:  Request{LRPs: []LRP{mkLRP("app", 1, 40), mkLRP("app", 0, 40)}, Tasks: []Task{mkTask("t", 40)}},
			want: map[string]string{"app.0": "c1", "t": "!insufficient resources: memory", "app.1": "!insufficient resources: memory"}},
		{name: "boulders before pebbles within an index", cells: one,
			req:  Request{LRPs: []LRP{mkLRP("small", 0, 20), mkLRP("big", 0, 40), mkLRP("x", 1, 1)}},
			want: map[string]string{"big.0": "c1", "small.0": "!insufficient resources: memory", "x.1": "c1"}},
		{name: "duplicates: the first occurrence wins", cells: one,
			req: Request{LRPs: []LRP{mkLRP("app", 0, 10), mkLRP("app", 0, 45)},
				Tasks: []Task{mkTask("t", 10), mkTask("t", 45)}},
			want: map[string]string{"app.0": "c1", "t": "c1"}},
	})
}

func TestCompatibility(t *testing.T) {
	withTags := func(req []string, opt ...string) func(*Cell) {
		return func(c *Cell) { c.PlacementTags, c.OptionalPlacementTags = req, opt }
	}
	lrp := func(rootfs string, tags, drivers []string) Request {
		l := mkLRP("app", 0, 1)
		l.Constraint = Constraint{RootFs: rootfs, PlacementTags: tags, VolumeDrivers: drivers}
		return Request{LRPs: []LRP{l}}
	}
	docker := func(c *Cell) {
		c.RootFSProviders = map[string]RootFSProvider{"docker": {Kind: ProviderArbitrary}, "preloaded": linux["preloaded"]}
	}
	nfs := func(c *Cell) { c.VolumeDrivers = []string{"nfs"} }
	plain := []Cell{mkCell("c1", "z1", 100)}
	runCases(t, []ruleCase{
		{name: "fixed set stack", cells: plain, req: lrp("preloaded:linux", nil, nil), want: map[string]string{"app.0": "c1"}},
		{name: "query ignored", cells: plain, req: lrp("preloaded:linux?layer=x", nil, nil), want: map[string]string{"app.0": "c1"}},
		{name: "scheme is case-insensitive", cells: plain, req: lrp("PRELOADED:linux", nil, nil), want: map[string]string{"app.0": "c1"}},
		{name: "stack not in the set", cells: plain, req: lrp("preloaded:windows", nil, nil), want: map[string]string{"app.0": "!" + MsgRootFSMismatch}},
		{name: "unknown scheme", cells: plain, req: lrp("docker:///cf/app", nil, nil), want: map[string]string{"app.0": "!" + MsgRootFSMismatch}},
		{name: "unparsable rootfs", cells: plain, req: lrp("%zz", nil, nil), want: map[string]string{"app.0": "!" + MsgRootFSMismatch}},
		{name: "arbitrary provider", cells: []Cell{mkCell("c1", "z", 100, docker)}, req: lrp("docker:///cf/app", nil, nil), want: map[string]string{"app.0": "c1"}},
		{name: "provider of unknown type matches nothing",
			cells: []Cell{mkCell("c1", "z", 100, func(c *Cell) { c.RootFSProviders = map[string]RootFSProvider{"docker": {}} })},
			req:   lrp("docker:///cf/app", nil, nil), want: map[string]string{"app.0": "!" + MsgRootFSMismatch}},
		{name: "driver missing", cells: plain, req: lrp("preloaded:linux", nil, []string{"nfs"}), want: map[string]string{"app.0": "!" + MsgVolumeDriverMismatch}},
		{name: "driver present", cells: []Cell{mkCell("c1", "z", 100, nfs)}, req: lrp("preloaded:linux", nil, []string{"nfs"}), want: map[string]string{"app.0": "c1"}},
		{name: "untagged work avoids cells with required tags", cells: []Cell{mkCell("c1", "z", 100, withTags([]string{"a"}))},
			req: lrp("preloaded:linux", nil, nil), want: map[string]string{"app.0": "!found no compatible cell with no placement tags"}},
		{name: "required tag requested", cells: []Cell{mkCell("c1", "z", 100, withTags([]string{"a"}))},
			req: lrp("preloaded:linux", []string{"a"}, nil), want: map[string]string{"app.0": "c1"}},
		{name: "required plus optional", cells: []Cell{mkCell("c1", "z", 100, withTags([]string{"a"}, "o"))},
			req: lrp("preloaded:linux", []string{"a", "o"}, nil), want: map[string]string{"app.0": "c1"}},
		{name: "optional alone", cells: []Cell{mkCell("c1", "z", 100, func(c *Cell) { c.OptionalPlacementTags = []string{"o"} })},
			req: lrp("preloaded:linux", []string{"o"}, nil), want: map[string]string{"app.0": "c1"}},
		{name: "one tag not offered", cells: plain,
			req: lrp("preloaded:linux", []string{"b"}, nil), want: map[string]string{"app.0": `!found no compatible cell with placement tag "b"`}},
		{name: "two tags", cells: plain,
			req: lrp("preloaded:linux", []string{"a", "b"}, nil), want: map[string]string{"app.0": `!found no compatible cell with placement tags "a" and "b"`}},
		{name: "three tags, in the request's order", cells: plain,
			req: lrp("preloaded:linux", []string{"c", "a", "b"}, nil), want: map[string]string{"app.0": `!found no compatible cell with placement tags "c", "a" and "b"`}},
		{name: "furthest stage over zones: tags beat rootfs (quirk Q2)",
			cells: []Cell{mkCell("c1", "z1", 100, withTags([]string{"a"})), mkCell("c2", "z2", 100, func(c *Cell) { c.RootFSProviders = nil })},
			req:   lrp("preloaded:linux", nil, nil), want: map[string]string{"app.0": "!found no compatible cell with no placement tags"}},
		{name: "furthest stage over zones: drivers beat rootfs",
			cells: []Cell{mkCell("c1", "z1", 100, func(c *Cell) { c.RootFSProviders = nil }), mkCell("c2", "z2", 100)},
			req:   lrp("preloaded:linux", nil, []string{"nfs"}), want: map[string]string{"app.0": "!" + MsgVolumeDriverMismatch}},
		{name: "furthest stage within a zone",
			cells: []Cell{mkCell("c1", "z1", 100, withTags([]string{"a"})), mkCell("c2", "z1", 100, func(c *Cell) { c.RootFSProviders = nil })},
			req:   lrp("preloaded:linux", nil, nil), want: map[string]string{"app.0": "!found no compatible cell with no placement tags"}},
	})
}

func TestResourceFit(t *testing.T) {
	avail := func(mem, disk, ctrs int64) func(*Cell) {
		return func(c *Cell) { c.Available = Resources{MemoryMB: mem, DiskMB: disk, Containers: ctrs} }
	}
	proxy := func(mb int64) func(*Cell) { return func(c *Cell) { c.ProxyMemoryMB = mb } }
	big := func(mem, disk int64) Request {
		l := mkLRP("app", 0, mem)
		l.DiskMB = disk
		return Request{LRPs: []LRP{l}}
	}
	runCases(t, []ruleCase{
		{name: "exact fit", cells: []Cell{mkCell("c1", "z", 100, avail(10, 10, 1))}, req: big(10, 10), want: map[string]string{"app.0": "c1"}},
		{name: "memory", cells: []Cell{mkCell("c1", "z", 100, avail(9, 10, 1))}, req: big(10, 10), want: map[string]string{"app.0": "!insufficient resources: memory"}},
		{name: "all three, sorted", cells: []Cell{mkCell("c1", "z", 100, avail(9, 9, 0))}, req: big(10, 10),
			want: map[string]string{"app.0": "!insufficient resources: containers, disk, memory"}},
		{name: "intersection over cells", cells: []Cell{mkCell("c1", "z1", 100, avail(9, 9, 1)), mkCell("c2", "z2", 100, avail(9, 10, 0))},
			req: big(10, 10), want: map[string]string{"app.0": "!insufficient resources: memory"}},
		{name: "empty intersection", cells: []Cell{mkCell("c1", "z1", 100, avail(9, 10, 1)), mkCell("c2", "z2", 100, avail(10, 9, 1))},
			req: big(10, 10), want: map[string]string{"app.0": "!insufficient resources"}},
		{name: "incompatible cells do not count", cells: []Cell{mkCell("c1", "z1", 100, avail(9, 10, 1)), mkCell("c2", "z1", 100, avail(0, 0, 0), func(c *Cell) { c.RootFSProviders = nil })},
			req: big(10, 10), want: map[string]string{"app.0": "!insufficient resources: memory"}},
		{name: "proxy memory counts for an LRP", cells: []Cell{mkCell("c1", "z", 100, avail(10, 10, 1), proxy(1))}, req: big(10, 10),
			want: map[string]string{"app.0": "!insufficient resources: memory"}},
		{name: "but not for a task", cells: []Cell{mkCell("c1", "z", 100, avail(10, 10, 1), proxy(1))},
			req:  Request{Tasks: []Task{{TaskGuid: "t", Constraint: Constraint{RootFs: "preloaded:linux"}, MemoryMB: 10, DiskMB: 10}}},
			want: map[string]string{"t": "c1"}},
		{name: "proxy reserved within the round (quirk Q3, fixed)", cells: []Cell{mkCell("c1", "z", 100, proxy(20))},
			req:  Request{LRPs: []LRP{mkLRP("a", 0, 40), mkLRP("b", 0, 40)}},
			want: map[string]string{"a.0": "c1", "b.0": "!insufficient resources: memory"}},
		{name: "reservations accumulate", cells: []Cell{mkCell("c1", "z", 100, avail(100, 100000, 2))},
			req:  Request{LRPs: []LRP{mkLRP("a", 0, 10), mkLRP("b", 0, 10), mkLRP("c", 0, 10)}},
			want: map[string]string{"a.0": "c1", "b.0": "c1", "c.0": "!insufficient resources: containers"}},
		{name: "zero total disk scores NaN and never wins", cells: []Cell{mkCell("c1", "z", 100, func(c *Cell) { c.Total.DiskMB, c.Available.DiskMB = 0, 1 })},
			req: big(1, 1), want: map[string]string{"app.0": "!insufficient resources: containers, disk, memory"}},
	})
}

func TestScore(t *testing.T) {
	// §2.10: A (0.7867) beats B (1000.59).
	gb := int64(1024)
	a := Cell{ID: "A", Zone: "z", RootFSProviders: linux, Total: Resources{10 * gb, 20 * gb, 100}, Available: Resources{6 * gb, 16 * gb, 90}, StartingContainers: 2}
	b := Cell{ID: "B", Zone: "z", RootFSProviders: linux, Total: Resources{10 * gb, 20 * gb, 100}, Available: Resources{3 * gb, 10 * gb, 60}, Instances: map[string]int{"X": 1}}
	rd := newRound([]Cell{a, b}, DefaultOptions(), &Plan{})
	if s := lrpScore(&rd.cells[0], gb, gb, 0.25, 0); math.Abs(s-0.78667) > 1e-4 {
		t.Errorf("score A = %v, want 0.7867", s)
	}
	if s := lrpScore(&rd.cells[1], gb, gb, 0.25, 1); math.Abs(s-1000.58667) > 1e-4 {
		t.Errorf("score B = %v, want 1000.59", s)
	}
	x := mkLRP("X", 1, gb)
	x.DiskMB = gb
	starting := func(n int) func(*Cell) { return func(c *Cell) { c.StartingContainers = n } }
	used := func(mem int64) func(*Cell) { return func(c *Cell) { c.Available.MemoryMB -= mem } }
	hosts := func(c *Cell) { c.Instances = map[string]int{"app": 1} }
	ws5 := Options{StartingContainerWeight: 5}
	runCases(t, []ruleCase{
		{name: "worked example", cells: []Cell{a, b}, req: Request{LRPs: []LRP{x}}, want: map[string]string{"X.1": "A"}},
		{name: "less used wins", cells: []Cell{mkCell("c1", "z", 100, used(50)), mkCell("c2", "z", 100, used(10))},
			req: Request{LRPs: []LRP{mkLRP("app", 0, 1)}}, want: map[string]string{"app.0": "c2"}},
		{name: "starting containers repel", cells: []Cell{mkCell("c1", "z", 100, starting(1)), mkCell("c2", "z", 100, used(50))},
			req: Request{LRPs: []LRP{mkLRP("app", 0, 1)}}, want: map[string]string{"app.0": "c2"}},
		{name: "same app repels more than any load", cells: []Cell{mkCell("c1", "z", 100, hosts), mkCell("c2", "z", 100, used(99), starting(3))},
			req: Request{LRPs: []LRP{mkLRP("app", 1, 1)}}, want: map[string]string{"app.1": "c2"}},
		{name: "unless starting containers weigh more", cells: []Cell{mkCell("c1", "z", 100, hosts), mkCell("c2", "z", 100, starting(300))},
			opts: &ws5, req: Request{LRPs: []LRP{mkLRP("app", 1, 1)}}, want: map[string]string{"app.1": "c1"}},
		{name: "a tie goes to the first cell", cells: []Cell{mkCell("c2", "z", 100), mkCell("c1", "z", 100)},
			req: Request{LRPs: []LRP{mkLRP("app", 0, 1)}}, want: map[string]string{"app.0": "c2"}},
		{name: "tasks repel tasks of any guid", cells: []Cell{mkCell("c1", "z", 100, func(c *Cell) { c.Tasks = 1 }), mkCell("c2", "z", 100, used(99))},
			req: Request{Tasks: []Task{mkTask("t", 1)}}, want: map[string]string{"t": "c2"}},
		{name: "tasks ignore LRP locality", cells: []Cell{mkCell("c1", "z", 100, hosts), mkCell("c2", "z", 100, used(10))},
			req: Request{Tasks: []Task{mkTask("app", 1)}}, want: map[string]string{"app": "c1"}},
		{name: "bin-pack favours the lowest cell_index in the zone",
			cells: []Cell{mkCell("c1", "z", 100, func(c *Cell) { c.CellIndex = 7 }), mkCell("c2", "z", 100, used(20), func(c *Cell) { c.CellIndex = 3 })},
			opts:  &Options{StartingContainerWeight: 0.25, BinPackFirstFitWeight: 0.5},
			req:   Request{LRPs: []LRP{mkLRP("app", 0, 1)}}, want: map[string]string{"app.0": "c2"}},
	})
}

// TestRoundingNearTie: two cells whose approximate pool keys order them
// one way while the reference's formula ties them exactly; the tie goes to
// the first cell, as in the reference.
func TestRoundingNearTie(t *testing.T) {
	total := Resources{MemoryMB: 100, DiskMB: 50, Containers: 8}
	first := Cell{ID: "first", Zone: "z", RootFSProviders: linux, Total: total, Available: Resources{69, 4, 1}}
	second := Cell{ID: "second", Zone: "z", RootFSProviders: linux, Total: total, Available: Resources{0, 1, 7}}
	l := mkLRP("app", 0, 0)
	l.DiskMB = 0
	plan := Schedule([]Cell{first, second}, Request{LRPs: []LRP{l}}, Options{})
	if len(plan.PlacedLRPs) != 1 || plan.PlacedLRPs[0].Cell != "first" {
		t.Fatalf("got %s", summary(plan))
	}
}

func TestZoneBalancing(t *testing.T) {
	full := func(c *Cell) { c.Available.MemoryMB = 0 }
	hosts := func(n int) func(*Cell) { return func(c *Cell) { c.Instances = map[string]int{"app": n} } }
	runCases(t, []ruleCase{
		{name: "the emptier zone for the app wins even if its cell is fuller",
			cells: []Cell{mkCell("a1", "za", 100, hosts(1)), mkCell("b1", "zb", 100, func(c *Cell) { c.Available.MemoryMB = 5; c.StartingContainers = 3 })},
			req:   Request{LRPs: []LRP{mkLRP("app", 1, 1)}}, want: map[string]string{"app.1": "b1"}},
		{name: "spill to the next zone when nothing fits",
			cells: []Cell{mkCell("a1", "za", 100, hosts(2)), mkCell("a2", "za", 100, hosts(1)), mkCell("b1", "zb", 100, full)},
			req:   Request{LRPs: []LRP{mkLRP("app", 1, 1)}}, want: map[string]string{"app.1": "a2"}},
		{name: "zones with equal counts compete as one group",
			cells: []Cell{mkCell("a1", "za", 100, func(c *Cell) { c.Available.MemoryMB = 50 }), mkCell("b1", "zb", 100), mkCell("c1", "zc", 100, hosts(1))},
			req:   Request{LRPs: []LRP{mkLRP("app", 1, 1)}}, want: map[string]string{"app.1": "b1"}},
		{name: "counts include incompatible cells of the zone",
			cells: []Cell{mkCell("a1", "za", 100), mkCell("a2", "za", 100, hosts(2), func(c *Cell) { c.RootFSProviders = nil }), mkCell("b1", "zb", 100, hosts(1))},
			req:   Request{LRPs: []LRP{mkLRP("app", 1, 1)}}, want: map[string]string{"app.1": "b1"}},
		{name: "evacuating cells are invisible",
			cells: []Cell{mkCell("a1", "za", 100), mkCell("b1", "zb", 100), mkCell("b2", "zb", 100, hosts(5), func(c *Cell) { c.Evacuating = true })},
			req:   Request{LRPs: []LRP{mkLRP("app", 0, 1), mkLRP("app", 1, 1)}}, want: map[string]string{"app.0": "a1", "app.1": "b1"}},
		{name: "instances reserved in the round count",
			cells: []Cell{mkCell("a1", "za", 100), mkCell("a2", "za", 100), mkCell("b1", "zb", 100, func(c *Cell) { c.Available.MemoryMB = 10 })},
			req:   Request{LRPs: []LRP{mkLRP("app", 0, 1), mkLRP("app", 1, 1), mkLRP("app", 2, 1)}},
			want:  map[string]string{"app.0": "a1", "app.1": "b1", "app.2": "a2"}},
	})
}

func TestInflightLimit(t *testing.T) {
	cells := []Cell{mkCell("c1", "z", 100, func(c *Cell) { c.StartingContainers = 1 }), mkCell("c2", "z", 100)}
	runCases(t, []ruleCase{
		{name: "limit counts starting containers and placements", cells: cells, opts: &Options{StartingContainerWeight: 0.25, StartingContainerCountMaximum: 3},
			req:  Request{LRPs: []LRP{mkLRP("a", 0, 1), mkLRP("b", 0, 1), mkLRP("c", 1, 1)}, Tasks: []Task{mkTask("t", 1)}},
			want: map[string]string{"a.0": "c2", "b.0": "c1", "t": "!" + MsgInflightLimit, "c.1": "!" + MsgInflightLimit}},
		{name: "failed placements do not count", cells: cells, opts: &Options{StartingContainerCountMaximum: 2},
			req:  Request{LRPs: []LRP{mkLRP("huge", 0, 1000), mkLRP("a", 1, 1), mkLRP("b", 1, 1)}},
			want: map[string]string{"huge.0": "!insufficient resources: memory", "a.1": "c1", "b.1": "!" + MsgInflightLimit}},
		{name: "already at the limit", cells: cells, opts: &Options{StartingContainerCountMaximum: 1},
			req: Request{LRPs: []LRP{mkLRP("a", 0, 1)}}, want: map[string]string{"a.0": "!" + MsgInflightLimit}},
	})
}

func TestNoCells(t *testing.T) {
	req := Request{LRPs: []LRP{mkLRP("a", 0, 1), mkLRP("a", 0, 1)}, Tasks: []Task{mkTask("t", 1)}}
	want := map[string]string{"a.0": "!" + MsgCellCommunication, "t": "!" + MsgCellCommunication}
	runCases(t, []ruleCase{
		{name: "no cell answered", req: req, want: want},
		{name: "every cell evacuating", cells: []Cell{mkCell("c1", "z", 100, func(c *Cell) { c.Evacuating = true })}, req: req, want: want},
	})
	plan := Schedule([]Cell{mkCell("c1", "z", 100, func(c *Cell) { c.Evacuating = true }), mkCell("c2", "z", 100), mkCell("c2", "z", 100)}, Request{}, DefaultOptions())
	if fmt.Sprint(plan.IgnoredCells) != "[{c1 evacuating} {c2 duplicate cell id}]" {
		t.Errorf("ignored: %v", plan.IgnoredCells)
	}
}
