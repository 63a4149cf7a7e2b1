package debugserver_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"code.cloudfoundry.org/lager/v3"
	"github.com/diego-go/diego/internal/debugserver"
	"github.com/prometheus/client_golang/prometheus"
)

type levelRecorder struct{ level lager.LogLevel }

func (r *levelRecorder) SetMinLevel(l lager.LogLevel) { r.level = l }

func TestLogLevel(t *testing.T) {
	rec := &levelRecorder{level: lager.INFO}
	srv := httptest.NewServer(debugserver.Handler(rec, prometheus.NewRegistry()))
	defer srv.Close()
	cases := []struct {
		method, body string
		status       int
		level        lager.LogLevel
	}{
		{"POST", "debug", 200, lager.DEBUG},
		{"POST", " E \n", 200, lager.ERROR},
		{"POST", "1", 200, lager.INFO},
		{"POST", "fatal", 200, lager.FATAL},
		{"POST", "w", 200, lager.LogLevel(99)},
		{"POST", "", 400, lager.LogLevel(99)},
		{"POST", "verbose", 400, lager.LogLevel(99)},
		{"GET", "debug", 400, lager.LogLevel(99)},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, srv.URL+"/log-level", strings.NewReader(c.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status || rec.level != c.level {
			t.Errorf("%s %q: status %d level %v, want %d %v", c.method, c.body, resp.StatusCode, rec.level, c.status, c.level)
		}
	}
}

func TestMetricsAndPprof(t *testing.T) {
	reg := debugserver.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "LockHeld", Help: "h"})
	reg.MustRegister(g)
	g.Set(1)
	srv := httptest.NewServer(debugserver.Handler(&levelRecorder{}, reg))
	defer srv.Close()
	for path, want := range map[string]string{"/metrics": "LockHeld 1", "/debug/pprof/": "goroutine"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d, lacks %q", path, resp.StatusCode, want)
		}
	}
}
