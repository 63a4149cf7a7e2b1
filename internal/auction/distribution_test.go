package auction

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The reference simulation's scenarios (auction-rep-executor §6.2), with
// its pass criteria. Simulated cells: 100 MB, 100 disk, 100 containers,
// zones Z0/Z1 alternating; instances of 1 MB and 1 disk unless noted.

func simCells(n int, prefill func(i int) int) []Cell {
	cells := make([]Cell, n)
	for i := range cells {
		total := Resources{MemoryMB: 100, DiskMB: 100, Containers: 100}
		c := Cell{
			ID: fmt.Sprintf("cell-%03d", i), CellIndex: i, Zone: fmt.Sprintf("Z%d", i%2),
			RootFSProviders: linux, Total: total, Available: total, Instances: map[string]int{},
		}
		if prefill != nil {
			for j := range prefill(i) {
				c.Instances[fmt.Sprintf("pre-%d-%d", i, j)] = 1
				c.Available.MemoryMB--
				c.Available.DiskMB--
				c.Available.Containers--
			}
		}
		cells[i] = c
	}
	return cells
}

func simLRP(guid string, index int, mem int64) LRP {
	return LRP{ProcessGuid: guid, Index: index, Domain: "auction", Constraint: Constraint{RootFs: "preloaded:linux"}, MemoryMB: mem, DiskMB: 1}
}

// uniqueLRPs are n apps of one instance each, with index i as the
// simulation builds them.
func uniqueLRPs(prefix string, n int, mem int64) []LRP {
	out := make([]LRP, n)
	for i := range out {
		out[i] = simLRP(fmt.Sprintf("%s-%d", prefix, i), i, mem)
	}
	return out
}

func appLRPs(guid string, n int, mem int64) []LRP {
	out := make([]LRP, n)
	for i := range out {
		out[i] = simLRP(guid, i, mem)
	}
	return out
}

func perCell(p *Plan) map[string]int {
	m := map[string]int{}
	for _, l := range p.PlacedLRPs {
		m[l.Cell]++
	}
	return m
}

// assertSpread checks every count is within tol of the counts' mean.
func assertSpread(t *testing.T, counts []int, tol float64) {
	t.Helper()
	if len(counts) == 0 {
		t.Fatal("nothing placed")
	}
	sum, lo, hi := 0, math.MaxInt, 0
	for _, c := range counts {
		sum += c
		lo, hi = min(lo, c), max(hi, c)
	}
	mean := float64(sum) / float64(len(counts))
	for _, c := range counts {
		if math.Abs(float64(c)-mean) > tol {
			t.Errorf("count %d deviates from mean %.2f by more than %v (range %d-%d)", c, mean, tol, lo, hi)
			return
		}
	}
	t.Logf("%d cells: %d-%d per cell", len(counts), lo, hi)
}

func allCells(cells []Cell, m map[string]int) []int {
	out := make([]int, len(cells))
	for i, c := range cells {
		out[i] = m[c.ID]
	}
	return out
}

func receivers(m map[string]int) []int {
	var out []int
	for _, n := range m {
		out = append(out, n)
	}
	return out
}

func TestSimSmallColdStart(t *testing.T) {
	for i, ncells := range []int{4, 10, 20, 40} {
		napps := []int{8, 40, 200, 800}[i]
		cells := simCells(ncells, nil)
		plan := Schedule(cells, Request{LRPs: uniqueLRPs("app", napps, 1)}, DefaultOptions())
		assertSpread(t, allCells(cells, perCell(plan)), 1)
	}
}

