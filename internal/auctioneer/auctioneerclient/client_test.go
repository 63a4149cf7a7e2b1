package auctioneerclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/certs"
	"github.com/diego-go/diego/internal/tlsconfig"
)

type pki struct {
	server, client, stranger certs.Paths
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	ca, err := certs.NewAuthority("auctioneer CA")
	if err != nil {
		t.Fatal(err)
	}
	other, err := certs.NewAuthority("other CA")
	if err != nil {
		t.Fatal(err)
	}
	var p pki
	if p.server, err = ca.WriteLeaf(dir, "server", certs.LocalNames("auctioneer")); err != nil {
		t.Fatal(err)
	}
	if p.client, err = ca.WriteLeaf(dir, "client", certs.LocalNames("bbs")); err != nil {
		t.Fatal(err)
	}
	if p.stranger, err = other.WriteLeaf(t.TempDir(), "stranger", certs.LocalNames("stranger")); err != nil {
		t.Fatal(err)
	}
	p.stranger.CAFile = p.client.CAFile // trusts the server, but is not trusted by it
	return p
}

type seen struct {
	method, path, contentType, requestID, body string
	hasRequestID                               bool
	tls                                        bool
}

// recorder is an auctioneer stand-in that records requests and answers
// with status.
type recorder struct {
	mu     sync.Mutex
	reqs   []seen
	status int
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	_, hasID := req.Header[http.CanonicalHeaderKey(RequestIDHeader)]
	r.mu.Lock()
	r.reqs = append(r.reqs, seen{
		method: req.Method, path: req.URL.Path, contentType: req.Header.Get("Content-Type"),
		requestID: req.Header.Get(RequestIDHeader), hasRequestID: hasID, body: string(body), tls: req.TLS != nil,
	})
	status := r.status
	r.mu.Unlock()
	w.WriteHeader(status)
	_, _ = w.Write([]byte("{}"))
}

func (r *recorder) seen() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.reqs...)
}

func (r *recorder) setStatus(s int) {
	r.mu.Lock()
	r.status = s
	r.mu.Unlock()
}

