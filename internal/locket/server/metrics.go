package server

import (
	"os"
	"sync"
	"sync/atomic"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/clock"
	"github.com/prometheus/client_golang/prometheus"
)

// RequestTypes are the four RPCs, as the reference labels them.
var RequestTypes = []string{"Lock", "Release", "Fetch", "FetchAll"}

// RequestMetrics counts and times the RPCs under the reference's metric
// names, labelled request_type (the reference's "request-type" tag; a hyphen
// is not allowed in a Prometheus label name).
type RequestMetrics struct {
	started, succeeded, failed, cancelled *prometheus.CounterVec
	inFlight                              *prometheus.GaugeVec
	latencyMax                            *prometheus.GaugeVec
	duration                              *prometheus.HistogramVec

	mu  sync.Mutex
	max map[string]*atomic.Int64 // nanoseconds, since the last report
}

// NewRequestMetrics registers the request metrics on reg.
func NewRequestMetrics(reg prometheus.Registerer) *RequestMetrics {
	label := []string{"request_type"}
	m := &RequestMetrics{
		started:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "RequestsStarted", Help: "Requests received."}, label),
		succeeded:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "RequestsSucceeded", Help: "Requests answered without error; lock collisions count as success."}, label),
		failed:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "RequestsFailed", Help: "Requests answered with an error other than a lock collision."}, label),
		cancelled:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "RequestsCancelled", Help: "Requests whose caller went away."}, label),
		inFlight:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "RequestsInFlight", Help: "Requests being served."}, label),
		latencyMax: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "RequestLatencyMax", Help: "Longest request in the last report interval, in seconds."}, label),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "locket_request_duration_seconds",
			Help:    "Request latency.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, label),
		max: make(map[string]*atomic.Int64),
	}
	for _, t := range RequestTypes {
		m.max[t] = new(atomic.Int64)
		// Make every series visible from the start.
		m.started.WithLabelValues(t)
		m.succeeded.WithLabelValues(t)
		m.failed.WithLabelValues(t)
		m.cancelled.WithLabelValues(t)
		m.inFlight.WithLabelValues(t)
		m.latencyMax.WithLabelValues(t)
	}
	reg.MustRegister(m.started, m.succeeded, m.failed, m.cancelled, m.inFlight, m.latencyMax, m.duration)
	return m
}

// begin records the start of a request and returns its completion.
func (m *RequestMetrics) begin(requestType string) func(ok, cancelled bool, d time.Duration) {
	m.started.WithLabelValues(requestType).Inc()
	m.inFlight.WithLabelValues(requestType).Inc()
	return func(ok, cancelled bool, d time.Duration) {
		m.inFlight.WithLabelValues(requestType).Dec()
		if cancelled {
			m.cancelled.WithLabelValues(requestType).Inc()
		}
		if ok {
			m.succeeded.WithLabelValues(requestType).Inc()
		} else {
			m.failed.WithLabelValues(requestType).Inc()
		}
		m.duration.WithLabelValues(requestType).Observe(d.Seconds())
		slot := m.max[requestType]
		for {
			cur := slot.Load()
			if int64(d) <= cur || slot.CompareAndSwap(cur, int64(d)) {
				break
			}
		}
		// The gauge shows the running maximum of the current interval.
		m.mu.Lock()
		m.latencyMax.WithLabelValues(requestType).Set(time.Duration(slot.Load()).Seconds())
		m.mu.Unlock()
	}
}

// report starts a new latency interval.
func (m *RequestMetrics) report() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for t, slot := range m.max {
		slot.Store(0)
		m.latencyMax.WithLabelValues(t).Set(0)
	}
}

// Counter is what the lock metrics read from storage.
type Counter interface {
	// Count returns the number of rows with an owner of the given type.
	Count(typ string) (int, error)
}

// LockMetrics publishes ActiveLocks and ActivePresences, refreshed every
// report interval, and the expiry counters.
type LockMetrics struct {
	activeLocks, activePresences prometheus.Gauge
}

// NewLockMetrics registers the lock metrics on reg; expired reads the
// cumulative expiry counts.
func NewLockMetrics(reg prometheus.Registerer, expired func() (locks, presences uint64)) *LockMetrics {
	m := &LockMetrics{
		activeLocks:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "ActiveLocks", Help: "Locks with an owner."}),
		activePresences: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ActivePresences", Help: "Presences with an owner."}),
	}
	reg.MustRegister(m.activeLocks, m.activePresences,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "LocksExpired", Help: "Locks deleted because their owner stopped refreshing them."},
			func() float64 { l, _ := expired(); return float64(l) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "PresenceExpired", Help: "Presences deleted because their owner stopped refreshing them."},
			func() float64 { _, p := expired(); return float64(p) }),
	)
	return m
}

// Reporter is an ifrit runner that, every interval, counts the active locks
// and presences and starts a new latency interval.
type Reporter struct {
	Logger   lager.Logger
	Clock    clock.Clock
	Interval time.Duration
	Counter  Counter
	Locks    *LockMetrics
	Requests *RequestMetrics
	// OnReport, if set, is called at the end of every interval.
	OnReport func()
}

// Run implements ifrit.Runner.
func (r *Reporter) Run(signals <-chan os.Signal, ready chan<- struct{}) error {
	logger := r.Logger.Session("metrics-reporter")
	r.count(logger)
	ticker := r.Clock.NewTicker(r.Interval)
	defer ticker.Stop()
	close(ready)
	for {
		select {
		case <-signals:
			return nil
		case <-ticker.C():
			r.count(logger)
			r.Requests.report()
			if r.OnReport != nil {
				r.OnReport()
			}
		}
	}
}

func (r *Reporter) count(logger lager.Logger) {
	if n, err := r.Counter.Count("lock"); err != nil {
		logger.Error("failed-to-count-locks", err)
	} else {
		r.Locks.activeLocks.Set(float64(n))
	}
	if n, err := r.Counter.Count("presence"); err != nil {
		logger.Error("failed-to-count-presences", err)
	} else {
		r.Locks.activePresences.Set(float64(n))
	}
}
