package daemon

import (
	"os"

	"github.com/diego-go/diego/internal/bbs/controllers"
	"github.com/prometheus/client_golang/prometheus"
)

// taskCollector publishes the per-cell task counters under the reference's
// names; the reference's cell-id envelope tag is the label cell_id.
type taskCollector struct {
	ctrl                       *controllers.Controllers
	started, succeeded, failed *prometheus.Desc
}

func newTaskCollector(ctrl *controllers.Controllers) prometheus.Collector {
	label := []string{"cell_id"}
	return &taskCollector{
		ctrl:      ctrl,
		started:   prometheus.NewDesc("TasksStarted", "Tasks started on the cell since this BBS was elected.", label, nil),
		succeeded: prometheus.NewDesc("TasksSucceeded", "Tasks completed successfully on the cell.", label, nil),
		failed:    prometheus.NewDesc("TasksFailed", "Tasks completed with a failure on the cell.", label, nil),
	}
}

func (c *taskCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.started
	ch <- c.succeeded
	ch <- c.failed
}

func (c *taskCollector) Collect(ch chan<- prometheus.Metric) {
	for cell, n := range c.ctrl.TaskCounts() {
		ch <- prometheus.MustNewConstMetric(c.started, prometheus.CounterValue, float64(n.Started), cell)
		ch <- prometheus.MustNewConstMetric(c.succeeded, prometheus.CounterValue, float64(n.Succeeded), cell)
		ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(n.Failed), cell)
	}
}

// openFileDescriptors is the reference's OpenFileDescriptors gauge.
func openFileDescriptors() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "OpenFileDescriptors", Help: "File descriptors the process holds open."},
		func() float64 {
			entries, err := os.ReadDir("/proc/self/fd")
			if err != nil {
				return -1
			}
			return float64(len(entries))
		})
}
