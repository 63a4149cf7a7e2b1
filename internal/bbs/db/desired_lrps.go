package db

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"google.golang.org/protobuf/proto"
)

// DesiredLRPFilter selects desired LRPs; empty fields select everything.
type DesiredLRPFilter struct {
	Domain       string
	ProcessGuids []string
	// AppGuids selects process guids that start with any of them (Cloud
	// Controller's process guids are <app guid>-<version guid>). Only
	// DesiredLRPs honours it.
	AppGuids []string
}

// DesireLRP stores a new desired LRP with a fresh modification tag (a new
// epoch, index 0) and its run info created now, and returns it as reads
// will return it. A taken process guid is ResourceExists. The argument is
// not changed.
func (db *DB) DesireLRP(ctx context.Context, desired *models.DesiredLRP) (*models.DesiredLRP, error) {
	if desired == nil {
		return nil, models.ErrBadRequest
	}
	d := proto.Clone(desired).(*models.DesiredLRP)
	epoch, err := db.guid()
	if err != nil {
		return nil, err
	}
	sched := d.SchedulingInfo()
	sched.ModificationTag = &models.ModificationTag{Epoch: epoch}
	run := d.RunInfo(db.now().UnixNano())

	for _, c := range []struct {
		name, value string
		max         int
	}{{"process_guid", d.ProcessGuid, 255}, {"domain", d.Domain, 255}, {"log_guid", d.LogGuid, 255}, {"rootfs", d.RootFs, 1024}} {
		if err := sqldb.CheckLength(c.name, c.value, c.max); err != nil {
			return nil, convertError(err)
		}
	}
	routes, err := db.encodeRoutes(d.Routes)
	if err != nil {
		return nil, err
	}
	tags, err := db.encodeMetricTags(d.MetricTags)
	if err != nil {
		return nil, err
	}
	runInfo, err := db.encryptModel(run)
	if err != nil {
		return nil, err
	}
	placement, err := db.encryptModel(sched.VolumePlacement)
	if err != nil {
		return nil, err
	}
	placementTags, err := json.Marshal(d.PlacementTags)
	if err != nil {
		return nil, models.ErrBadRequest
	}

	err = db.dview.write(ctx, d.ProcessGuid, func() error {
		return db.transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO desired_lrps ("+desiredLRPColumns+") VALUES ("+sqldb.Placeholders(17)+")",
				d.ProcessGuid, d.Domain, d.LogGuid, d.Annotation, d.Instances, d.MemoryMb, d.DiskMb,
				d.MaxPids, d.RootFs, string(routes), string(placement), epoch, 0, string(placementTags),
				string(runInfo), string(tags), int32(d.UpdateStrategy))
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	run.Ports = models.DedupPorts(run.Ports)
	return models.NewDesiredLRP(sched, run, d.MetricTags, d.UpdateStrategy), nil
}

// DesiredLRPs returns the desired LRPs the filter selects (domain, process
// guids, app guid prefixes). Rows that cannot be decoded are deleted and
// left out.
func (db *DB) DesiredLRPs(ctx context.Context, filter DesiredLRPFilter) ([]*models.DesiredLRP, error) {
	where, args := desiredWhere(filter, true, true)
	var out []*models.DesiredLRP
	err := db.eachDesired(ctx, "SELECT "+desiredLRPColumns+" FROM desired_lrps"+where, args,
		(*storedDesiredLRP).fullDest, func(s *storedDesiredLRP) error {
			p, err := db.decodeDesiredLRP(s)
			if err == nil {
				out = append(out, p.desiredLRP())
			}
			return err
		})
	return out, err
}

// DesiredLRPByProcessGuid returns one desired LRP: ResourceNotFound when
// there is none, Deserialize (and the row is deleted) when it cannot be
// decoded.
func (db *DB) DesiredLRPByProcessGuid(ctx context.Context, processGuid string) (*models.DesiredLRP, error) {
	s := &storedDesiredLRP{}
	if err := db.sql.QueryRowContext(ctx, "SELECT "+desiredLRPColumns+" FROM desired_lrps WHERE process_guid = ?", processGuid).Scan(s.fullDest()...); err != nil {
		return nil, convertError(err)
	}
	p, err := db.decodeDesiredLRP(s)
	if err != nil {
		db.deleteCorruptDesiredLRPs(ctx, db.sql, []string{processGuid})
		return nil, err
	}
	return p.desiredLRP(), nil
}

// DesiredLRPSchedulingInfos returns the scheduling infos the filter's
// domain and process guids select (app guids are not looked at). Rows
// whose scheduling columns cannot be decoded are deleted and left out.
func (db *DB) DesiredLRPSchedulingInfos(ctx context.Context, filter DesiredLRPFilter) ([]*models.DesiredLRPSchedulingInfo, error) {
	if rows, ok := db.dview.selected(filter); ok {
		return desiredInfos(rows)
	}
	where, args := desiredWhere(filter, true, false)
	var out []*models.DesiredLRPSchedulingInfo
	err := db.eachDesired(ctx, "SELECT "+schedulingInfoColumns+" FROM desired_lrps"+where, args,
		(*storedDesiredLRP).schedulingDest, func(s *storedDesiredLRP) error {
			info, err := db.decodeSchedulingInfo(s)
			if err == nil {
				out = append(out, info)
			}
			return err
		})
	return out, err
}

// DesiredLRPSchedulingInfoByProcessGuid returns one scheduling info, with
// the errors of DesiredLRPByProcessGuid.
func (db *DB) DesiredLRPSchedulingInfoByProcessGuid(ctx context.Context, processGuid string) (*models.DesiredLRPSchedulingInfo, error) {
	s := &storedDesiredLRP{}
	if err := db.sql.QueryRowContext(ctx, "SELECT "+schedulingInfoColumns+" FROM desired_lrps WHERE process_guid = ?", processGuid).Scan(s.schedulingDest()...); err != nil {
		return nil, convertError(err)
	}
	info, err := db.decodeSchedulingInfo(s)
	if err != nil {
		db.deleteCorruptDesiredLRPs(ctx, db.sql, []string{processGuid})
		return nil, err
	}
	return info, nil
}

// DesiredLRPRoutingInfos returns, for the filter's process guids only (all
// when none), desired LRPs carrying just their key, instances, routes,
// modification tag and metric tags. Rows whose routes or metric tags
// cannot be decoded are deleted and left out.
func (db *DB) DesiredLRPRoutingInfos(ctx context.Context, filter DesiredLRPFilter) ([]*models.DesiredLRP, error) {
	where, args := desiredWhere(DesiredLRPFilter{ProcessGuids: filter.ProcessGuids}, false, false)
	var out []*models.DesiredLRP
	err := db.eachDesired(ctx, "SELECT "+routingInfoColumns+" FROM desired_lrps"+where, args,
		(*storedDesiredLRP).routingDest, func(s *storedDesiredLRP) error {
			lrp, err := db.decodeRoutingInfo(s)
			if err == nil {
				out = append(out, lrp)
			}
			return err
		})
	return out, err
}

// DesiredLRPUpdateStrategyByProcessGuid returns a desired LRP's update
// strategy and instances without decrypting anything.
func (db *DB) DesiredLRPUpdateStrategyByProcessGuid(ctx context.Context, processGuid string) (models.DesiredLRP_UpdateStrategy, int32, error) {
	var strategy, instances int32
	err := db.sql.QueryRowContext(ctx, "SELECT update_strategy, instances FROM desired_lrps WHERE process_guid = ?", processGuid).Scan(&strategy, &instances)
	return models.DesiredLRP_UpdateStrategy(strategy), instances, convertError(err)
}

// UpdateDesiredLRP applies an update under a row lock and returns the
// desired LRP before and after it. The modification index goes up by one;
// instances and annotation change when set, routes when present, metric
// tags when the update's are not empty, image credentials (inside the
// encrypted run info) when set. ResourceNotFound when missing, Deserialize
// (row deleted) when the stored row cannot be decoded.
func (db *DB) UpdateDesiredLRP(ctx context.Context, processGuid string, update *models.DesiredLRPUpdate) (before, after *models.DesiredLRP, err error) {
	if update == nil {
		update = &models.DesiredLRPUpdate{}
	}
	var corrupt bool
	err = db.dview.write(ctx, processGuid, func() error {
		return db.updateDesiredLRP(ctx, processGuid, update, &before, &after, &corrupt)
	})
	if err == nil && corrupt {
		err = models.ErrDeserialize
	}
	if err != nil {
		return nil, nil, err
	}
	return before, after, nil
}

func (db *DB) updateDesiredLRP(ctx context.Context, processGuid string, update *models.DesiredLRPUpdate, before, after **models.DesiredLRP, corrupt *bool) error {
	return db.transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		*before, *after, *corrupt = nil, nil, false
		s := &storedDesiredLRP{}
		if err := tx.QueryRowContext(ctx, "SELECT "+desiredLRPColumns+" FROM desired_lrps WHERE process_guid = ? FOR UPDATE", processGuid).Scan(s.fullDest()...); err != nil {
			return err
		}
		p, err := db.decodeDesiredLRP(s)
		if err != nil {
			*corrupt = true
			db.deleteCorruptDesiredLRPs(ctx, tx, []string{processGuid})
			return nil
		}
		*before = p.desiredLRP()
		next, sets, args, err := db.planDesiredUpdate(p, update)
		if err != nil {
			return err
		}
		args = append(args, processGuid)
		if _, err := tx.ExecContext(ctx, "UPDATE desired_lrps SET "+strings.Join(sets, ", ")+" WHERE process_guid = ?", args...); err != nil {
			return err
		}
		*after = next.desiredLRP()
		return nil
	})
}

