package db

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/diego-go/diego/internal/bbs/encryption"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/sqldb/sqltest"
	"google.golang.org/protobuf/proto"
)

func TestCorruptRowsAreDeletedOnRead(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		fx := newStoreFx(t, cfg)
		other := fxCryptor(t, "k9", map[string]string{"k9": "someone else's key"})
		foreign, _ := other.Encrypt([]byte(`{}`))
		corruptions := []struct{ column, value string }{
			{"run_info", "garbage"},
			{"run_info", string(foreign)},
			{"routes", "02AAAA"},
			{"metric_tags", string(foreign)},
			{"volume_placement", "not even base64"},
			{"placement_tags", "[not json"},
		}
		desire := func(guid string) {
			if _, err := fx.db.DesireLRP(fx.ctx, desiredFixture(guid, "cf-apps")); err != nil {
				t.Fatal(err)
			}
		}
		desire("good")
		for i, c := range corruptions {
			guid := fmt.Sprintf("bad-%d", i)
			desire(guid)
			fx.exec("UPDATE desired_lrps SET "+c.column+" = ? WHERE process_guid = ?", c.value, guid)
		}
		lrps, err := fx.db.DesiredLRPs(fx.ctx, DesiredLRPFilter{})
		if err != nil || len(lrps) != 1 || lrps[0].ProcessGuid != "good" {
			t.Fatalf("listed %d LRPs (%v)", len(lrps), err)
		}
		if n := fx.count("desired_lrps", "1 = 1"); n != 1 {
			t.Fatalf("%d rows left after listing", n)
		}

		// Single reads and updates report Deserialize and delete the row.
		reads := []struct {
			name   string
			column string
			call   func(guid string) error
		}{
			{"by guid", "run_info", func(g string) error { _, err := fx.db.DesiredLRPByProcessGuid(fx.ctx, g); return err }},
			{"scheduling info", "routes", func(g string) error { _, err := fx.db.DesiredLRPSchedulingInfoByProcessGuid(fx.ctx, g); return err }},
			{"update", "run_info", func(g string) error {
				_, _, err := fx.db.UpdateDesiredLRP(fx.ctx, g, &models.DesiredLRPUpdate{})
				return err
			}},
			{"scheduling infos", "volume_placement", func(string) error {
				infos, err := fx.db.DesiredLRPSchedulingInfos(fx.ctx, DesiredLRPFilter{})
				if err == nil && len(infos) != 1 {
					err = fmt.Errorf("%d infos", len(infos))
				}
				return err
			}},
			{"routing infos", "metric_tags", func(string) error {
				infos, err := fx.db.DesiredLRPRoutingInfos(fx.ctx, DesiredLRPFilter{})
				if err == nil && len(infos) != 1 {
					err = fmt.Errorf("%d infos", len(infos))
				}
				return err
			}},
		}
		for _, r := range reads {
			guid := "bad-" + strings.ReplaceAll(r.name, " ", "-")
			desire(guid)
			fx.exec("UPDATE desired_lrps SET "+r.column+" = 'garbage' WHERE process_guid = ?", guid)
			err := r.call(guid)
			if strings.HasSuffix(r.name, "infos") {
				wantErr(t, r.name, err, nil)
			} else {
				wantErr(t, r.name, err, models.ErrDeserialize)
			}
			if n := fx.count("desired_lrps", "process_guid = ?", guid); n != 0 {
				t.Errorf("%s: corrupt row kept", r.name)
			}
		}

		// A NULL metric_tags column (left by the reference's split migration)
		// reads as no tags; repeated ports are removed.
		run, _ := fx.db.crypt.MarshalModel(&models.DesiredLRPRunInfo{Ports: []uint32{8080, 8080, 2222}})
		fx.exec("UPDATE desired_lrps SET metric_tags = NULL, run_info = ? WHERE process_guid = 'good'", string(run))
		lrp, err := fx.db.DesiredLRPByProcessGuid(fx.ctx, "good")
		if err != nil || lrp.MetricTags != nil || len(lrp.Ports) != 2 || lrp.Ports[1] != 2222 {
			t.Fatalf("good row (%v) %v", err, lrp)
		}

		// Tasks.
		for _, g := range []string{"t-good", "t-bad", "t-bad2"} {
			if _, err := fx.db.DesireTask(fx.ctx, taskDefinition(), g, "d"); err != nil {
				t.Fatal(err)
			}
		}
		fx.exec("UPDATE tasks SET task_definition = ? WHERE guid = 't-bad'", string(foreign))
		fx.exec("UPDATE tasks SET task_definition = 'x' WHERE guid = 't-bad2'")
		tasks, err := fx.db.Tasks(fx.ctx, TaskFilter{})
		if err != nil || len(tasks) != 1 || tasks[0].TaskGuid != "t-good" || fx.count("tasks", "1 = 1") != 1 {
			t.Fatalf("tasks %v (%v)", tasks, err)
		}
		for _, op := range []func() error{
			func() error { _, err := fx.db.TaskByGuid(fx.ctx, "t-bad"); return err },
			func() error { _, _, _, err := fx.db.StartTask(fx.ctx, "t-bad", "c"); return err },
		} {
			if _, err := fx.db.DesireTask(fx.ctx, taskDefinition(), "t-bad", "d"); err != nil {
				t.Fatal(err)
			}
			fx.exec("UPDATE tasks SET task_definition = 'x' WHERE guid = 't-bad'")
			wantErr(t, "corrupt task", op(), models.ErrDeserialize)
			if fx.count("tasks", "guid = 't-bad'") != 0 {
				t.Fatal("corrupt task kept")
			}
		}
	})
}

