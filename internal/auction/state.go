package auction

import (
	"cmp"
	"math"
	"slices"
)

// round is the scheduler's private, mutable copy of the cells for one
// Schedule call, with the indexes that make a placement cheap:
//
//	apps:  process guid -> instances per zone, and per hosting cell
//	pools: the cells of one zone that share a profile, totals and proxy,
//	       grouped by identical state (see pool.go)
type round struct {
	opts     Options
	fast     bool // weights sane enough for the pools' windowed search
	cells    []cellState
	zones    []zoneState
	profiles []*profile
	apps     map[string]*appIndex
	compat   map[string]*compat
	inflight int

	lastConstraint Constraint // the constraint compatFor saw last
	lastCompat     *compat

	// scratch, reused by every placement
	hostK  []int32 // per cell: instances of the app being placed
	inZone []bool  // per zone: zone is in the group being searched
	aux    []int32 // the pools' best-first search queue
	zoneN  []zoneCount
}

// cellState is one cell as the round sees it; cells are numbered by their
// tie-break order (ord), which is their index in round.cells.
type cellState struct {
	id      string
	zone    int32
	profile int32
	pool    *pool
	tup     *tuple // the cell's state group in its pool (fast pools only)
	total   Resources
	avail   Resources
	proxy   int64
	start   int64
	tasks   int64
	idxTerm float64 // bin_pack_first_fit_weight * (normalised) cell index
}

type zoneState struct {
	name     string
	profiles []int32 // distinct profiles of the zone's cells
	pools    []*pool
}

type appIndex struct {
	zoneCount []int
	hosts     []host // the cells holding instances of the app
}

type host struct {
	ord int32
	n   int32
}

// addHost counts n more instances of the app on a cell. Apps are on few
// cells, and a placement already visits every host, so a list will do.
func (a *appIndex) addHost(ord int32, n int32) {
	for i := range a.hosts {
		if a.hosts[i].ord == ord {
			a.hosts[i].n += n
			return
		}
	}
	a.hosts = append(a.hosts, host{ord, n})
}

type zoneCount struct {
	zone int32
	n    int
}

// maxFastWeight bounds the weights for which the pools' windowed search is
// exact; outside it (or with NaN/Inf) every cell is scored one by one.
const maxFastWeight = 1e6

func newRound(cells []Cell, opts Options, plan *Plan) *round {
	rd := &round{
		opts:   opts,
		apps:   map[string]*appIndex{},
		compat: map[string]*compat{},
	}
	rd.fast = finiteWithin(opts.StartingContainerWeight) && finiteWithin(opts.BinPackFirstFitWeight)

	// Which cells take part, in tie-break order: the order given, or by
	// cell_index (stable) when bin-pack first fit is on, as the reference
	// orders each zone then.
	seen := make(map[string]bool, len(cells))
	order := make([]int, 0, len(cells))
	for i := range cells {
		c := &cells[i]
		switch {
		case seen[c.ID]:
			plan.IgnoredCells = append(plan.IgnoredCells, IgnoredCell{c.ID, "duplicate cell id"})
		case c.Evacuating:
			seen[c.ID] = true
			plan.IgnoredCells = append(plan.IgnoredCells, IgnoredCell{c.ID, "evacuating"})
		default:
			seen[c.ID] = true
			order = append(order, i)
		}
	}
	binPack := opts.BinPackFirstFitWeight > 0
	if binPack {
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(cells[a].CellIndex, cells[b].CellIndex) })
	}

	zoneIdx := map[string]int32{}
	profIdx := map[string]int32{}
	zoneSeen := map[[2]int32]bool{}
	var zoneSize []int
	rd.cells = make([]cellState, len(order))
	plan.cellOrder = make([]string, len(order))
	for ord, i := range order {
		c := &cells[i]
		z, ok := zoneIdx[c.Zone]
		if !ok {
			z = int32(len(rd.zones))
			zoneIdx[c.Zone] = z
			rd.zones = append(rd.zones, zoneState{name: c.Zone})
			zoneSize = append(zoneSize, 0)
		}
		pk := profileKey(c)
		p, ok := profIdx[pk]
		if !ok {
			p = int32(len(rd.profiles))
			profIdx[pk] = p
			rd.profiles = append(rd.profiles, newProfile(c))
		}
		if !zoneSeen[[2]int32{z, p}] {
			zoneSeen[[2]int32{z, p}] = true
			rd.zones[z].profiles = append(rd.zones[z].profiles, p)
		}
		// The scored index: the position in the zone by cell_index when
		// bin-pack is on, else the raw cell_index (times a weight <= 0).
		idx := c.CellIndex
		if binPack {
			idx = zoneSize[z]
		}
		zoneSize[z]++
		cs := &rd.cells[ord]
		*cs = cellState{
			id: c.ID, zone: z, profile: p,
			total: c.Total, avail: c.Available,
			proxy: max(c.ProxyMemoryMB, 0),
			start: int64(c.StartingContainers),
			tasks: int64(max(c.Tasks, 0)),
		}
		cs.idxTerm = float64(float64(idx) * opts.BinPackFirstFitWeight)
		rd.inflight += c.StartingContainers
		plan.cellOrder[ord] = c.ID
	}
	entries := 0
	for _, i := range order {
		entries += len(cells[i].Instances)
	}
	rd.apps = make(map[string]*appIndex, entries/2)
	for ord, i := range order {
		for guid, n := range cells[i].Instances {
			if n > 0 {
				rd.addInstances(guid, int32(ord), n)
			}
		}
	}
	rd.buildPools()
	rd.hostK = make([]int32, len(rd.cells))
	rd.inZone = make([]bool, len(rd.zones))
	return rd
}

