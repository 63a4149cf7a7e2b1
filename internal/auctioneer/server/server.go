// Package server is the auctioneer's HTTP API (auction-rep-executor §1.2):
//
//	POST /v1/lrps  [LRPStartRequest...]  -> 202 {}
//	POST /v1/tasks [TaskStartRequest...] -> 202 {}
//
// A body that is not a JSON array of requests answers 400
// {"error":"<decoding error>"}, and nothing of it is queued. Elements that
// fail validation are dropped and logged, the others queued: the answer is
// still 202. A body that cannot be read answers 500.
package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/auctioneer/auctioneerclient"
	"github.com/prometheus/client_golang/prometheus"
)

// Scheduler queues valid requests for the next round (runner.Batch). The
// return values are the auctions queued.
type Scheduler interface {
	AddLRPStarts(starts []auctioneerclient.LRPStartRequest, traceID string) int
	AddTasks(tasks []auctioneerclient.TaskStartRequest, traceID string) int
}

// DefaultMaxBodyBytes bounds a request body.
const DefaultMaxBodyBytes = 64 << 20

// Config is what the handler needs.
type Config struct {
	Logger    lager.Logger
	Scheduler Scheduler
	Metrics   *Metrics // nil records nothing
	// MaxBodyBytes bounds request bodies (0 means DefaultMaxBodyBytes);
	// a larger body answers 413.
	MaxBodyBytes int64
}

// New returns the API handler.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = lager.NewLogger("auctioneer")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	h := &handler{cfg: cfg}
	mux := http.NewServeMux()
	mux.Handle("POST "+auctioneerclient.LRPAuctionsPath, cfg.Metrics.wrap("lrp_auctions", h.session("lrp-auction-handler", h.createLRPAuctions)))
	mux.Handle("POST "+auctioneerclient.TaskAuctionsPath, cfg.Metrics.wrap("task_auctions", h.session("task-auction-handler", h.createTaskAuctions)))
	return mux
}

type handler struct {
	cfg Config
}

// session gives a request a logging session with its trace id.
func (h *handler) session(name string, f func(lager.Logger, http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data := lager.Data{"method": r.Method, "request": r.URL.String()}
		if id := r.Header.Get(auctioneerclient.RequestIDHeader); id != "" {
			data["trace-id"] = id
		}
		f(h.cfg.Logger.Session(name, data).Session("create"), w, r)
	})
}

func (h *handler) createLRPAuctions(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	var starts []auctioneerclient.LRPStartRequest
	if !h.decode(logger, w, r, &starts) {
		return
	}
	valid := starts[:0]
	submitted := map[string][]int{}
	for i := range starts {
		s := starts[i]
		if err := s.Validate(); err != nil {
			logger.Error("start-validate-failed", err, lager.Data{"lrp-start": s})
			continue
		}
		valid = append(valid, s)
		submitted[s.ProcessGuid] = append(submitted[s.ProcessGuid], s.Indices...)
	}
	n := h.cfg.Scheduler.AddLRPStarts(valid, r.Header.Get(auctioneerclient.RequestIDHeader))
	logger.Info("submitted", lager.Data{"lrps": submitted, "auctions": n, "dropped": len(starts) - len(valid)})
	writeJSON(w, http.StatusAccepted, struct{}{})
}

func (h *handler) createTaskAuctions(logger lager.Logger, w http.ResponseWriter, r *http.Request) {
	var tasks []auctioneerclient.TaskStartRequest
	if !h.decode(logger, w, r, &tasks) {
		return
	}
	valid := tasks[:0]
	guids := make([]string, 0, len(tasks))
	for i := range tasks {
		t := tasks[i]
		if err := t.Validate(); err != nil {
			logger.Error("task-validate-failed", err, lager.Data{"task": t})
			continue
		}
		valid = append(valid, t)
		guids = append(guids, t.TaskGuid)
	}
	n := h.cfg.Scheduler.AddTasks(valid, r.Header.Get(auctioneerclient.RequestIDHeader))
	logger.Info("submitted", lager.Data{"tasks": guids, "auctions": n, "dropped": len(tasks) - len(valid)})
	writeJSON(w, http.StatusAccepted, struct{}{})
}

// decode reads the body into v, answering the error itself when it fails.
func (h *handler) decode(logger lager.Logger, w http.ResponseWriter, r *http.Request, v any) bool {
	payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		logger.Error("failed-to-read-request-body", err)
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, err)
			return false
		}
		writeError(w, http.StatusInternalServerError, err)
		return false
	}
	if err := json.Unmarshal(payload, v); err != nil {
		logger.Error("malformed-json", err)
		writeError(w, http.StatusBadRequest, err)
		return false
	}
	return true
}

// handlerError is the reference's error body.
type handlerError struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, handlerError{Error: err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v) // plain structs of strings: cannot fail
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Metrics counts and times requests under the reference's names
// (RequestCount; RequestLatency as the longest request of the report
// interval, in seconds) plus a latency histogram per route.
type Metrics struct {
	count    prometheus.Counter
	latency  prometheus.Gauge
	duration *prometheus.HistogramVec
	max      atomic.Int64
}

// NewMetrics registers the request metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		count:   prometheus.NewCounter(prometheus.CounterOpts{Name: "RequestCount", Help: "API requests served."}),
		latency: prometheus.NewGauge(prometheus.GaugeOpts{Name: "RequestLatency", Help: "Longest API request of the current report interval, in seconds."}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "auctioneer_request_duration_seconds",
			Help:    "API request latency per route.",
			Buckets: []float64{.0001, .0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1},
		}, []string{"route"}),
	}
	reg.MustRegister(m.count, m.latency, m.duration)
	return m
}

func (m *Metrics) wrap(route string, h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	hist := m.duration.WithLabelValues(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		d := time.Since(start)
		m.count.Inc()
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
	if m != nil {
		m.max.Store(0)
		m.latency.Set(0)
	}
}
