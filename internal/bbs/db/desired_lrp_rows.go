package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
)

// The stored form of a desired LRP (§6.2): the scheduling info in plain
// columns except routes (encrypted JSON) and volume placement (encrypted
// protobuf); placement tags as plain JSON; the run info as one encrypted
// protobuf; metric tags as encrypted JSON; update strategy as its number.

const (
	schedulingInfoColumns = "process_guid, domain, log_guid, annotation, instances, memory_mb, disk_mb, " +
		"max_pids, rootfs, routes, volume_placement, modification_tag_epoch, modification_tag_index, placement_tags"
	desiredLRPColumns  = schedulingInfoColumns + ", run_info, metric_tags, update_strategy"
	routingInfoColumns = "process_guid, domain, log_guid, instances, routes, modification_tag_epoch, " +
		"modification_tag_index, metric_tags"
)

// storedDesiredLRP is one row as scanned, before decryption.
type storedDesiredLRP struct {
	processGuid, domain, logGuid string
	annotation                   sql.NullString
	instances, memoryMB, diskMB  int32
	maxPids                      sql.NullInt32
	rootfs                       string
	routes, volumePlacement      []byte
	epoch                        string
	index                        sql.NullInt64
	placementTags                []byte
	runInfo, metricTags          []byte
	updateStrategy               int32
}

func (s *storedDesiredLRP) schedulingDest() []any {
	return []any{&s.processGuid, &s.domain, &s.logGuid, &s.annotation, &s.instances, &s.memoryMB, &s.diskMB,
		&s.maxPids, &s.rootfs, &s.routes, &s.volumePlacement, &s.epoch, &s.index, &s.placementTags}
}

func (s *storedDesiredLRP) fullDest() []any {
	return append(s.schedulingDest(), &s.runInfo, &s.metricTags, &s.updateStrategy)
}

func (s *storedDesiredLRP) routingDest() []any {
	return []any{&s.processGuid, &s.domain, &s.logGuid, &s.instances, &s.routes, &s.epoch, &s.index, &s.metricTags}
}

// desiredParts is a decoded row.
type desiredParts struct {
	sched    *models.DesiredLRPSchedulingInfo
	run      *models.DesiredLRPRunInfo
	tags     map[string]*models.MetricTagValue
	strategy models.DesiredLRP_UpdateStrategy
}

func (p *desiredParts) desiredLRP() *models.DesiredLRP {
	return models.NewDesiredLRP(p.sched, p.run, p.tags, p.strategy)
}

// plainSchedulingInfo is what the plain columns say, without decryption.
func (s *storedDesiredLRP) plainSchedulingInfo() *models.DesiredLRPSchedulingInfo {
	return &models.DesiredLRPSchedulingInfo{
		DesiredLrpKey:      &models.DesiredLRPKey{ProcessGuid: s.processGuid, Domain: s.domain, LogGuid: s.logGuid},
		Annotation:         s.annotation.String,
		Instances:          s.instances,
		DesiredLrpResource: &models.DesiredLRPResource{MemoryMb: s.memoryMB, DiskMb: s.diskMB, RootFs: s.rootfs, MaxPids: s.maxPids.Int32},
		Routes:             &models.ProtoRoutes{},
		ModificationTag:    &models.ModificationTag{Epoch: s.epoch, Index: uint32(s.index.Int64)},
	}
}

// decodeSchedulingInfo decrypts the scheduling columns. Any failure is
// ErrDeserialize: the row is corrupt.
func (db *DB) decodeSchedulingInfo(s *storedDesiredLRP) (*models.DesiredLRPSchedulingInfo, error) {
	info := s.plainSchedulingInfo()
	routes, err := db.decodeRoutes(s.routes)
	if err != nil {
		return nil, err
	}
	info.Routes = routes
	placement := &models.VolumePlacement{}
	if err := db.decryptModel(s.volumePlacement, placement); err != nil {
		return nil, err
	}
	info.VolumePlacement = placement
	if len(s.placementTags) > 0 {
		if err := json.Unmarshal(s.placementTags, &info.PlacementTags); err != nil {
			return nil, models.ErrDeserialize
		}
	}
	return info, nil
}

// decodeDesiredLRP decrypts a whole row (scanned with fullDest).
func (db *DB) decodeDesiredLRP(s *storedDesiredLRP) (*desiredParts, error) {
	sched, err := db.decodeSchedulingInfo(s)
	if err != nil {
		return nil, err
	}
	run := &models.DesiredLRPRunInfo{}
	if err := db.decryptModel(s.runInfo, run); err != nil {
		return nil, err
	}
	run.Ports = models.DedupPorts(run.Ports)
	tags, err := db.decodeMetricTags(s.metricTags)
	if err != nil {
		return nil, err
	}
	return &desiredParts{sched: sched, run: run, tags: tags, strategy: models.DesiredLRP_UpdateStrategy(s.updateStrategy)}, nil
}

