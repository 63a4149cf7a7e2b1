package db

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
)

var errRollback = errors.New("roll back")

// TestRepeatedStartIsOneRead: a start that changes nothing (a rep's bulk
// loop re-starting a running instance) is answered from one unlocked read,
// without a transaction or a write; a start that changes the row still
// goes through the locked path.
func TestRepeatedStartIsOneRead(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		db := openActualLRPTestDB(t, cfg)
		ctx := context.Background()
		key := &models.ActualLRPKey{ProcessGuid: "pg", Index: 0, Domain: "d"}
		in := RunningInstance{
			InstanceKey: &models.ActualLRPInstanceKey{InstanceGuid: "ig", CellId: "c1"},
			NetInfo:     &models.ActualLRPNetInfo{Address: "10.0.0.1", Ports: []*models.PortMapping{{ContainerPort: 8080, HostPort: 61000}}},
			MetricTags:  map[string]string{"app_id": "a"},
		}
		if _, err := db.StartActualLRP(ctx, key, in); err != nil {
			t.Fatal(err)
		}
		first, err := db.ActualLRPSlot(ctx, "pg", 0)
		if err != nil || len(first) != 1 || first[0].GetState() != models.ActualLRPStateRunning {
			t.Fatalf("after the first start: %v %v", first, err)
		}

		before := db.sql.Stats().Total
		u, err := db.StartActualLRP(ctx, key, in)
		if err != nil {
			t.Fatal(err)
		}
		if n := db.sql.Stats().Total - before; n != 1 {
			t.Fatalf("a repeated start ran %d statements, want 1", n)
		}
		if len(u.Changes) != 0 || len(u.After) != 1 || u.After[0].GetModificationTag().GetIndex() != first[0].GetModificationTag().GetIndex() {
			t.Fatalf("a repeated start changed the slot: %+v", u)
		}

		// It takes no row lock: it answers while another transaction holds
		// the slot (SQLite has no row locks to hold).
		if cfg.DriverName != "sqlite" {
			locked, release, held := make(chan struct{}), make(chan struct{}), make(chan error, 1)
			go func() {
				held <- db.sql.Transact(ctx, func(ctx context.Context, tx *sqldb.Tx) error {
					if _, _, err := db.lockSlot(ctx, tx, "pg", 0); err != nil {
						return err
					}
					close(locked)
					<-release
					return errRollback
				})
			}()
			select {
			case <-locked:
			case err := <-held:
				t.Fatal(err)
			}
			short, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err := db.StartActualLRP(short, key, in)
			cancel()
			close(release)
			if err := <-held; err != errRollback {
				t.Fatal(err)
			}
			if err != nil {
				t.Fatalf("a repeated start waited for the row lock: %v", err)
			}
		}

		moved := in
		moved.NetInfo = &models.ActualLRPNetInfo{Address: "10.0.0.2"}
		before = db.sql.Stats().Total
		u, err = db.StartActualLRP(ctx, key, moved)
		if err != nil {
			t.Fatal(err)
		}
		if len(u.Changes) != 1 || db.sql.Stats().Total-before < 2 {
			t.Fatalf("a changing start: %d changes, %d statements", len(u.Changes), db.sql.Stats().Total-before)
		}
		after, err := db.ActualLRPSlot(ctx, "pg", 0)
		if err != nil || after[0].GetActualLrpNetInfo().GetAddress() != "10.0.0.2" ||
			after[0].GetModificationTag().GetIndex() != first[0].GetModificationTag().GetIndex()+1 {
			t.Fatalf("after the changing start: %v %v", after, err)
		}
	})
}
