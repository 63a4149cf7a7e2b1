package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"

	"code.cloudfoundry.org/lager/v3"
	"github.com/google/btree"
	"google.golang.org/protobuf/proto"

	"github.com/diego-go/diego/internal/bbs/converge"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
)

// The desired LRP view is the scheduling-info half of desired_lrps in the
// memory of the active BBS, for the bulk scheduling-info list (the
// auctioneer's and the route-emitter's), the auctions' lookups and the
// convergence snapshot. Desired LRPs change rarely (Cloud Controller
// desires, scales and deletes them), so the view does not rebuild a row
// from the write: after every write, under the process guid's stripe, it
// reads the row back from the database. It loads and catches up like the
// actual LRP view (view_load.go) and shares its enable and stop.

const desiredStripes = 1 << 10

// desiredRow is one desired LRP; immutable once in the view.
type desiredRow struct {
	slim converge.DesiredRow // without drift
	// The drift parts: the internal routes decoded, the metric tags
	// decrypted but kept as JSON (decoded maps would triple the view's
	// size) and parsed when a pass needs them.
	internalRoutes []string
	routesInvalid  bool
	tagsJSON       []byte
	tagsInvalid    bool
	// enc is the scheduling info marshalled, the bytes of a list element.
	enc []byte
}

// drift decodes the row's drift parts.
func (r *desiredRow) drift() *converge.DesiredDrift {
	dd := &converge.DesiredDrift{InternalRoutes: r.internalRoutes, RoutesInvalid: r.routesInvalid, TagsInvalid: r.tagsInvalid}
	if !r.tagsInvalid && r.tagsJSON != nil {
		tags, err := parseMetricTags(r.tagsJSON)
		dd.MetricTags, dd.TagsInvalid = tags, err != nil
	}
	return dd
}

func lessDesiredRow(a, b *desiredRow) bool { return a.slim.ProcessGUID < b.slim.ProcessGUID }

func desiredProbe(guid string) *desiredRow {
	return &desiredRow{slim: converge.DesiredRow{ProcessGUID: guid}}
}

func (r *desiredRow) encoded() []byte { return r.enc }

type desiredView struct {
	db      *DB
	stripes [desiredStripes]sync.Mutex

	// The load's mu guards the fields below too.
	viewLoad[string]
	rows *btree.BTreeG[*desiredRow]
	ctx  context.Context // of the load, for reloads
}

func newDesiredView(db *DB) *desiredView {
	return &desiredView{db: db, viewLoad: viewLoad[string]{logger: db.logger.Session("desired-lrp-view")}}
}

// desiredViewColumns are the scheduling info's columns and the metric
// tags (for the drift checks).
const desiredViewColumns = schedulingInfoColumns + ", metric_tags"

// scanDesiredViewRow scans a row of desiredViewColumns.
func scanDesiredViewRow(r rowScanner) (*storedDesiredLRP, error) {
	s := &storedDesiredLRP{}
	return s, r.Scan(append(s.schedulingDest(), &s.metricTags)...)
}

// newDesiredRow decodes a row read with scanDesiredViewRow; ErrDeserialize
// when it cannot be read.
func (db *DB) newDesiredRow(s *storedDesiredLRP) (*desiredRow, error) {
	info, err := db.decodeSchedulingInfo(s)
	if err != nil {
		return nil, err
	}
	models.FillNonNullable(info)
	enc, err := proto.MarshalOptions{Deterministic: true}.Marshal(info)
	if err != nil {
		return nil, err
	}
	r := &desiredRow{
		slim: converge.DesiredRow{
			ProcessGUID: s.processGuid, Domain: viewStrings.get(s.domain), Instances: s.instances,
			Tag: converge.Tag{Epoch: s.epoch, Index: uint32(s.index.Int64)},
		},
		enc: enc,
	}
	dd := db.decodeDesiredDrift(s.routes, nil)
	r.internalRoutes, r.routesInvalid = dd.InternalRoutes, dd.RoutesInvalid
	if len(s.metricTags) > 0 {
		plain, err := db.decryptJSON(s.metricTags)
		if err == nil {
			_, err = parseMetricTags(plain)
		}
		r.tagsJSON, r.tagsInvalid = plain, err != nil
	}
	return r, nil
}

func (r *desiredRow) info() (*models.DesiredLRPSchedulingInfo, error) {
	info := &models.DesiredLRPSchedulingInfo{}
	if err := proto.Unmarshal(r.enc, info); err != nil {
		return nil, fmt.Errorf("desired LRP view: %s does not decode: %w", r.slim.ProcessGUID, err)
	}
	models.FillNonNullable(info)
	return info, nil
}

// startLoadLocked starts a load; v.mu is held.
func (v *desiredView) startLoadLocked(ctx context.Context) {
	v.rows = nil
	v.ctx = ctx
	v.viewLoad.startLoadLocked(ctx, v.readAll)
}

// desiredBuild is the desired LRP view being loaded.
type desiredBuild struct {
	v    *desiredView
	tree *btree.BTreeG[*desiredRow]
}

func (b *desiredBuild) reread(ctx context.Context, guid string) error {
	unlock := b.v.lock(guid)
	defer unlock()
	r, err := b.v.readRow(ctx, guid)
	if err != nil {
		return err
	}
	installDesired(b.tree, guid, r)
	return nil
}

func (b *desiredBuild) installLocked() int {
	b.v.rows = b.tree
	return b.tree.Len()
}

