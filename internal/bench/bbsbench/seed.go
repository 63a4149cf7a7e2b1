package bbsbench

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/bbs/encryption"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
)

// Seeding writes rows straight into the reference schema, sealed as the
// BBS seals them (the same calls as db.DesireLRP and the actual LRP
// writers), in multi-row INSERTs from a few workers: 200,000 LRPs take
// seconds instead of the minutes the API would take.

const (
	desiredColumns = "process_guid, domain, log_guid, annotation, instances, memory_mb, disk_mb, max_pids, rootfs, " +
		"routes, volume_placement, modification_tag_epoch, modification_tag_index, placement_tags, run_info, metric_tags, update_strategy"
	actualColumns = "process_guid, instance_index, presence, domain, state, instance_guid, cell_id, placement_error, since, " +
		"net_info, internal_routes, metric_tags, routable, availability_zone, modification_tag_epoch, modification_tag_index, crash_count, crash_reason"
	desiredBatch = 200 // rows per INSERT (about 1.5 MB)
	seedWorkers  = 4
)

// Seed creates the schema on sqlDB (the BBS's own migrations, recorded at
// the reference's final version), marks crypt's active key as the one in
// use (so that no BBS re-encrypts at start), and writes the fleet: a fresh
// domain, the desired LRPs and one RUNNING actual LRP per instance.
func Seed(ctx context.Context, sqlDB *sqldb.DB, crypt *encryption.Cryptor, f Fleet) error {
	store := db.New(db.Deps{SQL: sqlDB, Cryptor: crypt})
	if err := store.Migrate(ctx); err != nil {
		return fmt.Errorf("seed: migrate: %w", err)
	}
	if err := store.SetEncryptionKeyLabel(ctx, crypt.ActiveLabel()); err != nil {
		return fmt.Errorf("seed: key label: %w", err)
	}
	if err := store.UpsertDomain(ctx, Domain, 0); err != nil {
		return fmt.Errorf("seed: domain: %w", err)
	}
	next := atomic.Int64{}
	errs := make(chan error, seedWorkers)
	var wg sync.WaitGroup
	for range seedWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				from := int(next.Add(desiredBatch)) - desiredBatch
				if from >= f.LRPs || ctx.Err() != nil {
					return
				}
				if err := seedBatch(ctx, sqlDB, crypt, f, from, min(from+desiredBatch, f.LRPs)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return checkSeed(ctx, store, f)
}

// seedBatch writes LRPs [from, to) and their instances.
func seedBatch(ctx context.Context, sqlDB *sqldb.DB, crypt *encryption.Cryptor, f Fleet, from, to int) error {
	now := time.Now().UnixNano()
	var dArgs, aArgs []any
	for i := from; i < to; i++ {
		d, err := desiredRow(crypt, f.DesiredLRP(i), now)
		if err != nil {
			return err
		}
		dArgs = append(dArgs, d...)
		for idx := range f.Instances {
			a, err := actualRow(crypt, f, i, idx, now)
			if err != nil {
				return err
			}
			aArgs = append(aArgs, a...)
		}
	}
	if err := insertRows(ctx, sqlDB, "desired_lrps", desiredColumns, 17, dArgs); err != nil {
		return err
	}
	return insertRows(ctx, sqlDB, "actual_lrps", actualColumns, 18, aArgs)
}

func insertRows(ctx context.Context, sqlDB *sqldb.DB, table, columns string, width int, args []any) error {
	rows := len(args) / width
	if rows == 0 {
		return nil
	}
	one := "(" + sqldb.Placeholders(width) + ")"
	q := "INSERT INTO " + table + " (" + columns + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
	if _, err := sqlDB.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("seed: insert %d rows into %s: %w", rows, table, err)
	}
	return nil
}

