package db

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/bbs/encryption"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
	"google.golang.org/protobuf/proto"
)

// openActualLRPTestDB returns a migrated store on a fresh database of cfg,
// with the clock at scenarioNow and every new epoch scenarioEpoch.
func openActualLRPTestDB(t *testing.T, cfg sqldb.Config) *DB {
	t.Helper()
	return openActualLRPTestDBAt(t, cfg, func() time.Time { return scenarioNow })
}

// openActualLRPTestDBAt is openActualLRPTestDB with the clock now.
func openActualLRPTestDBAt(t *testing.T, cfg sqldb.Config, now func() time.Time) *DB {
	t.Helper()
	crypt, err := encryption.New(encryption.Config{ActiveKeyLabel: "k1", EncryptionKeys: map[string]string{"k1": "secret"}})
	if err != nil {
		t.Fatal(err)
	}
	db := New(Deps{
		SQL:     sqltest.Open(t, cfg),
		Cryptor: crypt,
		Now:     now,
		NewGUID: func() (string, error) { return scenarioEpoch, nil },
	})
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

// seedActualLRPs stores rows as they are.
func seedActualLRPs(t *testing.T, db *DB, rows ...*models.ActualLRP) {
	t.Helper()
	err := db.sql.Transact(context.Background(), func(ctx context.Context, tx *sqldb.Tx) error {
		for _, r := range rows {
			if err := db.insertActualLRP(ctx, tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
}

func withGUID(rows []*models.ActualLRP, guid string) []*models.ActualLRP {
	out := cloneRows(rows)
	for _, r := range out {
		r.ActualLrpKey.ProcessGuid = guid
	}
	return out
}

func equalRows(a, b []*models.ActualLRP) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestActualLRPScenariosSQL runs every scenario against each SQL flavor and
// checks that what the call reports is what the database holds.
func TestActualLRPScenariosSQL(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		db := openActualLRPTestDB(t, cfg)
		ctx := context.Background()
		for i, sc := range allScenarios() {
			t.Run(sc.name, func(t *testing.T) {
				key := proto.Clone(scenarioKey).(*models.ActualLRPKey)
				key.ProcessGuid = fmt.Sprintf("pg-%d", i)
				seedActualLRPs(t, db, withGUID(sc.rows, key.ProcessGuid)...)
				before, err := db.ActualLRPSlot(ctx, key.ProcessGuid, key.Index)
				if err != nil {
					t.Fatal(err)
				}
				u, err := sc.call.do(ctx, db, key)
				checkScenario(t, sc, u, err)
				stored, rerr := db.ActualLRPSlot(ctx, key.ProcessGuid, key.Index)
				if rerr != nil {
					t.Fatal(rerr)
				}
				if err != nil {
					if !equalRows(stored, before) {
						t.Fatalf("a failed call changed the slot:\nbefore %v\nafter  %v", before, stored)
					}
					return
				}
				if !equalRows(u.Before, before) {
					t.Errorf("reported before %v\nstored before %v", u.Before, before)
				}
				if !equalRows(stored, u.After) {
					t.Errorf("reported after %v\nstored after %v", u.After, stored)
				}
			})
		}
	})
}

func TestCreateUnclaimedActualLRP(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		db := openActualLRPTestDB(t, cfg)
		ctx := context.Background()
		key := &models.ActualLRPKey{ProcessGuid: "pg-new", Index: 4, Domain: "cf-apps"}
		lrp, err := db.CreateUnclaimedActualLRP(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if lrp.State != sU || lrp.Since != scenarioNow.UnixNano() || lrp.GetRoutable() || lrp.Routable == nil ||
			lrp.ModificationTag.Epoch != scenarioEpoch || lrp.ModificationTag.Index != 0 || !proto.Equal(lrp.ActualLrpKey, key) {
			t.Fatalf("created %v", lrp)
		}
		stored, err := db.ActualLRPSlot(ctx, key.ProcessGuid, key.Index)
		if err != nil || len(stored) != 1 || !proto.Equal(stored[0], lrp) {
			t.Fatalf("stored %v (%v), returned %v", stored, err, lrp)
		}
		if _, err := db.CreateUnclaimedActualLRP(ctx, key); !errors.Is(err, models.ErrResourceExists) {
			t.Fatalf("second create: %v", err)
		}
		routes, tags := rawJSONColumns(t, db, key.ProcessGuid)
		if routes != "[]" || tags != "{}" {
			t.Fatalf("stored internal routes %q, metric tags %q", routes, tags)
		}
	})
}

// rawJSONColumns returns the decrypted internal_routes and metric_tags of
// the ORDINARY row of guid, index 0 of the slot's rows.
func rawJSONColumns(t *testing.T, db *DB, guid string) (routes, tags string) {
	t.Helper()
	var r, m []byte
	if err := db.sql.QueryRowContext(context.Background(),
		"SELECT internal_routes, metric_tags FROM actual_lrps WHERE process_guid = ? AND presence = 0", guid).Scan(&r, &m); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]byte{r, m} {
		if !strings.HasPrefix(string(c), "02") {
			t.Fatalf("column not encrypted: %q", c)
		}
	}
	rp, err := db.crypt.Decrypt(r)
	if err != nil {
		t.Fatal(err)
	}
	mp, err := db.crypt.Decrypt(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(rp), string(mp)
}

func TestActualLRPEncryptionAtRest(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		db := openActualLRPTestDB(t, cfg)
		ctx := context.Background()
		key := &models.ActualLRPKey{ProcessGuid: "pg-enc", Index: 0, Domain: "cf-apps"}
		in := running("a")
		in.InternalRoutes = append(in.InternalRoutes, &models.ActualLRPInternalRoute{Hostname: "b.apps.internal"})
		if _, err := db.StartActualLRP(ctx, key, in); err != nil {
			t.Fatal(err)
		}
		var netInfoCol []byte
		var reason, zone string
		if err := db.sql.QueryRowContext(ctx, "SELECT net_info, crash_reason, availability_zone FROM actual_lrps WHERE process_guid = ?",
			key.ProcessGuid).Scan(&netInfoCol, &reason, &zone); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(netInfoCol), "02") || strings.Contains(string(netInfoCol), "1.2.3.4") {
			t.Fatalf("net_info stored as %q", netInfoCol)
		}
		plain, err := db.crypt.Decrypt(netInfoCol)
		if err != nil || len(plain) < 2 || plain[0] != 2 || plain[1] != 0 {
			t.Fatalf("net_info plaintext %x (%v), want the 02 00 envelope", plain, err)
		}
		var ni models.ActualLRPNetInfo
		if err := models.Unmarshal(plain[2:], &ni); err != nil || !proto.Equal(&ni, in.NetInfo) {
			t.Fatalf("net_info decodes to %v (%v)", &ni, err)
		}
		if zone != "z1" {
			t.Fatalf("availability_zone stored as %q", zone)
		}
		routes, tags := rawJSONColumns(t, db, key.ProcessGuid)
		if routes != `[{"hostname":"a.apps.internal"},{"hostname":"b.apps.internal"}]` || tags != `{"source_id":"app"}` {
			t.Fatalf("stored internal routes %s, metric tags %s", routes, tags)
		}
		if _, err := db.CrashActualLRP(ctx, key, ik("a"), "boom"); err != nil {
			t.Fatal(err)
		}
		if err := db.sql.QueryRowContext(ctx, "SELECT crash_reason FROM actual_lrps WHERE process_guid = ?", key.ProcessGuid).Scan(&reason); err != nil || reason != "boom" {
			t.Fatalf("crash_reason stored as %q (%v), want plain text", reason, err)
		}
	})
}

