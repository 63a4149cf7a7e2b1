package daemon

import (
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/prometheus/client_golang/prometheus"
)

// dbStatsCollector publishes the connection pool figures under the
// reference's metric names.
type dbStatsCollector struct {
	db                        *sqldb.DB
	open, waitDuration, waits *prometheus.Desc
}

func newDBStatsCollector(db *sqldb.DB) prometheus.Collector {
	return &dbStatsCollector{
		db:           db,
		open:         prometheus.NewDesc("DBOpenConnections", "Open connections to the database.", nil, nil),
		waitDuration: prometheus.NewDesc("DBWaitDuration", "Total time spent waiting for a free connection, in seconds.", nil, nil),
		waits:        prometheus.NewDesc("DBWaitCount", "Times a query waited for a free connection.", nil, nil),
	}
}

func (c *dbStatsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.open
	ch <- c.waitDuration
	ch <- c.waits
}

func (c *dbStatsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.db.SQL().Stats()
	ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(s.OpenConnections))
	ch <- prometheus.MustNewConstMetric(c.waitDuration, prometheus.CounterValue, s.WaitDuration.Seconds())
	ch <- prometheus.MustNewConstMetric(c.waits, prometheus.CounterValue, float64(s.WaitCount))
}