// planDesiredUpdate returns the parts after the update and the columns to
// set.
func (db *DB) planDesiredUpdate(p *desiredParts, u *models.DesiredLRPUpdate) (*desiredParts, []string, []any, error) {
	next := *p
	next.sched = proto.Clone(p.sched).(*models.DesiredLRPSchedulingInfo)
	next.sched.ApplyUpdate(u)
	sets := []string{"modification_tag_index = ?"}
	args := []any{int64(next.sched.ModificationTag.Index)}
	if u.Instances != nil {
		sets, args = append(sets, "instances = ?"), append(args, u.GetInstances())
	}
	if u.Annotation != nil {
		sets, args = append(sets, "annotation = ?"), append(args, u.GetAnnotation())
	}
	if u.Routes != nil {
		routes, err := db.encodeRoutes(u.Routes)
		if err != nil {
			return nil, nil, nil, err
		}
		sets, args = append(sets, "routes = ?"), append(args, string(routes))
	}
	if u.ReplacesMetricTags() {
		tags, err := db.encodeMetricTags(u.MetricTags)
		if err != nil {
			return nil, nil, nil, err
		}
		next.tags = u.MetricTags
		sets, args = append(sets, "metric_tags = ?"), append(args, string(tags))
	}
	run := proto.Clone(p.run).(*models.DesiredLRPRunInfo)
	if run.ApplyUpdate(u) {
		stored, err := db.encryptModel(run)
		if err != nil {
			return nil, nil, nil, err
		}
		next.run = run
		sets, args = append(sets, "run_info = ?"), append(args, string(stored))
	}
	return &next, sets, args, nil
}