func TestActualLRPReasonsTruncated(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		db := openActualLRPTestDB(t, cfg)
		ctx := context.Background()
		key := &models.ActualLRPKey{ProcessGuid: "pg-long", Index: 0, Domain: "cf-apps"}
		if _, err := db.CreateUnclaimedActualLRP(ctx, key); err != nil {
			t.Fatal(err)
		}
		long := strings.Repeat("ab", 2000)
		if _, err := db.FailActualLRP(ctx, key, long); err != nil {
			t.Fatalf("fail with a long reason: %v", err)
		}
		if _, err := db.StartActualLRP(ctx, key, running("a")); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CrashActualLRP(ctx, key, ik("a"), long); err != nil {
			t.Fatalf("crash with a long reason: %v", err)
		}
		var placement, crash string
		if err := db.sql.QueryRowContext(ctx, "SELECT placement_error, crash_reason FROM actual_lrps WHERE process_guid = ?",
			key.ProcessGuid).Scan(&placement, &crash); err != nil {
			t.Fatal(err)
		}
		want := long[:1024-len(Truncated)] + Truncated
		if crash != want {
			t.Fatalf("crash_reason stored with %d bytes", len(crash))
		}
		if placement != "" {
			t.Fatalf("placement error survived the start: %q", placement)
		}
		in := running("b")
		in.InstanceKey.InstanceGuid = strings.Repeat("g", 256)
		if _, err := db.StartActualLRP(ctx, &models.ActualLRPKey{ProcessGuid: "pg-ig", Domain: "d"}, in); !errors.Is(err, models.ErrBadRequest) {
			t.Fatalf("too long instance guid: %v, want InvalidRequest on every flavor", err)
		}
	})
}

