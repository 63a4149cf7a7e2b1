package db

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"code.cloudfoundry.org/lager/v3"
	"github.com/google/btree"
	"google.golang.org/protobuf/proto"

	"github.com/diego-go/diego/internal/bbs/converge"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
)

// The actual LRP view is a copy of the actual_lrps table in the memory of
// the active BBS. The active BBS is the only writer of the table (it holds
// the lock; a BBS that loses it exits), so once loaded the copy stays
// exact if every write is applied to it after its commit, in commit order.
// It serves the reads that dominate at scale — the bulk and per-cell lists,
// the slot reads of the reps' no-op starts, the convergence snapshot —
// from memory, with each row already decrypted and encoded.
//
// Ordering: every write to a slot (process guid, index) holds the slot's
// stripe lock from before its transaction begins until the view has the
// result, so two writes of one slot reach the view in the order they
// committed. Stripes are taken before any database lock and in ascending
// order, so they add no lock cycles.
//
// Uncertainty: a transaction that wrote and then failed may or may not
// have committed (a lost connection during COMMIT). Its slots are read
// again from the database, still under their stripes; if that fails too,
// the view is dropped and loaded again in the background, and reads go to
// SQL meanwhile.
//
// Loading (view_load.go): the table is read once (one consistent
// statement) while writes go on; the slots written meanwhile are read
// again before the view starts serving.

// viewStripes is the number of slot stripe locks.
const viewStripes = 1 << 12

// viewKey orders rows as the table's primary key does.
type viewKey struct {
	guid     string
	index    int32
	presence int32
}

func compareViewKeys(a, b viewKey) int {
	if c := strings.Compare(a.guid, b.guid); c != 0 {
		return c
	}
	if c := cmp.Compare(a.index, b.index); c != 0 {
		return c
	}
	return cmp.Compare(a.presence, b.presence)
}

// viewRow is one row; immutable once in the view. It keeps the row
// encoded (a list element as is) and the plain columns the filters and
// convergence read; the model is decoded on demand.
type viewRow struct {
	key          viewKey
	domain       string
	state        string
	instanceGUID string
	cell         string
	since        int64
	crashCount   int32
	tag          converge.Tag
	// tagsStored: the row stores metric tags (an empty map included), as
	// opposed to none; the drift check skips rows without.
	tagsStored bool
	// enc is the row marshalled, the bytes of one list element.
	enc []byte
}

func lessViewRow(a, b *viewRow) bool { return compareViewKeys(a.key, b.key) < 0 }

// newViewRow makes the row a read of the stored lrp would return.
func newViewRow(lrp *models.ActualLRP) (*viewRow, error) {
	c := canonicalActualLRP(lrp)
	enc, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return nil, err
	}
	k, ik, tag := c.GetActualLrpKey(), c.GetActualLrpInstanceKey(), c.GetModificationTag()
	return &viewRow{
		key:    viewKey{k.GetProcessGuid(), k.GetIndex(), int32(c.GetPresence())},
		domain: viewStrings.get(k.GetDomain()), state: viewStrings.get(c.GetState()),
		instanceGUID: ik.GetInstanceGuid(), cell: viewStrings.get(ik.GetCellId()),
		since: c.GetSince(), crashCount: c.GetCrashCount(),
		tag:        converge.Tag{Epoch: tag.GetEpoch(), Index: tag.GetIndex()},
		tagsStored: c.MetricTags != nil,
		enc:        enc,
	}, nil
}

// model decodes the row. A row that does not decode cannot be in the view
// (it was marshalled by newViewRow), so a failure is a bug: it panics.
func (r *viewRow) model() *models.ActualLRP {
	lrp := &models.ActualLRP{}
	if err := proto.Unmarshal(r.enc, lrp); err != nil {
		panic(fmt.Sprintf("actual LRP view: row %v does not decode: %v", r.key, err))
	}
	models.FillNonNullable(lrp)
	if r.tagsStored && lrp.MetricTags == nil {
		lrp.MetricTags = map[string]string{}
	}
	return lrp
}

// viewStrings interns the few distinct values of the domain, state and
// cell columns.
var viewStrings = &stringPool{m: map[string]string{}}

