package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/diego-go/diego/internal/bbs/routes"
	"github.com/diego-go/diego/internal/models"
)

func paths(reqs []seen) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.path)
	}
	return out
}

func TestRetriesUntilAProtobufAnswer(t *testing.T) {
	bbs := newFakeBBS(t)
	c := bbs.client(t, nil)
	var n atomic.Int32
	ok := encode(t, &models.DomainsResponse{Domains: []string{"cf-apps"}})
	bbs.setHandler(func(w http.ResponseWriter, r *http.Request, body []byte) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // migrating
			return
		}
		writeProto(w, ok)
	})
	ctx := WithRequestID(testContext(t), "trace-1")
	domains, err := c.Domains(ctx)
	if err != nil || len(domains) != 1 || domains[0] != "cf-apps" {
		t.Fatalf("Domains = %v, %v", domains, err)
	}
	reqs := bbs.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	for _, r := range reqs {
		if r.requestID != "trace-1" {
			t.Errorf("X-Vcap-Request-Id %q, want the context's", r.requestID)
		}
	}
}

func TestGivesUpAfterRetries(t *testing.T) {
	cases := []struct {
		name    string
		retries int
		handle  func(http.ResponseWriter, *http.Request, []byte)
		check   func(error) bool
	}{
		{"503", 0, status(http.StatusServiceUnavailable), func(err error) bool {
			var e *models.Error
			return errors.As(err, &e) && e.GetType() == models.Error_InvalidResponse &&
				e.GetMessage() == "Invalid Response with status code: 503"
		}},
		{"plain 404", 2, func(w http.ResponseWriter, r *http.Request, _ []byte) { http.NotFound(w, r) },
			func(err error) bool { return err == ErrEndpointNotFound }},
		{"router error", 0, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
			w.Header().Set("X-Cf-Routererror", "unknown_route")
			w.WriteHeader(http.StatusNotFound)
		}, func(err error) bool {
			var e *models.Error
			return errors.As(err, &e) && e.GetType() == models.Error_RouterError && e.GetMessage() == "unknown_route"
		}},
		{"undecodable protobuf", 0, answer([]byte{0x0a, 0x05}), func(err error) bool {
			var e *models.Error
			return errors.As(err, &e) && e.GetType() == models.Error_InvalidProtobufMessage
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bbs := newFakeBBS(t)
			c := bbs.client(t, func(cfg *Config) { cfg.Retries = tc.retries })
			bbs.setHandler(tc.handle)
			_, err := c.Domains(testContext(t))
			if !tc.check(err) {
				t.Fatalf("error %#v", err)
			}
			want := tc.retries
			if want == 0 {
				want = DefaultRetries
			}
			if n := len(bbs.requests()); n != want {
				t.Fatalf("%d attempts, want %d", n, want)
			}
		})
	}
}

func TestInBandErrorsAreNotRetried(t *testing.T) {
	bbs := newFakeBBS(t)
	c := bbs.client(t, nil)
	bbs.setHandler(answer(encode(t, &models.DesiredLRPLifecycleResponse{Error: models.ErrResourceExists})))
	err := c.DesireLRP(testContext(t), desiredLRP())
	var e *models.Error
	if !errors.As(err, &e) || !e.Equal(models.ErrResourceExists) || !errors.Is(err, models.ErrResourceExists) {
		t.Fatalf("error %#v, want ResourceExists", err)
	}
	if n := len(bbs.requests()); n != 1 {
		t.Fatalf("%d attempts, want 1", n)
	}

	// The reference's wire example: Error{ResourceNotFound, "x"} in field 1.
	bbs.setHandler(answer([]byte{0x0a, 0x05, 0x08, 0x0d, 0x12, 0x01, 'x'}))
	if _, err := c.TaskByGuid(testContext(t), "tg"); !errors.Is(err, models.ErrResourceNotFound) || err.Error() != "x" {
		t.Fatalf("error %v", err)
	}
}

func TestNonProtobufSuccessIsAnEmptyAnswer(t *testing.T) {
	bbs := newFakeBBS(t)
	c := bbs.client(t, nil)
	bbs.setHandler(status(http.StatusOK))
	tasks, err := c.Tasks(testContext(t), TaskFilter{})
	if err != nil || len(tasks) != 0 {
		t.Fatalf("Tasks = %v, %v", tasks, err)
	}
	if c.Ping(testContext(t)) {
		t.Fatal("Ping true without a PingResponse")
	}
}