func TestActualLRPConcurrentClaims(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		db := openActualLRPTestDB(t, cfg)
		ctx := context.Background()
		key := &models.ActualLRPKey{ProcessGuid: "pg-race", Index: 0, Domain: "cf-apps"}
		if _, err := db.CreateUnclaimedActualLRP(ctx, key); err != nil {
			t.Fatal(err)
		}
		const claimers = 8
		errs := make([]error, claimers)
		var wg sync.WaitGroup
		for i := range claimers {
			wg.Go(func() {
				_, errs[i] = db.ClaimActualLRP(ctx, key.ProcessGuid, key.Index, ik(fmt.Sprint(i)))
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner < 0:
				winner = i
			case err == nil:
				t.Fatalf("claims %d and %d both won", winner, i)
			case !errors.Is(err, models.ErrActualLRPCannotBeClaimed):
				t.Fatalf("claim %d: %v", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no claim won")
		}
		stored, err := db.ActualLRPSlot(ctx, key.ProcessGuid, key.Index)
		if err != nil || len(stored) != 1 || stored[0].State != sC || !proto.Equal(stored[0].ActualLrpInstanceKey, ik(fmt.Sprint(winner))) {
			t.Fatalf("stored %v (%v), winner %d", stored, err, winner)
		}
		if stored[0].ModificationTag.Index != 1 {
			t.Fatalf("tag %v after one successful claim", stored[0].ModificationTag)
		}
	})
}

func TestUnclaimActualLRPIfAllRunning(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		db := openActualLRPTestDB(t, cfg)
		ctx := context.Background()
		if _, err := db.sql.ExecContext(ctx, `INSERT INTO desired_lrps (process_guid, domain, log_guid, instances, memory_mb, disk_mb,
			rootfs, routes, volume_placement, modification_tag_epoch, run_info) VALUES (?, 'd', 'l', 2, 1, 1, 'r', '', '', 'e', '')`, "pg-rec"); err != nil {
			t.Fatal(err)
		}
		k0 := &models.ActualLRPKey{ProcessGuid: "pg-rec", Index: 0, Domain: "d"}
		k1 := &models.ActualLRPKey{ProcessGuid: "pg-rec", Index: 1, Domain: "d"}
		if _, err := db.StartActualLRP(ctx, k0, running("a")); err != nil {
			t.Fatal(err)
		}
		if _, err := db.UnclaimActualLRPIfAllRunning(ctx, k0, 2); !errors.Is(err, models.ErrActualLRPCannotBeUnclaimed) {
			t.Fatalf("1 of 2 running: %v", err)
		}
		if _, err := db.StartActualLRP(ctx, k1, running("b")); err != nil {
			t.Fatal(err)
		}
		u, err := db.UnclaimActualLRPIfAllRunning(ctx, k0, 2)
		if err != nil || summary(u.After) != "ORDINARY:UNCLAIMED:-" {
			t.Fatalf("2 of 2 running: %v, %v", u, err)
		}
		gone := &models.ActualLRPKey{ProcessGuid: "pg-gone", Index: 0}
		if _, err := db.UnclaimActualLRPIfAllRunning(ctx, gone, 1); !errors.Is(err, models.ErrResourceNotFound) {
			t.Fatalf("no desired LRP: %v", err)
		}
	})
}

// TestActualLRPCrashLoop drives one instance through the rep's calls with a
// moving clock: two immediate restarts, then CRASHED rows that convergence
// restarts after their back-off, the crash count surviving the restarts.
func TestActualLRPCrashLoop(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		clock := scenarioNow
		db := openActualLRPTestDBAt(t, cfg, func() time.Time { return clock })
		ctx := context.Background()
		calc := models.NewDefaultRestartCalculator()
		key := &models.ActualLRPKey{ProcessGuid: "pg-loop", Index: 0, Domain: "cf-apps"}
		if _, err := db.CreateUnclaimedActualLRP(ctx, key); err != nil {
			t.Fatal(err)
		}
		waits := []time.Duration{0, 0, 30 * time.Second, time.Minute, 2 * time.Minute}
		for i, wait := range waits {
			instance := fmt.Sprint("run", i)
			if _, err := db.ClaimActualLRP(ctx, key.ProcessGuid, key.Index, ik(instance)); err != nil {
				t.Fatalf("claim %d: %v", i, err)
			}
			if _, err := db.StartActualLRP(ctx, key, running(instance)); err != nil {
				t.Fatalf("start %d: %v", i, err)
			}
			clock = clock.Add(10 * time.Second)
			u, err := db.CrashActualLRP(ctx, key, ik(instance), "crashed")
			if err != nil {
				t.Fatalf("crash %d: %v", i, err)
			}
			l := u.After[0]
			if l.CrashCount != int32(i+1) || u.RestartImmediately != (wait == 0) {
				t.Fatalf("crash %d: count %d, restart %v", i, l.CrashCount, u.RestartImmediately)
			}
			if wait == 0 {
				continue
			}
			if l.State != sX || l.ShouldRestartCrash(clock.Add(wait-time.Nanosecond), calc) || !l.ShouldRestartCrash(clock.Add(wait), calc) {
				t.Fatalf("crash %d: %s row not due exactly %v later", i, l.State, wait)
			}
			clock = clock.Add(wait)
			if _, err := db.UnclaimStaleActualLRP(ctx, key); err != nil {
				t.Fatalf("convergence restart %d: %v", i, err)
			}
		}
	})
}