func TestEncryptionKeyRotation(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, cfg sqldb.Config) {
		oldKeys := map[string]string{"old": "old passphrase"}
		fx := newStoreFx(t, cfg, withCryptor(fxCryptor(t, "old", oldKeys)))

		// A fresh database has no label: the first start records it.
		report, err := fx.db.RotateEncryptionKey(fx.ctx)
		if err != nil || !report.Rotated || report.PreviousLabel != "" || report.ActiveLabel != "old" || report.Rows != 0 {
			t.Fatalf("first start: %+v %v", report, err)
		}
		if label, err := fx.db.EncryptionKeyLabel(fx.ctx); err != nil || label != "old" {
			t.Fatalf("label %q %v", label, err)
		}
		if report, err := fx.db.RotateEncryptionKey(fx.ctx); err != nil || report.Rotated {
			t.Fatalf("second start: %+v %v", report, err)
		}

		// Rows under the old key, including actual LRPs with an empty column.
		desired, err := fx.db.DesireLRP(fx.ctx, desiredFixture("app", "cf-apps"))
		if err != nil {
			t.Fatal(err)
		}
		bare, err := fx.db.DesireLRP(fx.ctx, &models.DesiredLRP{ProcessGuid: "bare", Domain: "d", RootFs: "docker:///x"})
		if err != nil {
			t.Fatal(err)
		}
		fx.exec("UPDATE desired_lrps SET metric_tags = NULL WHERE process_guid = 'bare'")
		task, err := fx.db.DesireTask(fx.ctx, taskDefinition(), "task", "d")
		if err != nil {
			t.Fatal(err)
		}
		c := fx.db.crypt
		net, _ := c.MarshalModel(&models.ActualLRPNetInfo{Address: "10.0.0.1"})
		routes, _ := c.Encrypt([]byte(`[{"hostname":"a.apps.internal"}]`))
		tags, _ := c.Encrypt([]byte(`{"app":"x"}`))
		insertActual := func(index int, internal, tags string) {
			fx.exec(`INSERT INTO actual_lrps (process_guid, instance_index, presence, domain, state, net_info,
				internal_routes, metric_tags, modification_tag_epoch, modification_tag_index) VALUES ('app', ?, 0, 'cf-apps', 'RUNNING', ?, ?, ?, 'e', 0)`,
				index, string(net), internal, tags)
		}
		insertActual(0, string(routes), string(tags))
		insertActual(1, "", string(tags)) // skipped: an empty blob

		// A key that is not configured any more stops the start.
		fx.exec("UPDATE configurations SET value = 'gone' WHERE id = 'encryption_key_label'")
		_, err = fx.db.RotateEncryptionKey(fx.ctx)
		if !errors.Is(err, ErrUnknownEncryptionKey) || !strings.Contains(err.Error(), "Existing encryption key version (gone) is not among the known keys") {
			t.Fatalf("unknown key: %v", err)
		}
		if _, _, err := fx.db.CheckEncryptionKeyLabel(fx.ctx); !errors.Is(err, ErrUnknownEncryptionKey) {
			t.Fatalf("check: %v", err)
		}
		fx.exec("UPDATE configurations SET value = 'old' WHERE id = 'encryption_key_label'")

		// Rotate to a new key.
		both := newUnmigratedFx(t, cfg, fx.sql, withCryptor(fxCryptor(t, "new", map[string]string{"old": "old passphrase", "new": "new passphrase"})))
		report, err = both.db.RotateEncryptionKey(fx.ctx)
		if err != nil || !report.Rotated || report.PreviousLabel != "old" || report.ActiveLabel != "new" || report.Rows != 4 {
			t.Fatalf("rotation: %+v %v", report, err)
		}
		labelOf := func(table, column, where string) string {
			l, err := encryption.KeyLabelOf(fx.column(table, column, where))
			if err != nil {
				return "<" + err.Error() + ">"
			}
			return l
		}
		for _, col := range []struct{ table, column, where, label string }{
			{"desired_lrps", "run_info", "process_guid = 'app'", "new"},
			{"desired_lrps", "routes", "process_guid = 'app'", "new"},
			{"desired_lrps", "volume_placement", "process_guid = 'app'", "new"},
			{"desired_lrps", "metric_tags", "process_guid = 'app'", "new"},
			{"desired_lrps", "run_info", "process_guid = 'bare'", "new"},
			{"tasks", "task_definition", "guid = 'task'", "new"},
			{"actual_lrps", "net_info", "instance_index = 0", "new"},
			{"actual_lrps", "internal_routes", "instance_index = 0", "new"},
			{"actual_lrps", "metric_tags", "instance_index = 0", "new"},
			{"actual_lrps", "net_info", "instance_index = 1", "old"},
		} {
			if got := labelOf(col.table, col.column, col.where); got != col.label {
				t.Errorf("%s.%s where %s sealed with %q, want %q", col.table, col.column, col.where, got, col.label)
			}
		}
		if fx.column("desired_lrps", "metric_tags", "process_guid = 'bare'") != nil {
			t.Error("a NULL column was filled")
		}
		if label, _ := both.db.EncryptionKeyLabel(fx.ctx); label != "new" {
			t.Fatalf("label after rotation %q", label)
		}

		// Everything reads with the new key alone.
		newOnly := newUnmigratedFx(t, cfg, fx.sql, withCryptor(fxCryptor(t, "new", map[string]string{"new": "new passphrase"})))
		if got, err := newOnly.db.DesiredLRPByProcessGuid(fx.ctx, "app"); err != nil || !proto.Equal(got, desired) {
			t.Fatalf("desired after rotation (%v) %v", err, got)
		}
		if got, err := newOnly.db.DesiredLRPByProcessGuid(fx.ctx, "bare"); err != nil || !proto.Equal(got, bare) {
			t.Fatalf("bare after rotation (%v) %v", err, got)
		}
		if got, err := newOnly.db.TaskByGuid(fx.ctx, "task"); err != nil || !proto.Equal(got, task) {
			t.Fatalf("task after rotation (%v) %v", err, got)
		}
		if report, err := newOnly.db.RotateEncryptionKey(fx.ctx); err != nil || report.Rotated {
			t.Fatalf("restart after rotation: %+v %v", report, err)
		}
	})
}