func finiteWithin(w float64) bool {
	return !math.IsNaN(w) && math.Abs(w) <= maxFastWeight
}

func (rd *round) app(guid string) *appIndex {
	a := rd.apps[guid]
	if a == nil {
		a = &appIndex{zoneCount: make([]int, len(rd.zones))}
		rd.apps[guid] = a
	}
	return a
}

func (rd *round) addInstances(guid string, ord int32, n int) {
	a := rd.app(guid)
	a.zoneCount[rd.cells[ord].zone] += n
	a.addHost(ord, int32(min(n, math.MaxInt32/2)))
}

type poolKey struct {
	zone, profile int32
	total         Resources
	proxy         int64
}

func (rd *round) buildPools() {
	pools := map[poolKey]*pool{}
	for ord := range rd.cells {
		c := &rd.cells[ord]
		k := poolKey{c.zone, c.profile, c.total, c.proxy}
		p := pools[k]
		if p == nil {
			p = &pool{
				zone: c.zone, profile: c.profile, total: c.total, proxy: c.proxy,
				exhaustive: !rd.fast || c.total.MemoryMB <= 0 || c.total.DiskMB <= 0 || c.total.Containers <= 0,
				tuples:     map[tupleKey]*tuple{},
			}
			pools[k] = p
			rd.zones[c.zone].pools = append(rd.zones[c.zone].pools, p)
		}
		c.pool = p
		p.join(rd, int32(ord))
	}
}

// fits reports which dimensions of a cell's available resources are short
// of what an item needs (0: it fits), as the rep's ResourceMatch.
func fits(avail *Resources, mem, disk int64) int {
	dims := 0
	if avail.DiskMB < disk {
		dims |= dimDisk
	}
	if avail.MemoryMB < mem {
		dims |= dimMemory
	}
	if avail.Containers < 1 {
		dims |= dimContainers
	}
	return dims
}

// resourceScore is the reference's score of a cell for an item of mem and
// disk: the fraction of the cell used once the item is placed, averaged
// over memory, disk and containers, plus the starting-container term. The
// explicit conversions keep the compiler from fusing operations, so the
// same inputs always give the same bits.
func resourceScore(c *cellState, mem, disk int64, ws float64) float64 {
	fm := 1.0 - float64(float64(c.avail.MemoryMB-mem)/float64(c.total.MemoryMB))
	fd := 1.0 - float64(float64(c.avail.DiskMB-disk)/float64(c.total.DiskMB))
	fc := 1.0 - float64(float64(c.avail.Containers-1)/float64(c.total.Containers))
	frac := float64(float64(fm+fd)+fc) / 3.0
	return frac + float64(float64(c.start)*ws)
}

// lrpScore is an LRP's score on a cell holding k instances of its app; mem
// already includes the cell's proxy. Lower is better.
func lrpScore(c *cellState, mem, disk int64, ws float64, k int32) float64 {
	return float64(resourceScore(c, mem, disk, ws)+float64(localityOffset*int64(k))) + c.idxTerm
}

// taskScore is a task's score on a cell: tasks of any kind repel.
func taskScore(c *cellState, mem, disk int64, ws float64) float64 {
	return resourceScore(c, mem, disk, ws) + float64(localityOffset*c.tasks)
}

// localityOffset is added per instance of the same app (LRPs) or per task
// (tasks) already on the cell: it outweighs any difference in load.
const localityOffset = 1000

// noWinner is the reference's starting "best score": a cell must score
// strictly lower to win, so cells scoring NaN, +Inf or >= 1e20 never do.
const noWinner = 1e20

// candidate is the best cell found so far: lowest score, then lowest ord.
type candidate struct {
	ord   int32
	score float64
}

func none() candidate { return candidate{ord: -1, score: noWinner} }

func (b *candidate) offer(ord int32, score float64) {
	if score < b.score || (b.ord >= 0 && score == b.score && ord < b.ord) {
		b.ord, b.score = ord, score
	}
}

// reserve books an item on a cell for the rest of the round: what it uses
// leaves the available resources, it starts, and it counts for locality.
func (rd *round) reserve(ord int32, mem, disk int64, task bool) {
	c := &rd.cells[ord]
	p := c.pool
	if !p.exhaustive {
		p.remove(rd, ord)
	}
	c.avail.MemoryMB -= mem
	c.avail.DiskMB -= disk
	c.avail.Containers--
	c.start++
	if task {
		c.tasks++
	}
	if !p.exhaustive {
		p.add(rd, ord)
	}
	rd.inflight++
}

func (rd *round) limitReached() bool {
	return rd.opts.StartingContainerCountMaximum > 0 && rd.inflight >= rd.opts.StartingContainerCountMaximum
}
