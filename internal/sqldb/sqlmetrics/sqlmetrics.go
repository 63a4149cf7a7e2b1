// Package sqlmetrics publishes a database pool's figures under the
// reference's metric names (DBOpenConnections, DBWaitDuration, DBWaitCount,
// DBQueriesTotal, DBQueriesSucceeded, DBQueriesFailed, DBQueriesInFlight,
// DBQueryDurationMax), for every daemon with a database.
package sqlmetrics

import (
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/prometheus/client_golang/prometheus"
)

// dbStatsCollector publishes the connection pool and statement figures
// under the reference's metric names.
type dbStatsCollector struct {
	db                                          *sqldb.DB
	open, waitDuration, waits                   *prometheus.Desc
	total, succeeded, failed, inFlight, maxTime *prometheus.Desc
}

// NewCollector returns a collector of db's figures. DBQueryDurationMax is
// the longest statement since the last db.ResetMax, which the daemon calls
// every report interval.
func NewCollector(db *sqldb.DB) prometheus.Collector {
	return &dbStatsCollector{
		db:           db,
		open:         prometheus.NewDesc("DBOpenConnections", "Open connections to the database.", nil, nil),
		waitDuration: prometheus.NewDesc("DBWaitDuration", "Total time spent waiting for a free connection, in seconds.", nil, nil),
		waits:        prometheus.NewDesc("DBWaitCount", "Times a query waited for a free connection.", nil, nil),
		total:        prometheus.NewDesc("DBQueriesTotal", "Statements sent to the database.", nil, nil),
		succeeded:    prometheus.NewDesc("DBQueriesSucceeded", "Statements that succeeded.", nil, nil),
		failed:       prometheus.NewDesc("DBQueriesFailed", "Statements that failed.", nil, nil),
		inFlight:     prometheus.NewDesc("DBQueriesInFlight", "Statements running now.", nil, nil),
		maxTime:      prometheus.NewDesc("DBQueryDurationMax", "Longest statement in the current report interval, in seconds.", nil, nil),
	}
}

func (c *dbStatsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.open
	ch <- c.waitDuration
	ch <- c.waits
	ch <- c.total
	ch <- c.succeeded
	ch <- c.failed
	ch <- c.inFlight
	ch <- c.maxTime
}

func (c *dbStatsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.db.SQL().Stats()
	ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(s.OpenConnections))
	ch <- prometheus.MustNewConstMetric(c.waitDuration, prometheus.CounterValue, s.WaitDuration.Seconds())
	ch <- prometheus.MustNewConstMetric(c.waits, prometheus.CounterValue, float64(s.WaitCount))
	q := c.db.Stats()
	ch <- prometheus.MustNewConstMetric(c.total, prometheus.CounterValue, float64(q.Total))
	ch <- prometheus.MustNewConstMetric(c.succeeded, prometheus.CounterValue, float64(q.Succeeded))
	ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(q.Failed))
	ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(q.InFlight))
	ch <- prometheus.MustNewConstMetric(c.maxTime, prometheus.GaugeValue, q.MaxDuration.Seconds())
}
