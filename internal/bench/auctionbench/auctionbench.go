// Package auctionbench is the `diego-bench auction` scenario: the
// scheduler of internal/auction run in process on generated cell states,
// timed against the number of cells and of instances to place, on three
// workloads (auction-rep-executor §6.3, performance-anchors S5):
//
//	uniform   cells of 64 GB, 200 GB disk, 250 containers in 3 zones;
//	          apps of 256, 512 or 1024 MB with 10 instances each
//	same-size the same cells, every app of 512 MB: uniform input, where
//	          the count per cell must not differ by more than one
//	existing  the uniform workload on cells already holding 200 instances each
//	          (128 MB, apps of 10 instances)
//	sim-mix   the reference simulation's cells (100 MB, 100 disk, 100
//	          containers, 2 zones); instances of 1, 2 or 4 MB in its
//	          1800:200:50 proportion, half single-instance apps, half apps
//	          of 5 instances
//
// It reports the wall time of Schedule (building its indexes included,
// generating the input not), the placements per second, the spread of new
// instances per cell, the spread of used memory per cell (the simulation's
// measure), the zone imbalance and same-app co-location.
package auctionbench

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/diego-go/diego/internal/auction"
	"github.com/diego-go/diego/internal/bench/report"
)

// Options shape the scenario.
type Options struct {
	Workloads []string // uniform, existing, sim-mix
	Cells     []int
	Instances []int
	Repeat    int // runs per row; the median is reported
	Seed      uint64
}

// DefaultOptions is the table: 100, 1,000 and 5,000 cells; 1,000,
// 10,000 and 50,000 instances; each workload.
func DefaultOptions() Options {
	return Options{
		Workloads: []string{"uniform", "same-size", "existing", "sim-mix"},
		Cells:     []int{100, 1000, 5000},
		Instances: []int{1000, 10000, 50000},
		Repeat:    3,
		Seed:      1,
	}
}

// Row is one measured configuration.
type Row struct {
	Workload   string
	Cells      int
	Existing   int
	Instances  int
	Time       time.Duration // wall time of Schedule
	CPU        time.Duration // CPU time of the process meanwhile (GC included)
	Placed     int
	Failed     int
	MinPerCell int // new instances on a cell
	MaxPerCell int
	MemCV      float64 // stdev/mean of memory used per cell after the round
	ZoneSkew   int     // max over apps of (max - min) of its instances per zone
	CoLocated  int     // instances placed on a cell already holding their app
}

// Spread is max - min of new instances per cell.
func (r Row) Spread() int { return r.MaxPerCell - r.MinPerCell }

// Run measures every configuration and prints the table and RESULT line.
func Run(opts Options, w io.Writer) error {
	if opts.Repeat < 1 {
		opts.Repeat = 1
	}
	table := report.Table{
		Title:  "diego-bench auction: Schedule, in process, single-threaded",
		Header: []string{"workload", "cells", "existing", "instances", "time", "cpu", "placements/s", "placed", "failed", "per cell", "spread", "mem cv", "zone skew", "co-located"},
	}
	var rows []Row
	for _, wl := range opts.Workloads {
		for _, nc := range opts.Cells {
			for _, ni := range opts.Instances {
				row, err := Measure(wl, nc, ni, opts.Repeat, opts.Seed)
				if err != nil {
					return err
				}
				rows = append(rows, row)
				table.Row(row.Workload, row.Cells, row.Existing, row.Instances, row.Time, row.CPU,
					fmt.Sprintf("%.0f", float64(row.Placed)/row.Time.Seconds()),
					row.Placed, row.Failed, fmt.Sprintf("%d-%d", row.MinPerCell, row.MaxPerCell),
					row.Spread(), fmt.Sprintf("%.3f", row.MemCV), row.ZoneSkew, row.CoLocated)
			}
		}
	}
	table.Print(w)
	fmt.Fprintln(w, "\nper cell: new instances on a cell (min-max); spread: max - min; mem cv: stdev/mean of memory used per cell; zone skew: the largest (max - min) of one app's instances across zones; co-located: instances placed on a cell already holding their app")

	figures := map[string]any{}
	targets := []struct {
		workload string
		limit    time.Duration
	}{{"uniform", time.Second}, {"same-size", time.Second}, {"existing", 2 * time.Second}, {"sim-mix", time.Second}}
	allMet := true
	for _, tg := range targets {
		for _, r := range rows {
			if r.Workload == tg.workload && r.Cells == 1000 && r.Instances == 10000 {
				key := tg.workload
				figures[key+"_1000_cells_10000_s"] = r.Time.Seconds()
				figures[key+"_1000_cells_10000_cpu_s"] = r.CPU.Seconds()
				figures[key+"_placements_per_s"] = float64(r.Placed) / r.Time.Seconds()
				figures[key+"_spread"] = r.Spread()
				figures[key+"_zone_skew"] = r.ZoneSkew
				figures[key+"_co_located"] = r.CoLocated
				allMet = allMet && r.Time <= tg.limit
			}
		}
	}
	figures["targets_met"] = allMet
	return report.Result(w, "auction", figures)
}

