package auction

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// simpleSchedule is the deliberately simple scheduler the property tests
// compare Schedule with: the rules of the reference (§2) written out
// directly, with no index. Every LRP placement recounts every instance on
// every cell and scores every cell, exactly as the reference does; ties go
// to the first cell in the round's order.
func simpleSchedule(cells []Cell, req Request, opts Options) *Plan {
	type scell struct {
		Cell
		apps  map[string]int
		tasks int
		idx   int
		proxy int64
	}
	plan := &Plan{}
	var sc []*scell
	seen := map[string]bool{}
	for _, c := range cells {
		if seen[c.ID] {
			plan.IgnoredCells = append(plan.IgnoredCells, IgnoredCell{c.ID, "duplicate cell id"})
			continue
		}
		seen[c.ID] = true
		if c.Evacuating {
			plan.IgnoredCells = append(plan.IgnoredCells, IgnoredCell{c.ID, "evacuating"})
			continue
		}
		s := &scell{Cell: c, apps: map[string]int{}, tasks: max(c.Tasks, 0), idx: c.CellIndex, proxy: max(c.ProxyMemoryMB, 0)}
		for g, n := range c.Instances {
			if n > 0 {
				s.apps[g] = n
			}
		}
		sc = append(sc, s)
	}
	if opts.BinPackFirstFitWeight > 0 {
		sort.SliceStable(sc, func(i, j int) bool { return sc[i].CellIndex < sc[j].CellIndex })
		perZone := map[string]int{}
		for _, s := range sc {
			s.idx = perZone[s.Zone]
			perZone[s.Zone]++
		}
	}
	for _, s := range sc {
		plan.cellOrder = append(plan.cellOrder, s.ID)
	}
	var lrps []LRP
	seenL := map[string]bool{}
	for _, l := range req.LRPs {
		k := fmt.Sprintf("%s.%d", l.ProcessGuid, l.Index)
		if !seenL[k] {
			seenL[k] = true
			lrps = append(lrps, l)
		}
	}
	var tasks []Task
	seenT := map[string]bool{}
	for _, t := range req.Tasks {
		if !seenT[t.TaskGuid] {
			seenT[t.TaskGuid] = true
			tasks = append(tasks, t)
		}
	}
	if len(sc) == 0 {
		for _, l := range lrps {
			plan.FailedLRPs = append(plan.FailedLRPs, FailedLRP{LRP: l, Error: MsgCellCommunication})
		}
		for _, t := range tasks {
			plan.FailedTasks = append(plan.FailedTasks, FailedTask{Task: t, Error: MsgCellCommunication})
		}
		return plan
	}

	inflight := 0
	for _, s := range sc {
		inflight += s.StartingContainers
	}
	limited := func() bool {
		return opts.StartingContainerCountMaximum > 0 && inflight >= opts.StartingContainerCountMaximum
	}
	var zones []string
	for _, s := range sc {
		if !slices.Contains(zones, s.Zone) {
			zones = append(zones, s.Zone)
		}
	}
	stage := func(s *scell, c Constraint) int {
		u, err := url.Parse(c.RootFs)
		if err != nil {
			return 0
		}
		p, ok := s.RootFSProviders[u.Scheme]
		if !ok || p.Kind == ProviderUnknown || (p.Kind == ProviderFixedSet && !slices.Contains(p.Set, u.Opaque)) {
			return 0
		}
		for _, d := range c.VolumeDrivers {
			if !slices.Contains(s.VolumeDrivers, d) {
				return 1
			}
		}
		for _, t := range s.PlacementTags {
			if !slices.Contains(c.PlacementTags, t) {
				return 2
			}
		}
		for _, t := range c.PlacementTags {
			if !slices.Contains(s.PlacementTags, t) && !slices.Contains(s.OptionalPlacementTags, t) {
				return 2
			}
		}
		return 3
	}
	// zoneFilter returns the compatible zones, or the error.
	zoneFilter := func(c Constraint) ([]string, string) {
		var ok []string
		furthest := 0
		for _, z := range zones {
			zs := 0
			for _, s := range sc {
				if s.Zone == z {
					zs = max(zs, stage(s, c))
				}
			}
			furthest = max(furthest, zs)
			if zs == 3 {
				ok = append(ok, z)
			}
		}
		if len(ok) > 0 {
			return ok, ""
		}
		return nil, [...]string{MsgRootFSMismatch, MsgVolumeDriverMismatch, placementTagMessage(c.PlacementTags)}[furthest]
	}
	short := func(s *scell, mem, disk int64) map[string]bool {
		p := map[string]bool{}
		if s.Available.DiskMB < disk {
			p["disk"] = true
		}
		if s.Available.MemoryMB < mem {
			p["memory"] = true
		}
		if s.Available.Containers < 1 {
			p["containers"] = true
		}
		return p
	}
	score := func(s *scell, mem, disk int64) float64 {
		m := 1.0 - float64(float64(s.Available.MemoryMB-mem)/float64(s.Total.MemoryMB))
		d := 1.0 - float64(float64(s.Available.DiskMB-disk)/float64(s.Total.DiskMB))
		c := 1.0 - float64(float64(s.Available.Containers-1)/float64(s.Total.Containers))
		return float64(float64(m+d)+c)/3.0 + float64(float64(s.StartingContainers)*opts.StartingContainerWeight)
	}
	problemsMsg := func(problems map[string]bool) string {
		var keys []string
		for k := range problems {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if len(keys) == 0 {
			return "insufficient resources"
		}
		return "insufficient resources: " + strings.Join(keys, ", ")
	}
	intersect := func(problems, p map[string]bool) {
		for k := range problems {
			if !p[k] {
				delete(problems, k)
			}
		}
	}
	reserve := func(s *scell, mem, disk int64) {
		s.Available.MemoryMB -= mem
		s.Available.DiskMB -= disk
		s.Available.Containers--
		s.StartingContainers++
		inflight++
	}

	placeLRP := func(l LRP) {
		if limited() {
			plan.FailedLRPs = append(plan.FailedLRPs, FailedLRP{LRP: l, Error: MsgInflightLimit})
			return
		}
		okZones, msg := zoneFilter(l.Constraint)
		if okZones == nil {
			plan.FailedLRPs = append(plan.FailedLRPs, FailedLRP{LRP: l, Error: msg})
			return
		}
		count := map[string]int{}
		for _, s := range sc {
			count[s.Zone] += s.apps[l.ProcessGuid]
		}
		sort.SliceStable(okZones, func(i, j int) bool { return count[okZones[i]] < count[okZones[j]] })
		problems := map[string]bool{"disk": true, "memory": true, "containers": true}
		var winner *scell
		best := 1e20
		for i := 0; i < len(okZones); i++ {
			group := []string{okZones[i]}
			for i+1 < len(okZones) && count[okZones[i+1]] == count[okZones[i]] {
				i++
				group = append(group, okZones[i])
			}
			for _, s := range sc {
				if !slices.Contains(group, s.Zone) || stage(s, l.Constraint) != 3 {
					continue
				}
				mem := l.MemoryMB + s.proxy
				if p := short(s, mem, l.DiskMB); len(p) > 0 {
					intersect(problems, p)
					continue
				}
				sc := float64(score(s, mem, l.DiskMB)+float64(1000*s.apps[l.ProcessGuid])) + float64(float64(s.idx)*opts.BinPackFirstFitWeight)
				if sc < best {
					best, winner = sc, s
				}
			}
			if winner != nil {
				break
			}
		}
		if winner == nil {
			plan.FailedLRPs = append(plan.FailedLRPs, FailedLRP{LRP: l, Error: problemsMsg(problems)})
			return
		}
		reserve(winner, l.MemoryMB+winner.proxy, l.DiskMB)
		winner.apps[l.ProcessGuid]++
		plan.PlacedLRPs = append(plan.PlacedLRPs, PlacedLRP{LRP: l, Cell: winner.ID})
	}
	placeTask := func(t Task) {
		if limited() {
			plan.FailedTasks = append(plan.FailedTasks, FailedTask{Task: t, Error: MsgInflightLimit})
			return
		}
		if ok, msg := zoneFilter(t.Constraint); ok == nil {
			plan.FailedTasks = append(plan.FailedTasks, FailedTask{Task: t, Error: msg})
			return
		}
		problems := map[string]bool{"disk": true, "memory": true, "containers": true}
		var winner *scell
		best := 1e20
		for _, s := range sc {
			if stage(s, t.Constraint) != 3 {
				continue
			}
			if p := short(s, t.MemoryMB, t.DiskMB); len(p) > 0 {
				intersect(problems, p)
				continue
			}
			if sc := score(s, t.MemoryMB, t.DiskMB) + float64(1000*s.tasks); sc < best {
				best, winner = sc, s
			}
		}
		if winner == nil {
			plan.FailedTasks = append(plan.FailedTasks, FailedTask{Task: t, Error: problemsMsg(problems)})
			return
		}
		reserve(winner, t.MemoryMB, t.DiskMB)
		winner.tasks++
		plan.PlacedTasks = append(plan.PlacedTasks, PlacedTask{Task: t, Cell: winner.ID})
	}

	sort.SliceStable(lrps, func(i, j int) bool {
		if lrps[i].Index == lrps[j].Index {
			return lrps[i].MemoryMB > lrps[j].MemoryMB
		}
		return lrps[i].Index < lrps[j].Index
	})
	sort.SliceStable(tasks, func(i, j int) bool { return tasks[i].MemoryMB > tasks[j].MemoryMB })
	var before, after []LRP
	after = lrps
	for i, l := range lrps {
		if l.Index > 0 {
			before, after = lrps[:i], lrps[i:]
			break
		}
	}
	for _, l := range before {
		placeLRP(l)
	}
	for _, t := range tasks {
		placeTask(t)
	}
	for _, l := range after {
		placeLRP(l)
	}
	return plan
}
