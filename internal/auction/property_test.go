package auction

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// gen draws small random rounds in which ties, shared states, zone tie
// groups, incompatible cells, full cells and odd inputs are common.
type gen struct{ r *rand.Rand }

func (g gen) pick(list ...string) string { return list[g.r.IntN(len(list))] }

func (g gen) subset(list ...string) []string {
	var out []string
	for _, v := range list {
		if g.r.IntN(3) == 0 {
			out = append(out, v)
		}
	}
	return out
}

func (g gen) required() []string {
	if g.r.IntN(4) > 0 {
		return nil
	}
	return g.subset("t1", "t1", "t2")
}

func (g gen) cell(i int) Cell {
	r := g.r
	total := Resources{MemoryMB: []int64{16, 16, 100, 10}[r.IntN(4)], DiskMB: []int64{16, 16, 50}[r.IntN(3)], Containers: []int64{4, 4, 8}[r.IntN(3)]}
	if r.IntN(25) == 0 {
		total.DiskMB = 0 // NaN scores: never wins
	}
	if r.IntN(40) == 0 {
		total.MemoryMB = -1
	}
	avail := total
	if r.IntN(3) > 0 {
		avail.MemoryMB -= int64(r.IntN(int(max(total.MemoryMB, 1))/2+1)) / 2 * 2
		avail.DiskMB -= int64(r.IntN(int(max(total.DiskMB, 1))/2 + 1))
		avail.Containers -= int64(r.IntN(int(total.Containers) + 1))
	}
	providers := map[string]RootFSProvider{"preloaded": {Kind: ProviderFixedSet, Set: []string{"linux"}}}
	switch r.IntN(6) {
	case 0:
		providers["preloaded"] = RootFSProvider{Kind: ProviderFixedSet, Set: []string{"linux", "windows"}}
	case 1:
		providers["docker"] = RootFSProvider{Kind: ProviderArbitrary}
	case 2:
		providers["docker"] = RootFSProvider{}
	case 3:
		providers = nil
	}
	inst := map[string]int{}
	for _, app := range []string{"a", "b", "c"} {
		if r.IntN(3) == 0 {
			inst[app] = r.IntN(3)
		}
	}
	id := fmt.Sprintf("cell-%d", i)
	if r.IntN(20) == 0 {
		id = "cell-0"
	}
	return Cell{
		ID: id, CellIndex: r.IntN(4), Zone: g.pick("z1", "z2", "z3", ""),
		RootFSProviders: providers,
		VolumeDrivers:   g.subset("nfs", "smb"),
		PlacementTags:   g.required(), OptionalPlacementTags: g.subset("t2", "t3", "t3"),
		Total: total, Available: avail,
		ProxyMemoryMB:      []int64{0, 0, 0, 2}[r.IntN(4)],
		StartingContainers: r.IntN(3), Instances: inst, Tasks: r.IntN(3),
		Evacuating: r.IntN(15) == 0,
	}
}

func (g gen) constraint() Constraint {
	c := Constraint{RootFs: "preloaded:linux"}
	if g.r.IntN(4) == 0 {
		c.RootFs = g.pick("preloaded:windows", "docker:///cf/app", "preloaded:linux?x=1", "%zz", "preloaded://linux", "PRELOADED:linux")
	}
	if g.r.IntN(3) == 0 {
		c.PlacementTags = g.subset("t1", "t2", "t3")
	}
	if g.r.IntN(4) == 0 {
		c.VolumeDrivers = g.subset("nfs", "smb")
	}
	return c
}

func (g gen) round() ([]Cell, Request, Options) {
	r := g.r
	cells := make([]Cell, r.IntN(9))
	for i := range cells {
		cells[i] = g.cell(i)
	}
	var req Request
	for range r.IntN(14) {
		req.LRPs = append(req.LRPs, LRP{
			ProcessGuid: g.pick("a", "b", "c", "d"), Index: r.IntN(4), Domain: "cf-apps",
			Constraint: g.constraint(),
			MemoryMB:   int64(r.IntN(5)) * 2, DiskMB: int64(r.IntN(6)),
		})
	}
	for range r.IntN(6) {
		req.Tasks = append(req.Tasks, Task{
			TaskGuid: fmt.Sprintf("task-%d", r.IntN(6)), Domain: "cf-tasks",
			Constraint: g.constraint(),
			MemoryMB:   int64(r.IntN(5)) * 2, DiskMB: int64(r.IntN(6)),
		})
	}
	opts := Options{
		StartingContainerWeight: []float64{0.25, 0.25, 0, 0.5, 2, -0.25, 1e7, math.NaN()}[r.IntN(8)],
		BinPackFirstFitWeight:   []float64{0, 0, 0, 0.25, 0.75, -0.5}[r.IntN(6)],
	}
	if r.IntN(4) == 0 {
		opts.StartingContainerCountMaximum = r.IntN(12)
	}
	return cells, req, opts
}