// decodeRoutingInfo decrypts a row scanned with routingDest.
func (db *DB) decodeRoutingInfo(s *storedDesiredLRP) (*models.DesiredLRP, error) {
	routes, err := db.decodeRoutes(s.routes)
	if err != nil {
		return nil, err
	}
	tags, err := db.decodeMetricTags(s.metricTags)
	if err != nil {
		return nil, err
	}
	return &models.DesiredLRP{
		ProcessGuid:     s.processGuid,
		Domain:          s.domain,
		LogGuid:         s.logGuid,
		Instances:       s.instances,
		Routes:          routes,
		ModificationTag: &models.ModificationTag{Epoch: s.epoch, Index: uint32(s.index.Int64)},
		MetricTags:      tags,
	}, nil
}

// encodeRoutes is the routes column: the JSON object of the raw route
// documents (what encoding/json printed for the reference's Routes map:
// keys sorted, values compacted and HTML-escaped; `null` for no routes),
// encrypted. A value that is not JSON is a bad request.
func (db *DB) encodeRoutes(r *models.ProtoRoutes) ([]byte, error) {
	var plain []byte
	if r == nil {
		plain = []byte("null")
	} else {
		m := make(map[string]json.RawMessage, len(r.GetRoutes()))
		for k, v := range r.GetRoutes() {
			m[k] = v
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, models.ErrBadRequest
		}
		plain = b
	}
	sealed, err := db.encryptJSON(plain)
	if err != nil {
		return nil, models.ErrBadRequest
	}
	return sealed, nil
}

func (db *DB) decodeRoutes(stored []byte) (*models.ProtoRoutes, error) {
	plain, err := db.decryptJSON(stored)
	if err != nil {
		return nil, err
	}
	m, err := parseRawMap(plain)
	if err != nil {
		return nil, models.ErrDeserialize
	}
	routes := &models.ProtoRoutes{}
	if len(m) > 0 {
		routes.Routes = make(map[string][]byte, len(m))
		for k, v := range m {
			routes.Routes[k] = v
		}
	}
	return routes, nil
}

// encodeMetricTags is the metric_tags column: encrypted JSON of the map
// (`null` for none), each value {"static":…} or {"dynamic":"INDEX"}.
func (db *DB) encodeMetricTags(tags map[string]*models.MetricTagValue) ([]byte, error) {
	plain, err := json.Marshal(tags)
	if err != nil {
		return nil, models.ErrBadRequest
	}
	sealed, err := db.encryptJSON(plain)
	if err != nil {
		return nil, models.ErrBadRequest
	}
	return sealed, nil
}

// decodeMetricTags reads the metric_tags column; NULL (a row the
// reference's split migration could not fill) means no tags.
func (db *DB) decodeMetricTags(stored []byte) (map[string]*models.MetricTagValue, error) {
	if len(stored) == 0 {
		return nil, nil
	}
	plain, err := db.decryptJSON(stored)
	if err != nil {
		return nil, err
	}
	tags, err := parseMetricTags(plain)
	if err != nil {
		return nil, models.ErrDeserialize
	}
	return tags, nil
}

// desiredWhere builds the WHERE clause of a filter. App guids match as
// prefixes of the process guid (LIKE 'guid%'), any of them.
func desiredWhere(f DesiredLRPFilter, domain, appGuids bool) (string, []any) {
	var conds []string
	var args []any
	if appGuids && len(f.AppGuids) > 0 {
		likes := make([]string, len(f.AppGuids))
		for i, g := range f.AppGuids {
			likes[i] = "process_guid LIKE ?"
			args = append(args, g+"%")
		}
		conds = append(conds, "("+strings.Join(likes, " OR ")+")")
	}
	if domain && f.Domain != "" {
		conds = append(conds, "domain = ?")
		args = append(args, f.Domain)
	}
	if len(f.ProcessGuids) > 0 {
		conds = append(conds, "process_guid IN ("+sqldb.Placeholders(len(f.ProcessGuids))+")")
		for _, g := range f.ProcessGuids {
			args = append(args, g)
		}
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// deleteCorruptDesiredLRPs removes rows that could not be decrypted or
// decoded (§6.1), in one statement; a failure is only logged.
func (db *DB) deleteCorruptDesiredLRPs(ctx context.Context, q sqldb.Querier, guids []string) {
	if len(guids) == 0 {
		return
	}
	logger := db.logger.Session("delete-invalid-desired-lrps", lager.Data{"process_guids": guids})
	logger.Info("deleting-invalid-desired-lrps-from-db")
	args := make([]any, len(guids))
	for i, g := range guids {
		args[i] = g
	}
	if _, err := q.ExecContext(ctx, "DELETE FROM desired_lrps WHERE process_guid IN ("+sqldb.Placeholders(len(guids))+")", args...); err != nil {
		logger.Error("failed-deleting-invalid-row", err)
		return
	}
	db.dview.forget(guids)
}
