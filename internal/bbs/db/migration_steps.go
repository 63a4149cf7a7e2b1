package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/sqldb"
)

// referenceMigrations are the reference's steps after its first one, with
// its versions, bringing a database it wrote to the final schema. Each may
// run again after a partial failure. Type changes matter to MySQL and
// PostgreSQL only: SQLite neither enforces VARCHAR lengths nor
// distinguishes the TEXT sizes.
var referenceMigrations = []migration{
	{1471030898, "increase-run-info-column", func(ctx context.Context, _ *DB, tx *sqldb.Tx) error {
		return execFor(ctx, tx, map[sqldb.Flavor][]string{sqldb.MySQL: {
			"ALTER TABLE desired_lrps MODIFY annotation MEDIUMTEXT, MODIFY routes MEDIUMTEXT NOT NULL, MODIFY volume_placement MEDIUMTEXT NOT NULL, MODIFY run_info MEDIUMTEXT NOT NULL",
			"ALTER TABLE actual_lrps MODIFY net_info MEDIUMTEXT NOT NULL",
			"ALTER TABLE tasks MODIFY result MEDIUMTEXT, MODIFY task_definition MEDIUMTEXT NOT NULL",
		}})
	}},
	{1472757022, "add-placement-tags-to-desired-lrps", func(ctx context.Context, _ *DB, tx *sqldb.Tx) error {
		return addColumn(ctx, tx, desiredLRPsTable, "placement_tags TEXT")
	}},
	{1474908092, "increase-error-columns", func(ctx context.Context, _ *DB, tx *sqldb.Tx) error {
		return execFor(ctx, tx, map[sqldb.Flavor][]string{
			sqldb.MySQL:    {"ALTER TABLE actual_lrps MODIFY crash_reason VARCHAR(1024) NOT NULL DEFAULT '', MODIFY placement_error VARCHAR(1024) NOT NULL DEFAULT ''"},
			sqldb.Postgres: {"ALTER TABLE actual_lrps ALTER crash_reason TYPE VARCHAR(1024), ALTER placement_error TYPE VARCHAR(1024)"},
		})
	}},
	{1474993971, "encrypt-routes", encryptPlainRoutes},
	{1481761088, "add-max-pids-to-desired-lrps", func(ctx context.Context, _ *DB, tx *sqldb.Tx) error {
		return addColumn(ctx, tx, desiredLRPsTable, "max_pids INTEGER DEFAULT 0")
	}},
	{1502289152, "increase-rootfs-column", func(ctx context.Context, _ *DB, tx *sqldb.Tx) error {
		return execFor(ctx, tx, map[sqldb.Flavor][]string{
			sqldb.MySQL:    {"ALTER TABLE desired_lrps MODIFY rootfs VARCHAR(1024) NOT NULL DEFAULT ''"},
			sqldb.Postgres: {"ALTER TABLE desired_lrps ALTER rootfs TYPE VARCHAR(1024)"},
		})
	}},
	{1522700600, "add-task-rejection-count", func(ctx context.Context, _ *DB, tx *sqldb.Tx) error {
		return addColumn(ctx, tx, tasksTable, "rejection_count INTEGER NOT NULL DEFAULT 0")
	}},
	{1523050077, "add-task-rejection-reason", func(ctx context.Context, _ *DB, tx *sqldb.Tx) error {
		return addColumn(ctx, tx, tasksTable, "rejection_reason VARCHAR(255) NOT NULL DEFAULT ''")
	}},
	{1528928964, "increase-task-error-columns", func(ctx context.Context, _ *DB, tx *sqldb.Tx) error {
		return execFor(ctx, tx, map[sqldb.Flavor][]string{
			sqldb.MySQL:    {"ALTER TABLE tasks MODIFY rejection_reason VARCHAR(1024) NOT NULL DEFAULT '', MODIFY failure_reason VARCHAR(1024) NOT NULL DEFAULT ''"},
			sqldb.Postgres: {"ALTER TABLE tasks ALTER rejection_reason TYPE VARCHAR(1024), ALTER failure_reason TYPE VARCHAR(1024)"},
		})
	}},
	{1529530809, "add-presence-to-actual-lrps", addPresence},
	{1643660541, "add-internal-routes-to-actual-lrps", func(ctx context.Context, _ *DB, tx *sqldb.Tx) error {
		return addColumn(ctx, tx, "actual_lrps", "internal_routes MEDIUMTEXT")
	}},
	{1674146125, "set-run-info-longtext", func(ctx context.Context, _ *DB, tx *sqldb.Tx) error {
		return execFor(ctx, tx, map[sqldb.Flavor][]string{sqldb.MySQL: {
			"ALTER TABLE desired_lrps MODIFY annotation LONGTEXT, MODIFY routes LONGTEXT NOT NULL, MODIFY volume_placement LONGTEXT NOT NULL, MODIFY run_info LONGTEXT NOT NULL",
			"ALTER TABLE actual_lrps MODIFY net_info LONGTEXT NOT NULL",
			"ALTER TABLE tasks MODIFY result LONGTEXT, MODIFY task_definition LONGTEXT NOT NULL",
		}})
	}},
	{1676360874, "add-metric-tags-to-actual-lrps", func(ctx context.Context, _ *DB, tx *sqldb.Tx) error {
		return addColumn(ctx, tx, "actual_lrps", "metric_tags MEDIUMTEXT")
	}},
	{1686692176, "add-routable-to-actual-lrps", func(ctx context.Context, _ *DB, tx *sqldb.Tx) error {
		if err := addColumn(ctx, tx, "actual_lrps", "routable BOOL DEFAULT false"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "UPDATE actual_lrps SET routable = true WHERE state = 'RUNNING'")
		return err
	}},
	{1698182853, "add-availability-zone-to-actual-lrps", func(ctx context.Context, _ *DB, tx *sqldb.Tx) error {
		return addColumn(ctx, tx, "actual_lrps", "availability_zone VARCHAR(255) NOT NULL DEFAULT ''")
	}},
	{1722634733, "split-metric-tags", splitMetricTags},
	{1764949919, "add-health-check-table", func(ctx context.Context, _ *DB, tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, createHealthCheckSQL(tx.Flavor()))
		return err
	}},
	{ReferenceSchemaVersion, "add-update-strategy-to-desired-lrps", func(ctx context.Context, _ *DB, tx *sqldb.Tx) error {
		return addColumn(ctx, tx, desiredLRPsTable, "update_strategy INT NOT NULL DEFAULT 0")
	}},
}

