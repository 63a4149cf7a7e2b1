package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"hash/fnv"
	"runtime"
	"slices"
	"sync"

	"github.com/diego-go/diego/internal/bbs/converge"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/rep/repclient"
	"github.com/diego-go/diego/internal/sqldb"
)

// The drift checks of an LRP pass (steps 13, 14) compare what each RUNNING
// instance was started with (its encrypted internal_routes and metric_tags)
// with its desired LRP (encrypted routes and metric_tags). Reading and
// decrypting 200,000 rows every pass costs more than the rest of the pass,
// and nearly always finds nothing: every write to either row advances its
// modification tag, so a pair found in sync stays in sync until one of
// the two tags moves. A DriftMemo remembers those pairs (and the decoded
// desired side by desired tag); the loader reads only the rows it does
// not know.

// bulkDriftRows: above this many rows to read, one scan of the table is
// cheaper than fetching them by key.
const bulkDriftRows = 50_000

// driftBatch is the number of keys per targeted read.
const driftBatch = 250

// DriftMemo remembers which (instance, desired LRP) pairs were last found
// in sync, and the decoded desired side, between passes. It is safe for
// concurrent use; the zero value is not ready, use NewDriftMemo.
type DriftMemo struct {
	mu      sync.Mutex
	budget  int                // rows read per load at most; 0: all
	next    int                // where the next budgeted load starts
	inSync  map[uint64]tagPair // slot hash -> tags found in sync
	desired map[string]desiredMemo

	// kept are the entries of the current load still valid, which Record
	// makes the memo.
	kept        map[uint64]tagPair
	keptDesired map[string]desiredMemo
}

type tagPair struct{ actual, desired uint64 }

type desiredMemo struct {
	tag   uint64
	drift *converge.DesiredDrift
}

// NewDriftMemo returns an empty memo. With a budget, a load reads the
// drift of at most that many rows, taking turns among those it does not
// know in sync: after an election the checks cover every instance within a
// few passes instead of making the first pass decrypt them all. 0 reads
// every row it does not know.
func NewDriftMemo(budget int) *DriftMemo {
	return &DriftMemo{budget: max(budget, 0), inSync: map[uint64]tagPair{}, desired: map[string]desiredMemo{}}
}

// Record ends a pass: the pairs found in sync by the plan, and those the
// load skipped because they still were, are what the memo knows next.
func (m *DriftMemo) Record(inSync []converge.DriftCheck) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.kept == nil {
		return // no load since the last Record
	}
	for _, c := range inSync {
		m.kept[slotHash(c.ProcessGUID, c.Index)] = tagPair{tagHash(c.Actual), tagHash(c.Desired)}
	}
	m.inSync, m.desired = m.kept, m.keptDesired
	m.kept, m.keptDesired = nil, nil
}

// Len is the number of pairs known in sync.
func (m *DriftMemo) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.inSync)
}

func slotHash(guid string, index int32) uint64 {
	h := fnv.New64a()
	h.Write([]byte(guid))
	return h.Sum64() ^ uint64(uint32(index))*0x9E3779B97F4A7C15
}

func tagHash(t converge.Tag) uint64 {
	h := fnv.New64a()
	h.Write([]byte(t.Epoch))
	return h.Sum64() ^ (uint64(t.Index)+1)*0xC2B2AE3D27D4EB4F
}

// driftWork is what one load has to read.
type driftWork struct {
	rows    []*converge.ActualRow           // actual rows to read
	desired map[string]*converge.DesiredRow // desired LRPs to read, by guid
}

// loadDrift sets the Drift of the rows and desired LRPs of s the memo does
// not know in sync.
func (db *DB) loadDrift(ctx context.Context, s *converge.LRPSnapshot, memo *DriftMemo) error {
	w := memo.plan(s)
	if err := db.readDesiredDrift(ctx, w.desired); err != nil {
		return err
	}
	memo.keepDesired(w.desired)
	return db.readActualDrift(ctx, w.rows)
}