type stringPool struct {
	mu sync.Mutex
	m  map[string]string
}

func (p *stringPool) get(s string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v, ok := p.m[s]; ok {
		return v
	}
	if len(p.m) < 1<<16 {
		p.m[s] = s
	}
	return s
}

// canonicalActualLRP is a deep copy of lrp as it comes back from the
// table: reasons truncated, every non-nullable part present.
func canonicalActualLRP(lrp *models.ActualLRP) *models.ActualLRP {
	c := proto.CloneOf(lrp)
	c.PlacementError = truncate(c.PlacementError, maxReasonLength)
	c.CrashReason = truncate(c.CrashReason, maxReasonLength)
	if c.Routable == nil {
		f := false
		c.Routable = &f
	}
	if len(c.ActualLrpInternalRoutes) == 0 && c.ActualLrpInternalRoutes != nil {
		c.ActualLrpInternalRoutes = []*models.ActualLRPInternalRoute{}
	}
	models.FillNonNullable(c)
	return c
}

func (r *viewRow) encoded() []byte { return r.enc }

type actualView struct {
	db *DB

	stripes [viewStripes]sync.Mutex

	// The load's mu guards the fields below too.
	viewLoad[slotKey]
	rows  *btree.BTreeG[*viewRow]
	cells map[string]map[viewKey]*viewRow
	stop  context.CancelFunc
}

// newActualView returns the view of db, off: every write of actual LRP
// rows already takes its slot's stripe and keeps a journal, so that a view
// enabled later misses no write that commits while it loads.
func newActualView(db *DB) *actualView {
	return &actualView{db: db, viewLoad: viewLoad[slotKey]{logger: db.logger.Session("actual-lrp-view")}, stop: func() {}}
}

// EnableViews starts loading the actual LRP view and the desired LRP
// view in the background; reads use SQL until each is loaded. Call it once
// the process is the only writer (after the lock and the migrations); ctx
// ends the loading and reloading. A second call does nothing.
func (db *DB) EnableViews(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	v := db.view
	v.mu.Lock()
	if v.state != viewOff {
		v.mu.Unlock()
		cancel()
		return
	}
	v.stop = cancel
	v.startLoadLocked(ctx)
	v.mu.Unlock()
	d := db.dview
	d.mu.Lock()
	d.startLoadLocked(ctx)
	d.mu.Unlock()
}

// StopViews ends loading and reloading; reads go on from the views that
// were loaded.
func (db *DB) StopViews() {
	db.view.mu.Lock()
	defer db.view.mu.Unlock()
	db.view.stop()
}

// ViewsLoaded reports whether reads are served from both views.
func (db *DB) ViewsLoaded() bool {
	db.view.mu.Lock()
	a := db.view.state == viewLoaded
	db.view.mu.Unlock()
	db.dview.mu.Lock()
	defer db.dview.mu.Unlock()
	return a && db.dview.state == viewLoaded
}

// stripe returns the stripe index of a slot.
func stripeOf(k slotKey) int { return int(slotHash(k.guid, k.index) % viewStripes) }

// lockSlots takes the stripes of keys in ascending order; the returned
// function releases them.
func (v *actualView) lockSlots(keys ...slotKey) func() {
	idx := make([]int, 0, len(keys))
	for _, k := range keys {
		idx = append(idx, stripeOf(k))
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		v.stripes[i].Lock()
	}
	return func() {
		for _, i := range slices.Backward(idx) {
			v.stripes[i].Unlock()
		}
	}
}

// startLoadLocked starts a load; v.mu is held.
func (v *actualView) startLoadLocked(ctx context.Context) {
	v.rows, v.cells = nil, nil
	v.viewLoad.startLoadLocked(ctx, v.readAll)
}

// actualBuild is the actual LRP view being loaded.
type actualBuild struct {
	v     *actualView
	tree  *btree.BTreeG[*viewRow]
	cells map[string]map[viewKey]*viewRow
}

func (b *actualBuild) reread(ctx context.Context, k slotKey) error {
	return b.v.reloadSlotInto(ctx, b.tree, b.cells, k)
}

func (b *actualBuild) installLocked() int {
	b.v.rows, b.v.cells = b.tree, b.cells
	return b.tree.Len()
}