func TestScheduleMatchesSimpleScheduler(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for seed := range n {
		g := gen{rand.New(rand.NewPCG(uint64(seed), 7))}
		cells, req, opts := g.round()
		got := Schedule(cells, req, opts)
		want := simpleSchedule(cells, req, opts)
		if !samePlan(got, want) {
			t.Fatalf("seed %d: opts %+v\ncells %+v\nreq %+v\ngot  %s\nwant %s", seed, opts, cells, req, summary(got), summary(want))
		}
	}
}

// TestScheduleMatchesSimpleSchedulerLarge runs bigger rounds, where pools
// hold many state groups and the windowed search does real work.
func TestScheduleMatchesSimpleSchedulerLarge(t *testing.T) {
	n := 60
	if testing.Short() {
		n = 10
	}
	for seed := range n {
		r := rand.New(rand.NewPCG(uint64(seed), 11))
		var cells []Cell
		for i := range 20 + r.IntN(60) {
			total := Resources{MemoryMB: []int64{64, 64, 96}[r.IntN(3)], DiskMB: 64, Containers: 20}
			avail := total
			avail.MemoryMB -= int64(r.IntN(4)) * 8
			inst := map[string]int{}
			if r.IntN(2) == 0 {
				inst[fmt.Sprintf("app-%d", r.IntN(10))] = 1 + r.IntN(2)
			}
			cells = append(cells, Cell{
				ID: fmt.Sprintf("cell-%d", i), CellIndex: i, Zone: fmt.Sprintf("z%d", i%3),
				RootFSProviders: map[string]RootFSProvider{"preloaded": {Kind: ProviderFixedSet, Set: []string{"linux"}}},
				Total:           total, Available: avail, Instances: inst,
				ProxyMemoryMB: []int64{0, 0, 4}[r.IntN(3)], StartingContainers: r.IntN(2),
			})
		}
		var req Request
		for range 100 + r.IntN(300) {
			app := r.IntN(30)
			req.LRPs = append(req.LRPs, LRP{
				ProcessGuid: fmt.Sprintf("app-%d", app), Index: r.IntN(12), Domain: "d",
				Constraint: Constraint{RootFs: "preloaded:linux"},
				MemoryMB:   int64(1+app%4) * 2, DiskMB: 1,
			})
		}
		for i := range r.IntN(30) {
			req.Tasks = append(req.Tasks, Task{TaskGuid: fmt.Sprintf("t%d", i), Constraint: Constraint{RootFs: "preloaded:linux"}, MemoryMB: 3, DiskMB: 2})
		}
		opts := Options{
			StartingContainerWeight: []float64{0.25, 0.5, 0}[r.IntN(3)],
			BinPackFirstFitWeight:   []float64{0, 0, 0.5}[r.IntN(3)],
		}
		got := Schedule(cells, req, opts)
		want := simpleSchedule(cells, req, opts)
		if !samePlan(got, want) {
			t.Fatalf("seed %d: opts %+v\ngot  %s\nwant %s", seed, opts, summary(got), summary(want))
		}
	}
}

func samePlan(a, b *Plan) bool {
	norm := func(p *Plan) Plan {
		q := *p
		if len(q.cellOrder) == 0 {
			q.cellOrder = nil
		}
		if len(q.PlacedLRPs) == 0 {
			q.PlacedLRPs = nil
		}
		return q
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func summary(p *Plan) string {
	s := ""
	for _, l := range p.PlacedLRPs {
		s += fmt.Sprintf("\n  %s.%d(%d) -> %s", l.ProcessGuid, l.Index, l.MemoryMB, l.Cell)
	}
	for _, t := range p.PlacedTasks {
		s += fmt.Sprintf("\n  %s -> %s", t.TaskGuid, t.Cell)
	}
	for _, l := range p.FailedLRPs {
		s += fmt.Sprintf("\n  %s.%d failed: %q", l.ProcessGuid, l.Index, l.Error)
	}
	for _, t := range p.FailedTasks {
		s += fmt.Sprintf("\n  %s failed: %q", t.TaskGuid, t.Error)
	}
	return s + fmt.Sprintf("\n  ignored %v order %v", p.IgnoredCells, p.cellOrder)
}
