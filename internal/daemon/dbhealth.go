package daemon

import (
	"context"
	"fmt"
	"os"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/clock"
)

// HealthChecker writes and reads back a row to prove the database works.
type HealthChecker interface {
	HealthCheck(ctx context.Context, now time.Time) error
}

// DBHealthCheck is an ifrit runner that checks the database every Interval
// and fails, ending the daemon, after FailureThreshold consecutive failed
// checks (enable_db_health_check).
type DBHealthCheck struct {
	Logger           lager.Logger
	DB               HealthChecker
	Clock            clock.Clock
	Interval         time.Duration
	Timeout          time.Duration
	FailureThreshold int
}

// Run implements ifrit.Runner.
func (h *DBHealthCheck) Run(signals <-chan os.Signal, ready chan<- struct{}) error {
	logger := h.Logger.Session("db-health-check")
	ticker := h.Clock.NewTicker(h.Interval)
	defer ticker.Stop()
	close(ready)
	failures := 0
	for {
		select {
		case <-signals:
			return nil
		case <-ticker.C():
			ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
			err := h.DB.HealthCheck(ctx, h.Clock.Now())
			cancel()
			if err == nil {
				failures = 0
				continue
			}
			failures++
			logger.Error("failed-health-check", err, lager.Data{"consecutive-failures": failures})
			if failures >= h.FailureThreshold {
				return fmt.Errorf("database health check failed %d times in a row: %w", failures, err)
			}
		}
	}
}
