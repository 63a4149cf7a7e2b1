package auction

import (
	"cmp"
	"slices"
)

// Schedule places a round's batch on the cells (§2). It never fails: an
// item that cannot be placed comes back in FailedLRPs or FailedTasks with
// the reference's message. Neither cells nor req is modified.
//
// Order of work (§2.2): LRPs sorted by index ascending then memory
// descending, tasks by memory descending (both stable: equal keys keep the
// request's order); the LRPs before the first one with index > 0 go
// before the tasks, the others after (so a batch of index-0 LRPs only goes
// after its tasks: quirk Q1, kept).
func Schedule(cells []Cell, req Request, opts Options) *Plan {
	plan := &Plan{}
	rd := newRound(cells, opts, plan)
	lrps, tasks := dedupe(req)

	if len(rd.cells) == 0 {
		for _, l := range lrps {
			plan.FailedLRPs = append(plan.FailedLRPs, FailedLRP{LRP: l, Error: MsgCellCommunication})
		}
		for _, t := range tasks {
			plan.FailedTasks = append(plan.FailedTasks, FailedTask{Task: t, Error: MsgCellCommunication})
		}
		return plan
	}

	// Stable sorts, by sorting positions with the position as the last key.
	lo := make([]int32, len(lrps))
	for i := range lo {
		lo[i] = int32(i)
	}
	slices.SortFunc(lo, func(a, b int32) int {
		la, lb := &lrps[a], &lrps[b]
		if la.Index != lb.Index {
			return cmp.Compare(la.Index, lb.Index)
		}
		if la.MemoryMB != lb.MemoryMB {
			return cmp.Compare(lb.MemoryMB, la.MemoryMB)
		}
		return cmp.Compare(a, b)
	})
	to := make([]int32, len(tasks))
	for i := range to {
		to[i] = int32(i)
	}
	slices.SortFunc(to, func(a, b int32) int {
		if c := cmp.Compare(tasks[b].MemoryMB, tasks[a].MemoryMB); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	split := 0
	for i, j := range lo {
		if lrps[j].Index > 0 {
			split = i
			break
		}
	}

	plan.PlacedLRPs = make([]PlacedLRP, 0, len(lrps))
	for _, j := range lo[:split] {
		rd.placeLRP(plan, &lrps[j])
	}
	for _, j := range to {
		rd.placeTask(plan, &tasks[j])
	}
	for _, j := range lo[split:] {
		rd.placeLRP(plan, &lrps[j])
	}
	return plan
}

// dedupe copies the batch keeping the first occurrence of each LRP
// instance (process guid and index) and of each task guid (§1.3).
func dedupe(req Request) ([]LRP, []Task) {
	lrps := make([]LRP, 0, len(req.LRPs))
	seenLRP := make(map[LRPKey]bool, len(req.LRPs))
	for _, l := range req.LRPs {
		if k := l.Key(); !seenLRP[k] {
			seenLRP[k] = true
			lrps = append(lrps, l)
		}
	}
	tasks := make([]Task, 0, len(req.Tasks))
	seenTask := make(map[string]bool, len(req.Tasks))
	for _, t := range req.Tasks {
		if !seenTask[t.TaskGuid] {
			seenTask[t.TaskGuid] = true
			tasks = append(tasks, t)
		}
	}
	return lrps, tasks
}

// placeLRP runs one LRP auction: the compatible zones are taken in groups
// of equal instance count of the app, fewest first; the first group with
// a cell that fits wins, and within it the lowest score (§2.5, §2.6).
func (rd *round) placeLRP(plan *Plan, l *LRP) {
	fail := func(msg string) {
		plan.FailedLRPs = append(plan.FailedLRPs, FailedLRP{LRP: *l, Error: msg})
	}
	if rd.limitReached() {
		fail(MsgInflightLimit)
		return
	}
	cp := rd.compatFor(&l.Constraint)
	if !cp.anyZone {
		fail(mismatchMessage(cp.furthest, l.PlacementTags))
		return
	}
	app := rd.apps[l.ProcessGuid]

	zs := rd.zoneN[:0]
	for z, ok := range cp.zoneOK {
		if ok {
			n := 0
			if app != nil {
				n = app.zoneCount[z]
			}
			zs = append(zs, zoneCount{int32(z), n})
		}
	}
	slices.SortStableFunc(zs, func(a, b zoneCount) int { return cmp.Compare(a.n, b.n) })
	rd.zoneN = zs

	if app != nil {
		for _, h := range app.hosts {
			rd.hostK[h.ord] = h.n
		}
	}
	best := none()
	for i := 0; i < len(zs) && best.ord < 0; {
		j := i
		for j < len(zs) && zs[j].n == zs[i].n {
			rd.inZone[zs[j].zone] = true
			j++
		}
		for _, zc := range zs[i:j] {
			for _, p := range rd.zones[zc.zone].pools {
				if cp.profileOK[p.profile] {
					p.bestLRP(rd, l.MemoryMB, l.DiskMB, &best)
				}
			}
		}
		if app != nil {
			rd.offerHosts(app, cp, l, &best)
		}
		for _, zc := range zs[i:j] {
			rd.inZone[zc.zone] = false
		}
		i = j
	}
	if app != nil {
		for _, h := range app.hosts {
			rd.hostK[h.ord] = 0
		}
	}

	if best.ord < 0 {
		fail(insufficientMessage(rd.shortDims(cp, l.MemoryMB, l.DiskMB, true)))
		return
	}
	c := &rd.cells[best.ord]
	// The reference reserves the LRP's memory without the proxy's (quirk
	// Q3, fixed): the rep would refuse what that over-commits.
	rd.reserve(best.ord, l.MemoryMB+c.proxy, l.DiskMB, false)
	app = rd.app(l.ProcessGuid)
	app.zoneCount[c.zone]++
	app.addHost(best.ord, 1)
	plan.PlacedLRPs = append(plan.PlacedLRPs, PlacedLRP{LRP: *l, Cell: c.id})
}

// offerHosts scores the cells of the current zone group that already hold
// instances of the app (fast pools skip them).
func (rd *round) offerHosts(app *appIndex, cp *compat, l *LRP, best *candidate) {
	ws := rd.opts.StartingContainerWeight
	for _, h := range app.hosts {
		ord, k := h.ord, h.n
		c := &rd.cells[ord]
		if !rd.inZone[c.zone] || c.pool.exhaustive || !cp.profileOK[c.profile] {
			continue
		}
		need := l.MemoryMB + c.proxy
		if fits(&c.avail, need, l.DiskMB) == 0 {
			best.offer(ord, lrpScore(c, need, l.DiskMB, ws, k))
		}
	}
}

// shortDims is the set of resource dimensions short on every compatible
// cell that does not fit the item: the reference's insufficient-resources
// problems. Cells that fit but could not win (a NaN or huge score) remove
// nothing. Only computed when an item fails.
func (rd *round) shortDims(cp *compat, mem, disk int64, proxied bool) int {
	dims := dimAll
	for ord := range rd.cells {
		c := &rd.cells[ord]
		if !cp.profileOK[c.profile] {
			continue
		}
		need := mem
		if proxied {
			need += c.proxy
		}
		if d := fits(&c.avail, need, disk); d != 0 {
			dims &= d
		}
	}
	return dims
}

// placeTask runs one task auction: every compatible cell of every zone,
// lowest score wins (no zone balancing, no proxy, no bin-pack term).
func (rd *round) placeTask(plan *Plan, t *Task) {
	fail := func(msg string) {
		plan.FailedTasks = append(plan.FailedTasks, FailedTask{Task: *t, Error: msg})
	}
	if rd.limitReached() {
		fail(MsgInflightLimit)
		return
	}
	cp := rd.compatFor(&t.Constraint)
	if !cp.anyZone {
		fail(mismatchMessage(cp.furthest, t.PlacementTags))
		return
	}
	ws := rd.opts.StartingContainerWeight
	best := none()
	for ord := range rd.cells {
		c := &rd.cells[ord]
		if cp.profileOK[c.profile] && fits(&c.avail, t.MemoryMB, t.DiskMB) == 0 {
			best.offer(int32(ord), taskScore(c, t.MemoryMB, t.DiskMB, ws))
		}
	}
	if best.ord < 0 {
		fail(insufficientMessage(rd.shortDims(cp, t.MemoryMB, t.DiskMB, false)))
		return
	}
	rd.reserve(best.ord, t.MemoryMB, t.DiskMB, true)
	plan.PlacedTasks = append(plan.PlacedTasks, PlacedTask{Task: *t, Cell: rd.cells[best.ord].id})
}
