package handlers

import (
	"net/http"
	"sync/atomic"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/prometheus/client_golang/prometheus"
)

// RequestIDHeader carries the caller's trace id; the BBS copies it into
// events, auction and rep calls, and logs.
const RequestIDHeader = "X-Vcap-Request-Id"

// Gate answers 503 with an empty body until it is opened: the reference's
// behaviour for every route, ping and event streams included, until the
// database migrations are done.
type Gate struct{ open atomic.Bool }

// Open lets requests through.
func (g *Gate) Open() { g.open.Store(true) }

// IsOpen reports whether requests go through.
func (g *Gate) IsOpen() bool { return g.open.Load() }

// Wrap returns h behind the gate.
func (g *Gate) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.open.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Metrics counts and times requests under the reference's names
// (RequestCount, RequestLatency as the longest request of the report
// interval), plus a latency histogram per route.
type Metrics struct {
	count    prometheus.Counter
	perRoute *prometheus.CounterVec
	latency  prometheus.Gauge
	duration *prometheus.HistogramVec
	max      atomic.Int64
}

// NewMetrics registers the request metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		count:    prometheus.NewCounter(prometheus.CounterOpts{Name: "RequestCount", Help: "API requests served."}),
		perRoute: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bbs_requests_total", Help: "API requests per route."}, []string{"route"}),
		latency:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "RequestLatency", Help: "Longest API request of the current report interval, in seconds."}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bbs_request_duration_seconds",
			Help:    "API request latency per route (event streams excluded).",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
	}
	reg.MustRegister(m.count, m.perRoute, m.latency, m.duration)
	return m
}

// Wrap times h as route.
func (m *Metrics) Wrap(route string, streaming bool, h http.Handler) http.Handler {
	counter := m.perRoute.WithLabelValues(route)
	hist := m.duration.WithLabelValues(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		m.count.Inc()
		counter.Inc()
		if streaming {
			return
		}
		d := time.Since(start)
		hist.Observe(d.Seconds())
		for {
			cur := m.max.Load()
			if int64(d) <= cur || m.max.CompareAndSwap(cur, int64(d)) {
				break
			}
		}
		m.latency.Set(time.Duration(m.max.Load()).Seconds())
	})
}

// Report starts a new latency interval.
func (m *Metrics) Report() {
	m.max.Store(0)
	m.latency.Set(0)
}

// withLogger gives each request a logging session named after its route,
// with the caller's trace id.
func withLogger(logger lager.Logger, route string, h func(lager.Logger, http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data := lager.Data{}
		if id := r.Header.Get(RequestIDHeader); id != "" {
			data["trace-id"] = id
		}
		h(logger.Session(route, data), w, r)
	})
}