// desiredRow is one desired_lrps row, encoded as db.DesireLRP encodes it.
func desiredRow(crypt *encryption.Cryptor, d *models.DesiredLRP, now int64) ([]any, error) {
	sched := d.SchedulingInfo()
	routes := make(map[string]json.RawMessage, len(d.GetRoutes().GetRoutes()))
	for k, v := range d.GetRoutes().GetRoutes() {
		routes[k] = v
	}
	routesJSON, err := json.Marshal(routes)
	if err != nil {
		return nil, err
	}
	tagsJSON, err := json.Marshal(d.MetricTags)
	if err != nil {
		return nil, err
	}
	placementTags, err := json.Marshal(d.PlacementTags)
	if err != nil {
		return nil, err
	}
	sealedRoutes, err := crypt.Encrypt(routesJSON)
	if err != nil {
		return nil, err
	}
	sealedTags, err := crypt.Encrypt(tagsJSON)
	if err != nil {
		return nil, err
	}
	runInfo, err := crypt.MarshalModel(d.RunInfo(now))
	if err != nil {
		return nil, err
	}
	placement, err := crypt.MarshalModel(sched.VolumePlacement)
	if err != nil {
		return nil, err
	}
	return []any{d.ProcessGuid, d.Domain, d.LogGuid, d.Annotation, d.Instances, d.MemoryMb, d.DiskMb, d.MaxPids, d.RootFs,
		string(sealedRoutes), string(placement), uuid.NewString(), 0, string(placementTags), string(runInfo), string(sealedTags),
		int32(d.UpdateStrategy)}, nil
}

// actualRow is the RUNNING ORDINARY row of (lrp, index), as a claim and a
// start by its rep leave it.
func actualRow(crypt *encryption.Cryptor, f Fleet, lrp, index int, now int64) ([]any, error) {
	req := f.StartRequest(lrp, index)
	netInfo, err := crypt.MarshalModel(req.ActualLrpNetInfo)
	if err != nil {
		return nil, err
	}
	routes, err := crypt.Encrypt([]byte("null"))
	if err != nil {
		return nil, err
	}
	tagsJSON, err := json.Marshal(req.MetricTags)
	if err != nil {
		return nil, err
	}
	tags, err := crypt.Encrypt(tagsJSON)
	if err != nil {
		return nil, err
	}
	ik := req.ActualLrpInstanceKey
	return []any{ProcessGUID(lrp), index, int32(models.ActualLRP_ORDINARY), Domain, models.ActualLRPStateRunning,
		ik.InstanceGuid, ik.CellId, "", now, string(netInfo), string(routes), string(tags), true, req.AvailabilityZone,
		uuid.NewString(), 2, 0, ""}, nil
}

// checkSeed reads a few rows back through the BBS's own store: they must
// decode to what the fleet describes, and the counts must be right.
func checkSeed(ctx context.Context, store *db.DB, f Fleet) error {
	for _, i := range []int{0, f.LRPs / 2, f.LRPs - 1} {
		got, err := store.DesiredLRPByProcessGuid(ctx, ProcessGUID(i))
		if err != nil {
			return fmt.Errorf("seed check: desired LRP %d: %w", i, err)
		}
		want := f.DesiredLRP(i)
		if got.GetInstances() != want.Instances || !proto.Equal(got.GetRoutes(), want.Routes) || !proto.Equal(got.GetAction(), want.Action) ||
			len(got.GetMetricTags()) != len(want.MetricTags) {
			return fmt.Errorf("seed check: desired LRP %d does not read back as written", i)
		}
	}
	lrps, err := store.ActualLRPs(ctx, db.ActualLRPFilter{CellID: CellID(0)})
	if err != nil {
		return fmt.Errorf("seed check: actual LRPs of cell 0: %w", err)
	}
	want := 0
	for i := 0; i < f.Total(); i += f.Cells {
		want++
	}
	if len(lrps) != want {
		return fmt.Errorf("seed check: cell 0 has %d actual LRPs, want %d", len(lrps), want)
	}
	for _, lrp := range lrps {
		k := lrp.GetActualLrpKey()
		var lrpIndex int
		if _, err := fmt.Sscanf(k.ProcessGuid[len(k.ProcessGuid)-12:], "%d", &lrpIndex); err != nil {
			return fmt.Errorf("seed check: process guid %q: %w", k.ProcessGuid, err)
		}
		req := f.StartRequest(lrpIndex, int(k.Index))
		if !proto.Equal(lrp.GetActualLrpNetInfo(), req.ActualLrpNetInfo) || len(lrp.GetMetricTags()) != len(req.MetricTags) ||
			lrp.GetState() != models.ActualLRPStateRunning {
			return fmt.Errorf("seed check: actual LRP %s/%d does not read back as written", k.ProcessGuid, k.Index)
		}
	}
	return nil
}