// readAll reads the whole table in one statement, decoding and encoding
// chunks of rows on every core. Undecodable rows are deleted and left out.
func (v *actualView) readAll(ctx context.Context) (viewBuild[slotKey], error) {
	db := v.db
	rows, err := db.sql.QueryContext(ctx, selectActualLRPsSQL)
	if err != nil {
		return nil, sqldb.Classify(err)
	}
	b := &actualBuild{v: v, tree: btree.NewG(32, lessViewRow), cells: map[string]map[viewKey]*viewRow{}}
	bad, err := decodeRows(rows, scanStoredActualLRP,
		func(s *storedActualLRP) (*viewRow, error) {
			lrp, err := db.decodeActualLRP(s)
			if err != nil {
				return nil, err
			}
			return newViewRow(lrp)
		},
		func(r *viewRow) {
			b.tree.ReplaceOrInsert(r)
			addCell(b.cells, r)
		})
	if err != nil {
		return nil, err
	}
	db.deleteUndecodable(ctx, db.sql, bad)
	return b, nil
}

// reloadSlotInto reads one slot from SQL under its stripe into tree.
func (v *actualView) reloadSlotInto(ctx context.Context, tree *btree.BTreeG[*viewRow], cells map[string]map[viewKey]*viewRow, k slotKey) error {
	unlock := v.lockSlots(k)
	defer unlock()
	lrps, _, err := v.db.queryActualLRPs(ctx, v.db.sql, selectActualLRPsSQL+" WHERE process_guid = ? AND instance_index = ?", k.guid, k.index)
	if err != nil {
		return err
	}
	return replaceSlot(tree, cells, k, lrps)
}

// replaceSlot makes the rows of slot k in tree exactly lrps.
func replaceSlot(tree *btree.BTreeG[*viewRow], cells map[string]map[viewKey]*viewRow, k slotKey, lrps []*models.ActualLRP) error {
	for _, p := range []int32{int32(models.ActualLRP_ORDINARY), int32(models.ActualLRP_EVACUATING), int32(models.ActualLRP_SUSPECT)} {
		if old, ok := tree.Delete(&viewRow{key: viewKey{k.guid, k.index, p}}); ok {
			removeCell(cells, old)
		}
	}
	for _, lrp := range lrps {
		r, err := newViewRow(lrp)
		if err != nil {
			return err
		}
		tree.ReplaceOrInsert(r)
		addCell(cells, r)
	}
	return nil
}

func addCell(cells map[string]map[viewKey]*viewRow, r *viewRow) {
	cell := r.cell
	m := cells[cell]
	if m == nil {
		m = map[viewKey]*viewRow{}
		cells[cell] = m
	}
	m[r.key] = r
}

func removeCell(cells map[string]map[viewKey]*viewRow, r *viewRow) {
	cell := r.cell
	if m := cells[cell]; m != nil {
		delete(m, r.key)
		if len(m) == 0 {
			delete(cells, cell)
		}
	}
}

// journal records the row writes of one transaction attempt.
type journal struct {
	changes []ActualLRPChange
}

type journalKey struct{}

func withJournal(ctx context.Context, j *journal) context.Context {
	return context.WithValue(ctx, journalKey{}, j)
}

// record notes a row write in ctx's journal, if any.
func record(ctx context.Context, before, after *models.ActualLRP) {
	if j, _ := ctx.Value(journalKey{}).(*journal); j != nil {
		j.changes = append(j.changes, ActualLRPChange{Before: before, After: after})
	}
}

// txRunner runs fn in a transaction (DB.transact or a variant).
type txRunner func(ctx context.Context, fn func(context.Context, *sqldb.Tx) error) error

// transactSlots is transact for writes of actual LRP rows in the slots
// keys: with a view, it holds their stripes and applies the journal after
// the transaction.
func (db *DB) transactSlots(ctx context.Context, keys []slotKey, run txRunner, fn func(context.Context, *sqldb.Tx) error) error {
	v := db.view
	unlock := v.lockSlots(keys...)
	defer unlock()
	j := &journal{}
	err := run(withJournal(ctx, j), func(ctx context.Context, tx *sqldb.Tx) error {
		j.changes = j.changes[:0]
		return fn(ctx, tx)
	})
	v.settle(ctx, j, err)
	return err
}

