package db

import (
	"context"
	"fmt"
	"time"
)

// HealthCheck writes now into bbs_health_check (row id 1) and reads it
// back: the reference's database health check.
func (db *DB) HealthCheck(ctx context.Context, now time.Time) error {
	q := db.sql.Flavor().Upsert("bbs_health_check", []string{"id"}, []string{"time"})
	if _, err := db.sql.ExecContext(ctx, q, 1, now.UnixNano()); err != nil {
		return fmt.Errorf("failed upserting health check time: %w", err)
	}
	var got int64
	if err := db.sql.QueryRowContext(ctx, "SELECT time FROM bbs_health_check WHERE id = ?", 1).Scan(&got); err != nil {
		return fmt.Errorf("failed querying for health check time: %w", err)
	}
	return nil
}