// encryptPlainRoutes encrypts the routes the first schema stored in clear.
// Values already in the encrypted form are left alone, so that the step
// can run twice.
func encryptPlainRoutes(ctx context.Context, db *DB, tx *sqldb.Tx) error {
	routes := map[string][]byte{}
	err := eachRow(ctx, tx, "SELECT process_guid, routes FROM desired_lrps", func(scan func(...any) error) error {
		var guid string
		var data []byte
		if err := scan(&guid, &data); err != nil {
			return err
		}
		if !isEncrypted(data) {
			routes[guid] = data
		}
		return nil
	})
	if err != nil {
		return err
	}
	for guid, data := range routes {
		sealed, err := db.crypt.Encrypt(data)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE desired_lrps SET routes = ? WHERE process_guid = ?", string(sealed), guid); err != nil {
			return err
		}
	}
	return nil
}

// isEncrypted tells stored values of the encrypted form from clear JSON,
// which starts with '{', '[' or 'n' (null).
func isEncrypted(b []byte) bool { return len(b) >= 2 && b[0] == '0' && b[1] == '2' }

// addPresence replaces the evacuating flag by the presence column in the
// primary key of actual_lrps.
func addPresence(ctx context.Context, _ *DB, tx *sqldb.Tx) error {
	if tx.Flavor() == sqldb.SQLite {
		return errors.New("sqlite cannot change the primary key of actual_lrps")
	}
	if err := addColumn(ctx, tx, "actual_lrps", "presence INT NOT NULL DEFAULT 0"); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE actual_lrps SET presence = ? WHERE evacuating = true", int32(models.ActualLRP_EVACUATING)); err != nil {
		return err
	}
	return execFor(ctx, tx, map[sqldb.Flavor][]string{
		sqldb.MySQL:    {"ALTER TABLE actual_lrps DROP PRIMARY KEY, ADD PRIMARY KEY (process_guid, instance_index, presence)"},
		sqldb.Postgres: {"ALTER TABLE actual_lrps DROP CONSTRAINT actual_lrps_pkey, ADD PRIMARY KEY (process_guid, instance_index, presence)"},
	})
}

// splitMetricTags adds the metric_tags column of desired_lrps and fills it
// from each run info's own metric tags (an empty map when none). Rows whose
// run info cannot be read are left without tags, as the reference leaves
// them.
func splitMetricTags(ctx context.Context, db *DB, tx *sqldb.Tx) error {
	if err := addColumn(ctx, tx, desiredLRPsTable, "metric_tags MEDIUMTEXT"); err != nil {
		return err
	}
	tags := map[string][]byte{}
	err := eachRow(ctx, tx, "SELECT process_guid, run_info FROM desired_lrps", func(scan func(...any) error) error {
		var guid string
		var data []byte
		if err := scan(&guid, &data); err != nil {
			return err
		}
		var runInfo models.DesiredLRPRunInfo
		if err := db.crypt.UnmarshalModel(data, &runInfo); err != nil {
			db.logger.Error("split-metric-tags-unreadable-run-info", err, lager.Data{"process_guid": guid})
			return nil
		}
		m := runInfo.GetMetricTags()
		if m == nil {
			m = map[string]*models.MetricTagValue{}
		}
		b, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("metric tags of %s: %w", guid, err)
		}
		tags[guid] = b
		return nil
	})
	if err != nil {
		return err
	}
	for guid, plain := range tags {
		sealed, err := db.crypt.Encrypt(plain)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE desired_lrps SET metric_tags = ? WHERE process_guid = ?", string(sealed), guid); err != nil {
			return err
		}
	}
	return nil
}

// eachRow runs query and calls fn for every row, closing the rows before
// it returns (so that the transaction can run the next statement).
func eachRow(ctx context.Context, q sqldb.Querier, query string, fn func(scan func(...any) error) error, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return sqldb.Classify(err)
	}
	return sqldb.Classify(rows.Close())
}
