// Package debugserver serves, on a daemon's debug_address, pprof, the
// reference's /log-level endpoint and Prometheus text metrics at /metrics.
package debugserver

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"runtime"
	"strconv"
	"strings"

	"code.cloudfoundry.org/lager/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/tedsuo/ifrit"
	"github.com/tedsuo/ifrit/http_server"
)

// LevelSetter is the part of lager's reconfigurable sink the endpoint uses.
type LevelSetter interface {
	SetMinLevel(lager.LogLevel)
}

// DebugServerConfig is the key every daemon config embeds.
type DebugServerConfig struct {
	DebugAddress string `json:"debug_address,omitempty"`
}

// NewRegistry returns a metrics registry with the Go runtime and process
// collectors registered, for a daemon to add its own metrics to.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Runner serves Handler on address (plain HTTP, as the reference).
func Runner(address string, sink LevelSetter, reg prometheus.Gatherer) ifrit.Runner {
	return http_server.New(address, Handler(sink, reg))
}

// Handler routes the debug endpoints.
func Handler(sink LevelSetter, reg prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/log-level", func(w http.ResponseWriter, r *http.Request) { setLogLevel(w, r, sink) })
	mux.HandleFunc("/block-profile-rate", rateHandler(runtime.SetBlockProfileRate))
	mux.HandleFunc("/mutex-profile-fraction", rateHandler(func(n int) { runtime.SetMutexProfileFraction(n) }))
	if reg != nil {
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	}
	return mux
}

// levelNames maps the accepted spellings of a level to its canonical name.
var levelNames = map[string]string{
	"0": "debug", "d": "debug", "debug": "debug",
	"1": "info", "i": "info", "info": "info",
	"2": "warn", "w": "warn", "warn": "warn",
	"3": "error", "e": "error", "error": "error",
	"4": "fatal", "f": "fatal", "fatal": "fatal",
}

func parseLevel(r *http.Request) (string, error) {
	if r.Method != http.MethodPost {
		return "", errors.New("method not allowed, use POST")
	}
	if r.TLS != nil {
		return "", errors.New("invalid scheme, https is not allowed")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64))
	if err != nil {
		return "", errors.New("failed to read body")
	}
	input := strings.ToLower(strings.TrimSpace(string(body)))
	if input == "" {
		return "", errors.New("log level cannot be empty")
	}
	name, ok := levelNames[input]
	if !ok {
		return "", fmt.Errorf("invalid log level: %s", string(body))
	}
	return name, nil
}

func setLogLevel(w http.ResponseWriter, r *http.Request, sink LevelSetter) {
	name, err := parseLevel(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch name {
	case "debug":
		sink.SetMinLevel(lager.DEBUG)
	case "info":
		sink.SetMinLevel(lager.INFO)
	case "warn":
		// lager has no warn level: an out-of-range level keeps errors and
		// fatals only, as the reference does.
		sink.SetMinLevel(lager.LogLevel(99))
	case "error":
		sink.SetMinLevel(lager.ERROR)
	case "fatal":
		sink.SetMinLevel(lager.FATAL)
	}
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "/log-level was invoked with Level: %s\n", name)
}

func rateHandler(set func(int)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 64))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(body)))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		set(max(n, 0))
	}
}