func TestSimBinPackFirstFit(t *testing.T) {
	for _, w := range []float64{0.25, 0.5, 0.75} {
		opts := Options{StartingContainerWeight: 0.5, BinPackFirstFitWeight: w}
		for i, ncells := range []int{4, 10, 20, 40} {
			napps := []int{8, 40, 200, 800}[i]
			t.Run(fmt.Sprintf("w=%v/%d cells", w, ncells), func(t *testing.T) {
				cells := simCells(ncells, nil)
				m := perCell(Schedule(cells, Request{LRPs: uniqueLRPs("app", napps, 1)}, opts))
				zones := map[string]int{}
				last := map[string]int{}
				for _, c := range cells { // cells are in cell_index order
					if prev, ok := last[c.Zone]; ok && m[c.ID] > prev {
						t.Errorf("zone %s: %s has %d, more than the cell before (%d)", c.Zone, c.ID, m[c.ID], prev)
					}
					last[c.Zone] = m[c.ID]
					zones[c.Zone] += m[c.ID]
				}
				assertSpread(t, receivers(zones), 1)
				lo, hi := napps, 0
				for _, c := range cells {
					lo, hi = min(lo, m[c.ID]), max(hi, m[c.ID])
				}
				t.Logf("unique apps: %d-%d per cell", lo, hi)

				// One app with many instances: locality beats bin-pack.
				m = perCell(Schedule(cells, Request{LRPs: appLRPs("yellow", napps, 1)}, opts))
				assertSpread(t, allCells(cells, m), 1)
			})
		}
	}
}

func TestSimLargeColdStart(t *testing.T) {
	for i, ncells := range []int{25, 100} {
		k := []int{1, 4}[i]
		r := rand.New(rand.NewPCG(uint64(i), 1))
		colors := []string{"purple", "red", "orange", "teal", "gray", "blue", "pink", "green", "lime", "cyan", "lightseagreen", "brown"}
		var lrps []LRP
		for j, spec := range []struct {
			n   int
			mem int64
		}{{1800 * k, 1}, {200 * k, 2}, {50 * k, 4}} {
			lrps = append(lrps, uniqueLRPs(fmt.Sprintf("u%d", j), spec.n/2, spec.mem)...)
			for idx := range spec.n / 2 {
				lrps = append(lrps, simLRP(colors[4*j+r.IntN(4)], idx, spec.mem))
			}
		}
		r.Shuffle(len(lrps), func(a, b int) { lrps[a], lrps[b] = lrps[b], lrps[a] })
		cells := simCells(ncells, nil)
		plan := Schedule(cells, Request{LRPs: lrps}, DefaultOptions())
		assertSpread(t, receivers(perCell(plan)), 10)
	}
}

func TestSimImbalanced(t *testing.T) {
	for i, nempty := range []int{5, 1} {
		napps := []int{500, 100}[i]
		cells := simCells(100, func(c int) int {
			if c < 100-nempty {
				return 50
			}
			return 0
		})
		plan := Schedule(cells, Request{LRPs: uniqueLRPs("new", napps, 1)}, DefaultOptions())
		assertSpread(t, receivers(perCell(plan)), 1)
	}
}

func TestSimAZDistribution(t *testing.T) {
	cells := simCells(3, func(c int) int {
		if c == 1 {
			return 50
		}
		return 0
	})
	m := perCell(Schedule(cells, Request{LRPs: appLRPs("red", 40, 1)}, DefaultOptions()))
	if z0, z1 := m["cell-000"]+m["cell-002"], m["cell-001"]; z0 != 20 || z1 != 20 {
		t.Errorf("Z0 got %d, Z1 got %d; want 20 each", z0, z1)
	}
}

func TestSimWatters(t *testing.T) {
	for i, ncells := range []int{10, 30, 100} {
		napps := []int{80, 200, 400}[i]
		r := rand.New(rand.NewPCG(uint64(i), 2))
		cells := simCells(ncells, func(int) int { return 78 + r.IntN(3) })
		m := perCell(Schedule(cells, Request{LRPs: appLRPs("red", napps, 1)}, DefaultOptions()))
		assertSpread(t, receivers(m), 1)
	}
}

func TestSimPackingWhenMemoryIsLow(t *testing.T) {
	var lrps []LRP
	for i := range 80 {
		lrps = append(lrps, simLRP(fmt.Sprintf("small-%d", i), 0, 1))
	}
	lrps = append(lrps, appLRPs("red", 2, 50)...)
	plan := Schedule(simCells(1, nil), Request{LRPs: lrps}, DefaultOptions())
	if len(plan.PlacedLRPs) != 51 || len(plan.FailedLRPs) != 31 {
		t.Fatalf("placed %d, failed %d; want 51 and 31", len(plan.PlacedLRPs), len(plan.FailedLRPs))
	}
	got := outcome(plan)
	if got["red.0"] != "cell-000" || got["red.1"] != "!insufficient resources: memory" {
		t.Errorf("red.0 %q, red.1 %q", got["red.0"], got["red.1"])
	}
}
