package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
)

// How actual LRPs are stored in the actual_lrps table (reference §6.2):
// net_info is an encrypted serialized ActualLRPNetInfo, internal_routes and
// metric_tags encrypted JSON; everything else is plain. The legacy columns
// evacuating and expire_time are never read or written.

const actualLRPsTable = "actual_lrps"

// actualLRPColumns is the column list every read and write uses, in the
// order of storedActualLRP's fields.
const actualLRPColumns = "process_guid, instance_index, presence, domain, state, instance_guid, cell_id, " +
	"placement_error, since, net_info, internal_routes, metric_tags, routable, availability_zone, " +
	"modification_tag_epoch, modification_tag_index, crash_count, crash_reason"

// Maximum lengths of the VARCHAR columns.
const (
	maxGUIDLength   = 255
	maxReasonLength = 1024
)

var (
	insertActualLRPSQL = "INSERT INTO " + actualLRPsTable + " (" + actualLRPColumns + ") VALUES (" + sqldb.Placeholders(18) + ")"
	updateActualLRPSQL = `UPDATE actual_lrps SET presence = ?, domain = ?, state = ?, instance_guid = ?, cell_id = ?,
		placement_error = ?, since = ?, net_info = ?, internal_routes = ?, metric_tags = ?, routable = ?,
		availability_zone = ?, modification_tag_epoch = ?, modification_tag_index = ?, crash_count = ?, crash_reason = ?
		WHERE process_guid = ? AND instance_index = ? AND presence = ?`
	deleteActualLRPSQL = "DELETE FROM actual_lrps WHERE process_guid = ? AND instance_index = ? AND presence = ?"
	// deleteUndecodableSQL also matches the modification tag, so that a row
	// rewritten since it was read is left alone.
	deleteUndecodableSQL = `DELETE FROM actual_lrps WHERE process_guid = ? AND instance_index = ? AND presence = ?
		AND modification_tag_epoch = ? AND COALESCE(modification_tag_index, 0) = ?`
)

// internalRouteJSON pins the stored JSON shape of one internal route:
// {"hostname":"..."}.
type internalRouteJSON struct {
	Hostname string `json:"hostname"`
}

// storedActualLRP is one row as scanned, before decryption.
type storedActualLRP struct {
	processGUID    string
	index          int32
	presence       int32
	domain         string
	state          string
	instanceGUID   string
	cellID         string
	placementError string
	since          sql.NullInt64
	netInfo        []byte
	internalRoutes []byte
	metricTags     []byte
	routable       sql.NullBool
	zone           string
	epoch          string
	tagIndex       sql.NullInt64
	crashCount     int32
	crashReason    string
}

type rowScanner interface{ Scan(dest ...any) error }