// RemoveDesiredLRP deletes a desired LRP and returns it (ResourceNotFound
// when there is none). A row whose encrypted columns cannot be read is
// deleted all the same; what is returned then carries its plain columns
// only (key, annotation, instances, resources, modification tag).
func (db *DB) RemoveDesiredLRP(ctx context.Context, processGuid string) (*models.DesiredLRP, error) {
	var removed *models.DesiredLRP
	err := db.dview.write(ctx, processGuid, func() error { return db.removeDesiredLRP(ctx, processGuid, &removed) })
	if err != nil {
		return nil, err
	}
	return removed, nil
}

func (db *DB) removeDesiredLRP(ctx context.Context, processGuid string, removed **models.DesiredLRP) error {
	return db.transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
		s := &storedDesiredLRP{}
		if err := tx.QueryRowContext(ctx, "SELECT "+desiredLRPColumns+" FROM desired_lrps WHERE process_guid = ? FOR UPDATE", processGuid).Scan(s.fullDest()...); err != nil {
			return err
		}
		if p, err := db.decodeDesiredLRP(s); err == nil {
			*removed = p.desiredLRP()
		} else {
			*removed = models.NewDesiredLRP(s.plainSchedulingInfo(), nil, nil, models.DesiredLRP_UpdateStrategy(s.updateStrategy))
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM desired_lrps WHERE process_guid = ?", processGuid)
		return err
	})
}

// eachDesired runs a query of desired_lrps outside any transaction and
// calls use for every row scanned with dest. Rows for which use returns
// ErrDeserialize are deleted afterwards and skipped.
func (db *DB) eachDesired(ctx context.Context, query string, args []any, dest func(*storedDesiredLRP) []any, use func(*storedDesiredLRP) error) error {
	var corrupt []string
	err := eachRow(ctx, db.sql, query, func(scan func(...any) error) error {
		s := &storedDesiredLRP{}
		if err := scan(dest(s)...); err != nil {
			return err
		}
		err := use(s)
		if errors.Is(err, models.ErrDeserialize) {
			corrupt = append(corrupt, s.processGuid)
			return nil
		}
		return err
	}, args...)
	if err != nil {
		return convertError(err)
	}
	db.deleteCorruptDesiredLRPs(ctx, db.sql, corrupt)
	return nil
}