func TestPingIsFalseOnErrors(t *testing.T) {
	bbs := newFakeBBS(t)
	c := bbs.client(t, func(cfg *Config) { cfg.Retries = 1 })
	bbs.setHandler(status(http.StatusServiceUnavailable))
	if c.Ping(testContext(t)) {
		t.Fatal("Ping true while the BBS answers 503")
	}
	bbs.setHandler(answer(encode(t, &models.PingResponse{Available: true})))
	if !c.Ping(testContext(t)) {
		t.Fatal("Ping false")
	}
}

func TestRouteFallbacks(t *testing.T) {
	bbs := newFakeBBS(t)
	c := bbs.client(t, nil)
	handle := func(current string, answer []byte) func(http.ResponseWriter, *http.Request, []byte) {
		return func(w http.ResponseWriter, r *http.Request, _ []byte) {
			if r.URL.Path == current {
				http.NotFound(w, r) // an older BBS
				return
			}
			writeProto(w, answer)
		}
	}

	bbs.setHandler(handle("/v1/actual_lrps/start.r1", encode(t, &models.ActualLRPLifecycleResponse{})))
	if err := c.StartActualLRP(testContext(t), startRequest()); err != nil {
		t.Fatal(err)
	}
	reqs := bbs.requests()
	if got := strings.Join(paths(reqs), " "); got != strings.Repeat("/v1/actual_lrps/start.r1 ", DefaultRetries)+"/v1/actual_lrps/start" {
		t.Fatalf("requests %s", got)
	}
	want := &models.StartActualLRPRequest{ActualLrpKey: lrpKey, ActualLrpInstanceKey: instanceKey, ActualLrpNetInfo: netInfo}
	if got := decodeAs(t, want, reqs[len(reqs)-1].body); !proto.Equal(got, normalized(t, want)) {
		t.Fatalf("fallback request %v, want only the key, instance key and net info", got)
	}

	bbs.setHandler(handle("/v1/actual_lrps/evacuate_running.r1", encode(t, &models.EvacuationResponse{KeepContainer: false})))
	keep, err := c.EvacuateRunningActualLRP(testContext(t), evacuateRunningRequest())
	if err != nil || keep {
		t.Fatalf("EvacuateRunningActualLRP = %v, %v; want the old route's false", keep, err)
	}
	reqs = bbs.requests()
	if got := reqs[len(reqs)-1]; got.path != "/v1/actual_lrps/evacuate_running" {
		t.Fatalf("last request to %s", got.path)
	}
	wantEvac := &models.EvacuateRunningActualLRPRequest{ActualLrpKey: lrpKey, ActualLrpInstanceKey: instanceKey, ActualLrpNetInfo: netInfo}
	if got := decodeAs(t, wantEvac, reqs[len(reqs)-1].body); !proto.Equal(got, normalized(t, wantEvac)) {
		t.Fatalf("fallback request %v", got)
	}

	// An in-band error from the current route is not a reason to fall back.
	bbs.setHandler(answer(encode(t, &models.ActualLRPLifecycleResponse{Error: models.ErrActualLRPCannotBeStarted})))
	if err := c.StartActualLRP(testContext(t), startRequest()); !errors.Is(err, models.ErrActualLRPCannotBeStarted) {
		t.Fatalf("error %v", err)
	}
	if got := paths(bbs.requests()); len(got) != 1 || got[0] != "/v1/actual_lrps/start.r1" {
		t.Fatalf("requests %v", got)
	}
	// Nor is another status.
	bbs.setHandler(status(http.StatusServiceUnavailable))
	if err := c.StartActualLRP(testContext(t), startRequest()); err == nil || err == ErrEndpointNotFound {
		t.Fatalf("error %v", err)
	}
	for _, p := range paths(bbs.requests()) {
		if p != "/v1/actual_lrps/start.r1" {
			t.Fatalf("fell back on a 503: %s", p)
		}
	}
}

// closedURL is an https URL nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "https://" + addr
}