// settle brings the view up to date after a transaction: its writes
// applied when it committed, its slots read again when its outcome is
// unknown. Stripes of the slots are held by the caller.
func (v *actualView) settle(ctx context.Context, j *journal, txErr error) {
	if len(j.changes) == 0 {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	switch v.state {
	case viewOff:
		return
	case viewLoading:
		for _, c := range j.changes {
			v.touched[changeSlot(c)] = struct{}{}
		}
		return
	}
	if txErr == nil {
		if err := v.applyLocked(j.changes); err == nil {
			return
		}
	}
	// Unknown outcome: read the slots again.
	seen := map[slotKey]bool{}
	for _, c := range j.changes {
		k := changeSlot(c)
		if seen[k] {
			continue
		}
		seen[k] = true
		lrps, _, err := v.db.queryActualLRPs(context.WithoutCancel(ctx), v.db.sql,
			selectActualLRPsSQL+" WHERE process_guid = ? AND instance_index = ?", k.guid, k.index)
		if err == nil {
			err = replaceSlot(v.rows, v.cells, k, lrps)
		}
		if err != nil {
			v.logger.Error("slot-refresh-failed-reloading", err, lager.Data{"process_guid": k.guid, "index": k.index})
			v.startLoadLocked(v.loadContext())
			return
		}
	}
}

// loadContext is a context for reloads that ends when the view is stopped.
func (v *actualView) loadContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	prev := v.stop
	v.stop = func() { cancel(); prev() }
	return ctx
}

func changeSlot(c ActualLRPChange) slotKey {
	lrp := c.After
	if lrp == nil {
		lrp = c.Before
	}
	k := lrp.GetActualLrpKey()
	return slotKey{k.GetProcessGuid(), k.GetIndex()}
}

// applyLocked applies committed writes in order; v.mu is held.
func (v *actualView) applyLocked(changes []ActualLRPChange) error {
	for _, c := range changes {
		if c.Before != nil {
			k := c.Before.GetActualLrpKey()
			if old, ok := v.rows.Delete(&viewRow{key: viewKey{k.GetProcessGuid(), k.GetIndex(), int32(c.Before.GetPresence())}}); ok {
				removeCell(v.cells, old)
			}
		}
		if c.After != nil {
			r, err := newViewRow(c.After)
			if err != nil {
				return err
			}
			if old, ok := v.rows.ReplaceOrInsert(r); ok {
				removeCell(v.cells, old)
			}
			addCell(v.cells, r)
		}
	}
	return nil
}

// snapshot returns an immutable copy of the rows (copy on write), or nil
// when the view does not serve.
func (v *actualView) snapshot() *btree.BTreeG[*viewRow] {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.state != viewLoaded {
		return nil
	}
	return v.rows.Clone()
}

// slot returns the rows of one slot ordered by presence; ok is false when
// the view does not serve.
func (v *actualView) slot(guid string, index int32) (rows []*models.ActualLRP, ok bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.state != viewLoaded {
		return nil, false
	}
	v.rows.AscendGreaterOrEqual(&viewRow{key: viewKey{guid, index, math.MinInt32}}, func(r *viewRow) bool {
		if r.key.guid != guid || r.key.index != index {
			return false
		}
		rows = append(rows, r.model())
		return true
	})
	return rows, true
}

// cellRows returns the rows whose cell is one of cells, in key order; ok is
// false when the view does not serve.
func (v *actualView) cellRows(cells ...string) (rows []*viewRow, ok bool) {
	v.mu.Lock()
	if v.state != viewLoaded {
		v.mu.Unlock()
		return nil, false
	}
	for _, c := range cells {
		for _, r := range v.cells[c] {
			rows = append(rows, r)
		}
	}
	v.mu.Unlock()
	slices.SortFunc(rows, func(a, b *viewRow) int { return compareViewKeys(a.key, b.key) })
	return rows, true
}