// readAll reads the whole table in one statement, decoding chunks of rows
// on every core. Corrupt rows are deleted and left out.
func (v *desiredView) readAll(ctx context.Context) (viewBuild[string], error) {
	rows, err := v.db.sql.QueryContext(ctx, "SELECT "+desiredViewColumns+" FROM desired_lrps")
	if err != nil {
		return nil, sqldb.Classify(err)
	}
	b := &desiredBuild{v: v, tree: btree.NewG(32, lessDesiredRow)}
	bad, err := decodeRows(rows, scanDesiredViewRow, v.db.newDesiredRow,
		func(r *desiredRow) { b.tree.ReplaceOrInsert(r) })
	if err != nil {
		return nil, err
	}
	corrupt := make([]string, len(bad))
	for i, s := range bad {
		corrupt[i] = s.processGuid
	}
	v.db.deleteCorruptDesiredLRPs(ctx, v.db.sql, corrupt)
	return b, nil
}

// readRow reads one desired LRP; nil when it is gone or cannot be read.
func (v *desiredView) readRow(ctx context.Context, guid string) (*desiredRow, error) {
	s, err := scanDesiredViewRow(v.db.sql.QueryRowContext(ctx, "SELECT "+desiredViewColumns+" FROM desired_lrps WHERE process_guid = ?", guid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r, err := v.db.newDesiredRow(s)
	if errors.Is(err, models.ErrDeserialize) {
		return nil, nil
	}
	return r, err
}

func installDesired(tree *btree.BTreeG[*desiredRow], guid string, r *desiredRow) {
	if r == nil {
		tree.Delete(desiredProbe(guid))
		return
	}
	tree.ReplaceOrInsert(r)
}

func (v *desiredView) lock(guid string) func() {
	h := fnv.New32a()
	_, _ = h.Write([]byte(guid))
	m := &v.stripes[h.Sum32()%desiredStripes]
	m.Lock()
	return m.Unlock
}

// write runs a write of the desired LRP guid under its stripe and then
// brings the view up to date with what the database holds.
func (v *desiredView) write(ctx context.Context, guid string, fn func() error) error {
	unlock := v.lock(guid)
	defer unlock()
	err := fn()
	v.mu.Lock()
	defer v.mu.Unlock()
	switch v.state {
	case viewLoading:
		v.touched[guid] = struct{}{}
	case viewLoaded:
		r, rerr := v.readRow(context.WithoutCancel(ctx), guid)
		if rerr != nil {
			v.logger.Error("row-refresh-failed-reloading", rerr, lager.Data{"process_guid": guid})
			v.startLoadLocked(v.ctx)
			break
		}
		installDesired(v.rows, guid, r)
	}
	return err
}

// forget drops rows found corrupt and deleted.
func (v *desiredView) forget(guids []string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch v.state {
	case viewLoading:
		for _, g := range guids {
			v.touched[g] = struct{}{}
		}
	case viewLoaded:
		for _, g := range guids {
			v.rows.Delete(desiredProbe(g))
		}
	}
}

func (v *desiredView) snapshot() *btree.BTreeG[*desiredRow] {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.state != viewLoaded {
		return nil
	}
	return v.rows.Clone()
}

// selected returns the rows a filter (domain, process guids; app guids
// are not served) selects, in guid order; ok is false when the view does
// not serve the filter.
func (v *desiredView) selected(f DesiredLRPFilter) ([]*desiredRow, bool) {
	if len(f.AppGuids) > 0 {
		return nil, false
	}
	tree := v.snapshot()
	if tree == nil {
		return nil, false
	}
	keep := func(r *desiredRow) bool { return f.Domain == "" || r.slim.Domain == f.Domain }
	var out []*desiredRow
	if f.ProcessGuids != nil {
		guids := slices.Clone(f.ProcessGuids)
		slices.Sort(guids)
		for _, g := range slices.Compact(guids) {
			if r, ok := tree.Get(desiredProbe(g)); ok && keep(r) {
				out = append(out, r)
			}
		}
		return out, true
	}
	out = make([]*desiredRow, 0, tree.Len())
	tree.Ascend(func(r *desiredRow) bool {
		if keep(r) {
			out = append(out, r)
		}
		return true
	})
	return out, true
}

// slim returns the convergence rows of every desired LRP, or of guids
// when not nil; ok is false when the view does not serve.
func (v *desiredView) slim(guids []string) ([]converge.DesiredRow, bool) {
	rows, ok := v.selected(DesiredLRPFilter{ProcessGuids: guids})
	if !ok {
		return nil, false
	}
	out := make([]converge.DesiredRow, len(rows))
	for i, r := range rows {
		out[i] = r.slim
	}
	return out, true
}

// fillDrift is readDesiredDrift from the view; false when it does not
// serve.
func (v *desiredView) fillDrift(want map[string]*converge.DesiredRow) bool {
	tree := v.snapshot()
	if tree == nil {
		return false
	}
	type job struct {
		r *desiredRow
		d *converge.DesiredRow
	}
	jobs := make([]job, 0, len(want))
	for g, d := range want {
		if r, ok := tree.Get(desiredProbe(g)); ok && r.slim.Tag == d.Tag {
			jobs = append(jobs, job{r, d})
		}
	}
	parallel(len(jobs), func(i int) { jobs[i].d.Drift = jobs[i].r.drift() })
	return true
}

func desiredInfos(rows []*desiredRow) ([]*models.DesiredLRPSchedulingInfo, error) {
	out := make([]*models.DesiredLRPSchedulingInfo, len(rows))
	for i, r := range rows {
		info, err := r.info()
		if err != nil {
			return nil, err
		}
		out[i] = info
	}
	return out, nil
}