func TestEvacuationAnswersWhenTheBBSCannotBeReached(t *testing.T) {
	bbs := newFakeBBS(t)
	c := bbs.client(t, func(cfg *Config) { cfg.URL = closedURL(t); cfg.Retries = 1 })
	ctx := testContext(t)
	keep, err := c.EvacuateClaimedActualLRP(ctx, lrpKey, instanceKey)
	if err == nil || keep != true {
		t.Errorf("claimed: %v, %v; want true and an error", keep, err)
	}
	keep, err = c.EvacuateRunningActualLRP(ctx, evacuateRunningRequest())
	if err == nil || keep != true {
		t.Errorf("running: %v, %v; want true and an error", keep, err)
	}
	keep, err = c.EvacuateCrashedActualLRP(ctx, lrpKey, instanceKey, "x")
	if err == nil || keep != false {
		t.Errorf("crashed: %v, %v; want false and an error", keep, err)
	}
	keep, err = c.EvacuateStoppedActualLRP(ctx, lrpKey, instanceKey)
	if err == nil || keep != false {
		t.Errorf("stopped: %v, %v; want false and an error", keep, err)
	}

	// With an in-band error the BBS's answer counts, not the default.
	c = bbs.client(t, nil)
	bbs.setHandler(answer(encode(t, &models.EvacuationResponse{KeepContainer: false, Error: models.ErrUnknownError})))
	keep, err = c.EvacuateClaimedActualLRP(ctx, lrpKey, instanceKey)
	if keep != false || !errors.Is(err, models.ErrUnknownError) {
		t.Errorf("claimed with an in-band error: %v, %v", keep, err)
	}
}

// blockingHandler answers only when the client gives up or the test ends.
func blockingHandler(t *testing.T) func(http.ResponseWriter, *http.Request, []byte) {
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}
}