// plan picks the rows to read, sets the desired drift it knows, and starts
// a new load.
func (m *DriftMemo) plan(s *converge.LRPSnapshot) driftWork {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.kept, m.keptDesired = map[uint64]tagPair{}, map[string]desiredMemo{}
	byGUID := make(map[string]*converge.DesiredRow, len(s.Desired))
	for i := range s.Desired {
		byGUID[s.Desired[i].ProcessGUID] = &s.Desired[i]
	}
	type candidate struct {
		r *converge.ActualRow
		d *converge.DesiredRow
	}
	var cands []candidate
	for i := range s.Actual {
		r := &s.Actual[i]
		if r.Presence != models.ActualLRP_ORDINARY || r.State != models.ActualLRPStateRunning {
			continue
		}
		d := byGUID[r.ProcessGUID]
		if d == nil || r.Index >= d.Instances {
			continue
		}
		key := slotHash(r.ProcessGUID, r.Index)
		pair := tagPair{tagHash(r.Tag), tagHash(d.Tag)}
		if m.inSync[key] == pair {
			m.kept[key] = pair
			continue
		}
		cands = append(cands, candidate{r, d})
	}
	if m.budget > 0 && len(cands) > m.budget {
		start := m.next % len(cands)
		m.next = start + m.budget
		cands = slices.Concat(cands[start:], cands[:start])[:m.budget]
	}
	w := driftWork{desired: map[string]*converge.DesiredRow{}}
	for _, c := range cands {
		r, d := c.r, c.d
		w.rows = append(w.rows, r)
		if d.Drift != nil {
			continue
		}
		if known, ok := m.desired[d.ProcessGUID]; ok && known.tag == tagHash(d.Tag) {
			d.Drift = known.drift
			m.keptDesired[d.ProcessGUID] = known
			continue
		}
		w.desired[d.ProcessGUID] = d
	}
	return w
}

func (m *DriftMemo) keepDesired(read map[string]*converge.DesiredRow) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for guid, d := range read {
		if d.Drift != nil && m.keptDesired != nil {
			m.keptDesired[guid] = desiredMemo{tag: tagHash(d.Tag), drift: d.Drift}
		}
	}
}

// readDesiredDrift reads and decodes the routes and metric tags of want,
// whose tags must still be those of the snapshot.
func (db *DB) readDesiredDrift(ctx context.Context, want map[string]*converge.DesiredRow) error {
	if len(want) == 0 || db.dview.fillDrift(want) {
		return nil
	}
	type blob struct {
		d            *converge.DesiredRow
		routes, tags []byte
	}
	var blobs []blob
	collect := func(scan func(...any) error) error {
		var guid, epoch string
		var index sql.NullInt64
		var routes, tags []byte
		if err := scan(&guid, &epoch, &index, &routes, &tags); err != nil {
			return err
		}
		if d := want[guid]; d != nil && d.Tag == (converge.Tag{Epoch: epoch, Index: uint32(index.Int64)}) {
			blobs = append(blobs, blob{d, routes, tags})
		}
		return nil
	}
	const cols = "SELECT process_guid, modification_tag_epoch, modification_tag_index, routes, metric_tags FROM desired_lrps"
	if len(want) > bulkDriftRows {
		if err := eachRow(ctx, db.sql, cols, collect); err != nil {
			return convertError(err)
		}
	} else {
		guids := make([]string, 0, len(want))
		for g := range want {
			guids = append(guids, g)
		}
		slices.Sort(guids)
		for batch := range slices.Chunk(guids, driftBatch) {
			if err := eachRow(ctx, db.sql, cols+" WHERE process_guid IN ("+sqldb.Placeholders(len(batch))+")", collect, anys(batch)...); err != nil {
				return convertError(err)
			}
		}
	}
	parallel(len(blobs), func(i int) {
		b := blobs[i]
		b.d.Drift = db.decodeDesiredDrift(b.routes, b.tags)
	})
	return nil
}

