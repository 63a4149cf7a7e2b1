package runner

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the rounds' figures under the reference's names (§1.11),
// durations in seconds, plus a few of ours in snake_case. A nil *Metrics
// records nothing.
type Metrics struct {
	lrpStarted, lrpFailed, taskStarted, taskFailed prometheus.Counter
	failedCellStates                               prometheus.Counter
	fetchStates                                    prometheus.Gauge
	fetchStatesHist, roundHist                     prometheus.Histogram
	rounds, requeued, commitFailures               prometheus.Counter
}

// NewMetrics registers the runner's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	buckets := []float64{.001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2, 5, 10, 30}
	m := &Metrics{
		lrpStarted:       counter("AuctioneerLRPAuctionsStarted", "LRP instances sent to a cell that accepted them."),
		lrpFailed:        counter("AuctioneerLRPAuctionsFailed", "LRP instances reported to the BBS as not placed."),
		taskStarted:      counter("AuctioneerTaskAuctionsStarted", "Tasks sent to a cell that accepted them."),
		taskFailed:       counter("AuctioneerTaskAuctionsFailed", "Tasks reported as not placed."),
		failedCellStates: counter("AuctioneerFailedCellStateRequests", "GET /state calls that failed or did not answer 200."),
		fetchStates:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "AuctioneerFetchStatesDuration", Help: "Seconds the last round took to fetch every cell's state."}),
		fetchStatesHist: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "auctioneer_fetch_states_duration_seconds", Help: "Time to fetch every cell's state, per round.", Buckets: buckets,
		}),
		roundHist: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "auctioneer_round_duration_seconds", Help: "Time of a whole round: cells, states, schedule, commit, reports.", Buckets: buckets,
		}),
		rounds:         counter("auctioneer_rounds_total", "Rounds that had work to place."),
		requeued:       counter("auctioneer_auctions_requeued_total", "Items a cell refused or whose /work call failed, queued again for the next round."),
		commitFailures: counter("auctioneer_work_requests_failed_total", "POST /work calls that failed."),
	}
	reg.MustRegister(m.lrpStarted, m.lrpFailed, m.taskStarted, m.taskFailed, m.failedCellStates,
		m.fetchStates, m.fetchStatesHist, m.roundHist, m.rounds, m.requeued, m.commitFailures)
	return m
}

func (m *Metrics) failedCellState() {
	if m != nil {
		m.failedCellStates.Inc()
	}
}

func (m *Metrics) fetchedStates(d time.Duration) {
	if m != nil {
		m.fetchStates.Set(d.Seconds())
		m.fetchStatesHist.Observe(d.Seconds())
	}
}

func (m *Metrics) roundDone(d time.Duration, o *outcome) {
	if m == nil {
		return
	}
	m.rounds.Inc()
	m.roundHist.Observe(d.Seconds())
	m.lrpStarted.Add(float64(o.startedLRPs))
	m.taskStarted.Add(float64(o.startedTasks))
	m.lrpFailed.Add(float64(o.failedLRPs))
	m.taskFailed.Add(float64(o.failedTasks))
	m.requeued.Add(float64(o.requeued))
	m.commitFailures.Add(float64(o.commitFailures))
}