func TestTimeouts(t *testing.T) {
	bbs := newFakeBBS(t)
	bbs.setHandler(blockingHandler(t))

	c := bbs.client(t, func(cfg *Config) { cfg.RequestTimeout = 50 * time.Millisecond; cfg.Retries = 2 })
	_, err := c.Domains(testContext(t))
	if !errors.Is(err, models.ErrTimeout) {
		t.Fatalf("request timeout: %#v, want a Timeout error", err)
	}
	if n := len(bbs.requests()); n != 2 {
		t.Fatalf("%d attempts, want 2 (timeouts are retried)", n)
	}

	c = bbs.client(t, func(cfg *Config) { cfg.Retries = 5; cfg.RetryInterval = time.Hour })
	ctx, cancel := context.WithTimeout(testContext(t), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Domains(ctx)
	if !errors.Is(err, models.ErrTimeout) {
		t.Fatalf("context deadline: %#v, want a Timeout error", err)
	}
	if time.Since(start) > 20*time.Second {
		t.Fatal("kept retrying after the context's deadline")
	}
	if n := len(bbs.requests()); n != 1 {
		t.Fatalf("%d attempts after the deadline, want 1", n)
	}
}

func TestCancelledContextStopsRetrying(t *testing.T) {
	bbs := newFakeBBS(t)
	c := bbs.client(t, func(cfg *Config) { cfg.Retries = 1000; cfg.RetryInterval = time.Hour })
	ctx, cancel := context.WithCancel(testContext(t))
	bbs.setHandler(func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		cancel()
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	_, err := c.Domains(ctx)
	if err == nil {
		t.Fatal("no error")
	}
	if n := len(bbs.requests()); n != 1 {
		t.Fatalf("%d attempts, want 1", n)
	}
}

func TestConfigValidation(t *testing.T) {
	files := writeTLSFiles(t)
	base := Config{CAFile: files.client.CAFile, CertFile: files.client.CertFile, KeyFile: files.client.KeyFile}
	for _, u := range []string{"", "http://bbs.service.cf.internal:8889", "bbs.service.cf.internal:8889", "https://", "https://bad host", "ftp://x"} {
		cfg := base
		cfg.URL = u
		if _, err := New(cfg); err == nil {
			t.Errorf("URL %q accepted", u)
		}
	}
	cfg := base
	cfg.URL = "https://bbs.service.cf.internal:8889/"
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.baseURL != "https://bbs.service.cf.internal:8889" || c.retries != DefaultRetries ||
		c.retryInterval != DefaultRetryInterval || c.streamRetryInterval != DefaultStreamRetryInterval {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if c.http.Timeout != 0 || c.stream.Timeout != 0 {
		t.Fatal("a timeout was set by default")
	}
	tr := c.http.Transport.(*http.Transport)
	if tr.Protocols == nil || tr.Protocols.HTTP2() || !tr.Protocols.HTTP1() {
		t.Fatal("transport not limited to HTTP/1.1")
	}

	bad := base
	bad.URL = "https://bbs:8889"
	bad.KeyFile = ""
	if _, err := New(bad); err == nil {
		t.Error("missing key file accepted")
	}
	bad = base
	bad.URL = "https://bbs:8889"
	bad.CAFile = "/nonexistent/ca.crt"
	if _, err := New(bad); err == nil {
		t.Error("missing CA file accepted")
	}
	bad.InsecureSkipVerify = true
	if _, err := New(bad); err != nil {
		t.Errorf("skip-verify still read the CA: %v", err)
	}
}

func TestMutualTLS(t *testing.T) {
	bbs := newFakeBBS(t)
	bbs.setHandler(answer(encode(t, &models.PingResponse{Available: true})))

	stranger := bbs.client(t, func(cfg *Config) {
		cfg.CertFile, cfg.KeyFile = bbs.files.stranger.CertFile, bbs.files.stranger.KeyFile
		cfg.Retries = 1
	})
	if _, err := stranger.Domains(testContext(t)); err == nil {
		t.Fatal("a client certificate from another CA was accepted")
	}
	if n := len(bbs.requests()); n != 0 {
		t.Fatalf("%d requests got through", n)
	}

	// A client that trusts another CA refuses the server.
	distrustful := bbs.client(t, func(cfg *Config) { cfg.CAFile = bbs.files.stranger.CAFile; cfg.Retries = 1 })
	if distrustful.Ping(testContext(t)) {
		t.Fatal("server certificate from an untrusted CA accepted")
	}

	skip := bbs.client(t, func(cfg *Config) { cfg.CAFile = ""; cfg.InsecureSkipVerify = true })
	if !skip.Ping(testContext(t)) {
		t.Fatal("skip-verify client failed")
	}
	if r := bbs.requests(); len(r) != 1 || r[0].peerCN != "client" {
		t.Fatalf("requests %+v", r)
	}
}

func TestRequestIDs(t *testing.T) {
	if RequestID(context.Background()) != "" {
		t.Fatal("request id in an empty context")
	}
	ctx := WithRequestID(context.Background(), "abc")
	if RequestID(ctx) != "abc" {
		t.Fatal("request id lost")
	}
	a, b := NewRequestID(), NewRequestID()
	if !hexID.MatchString(a) || a == b {
		t.Fatalf("ids %q %q", a, b)
	}
}

func TestUnknownRouteIsAnError(t *testing.T) {
	bbs := newFakeBBS(t)
	c := bbs.client(t, nil)
	if err := c.call(testContext(t), "NoSuchRoute", nil, &models.PingResponse{}); err == nil {
		t.Fatal("unknown route accepted")
	}
	if _, err := c.Subscribe(testContext(t), routes.Ping, ""); err == nil {
		t.Fatal("subscribed to a route that is not a stream")
	}
	if n := len(bbs.requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

func TestCountListed(t *testing.T) {
	bbs := newFakeBBS(t)
	c := bbs.client(t, nil)
	list := encode(t, &models.ActualLRPsResponse{ActualLrps: []*models.ActualLRP{
		{ActualLrpKey: &models.ActualLRPKey{ProcessGuid: "a"}}, {ActualLrpKey: &models.ActualLRPKey{ProcessGuid: "b"}},
		{ActualLrpKey: &models.ActualLRPKey{ProcessGuid: "c"}},
	}})
	bbs.setHandler(func(w http.ResponseWriter, _ *http.Request, _ []byte) { writeProto(w, list) })
	n, err := c.CountListed(testContext(t), routes.ActualLRPs, &models.ActualLRPsRequest{}, 2)
	if err != nil || n != 3 {
		t.Fatalf("CountListed = %d, %v; want 3", n, err)
	}
	failed := encode(t, &models.ActualLRPsResponse{Error: models.ErrUnknownError})
	bbs.setHandler(func(w http.ResponseWriter, _ *http.Request, _ []byte) { writeProto(w, failed) })
	if _, err := c.CountListed(testContext(t), routes.ActualLRPs, &models.ActualLRPsRequest{}, 2); !errors.Is(err, models.ErrUnknownError) {
		t.Fatalf("in-band error: %v", err)
	}
	bbs.setHandler(func(w http.ResponseWriter, _ *http.Request, _ []byte) { writeProto(w, []byte{0x12, 0x50, 0x01}) })
	if _, err := c.CountListed(testContext(t), routes.ActualLRPs, &models.ActualLRPsRequest{}, 2); err == nil {
		t.Fatal("a truncated list was counted")
	}
}