func (db *DB) decodeDesiredDrift(routesData, tagsData []byte) *converge.DesiredDrift {
	dd := &converge.DesiredDrift{}
	if routes, err := db.decodeRoutes(routesData); err != nil {
		dd.RoutesInvalid = true
	} else if list, err := repclient.InternalRoutesFromRoutes(routes); err != nil {
		dd.RoutesInvalid = true
	} else {
		for _, r := range list {
			dd.InternalRoutes = append(dd.InternalRoutes, r.Hostname)
		}
	}
	tags, err := db.decodeMetricTags(tagsData)
	dd.MetricTags, dd.TagsInvalid = tags, err != nil
	return dd
}

// readActualDrift reads and decodes the internal routes and metric tags
// of rows, whose tags must still be those of the snapshot; a row that
// changed meanwhile, or cannot be decrypted, is left without drift (it is
// checked next pass).
func (db *DB) readActualDrift(ctx context.Context, rows []*converge.ActualRow) error {
	if len(rows) == 0 || db.view.actualDrift(rows) {
		return nil
	}
	bySlot := make(map[slotKey]*converge.ActualRow, len(rows))
	for _, r := range rows {
		bySlot[slotKey{r.ProcessGUID, r.Index}] = r
	}
	type blob struct {
		r            *converge.ActualRow
		routes, tags []byte
	}
	var blobs []blob
	collect := func(scan func(...any) error) error {
		var guid, epoch string
		var index int32
		var tagIndex sql.NullInt64
		var routes, tags []byte
		if err := scan(&guid, &index, &epoch, &tagIndex, &routes, &tags); err != nil {
			return err
		}
		if r := bySlot[slotKey{guid, index}]; r != nil && r.Tag == (converge.Tag{Epoch: epoch, Index: uint32(tagIndex.Int64)}) {
			blobs = append(blobs, blob{r, routes, tags})
		}
		return nil
	}
	const cols = "SELECT process_guid, instance_index, modification_tag_epoch, modification_tag_index, internal_routes, metric_tags FROM actual_lrps"
	if len(rows) > bulkDriftRows {
		err := eachRow(ctx, db.sql, cols+" WHERE presence = ? AND state = ?", collect, int32(models.ActualLRP_ORDINARY), models.ActualLRPStateRunning)
		if err != nil {
			return convertError(err)
		}
	} else {
		keys := make([]slotKey, 0, len(rows))
		for _, r := range rows {
			keys = append(keys, slotKey{r.ProcessGUID, r.Index})
		}
		for batch := range slices.Chunk(keys, driftBatch) {
			cond, args := slotCondition(batch)
			if err := eachRow(ctx, db.sql, cols+" WHERE presence = 0 AND ("+cond+")", collect, args...); err != nil {
				return convertError(err)
			}
		}
	}
	parallel(len(blobs), func(i int) {
		b := blobs[i]
		b.r.Drift = db.decodeActualDrift(b.routes, b.tags)
	})
	return nil
}

// decodeActualDrift decodes a row's routes and tags; nil when they cannot
// be read.
func (db *DB) decodeActualDrift(routesData, tagsData []byte) *converge.ActualDrift {
	ad := &converge.ActualDrift{}
	if len(routesData) > 0 {
		plain, err := db.decryptJSON(routesData)
		if err != nil {
			return nil
		}
		var routes []internalRouteJSON
		if err := json.Unmarshal(plain, &routes); err != nil {
			return nil
		}
		for _, r := range routes {
			ad.InternalRoutes = append(ad.InternalRoutes, r.Hostname)
		}
	}
	if len(tagsData) > 0 {
		plain, err := db.decryptJSON(tagsData)
		if err != nil {
			return nil
		}
		if ad.MetricTags, err = parseStringMap(plain); err != nil {
			return nil
		}
	}
	return ad
}

// parallel runs fn(0) … fn(n-1) on every CPU and returns when all have.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n/64+1)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				fn(i)
			}
		})
	}
	wg.Wait()
}