// Measure builds one configuration and times Schedule on it.
func Measure(workload string, ncells, ninstances, repeat int, seed uint64) (Row, error) {
	cells, req, existing, err := Build(workload, ncells, ninstances, seed)
	if err != nil {
		return Row{}, err
	}
	var times, cpus []time.Duration
	var plan *auction.Plan
	for range repeat {
		runtime.GC() // start each run with a clean heap
		cpu0 := cpuTime()
		start := time.Now()
		plan = auction.Schedule(cells, req, auction.DefaultOptions())
		times = append(times, time.Since(start))
		cpus = append(cpus, cpuTime()-cpu0)
	}
	slices.Sort(times)
	slices.Sort(cpus)
	row := Row{Workload: workload, Cells: ncells, Existing: existing, Instances: ninstances, Time: times[len(times)/2], CPU: cpus[len(cpus)/2]}
	row.Placed, row.Failed = len(plan.PlacedLRPs), len(plan.FailedLRPs)
	measureDistribution(&row, cells, plan)
	return row, nil
}

func measureDistribution(row *Row, cells []auction.Cell, plan *auction.Plan) {
	zoneOf := make(map[string]string, len(cells))
	perCell := make(map[string]int, len(cells))
	memUsed := make(map[string]float64, len(cells))
	for _, c := range cells {
		zoneOf[c.ID] = c.Zone
		perCell[c.ID] = 0
		memUsed[c.ID] = float64(c.Total.MemoryMB - c.Available.MemoryMB)
	}
	byCell := make(map[string]*auction.Cell, len(cells))
	for i := range cells {
		byCell[cells[i].ID] = &cells[i]
	}
	type appCell struct{ app, cell string }
	placedOn := map[appCell]int{}
	appZones := map[string]map[string]int{}
	for _, l := range plan.PlacedLRPs {
		perCell[l.Cell]++
		memUsed[l.Cell] += float64(l.MemoryMB)
		k := appCell{l.ProcessGuid, l.Cell}
		if placedOn[k] > 0 || byCell[l.Cell].Instances[l.ProcessGuid] > 0 {
			row.CoLocated++
		}
		placedOn[k]++
		if appZones[l.ProcessGuid] == nil {
			appZones[l.ProcessGuid] = map[string]int{}
		}
		appZones[l.ProcessGuid][zoneOf[l.Cell]]++
	}
	row.MinPerCell = -1
	for _, n := range perCell {
		if row.MinPerCell < 0 || n < row.MinPerCell {
			row.MinPerCell = n
		}
		row.MaxPerCell = max(row.MaxPerCell, n)
	}
	var sum, sq float64
	for _, m := range memUsed {
		sum += m
	}
	mean := sum / float64(len(memUsed))
	for _, m := range memUsed {
		sq += (m - mean) * (m - mean)
	}
	if mean > 0 {
		row.MemCV = math.Sqrt(sq/float64(len(memUsed))) / mean
	}
	zones := map[string]bool{}
	for _, z := range zoneOf {
		zones[z] = true
	}
	for _, counts := range appZones {
		lo, hi := -1, 0
		for z := range zones {
			n := counts[z]
			if lo < 0 || n < lo {
				lo = n
			}
			hi = max(hi, n)
		}
		row.ZoneSkew = max(row.ZoneSkew, hi-lo)
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var cflinuxfs4 = map[string]auction.RootFSProvider{
	"preloaded":       {Kind: auction.ProviderFixedSet, Set: []string{"cflinuxfs4"}},
	"preloaded+layer": {Kind: auction.ProviderFixedSet, Set: []string{"cflinuxfs4"}},
	"docker":          {Kind: auction.ProviderArbitrary},
}

// Build generates a workload's cells and batch; it also returns how many
// instances the cells already hold.
func Build(workload string, ncells, ninstances int, seed uint64) ([]auction.Cell, auction.Request, int, error) {
	r := rand.New(rand.NewPCG(seed, uint64(ncells)*31+uint64(ninstances)))
	switch workload {
	case "uniform", "same-size", "existing":
		total := auction.Resources{MemoryMB: 64 * 1024, DiskMB: 200 * 1024, Containers: 250}
		cells := makeCells(ncells, 3, total)
		existing := 0
		if workload == "existing" {
			existing = 200 * ncells
			for s := range existing { // app s/10, instance s%10, on consecutive cells
				c := &cells[s%ncells]
				c.Instances[fmt.Sprintf("old-%d", s/10)]++
				c.Available.MemoryMB -= 128
				c.Available.DiskMB -= 256
				c.Available.Containers--
			}
		}
		var req auction.Request
		sizes := []int64{256, 512, 1024}
		if workload == "same-size" {
			sizes = []int64{512}
		}
		for app := 0; len(req.LRPs) < ninstances; app++ {
			mem := sizes[r.IntN(len(sizes))]
			for i := 0; i < 10 && len(req.LRPs) < ninstances; i++ {
				req.LRPs = append(req.LRPs, lrp(fmt.Sprintf("app-%d", app), i, mem, 1024))
			}
		}
		return cells, req, existing, nil
	case "sim-mix":
		cells := makeCells(ncells, 2, auction.Resources{MemoryMB: 100, DiskMB: 100, Containers: 100})
		// 1800:200:50 instances of 1, 2 and 4 MB; within each size, half
		// single-instance apps and half apps of 5 instances.
		var req auction.Request
		app := 0
		for _, spec := range []struct {
			share int
			mem   int64
		}{{1800, 1}, {200, 2}, {50, 4}} {
			n := ninstances * spec.share / 2050
			for i := 0; i < n/2; i++ {
				req.LRPs = append(req.LRPs, lrp(fmt.Sprintf("single-%d", app), 0, spec.mem, 1))
				app++
			}
			for i := 0; i < n-n/2; i++ {
				req.LRPs = append(req.LRPs, lrp(fmt.Sprintf("five-%d-%d", spec.mem, i/5), i%5, spec.mem, 1))
			}
		}
		for i := 0; len(req.LRPs) < ninstances; i++ {
			req.LRPs = append(req.LRPs, lrp(fmt.Sprintf("pad-%d", i), 0, 1, 1))
		}
		r.Shuffle(len(req.LRPs), func(a, b int) { req.LRPs[a], req.LRPs[b] = req.LRPs[b], req.LRPs[a] })
		return cells, req, 0, nil
	}
	return nil, auction.Request{}, 0, fmt.Errorf("unknown workload %q (uniform, same-size, existing, sim-mix)", workload)
}

func makeCells(n, zones int, total auction.Resources) []auction.Cell {
	cells := make([]auction.Cell, n)
	for i := range cells {
		cells[i] = auction.Cell{
			ID: fmt.Sprintf("cell-%05d", i), CellIndex: i, Zone: fmt.Sprintf("z%d", i%zones),
			RootFSProviders: cflinuxfs4, Total: total, Available: total,
			Instances: map[string]int{},
		}
	}
	return cells
}

func lrp(guid string, index int, mem, disk int64) auction.LRP {
	return auction.LRP{
		ProcessGuid: guid, Index: index, Domain: "cf-apps",
		Constraint: auction.Constraint{RootFs: "preloaded:cflinuxfs4"},
		MemoryMB:   mem, DiskMB: disk,
	}
}