func startTLS(t *testing.T, p pki, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	tc, err := tlsconfig.Server(tlsconfig.Files{CAFile: p.server.CAFile, CertFile: p.server.CertFile, KeyFile: p.server.KeyFile})
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = tc
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func secureConfig(p pki, url string) Config {
	return Config{URL: url, CAFile: p.client.CAFile, CertFile: p.client.CertFile, KeyFile: p.client.KeyFile, RequireTLS: true, Timeout: 5 * time.Second}
}

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRequestAuctionsOverMutualTLS(t *testing.T) {
	p := newPKI(t)
	rec := &recorder{status: http.StatusAccepted}
	srv := startTLS(t, p, rec)
	c := newClient(t, secureConfig(p, srv.URL))
	ctx := bbsclient.WithRequestID(context.Background(), "trace-1")

	if err := c.RequestLRPAuctions(ctx, []*LRPStartRequest{NewLRPStartRequest(schedulingInfo(), 0, 1)}); err != nil {
		t.Fatalf("lrps: %v", err)
	}
	if err := c.RequestTaskAuctions(ctx, []*TaskStartRequest{NewTaskStartRequest(task())}); err != nil {
		t.Fatalf("tasks: %v", err)
	}
	if err := c.RequestTaskAuctions(context.Background(), nil); err != nil {
		t.Fatalf("empty tasks: %v", err)
	}

	got := rec.seen()
	want := []seen{
		{method: "POST", path: "/v1/lrps", contentType: "application/json", requestID: "trace-1", hasRequestID: true, body: goldenLRPs, tls: true},
		{method: "POST", path: "/v1/tasks", contentType: "application/json", requestID: "trace-1", hasRequestID: true, body: goldenTasks, tls: true},
		{method: "POST", path: "/v1/tasks", contentType: "application/json", body: "null", tls: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d requests, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d:\ngot  %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestOnlyAcceptedIsSuccess(t *testing.T) {
	p := newPKI(t)
	rec := &recorder{}
	srv := startTLS(t, p, rec)
	c := newClient(t, secureConfig(p, srv.URL))
	for _, status := range []int{http.StatusOK, http.StatusNoContent, http.StatusBadRequest, http.StatusNotFound, http.StatusInternalServerError, http.StatusServiceUnavailable} {
		rec.setStatus(status)
		err := c.RequestLRPAuctions(context.Background(), []*LRPStartRequest{NewLRPStartRequest(schedulingInfo(), 0)})
		var se *StatusError
		if !errors.As(err, &se) || se.StatusCode != status {
			t.Errorf("status %d: got %v, want a StatusError", status, err)
		}
		err = c.RequestTaskAuctions(context.Background(), []*TaskStartRequest{NewTaskStartRequest(task())})
		if !errors.As(err, &se) || se.StatusCode != status {
			t.Errorf("task status %d: got %v, want a StatusError", status, err)
		}
	}
	if n := len(rec.seen()); n != 12 {
		t.Errorf("a failed status is not retried: got %d requests, want 12", n)
	}
}

func TestServerRejectsAnUntrustedClient(t *testing.T) {
	p := newPKI(t)
	rec := &recorder{status: http.StatusAccepted}
	srv := startTLS(t, p, rec)
	cfg := Config{URL: srv.URL, CAFile: p.stranger.CAFile, CertFile: p.stranger.CertFile, KeyFile: p.stranger.KeyFile, RequireTLS: true}
	c := newClient(t, cfg)
	if err := c.RequestTaskAuctions(context.Background(), nil); err == nil {
		t.Fatal("expected a TLS error")
	}
	if n := len(rec.seen()); n != 0 {
		t.Errorf("the server handled %d requests", n)
	}
}

func TestFallsBackToPlainHTTPWhenTLSIsNotRequired(t *testing.T) {
	p := newPKI(t)
	rec := &recorder{status: http.StatusAccepted}
	plain := httptest.NewServer(rec)
	t.Cleanup(plain.Close)
	httpsURL := "https://" + strings.TrimPrefix(plain.URL, "http://")

	cfg := secureConfig(p, httpsURL)
	cfg.RequireTLS = false
	c := newClient(t, cfg)
	ctx := bbsclient.WithRequestID(context.Background(), "trace-2")
	if err := c.RequestLRPAuctions(ctx, []*LRPStartRequest{NewLRPStartRequest(schedulingInfo(), 0, 1)}); err != nil {
		t.Fatalf("fallback: %v", err)
	}
	got := rec.seen()
	if len(got) != 1 || got[0].tls || got[0].path != "/v1/lrps" || got[0].body != goldenLRPs || got[0].requestID != "trace-2" {
		t.Fatalf("got %+v, want one plain request with the same body", got)
	}

	// With TLS required, the failed TLS attempt is the answer.
	cfg.RequireTLS = true
	strict := newClient(t, cfg)
	if err := strict.RequestLRPAuctions(ctx, nil); err == nil {
		t.Fatal("expected a TLS error")
	}
	if n := len(rec.seen()); n != 1 {
		t.Errorf("got %d requests, want no new one", n)
	}
}

func TestFallbackDoesNotHideAStatus(t *testing.T) {
	p := newPKI(t)
	rec := &recorder{status: http.StatusInternalServerError}
	srv := startTLS(t, p, rec)
	cfg := secureConfig(p, srv.URL)
	cfg.RequireTLS = false
	c := newClient(t, cfg)
	var se *StatusError
	if err := c.RequestTaskAuctions(context.Background(), nil); !errors.As(err, &se) || se.StatusCode != 500 {
		t.Fatalf("got %v, want status 500", err)
	}
	if n := len(rec.seen()); n != 1 {
		t.Errorf("an HTTP answer is not retried over plain HTTP: got %d requests", n)
	}
}

func TestPlainClientWithoutTLSFiles(t *testing.T) {
	rec := &recorder{status: http.StatusAccepted}
	plain := httptest.NewServer(rec)
	t.Cleanup(plain.Close)
	c := newClient(t, Config{URL: plain.URL + "/"})
	if err := c.RequestTaskAuctions(context.Background(), []*TaskStartRequest{NewTaskStartRequest(task())}); err != nil {
		t.Fatal(err)
	}
	got := rec.seen()
	if len(got) != 1 || got[0].path != "/v1/tasks" || got[0].hasRequestID {
		t.Fatalf("got %+v", got)
	}
}

func TestTimeout(t *testing.T) {
	p := newPKI(t)
	release := make(chan struct{})
	srv := startTLS(t, p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	cfg := secureConfig(p, srv.URL)
	cfg.Timeout = 200 * time.Millisecond
	c := newClient(t, cfg)
	start := time.Now()
	err := c.RequestTaskAuctions(context.Background(), nil)
	if err == nil {
		t.Fatal("expected a timeout")
	}
	if elapsed := time.Since(start); elapsed > 4*time.Second {
		t.Errorf("took %v", elapsed)
	}
}

func TestCancelledContextIsNotRetriedOverHTTP(t *testing.T) {
	p := newPKI(t)
	rec := &recorder{status: http.StatusAccepted}
	plain := httptest.NewServer(rec)
	t.Cleanup(plain.Close)
	cfg := secureConfig(p, plain.URL)
	cfg.RequireTLS = false
	c := newClient(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.RequestTaskAuctions(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if n := len(rec.seen()); n != 0 {
		t.Errorf("got %d requests", n)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	p := newPKI(t)
	for name, cfg := range map[string]Config{
		"no url":       {},
		"no scheme":    {URL: "auctioneer.service.cf.internal:9016"},
		"ftp":          {URL: "ftp://auctioneer:9016"},
		"missing key":  {URL: "https://auctioneer:9016", CAFile: p.client.CAFile, CertFile: p.client.CertFile},
		"missing file": {URL: "https://auctioneer:9016", CAFile: "/nonexistent", CertFile: p.client.CertFile, KeyFile: p.client.KeyFile},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: expected an error", name)
		}
	}
}
