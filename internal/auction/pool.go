package auction

import (
	"math"
	"slices"
)

// A pool holds the cells of one zone that share a profile, totals and
// proxy allowance. Within a pool an LRP's score on a cell that holds no
// instance of its app is
//
//	C(item) + K(cell)     K = -(avail.mem/total.mem + avail.disk/total.disk
//	                            + avail.containers/total.containers)/3
//	                          + starting_weight*starting + index term
//
// in real arithmetic, with C the same for every cell of the pool. So the
// cells are grouped by identical state (a tuple: same available resources,
// starting count and index term, hence bit-identical scores), the tuples
// sit in a min-heap on K, and a search visits them best first: the first
// tuple that fits and has a cell not hosting the app sets the bound, every
// tuple whose K lies within a rounding window of it is scored with the
// reference's exact formula, and the rest cannot win. Cells hosting the
// app are scored one by one by the caller. A placement then costs
// O(log tuples + window + hosts) instead of O(cells).
//
// Pools whose totals are not all positive (the score is then NaN or
// infinite) and rounds with absurd weights are "exhaustive": every cell is
// scored with the exact formula, as the reference does.
type pool struct {
	zone, profile int32
	total         Resources
	proxy         int64
	exhaustive    bool

	cells []int32 // exhaustive pools: the member cells, ascending

	tuples map[tupleKey]*tuple
	heap   []*tuple
	maxMag float64 // the largest |term| any tuple ever had: sizes the window
	spare  []*tuple
}

type tupleKey struct {
	mem, disk, containers, start int64
	idx                          uint64 // bits of the index term
}

type tuple struct {
	key     tupleKey
	k       float64
	members []int32 // cell ords, ascending
	pos     int     // index in the heap
}

// join makes a cell a member of the pool; cells join in ascending ord.
func (p *pool) join(rd *round, ord int32) {
	if p.exhaustive {
		p.cells = append(p.cells, ord)
		return
	}
	p.add(rd, ord)
}

// add files a cell of a fast pool under its current state.
func (p *pool) add(rd *round, ord int32) {
	c := &rd.cells[ord]
	key := tupleKey{c.avail.MemoryMB, c.avail.DiskMB, c.avail.Containers, c.start, math.Float64bits(c.idxTerm)}
	t := p.tuples[key]
	if t == nil {
		t = p.newTuple(rd, key, c)
	}
	i, _ := slices.BinarySearch(t.members, ord)
	t.members = slices.Insert(t.members, i, ord)
	c.tup = t
}

func (p *pool) newTuple(rd *round, key tupleKey, c *cellState) *tuple {
	var t *tuple
	if n := len(p.spare); n > 0 {
		t, p.spare = p.spare[n-1], p.spare[:n-1]
		t.members = t.members[:0]
	} else {
		t = &tuple{}
	}
	t.key = key
	um := float64(c.avail.MemoryMB) / float64(p.total.MemoryMB)
	ud := float64(c.avail.DiskMB) / float64(p.total.DiskMB)
	uc := float64(c.avail.Containers) / float64(p.total.Containers)
	st := float64(c.start) * rd.opts.StartingContainerWeight
	t.k = -(um+ud+uc)/3 + st + c.idxTerm
	p.maxMag = max(p.maxMag, math.Abs(um)+math.Abs(ud)+math.Abs(uc)+math.Abs(st)+math.Abs(c.idxTerm))
	p.tuples[key] = t
	t.pos = len(p.heap)
	p.heap = append(p.heap, t)
	p.up(t.pos)
	return t
}

// remove takes a cell of a fast pool out of its state group, before its
// state changes.
func (p *pool) remove(rd *round, ord int32) {
	c := &rd.cells[ord]
	t := c.tup
	c.tup = nil
	if i, ok := slices.BinarySearch(t.members, ord); ok {
		t.members = slices.Delete(t.members, i, i+1)
	}
	if len(t.members) > 0 {
		return
	}
	delete(p.tuples, t.key)
	last := len(p.heap) - 1
	i := t.pos
	if i != last {
		p.swap(i, last)
	}
	p.heap = p.heap[:last]
	if i != last {
		p.down(i)
		p.up(i)
	}
	p.spare = append(p.spare, t)
}

func (p *pool) swap(i, j int) {
	p.heap[i], p.heap[j] = p.heap[j], p.heap[i]
	p.heap[i].pos = i
	p.heap[j].pos = j
}

func (p *pool) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if p.heap[parent].k <= p.heap[i].k {
			return
		}
		p.swap(i, parent)
		i = parent
	}
}

func (p *pool) down(i int) {
	n := len(p.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && p.heap[r].k < p.heap[l].k {
			m = r
		}
		if p.heap[i].k <= p.heap[m].k {
			return
		}
		p.swap(i, m)
		i = m
	}
}

// bestLRP offers to b the pool's best cell for an LRP of mem and disk
// (proxy not included). In fast pools only cells not hosting the app are
// considered (rd.hostK is 0 for them); in exhaustive pools every cell is.
func (p *pool) bestLRP(rd *round, mem, disk int64, b *candidate) {
	need := mem + p.proxy
	ws := rd.opts.StartingContainerWeight
	if p.exhaustive {
		for _, ord := range p.cells {
			c := &rd.cells[ord]
			if fits(&c.avail, need, disk) == 0 {
				b.offer(ord, lrpScore(c, need, disk, ws, rd.hostK[ord]))
			}
		}
		return
	}
	if len(p.heap) == 0 {
		return
	}
	// Rounding window: the exact score and K each err by a few ulps of
	// the magnitudes involved; 1e-10 of them is far above that.
	rmag := math.Abs(float64(need)/float64(p.total.MemoryMB)) + math.Abs(float64(disk)/float64(p.total.DiskMB)) + 1/float64(p.total.Containers)
	window := 1e-10 * (2*p.maxMag + 2*rmag + 8)
	found := false
	bound := math.Inf(1)
	q := append(rd.aux[:0], 0)
	for len(q) > 0 {
		var i int32
		i, q = p.popMin(q)
		t := p.heap[i]
		if t.k > bound {
			break
		}
		if t.key.mem >= need && t.key.disk >= disk && t.key.containers >= 1 {
			for _, ord := range t.members {
				if rd.hostK[ord] != 0 {
					continue
				}
				b.offer(ord, lrpScore(&rd.cells[ord], need, disk, ws, 0))
				if !found {
					found = true
					bound = t.k + window
				}
				break
			}
		}
		for ch := 2*i + 1; ch <= 2*i+2 && int(ch) < len(p.heap); ch++ {
			if p.heap[ch].k <= bound {
				q = p.pushAux(q, ch)
			}
		}
	}
	rd.aux = q
}

// The search queue is a small binary heap of heap indices, on K.
func (p *pool) pushAux(q []int32, i int32) []int32 {
	q = append(q, i)
	j := len(q) - 1
	for j > 0 {
		parent := (j - 1) / 2
		if p.heap[q[parent]].k <= p.heap[q[j]].k {
			break
		}
		q[parent], q[j] = q[j], q[parent]
		j = parent
	}
	return q
}

func (p *pool) popMin(q []int32) (int32, []int32) {
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q = q[:last]
	j := 0
	for {
		l := 2*j + 1
		if l >= len(q) {
			break
		}
		m := l
		if r := l + 1; r < len(q) && p.heap[q[r]].k < p.heap[q[l]].k {
			m = r
		}
		if p.heap[q[j]].k <= p.heap[q[m]].k {
			break
		}
		q[j], q[m] = q[m], q[j]
		j = m
	}
	return top, q
}