// filtered returns the rows matching f in key order; ok is false when the
// view does not serve.
func (v *actualView) filtered(f ActualLRPFilter) ([]*viewRow, bool) {
	match := func(r *viewRow) bool {
		return (f.Domain == "" || r.domain == f.Domain) &&
			(f.CellID == "" || r.cell == f.CellID) &&
			(f.ProcessGUID == "" || r.key.guid == f.ProcessGUID) &&
			(f.Index == nil || r.key.index == *f.Index)
	}
	if f.CellID != "" {
		rows, ok := v.cellRows(f.CellID)
		if !ok {
			return nil, false
		}
		return slices.DeleteFunc(rows, func(r *viewRow) bool { return !match(r) }), true
	}
	tree := v.snapshot()
	if tree == nil {
		return nil, false
	}
	var out []*viewRow
	visit := func(r *viewRow) bool {
		if f.ProcessGUID != "" && r.key.guid != f.ProcessGUID {
			return false
		}
		if match(r) {
			out = append(out, r)
		}
		return true
	}
	if f.ProcessGUID != "" {
		tree.AscendGreaterOrEqual(&viewRow{key: viewKey{f.ProcessGUID, math.MinInt32, math.MinInt32}}, visit)
	} else {
		out = make([]*viewRow, 0, tree.Len())
		tree.Ascend(visit)
	}
	return out, true
}

// guidRows returns the rows of the given process guids; ok is false when
// the view does not serve.
func (v *actualView) guidRows(guids []string) ([]*viewRow, bool) {
	tree := v.snapshot()
	if tree == nil {
		return nil, false
	}
	var out []*viewRow
	for _, g := range guids {
		tree.AscendGreaterOrEqual(&viewRow{key: viewKey{g, math.MinInt32, math.MinInt32}}, func(r *viewRow) bool {
			if r.key.guid != g {
				return false
			}
			out = append(out, r)
			return true
		})
	}
	return out, true
}

func viewModels(rows []*viewRow) []*models.ActualLRP {
	out := make([]*models.ActualLRP, len(rows))
	for i, r := range rows {
		out[i] = r.model()
	}
	return out
}

// slimActual is loadSlimActual from the view: every row, or the rows of
// guids when guids is not nil; ok is false when the view does not serve.
func (v *actualView) slimActual(guids []string) ([]converge.ActualRow, bool) {
	var rows []*viewRow
	if guids == nil {
		tree := v.snapshot()
		if tree == nil {
			return nil, false
		}
		rows = make([]*viewRow, 0, tree.Len())
		tree.Ascend(func(r *viewRow) bool {
			rows = append(rows, r)
			return true
		})
	} else {
		var ok bool
		if rows, ok = v.guidRows(guids); !ok {
			return nil, false
		}
	}
	out := make([]converge.ActualRow, len(rows))
	for i, r := range rows {
		out[i] = converge.ActualRow{
			ProcessGUID: r.key.guid, Index: r.key.index, Presence: models.ActualLRP_Presence(r.key.presence),
			Domain: r.domain, State: r.state, InstanceGUID: r.instanceGUID, CellID: r.cell,
			Since: r.since, CrashCount: r.crashCount, Tag: r.tag,
		}
	}
	return out, true
}

// actualDrift is readActualDrift from the view; false when the view does
// not serve.
func (v *actualView) actualDrift(rows []*converge.ActualRow) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.state != viewLoaded {
		return false
	}
	for _, r := range rows {
		vr, ok := v.rows.Get(&viewRow{key: viewKey{r.ProcessGUID, r.Index, int32(models.ActualLRP_ORDINARY)}})
		if !ok {
			continue
		}
		if r.Tag != vr.tag {
			continue
		}
		lrp := vr.model()
		d := &converge.ActualDrift{MetricTags: lrp.GetMetricTags()}
		for _, ir := range lrp.GetActualLrpInternalRoutes() {
			d.InternalRoutes = append(d.InternalRoutes, ir.GetHostname())
		}
		r.Drift = d
	}
	return true
}

// cellGUIDs returns the process guids with a row on one of cells; ok is
// false when the view does not serve.
func (v *actualView) cellGUIDs(cells []string) ([]string, bool) {
	rows, ok := v.cellRows(cells...)
	if !ok {
		return nil, false
	}
	guids := make([]string, 0, len(rows))
	for _, r := range rows {
		guids = append(guids, r.key.guid)
	}
	return slices.Compact(guids), true
}