func scanStoredActualLRP(r rowScanner) (*storedActualLRP, error) {
	var s storedActualLRP
	err := r.Scan(&s.processGUID, &s.index, &s.presence, &s.domain, &s.state, &s.instanceGUID, &s.cellID,
		&s.placementError, &s.since, &s.netInfo, &s.internalRoutes, &s.metricTags, &s.routable, &s.zone,
		&s.epoch, &s.tagIndex, &s.crashCount, &s.crashReason)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// decodeActualLRP opens the encrypted columns; ErrDeserialize when one
// cannot be read. The model's non-nullable parts and routable are always
// set.
func (db *DB) decodeActualLRP(s *storedActualLRP) (*models.ActualLRP, error) {
	routable := s.routable.Bool
	lrp := &models.ActualLRP{
		ActualLrpKey:         &models.ActualLRPKey{ProcessGuid: s.processGUID, Index: s.index, Domain: s.domain},
		ActualLrpInstanceKey: &models.ActualLRPInstanceKey{InstanceGuid: s.instanceGUID, CellId: s.cellID},
		ActualLrpNetInfo:     &models.ActualLRPNetInfo{},
		CrashCount:           s.crashCount,
		CrashReason:          s.crashReason,
		State:                s.state,
		PlacementError:       s.placementError,
		Since:                s.since.Int64,
		ModificationTag:      &models.ModificationTag{Epoch: s.epoch, Index: uint32(s.tagIndex.Int64)},
		Presence:             models.ActualLRP_Presence(s.presence),
		Routable:             &routable,
		AvailabilityZone:     s.zone,
	}
	if len(s.netInfo) > 0 {
		if err := db.decryptModel(s.netInfo, lrp.ActualLrpNetInfo); err != nil {
			return nil, err
		}
	}
	if len(s.internalRoutes) > 0 {
		plain, err := db.decryptJSON(s.internalRoutes)
		if err != nil {
			return nil, err
		}
		var routes []internalRouteJSON
		if err := json.Unmarshal(plain, &routes); err != nil {
			return nil, models.ErrDeserialize
		}
		if routes != nil {
			lrp.ActualLrpInternalRoutes = make([]*models.ActualLRPInternalRoute, len(routes))
			for i, r := range routes {
				lrp.ActualLrpInternalRoutes[i] = &models.ActualLRPInternalRoute{Hostname: r.Hostname}
			}
		}
	}
	if len(s.metricTags) > 0 {
		plain, err := db.decryptJSON(s.metricTags)
		if err != nil {
			return nil, err
		}
		if lrp.MetricTags, err = parseStringMap(plain); err != nil {
			return nil, models.ErrDeserialize
		}
	}
	return lrp, nil
}

// actualLRPValues returns the values of every column but the primary key's
// first two, encrypted, in the order of updateActualLRPSQL.
func (db *DB) actualLRPValues(lrp *models.ActualLRP) ([]any, error) {
	key, ik := lrp.GetActualLrpKey(), lrp.GetActualLrpInstanceKey()
	for _, c := range []struct{ name, value string }{
		{"domain", key.GetDomain()},
		{"instance_guid", ik.GetInstanceGuid()},
		{"cell_id", ik.GetCellId()},
		{"availability_zone", lrp.GetAvailabilityZone()},
		{"state", lrp.GetState()},
	} {
		if err := sqldb.CheckLength(c.name, c.value, maxGUIDLength); err != nil {
			return nil, err
		}
	}
	netInfo := lrp.GetActualLrpNetInfo()
	if netInfo == nil {
		netInfo = &models.ActualLRPNetInfo{}
	}
	netInfoData, err := db.encryptModel(netInfo)
	if err != nil {
		return nil, err
	}
	routesData, err := db.encryptInternalRoutes(lrp.GetActualLrpInternalRoutes())
	if err != nil {
		return nil, err
	}
	tagsData, err := db.encryptMetricTags(lrp.GetMetricTags())
	if err != nil {
		return nil, err
	}
	tag := lrp.GetModificationTag()
	return []any{
		int32(lrp.GetPresence()), key.GetDomain(), lrp.GetState(), ik.GetInstanceGuid(), ik.GetCellId(),
		truncate(lrp.GetPlacementError(), maxReasonLength), lrp.GetSince(), string(netInfoData),
		string(routesData), string(tagsData), lrp.GetRoutable(), lrp.GetAvailabilityZone(),
		tag.GetEpoch(), int64(tag.GetIndex()), lrp.GetCrashCount(), truncate(lrp.GetCrashReason(), maxReasonLength),
	}, nil
}

// encryptInternalRoutes stores routes as the reference does: a JSON array of
// {"hostname":...}, "null" for a nil list, "[]" for an empty one.
func (db *DB) encryptInternalRoutes(routes []*models.ActualLRPInternalRoute) ([]byte, error) {
	var list []internalRouteJSON
	if routes != nil {
		list = make([]internalRouteJSON, len(routes))
		for i, r := range routes {
			list[i].Hostname = r.GetHostname()
		}
	}
	plain, err := json.Marshal(list)
	if err != nil {
		return nil, models.ErrBadRequest
	}
	return db.encryptJSON(plain)
}

// encryptMetricTags stores tags as a JSON object of strings ("null" for nil).
func (db *DB) encryptMetricTags(tags map[string]string) ([]byte, error) {
	plain, err := json.Marshal(tags)
	if err != nil {
		return nil, models.ErrBadRequest
	}
	return db.encryptJSON(plain)
}

// insertActualLRP writes a new row.
func (db *DB) insertActualLRP(ctx context.Context, q sqldb.Querier, lrp *models.ActualLRP) error {
	if err := sqldb.CheckLength("process_guid", lrp.GetActualLrpKey().GetProcessGuid(), maxGUIDLength); err != nil {
		return err
	}
	vals, err := db.actualLRPValues(lrp)
	if err != nil {
		return err
	}
	key := lrp.GetActualLrpKey()
	args := append([]any{key.GetProcessGuid(), key.GetIndex()}, vals...)
	if _, err = q.ExecContext(ctx, insertActualLRPSQL, args...); err != nil {
		return err
	}
	record(ctx, nil, lrp)
	return nil
}

// updateActualLRP rewrites the row before was read from with after's values.
func (db *DB) updateActualLRP(ctx context.Context, q sqldb.Querier, before, after *models.ActualLRP) error {
	vals, err := db.actualLRPValues(after)
	if err != nil {
		return err
	}
	key := before.GetActualLrpKey()
	args := append(vals, key.GetProcessGuid(), key.GetIndex(), int32(before.GetPresence()))
	if _, err = q.ExecContext(ctx, updateActualLRPSQL, args...); err != nil {
		return err
	}
	record(ctx, before, after)
	return nil
}

// deleteActualLRP deletes the row lrp was read from.
func (db *DB) deleteActualLRP(ctx context.Context, q sqldb.Querier, lrp *models.ActualLRP) error {
	key := lrp.GetActualLrpKey()
	if _, err := q.ExecContext(ctx, deleteActualLRPSQL, key.GetProcessGuid(), key.GetIndex(), int32(lrp.GetPresence())); err != nil {
		return err
	}
	record(ctx, lrp, nil)
	return nil
}

// The helpers below return classified sqldb errors, not *models.Error, so
// that Transact still recognizes deadlocks; the public methods convert.

// queryActualLRPs runs a SELECT of actualLRPColumns and decodes its rows.
// Rows whose encrypted columns cannot be read are deleted (in q, so inside
// the caller's transaction when q is one) and left out, as the reference
// does; they are also returned, for a caller whose transaction may roll
// back to delete them again.
func (db *DB) queryActualLRPs(ctx context.Context, q sqldb.Querier, query string, args ...any) ([]*models.ActualLRP, []*storedActualLRP, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, nil, err
	}
	var lrps []*models.ActualLRP
	var bad []*storedActualLRP
	for rows.Next() {
		s, err := scanStoredActualLRP(rows)
		if err != nil {
			_ = rows.Close()
			return nil, nil, sqldb.Classify(err)
		}
		lrp, err := db.decodeActualLRP(s)
		if errors.Is(err, models.ErrDeserialize) {
			bad = append(bad, s)
			continue
		}
		if err != nil {
			_ = rows.Close()
			return nil, nil, err
		}
		lrps = append(lrps, lrp)
	}
	if err := rows.Err(); err != nil {
		_ = rows.Close()
		return nil, nil, sqldb.Classify(err)
	}
	if err := rows.Close(); err != nil {
		return nil, nil, sqldb.Classify(err)
	}
	db.deleteUndecodable(ctx, q, bad)
	return lrps, bad, nil
}

// deleteUndecodable removes rows that cannot be read; a failure is only
// logged (the read still succeeds without the rows).
func (db *DB) deleteUndecodable(ctx context.Context, q sqldb.Querier, bad []*storedActualLRP) {
	for _, s := range bad {
		logger := db.logger.Session("delete-undecodable-actual-lrp", lager.Data{
			"process_guid": s.processGUID, "index": s.index, "presence": s.presence,
			"modification_tag": s.epoch + ":" + strconv.FormatInt(s.tagIndex.Int64, 10),
		})
		if _, err := q.ExecContext(ctx, deleteUndecodableSQL, s.processGUID, s.index, s.presence, s.epoch, s.tagIndex.Int64); err != nil {
			logger.Error("failed-to-delete", err)
			continue
		}
		logger.Info("deleted")
	}
}
