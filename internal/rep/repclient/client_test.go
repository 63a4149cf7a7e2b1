package repclient

import (
	"context"
	"encoding/json"
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
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/tlsconfig"
)

type pki struct {
	rep, bbs, foreignRep certs.Paths
}

func newPKI(t *testing.T) pki {
	t.Helper()
	ca, err := certs.NewAuthority("rep CA")
	if err != nil {
		t.Fatal(err)
	}
	other, err := certs.NewAuthority("other CA")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var p pki
	if p.rep, err = ca.WriteLeaf(dir, "rep", certs.LocalNames("cell-1")); err != nil {
		t.Fatal(err)
	}
	if p.bbs, err = ca.WriteLeaf(dir, "bbs", certs.LocalNames("bbs")); err != nil {
		t.Fatal(err)
	}
	if p.foreignRep, err = other.WriteLeaf(t.TempDir(), "rep", certs.LocalNames("cell-2")); err != nil {
		t.Fatal(err)
	}
	p.foreignRep.CAFile = p.rep.CAFile // trusts our BBS, is not trusted by it
	return p
}

type seen struct {
	method, path, contentType, requestID, body string
	resumed                                    bool
}

// fakeRep records requests and answers with the status set for their
// path (202 by default).
type fakeRep struct {
	mu     sync.Mutex
	reqs   []seen
	status map[string]int
}

func (f *fakeRep) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, seen{
		method: r.Method, path: r.URL.EscapedPath(), contentType: r.Header.Get("Content-Type"),
		requestID: r.Header.Get(RequestIDHeader), body: string(body), resumed: r.TLS.DidResume,
	})
	status, ok := f.status[r.URL.EscapedPath()]
	f.mu.Unlock()
	if !ok {
		status = http.StatusAccepted
	}
	w.WriteHeader(status)
}

func (f *fakeRep) setStatus(status map[string]int) {
	f.mu.Lock()
	f.status = status
	f.mu.Unlock()
}

func (f *fakeRep) seen() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

func startRep(t *testing.T, server certs.Paths, status map[string]int) (*fakeRep, string) {
	t.Helper()
	rep := &fakeRep{status: status}
	srv := httptest.NewUnstartedServer(rep)
	tc, err := tlsconfig.Server(tlsconfig.Files{CAFile: server.CAFile, CertFile: server.CertFile, KeyFile: server.KeyFile})
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = tc
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return rep, srv.URL
}

func newClient(t *testing.T, p pki, timeout time.Duration) *Client {
	t.Helper()
	c, err := New(Config{CAFile: p.bbs.CAFile, CertFile: p.bbs.CertFile, KeyFile: p.bbs.KeyFile, SessionCacheSize: 16, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	lrpKey      = &models.ActualLRPKey{ProcessGuid: "pg-1", Index: 0, Domain: "cf-apps"}
	instanceKey = &models.ActualLRPInstanceKey{InstanceGuid: "ig-1", CellId: "cell-1"}
)

func statusOf(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.StatusCode
	}
	return 0
}

func TestStopLRPInstance(t *testing.T) {
	p := newPKI(t)
	rep, url := startRep(t, p.rep, nil)
	c := newClient(t, p, 0)
	ctx := bbsclient.WithRequestID(context.Background(), "trace-1")
	if err := c.StopLRPInstance(ctx, url, lrpKey, instanceKey); err != nil {
		t.Fatal(err)
	}
	want := seen{method: "POST", path: "/v1/lrps/pg-1/instances/ig-1/stop", contentType: "application/json", requestID: "trace-1"}
	if got := rep.seen(); len(got) != 1 || got[0] != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}

	rep.setStatus(map[string]int{"/v1/lrps/pg-1/instances/ig-1/stop": http.StatusInternalServerError})
	if err := c.StopLRPInstance(context.Background(), url+"/", lrpKey, instanceKey); statusOf(err) != 500 {
		t.Fatalf("got %v, want status 500", err)
	}
	if got := rep.seen(); len(got) != 2 || got[1].path != want.path || got[1].requestID != "" {
		t.Fatalf("got %+v", got)
	}
}

func TestCancelTask(t *testing.T) {
	p := newPKI(t)
	rep, url := startRep(t, p.rep, map[string]int{"/v1/tasks/tg%2F2/cancel": http.StatusOK})
	c := newClient(t, p, 0)
	if err := c.CancelTask(context.Background(), url, "tg-1"); err != nil {
		t.Fatal(err)
	}
	if err := c.CancelTask(context.Background(), url, "tg/2"); statusOf(err) != 200 {
		t.Fatalf("200 is not 202: got %v", err)
	}
	got := rep.seen()
	want := []seen{{method: "POST", path: "/v1/tasks/tg-1/cancel"}, {method: "POST", path: "/v1/tasks/tg%2F2/cancel"}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

const (
	v2Path = "/v2/lrps/pg-1/instances/ig-1"
	v1Path = "/v1/lrps/pg-1/instances/ig-1"
	// The body of auction-rep-executor §3.2.
	goldenUpdate = `{"instance_guid":"ig-1","process_guid":"pg-1","index":0,"domain":"cf-apps",` +
		`"internal_routes":[{"hostname":"app.apps.internal"}],"metric_tags":{"k":"v"}}`
	legacyUpdate = `{"instance_guid":"ig-1","process_guid":"pg-1","index":0,"domain":"cf-apps",` +
		`"internal_routes":[{"hostname":"app.apps.internal"}],"metric_tags":null}`
)

func update(routes []InternalRoute, tags map[string]string) *LRPUpdate {
	return NewLRPUpdate(lrpKey, instanceKey.InstanceGuid, routes, tags)
}

var appRoutes = []InternalRoute{{Hostname: "app.apps.internal"}}

func TestUpdateLRPInstance(t *testing.T) {
	cases := []struct {
		name      string
		status    map[string]int
		update    *LRPUpdate
		wantErr   int // status of the expected error, 0 for none
		wantCalls []seen
	}{
		{
			name:      "v2 accepted",
			update:    update(appRoutes, map[string]string{"k": "v"}),
			wantCalls: []seen{{method: "PUT", path: v2Path, contentType: "application/json", body: goldenUpdate}},
		},
		{
			name:    "v2 unknown, v1 gets the internal routes alone",
			status:  map[string]int{v2Path: 404},
			update:  update(appRoutes, map[string]string{"k": "v"}),
			wantErr: 0,
			wantCalls: []seen{
				{method: "PUT", path: v2Path, contentType: "application/json", body: goldenUpdate},
				{method: "PUT", path: v1Path, contentType: "application/json", body: legacyUpdate},
			},
		},
		{
			name:    "v2 unknown, v1 fails",
			status:  map[string]int{v2Path: 404, v1Path: 500},
			update:  update(appRoutes, nil),
			wantErr: 500,
			wantCalls: []seen{
				{method: "PUT", path: v2Path, contentType: "application/json", body: legacyUpdate},
				{method: "PUT", path: v1Path, contentType: "application/json", body: legacyUpdate},
			},
		},
		{
			name:   "both unknown",
			status: map[string]int{v2Path: 404, v1Path: 404},
			update: update(appRoutes, nil),
			wantCalls: []seen{
				{method: "PUT", path: v2Path, contentType: "application/json", body: legacyUpdate},
				{method: "PUT", path: v1Path, contentType: "application/json", body: legacyUpdate},
			},
		},
		{
			name:   "v2 unknown without internal routes is skipped",
			status: map[string]int{v2Path: 404},
			update: update(nil, map[string]string{"k": "v"}),
			wantCalls: []seen{{method: "PUT", path: v2Path, contentType: "application/json",
				body: `{"instance_guid":"ig-1","process_guid":"pg-1","index":0,"domain":"cf-apps","internal_routes":null,"metric_tags":{"k":"v"}}`}},
		},
		{
			name:   "v2 unknown with an empty route list still goes to v1",
			status: map[string]int{v2Path: 404},
			update: update([]InternalRoute{}, nil),
			wantCalls: []seen{
				{method: "PUT", path: v2Path, contentType: "application/json", body: `{"instance_guid":"ig-1","process_guid":"pg-1","index":0,"domain":"cf-apps","internal_routes":[],"metric_tags":null}`},
				{method: "PUT", path: v1Path, contentType: "application/json", body: `{"instance_guid":"ig-1","process_guid":"pg-1","index":0,"domain":"cf-apps","internal_routes":[],"metric_tags":null}`},
			},
		},
		{
			name:      "v2 fails",
			status:    map[string]int{v2Path: 500},
			update:    update(appRoutes, nil),
			wantErr:   500,
			wantCalls: []seen{{method: "PUT", path: v2Path, contentType: "application/json", body: legacyUpdate}},
		},
	}
	p := newPKI(t)
	c := newClient(t, p, 0)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, url := startRep(t, p.rep, tc.status)
			err := c.UpdateLRPInstance(context.Background(), url, tc.update)
			if got := statusOf(err); got != tc.wantErr || (tc.wantErr == 0 && err != nil) {
				t.Errorf("got error %v, want status %d", err, tc.wantErr)
			}
			got := rep.seen()
			if len(got) != len(tc.wantCalls) {
				t.Fatalf("got %d calls %+v, want %+v", len(got), got, tc.wantCalls)
			}
			for i := range got {
				if got[i] != tc.wantCalls[i] {
					t.Errorf("call %d:\ngot  %+v\nwant %+v", i, got[i], tc.wantCalls[i])
				}
			}
		})
	}
	// The caller's update is not changed by the fallback.
	u := update(appRoutes, map[string]string{"k": "v"})
	_, url := startRep(t, p.rep, map[string]int{v2Path: 404})
	if err := c.UpdateLRPInstance(context.Background(), url, u); err != nil || u.MetricTags["k"] != "v" {
		t.Errorf("got %v, tags %v", err, u.MetricTags)
	}
}

func TestRepURLMustBeHTTPS(t *testing.T) {
	p := newPKI(t)
	rep, url := startRep(t, p.rep, nil)
	c := newClient(t, p, 0)
	plainURL := "http://" + strings.TrimPrefix(url, "https://")
	for _, u := range []string{plainURL, "", "cell-1:1801", "https://", "://bad"} {
		err := c.CancelTask(context.Background(), u, "tg")
		if err == nil || (u != "://bad" && !errors.Is(err, ErrHTTPSRequired)) {
			t.Errorf("%q: got %v, want ErrHTTPSRequired", u, err)
		}
		if err := c.StopLRPInstance(context.Background(), u, lrpKey, instanceKey); err == nil {
			t.Errorf("%q: stop: expected an error", u)
		}
		if err := c.UpdateLRPInstance(context.Background(), u, update(appRoutes, nil)); err == nil {
			t.Errorf("%q: update: expected an error", u)
		}
	}
	if n := len(rep.seen()); n != 0 {
		t.Errorf("got %d requests", n)
	}
}

func TestUntrustedRepIsRefused(t *testing.T) {
	p := newPKI(t)
	rep, url := startRep(t, p.foreignRep, nil)
	c := newClient(t, p, 0)
	if err := c.CancelTask(context.Background(), url, "tg"); err == nil || statusOf(err) != 0 {
		t.Fatalf("got %v, want a TLS error", err)
	}
	if n := len(rep.seen()); n != 0 {
		t.Errorf("got %d requests", n)
	}
}

func TestTLSSessionsAreResumed(t *testing.T) {
	p := newPKI(t)
	rep, url := startRep(t, p.rep, nil)
	c := newClient(t, p, 0)
	for i := 0; i < 2; i++ {
		if err := c.CancelTask(context.Background(), url, "tg"); err != nil {
			t.Fatal(err)
		}
		c.http.CloseIdleConnections() // the next request dials again
	}
	got := rep.seen()
	if len(got) != 2 || got[0].resumed || !got[1].resumed {
		t.Fatalf("got %+v, want the second connection resumed", got)
	}
}

func TestTimeout(t *testing.T) {
	p := newPKI(t)
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	tc, err := tlsconfig.Server(tlsconfig.Files{CAFile: p.rep.CAFile, CertFile: p.rep.CertFile, KeyFile: p.rep.KeyFile})
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = tc
	srv.StartTLS()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // before srv.Close
	c := newClient(t, p, 200*time.Millisecond)
	if err := c.CancelTask(context.Background(), srv.URL, "tg"); err == nil {
		t.Fatal("expected a timeout")
	}
}

func TestNewNeedsTheTLSFiles(t *testing.T) {
	p := newPKI(t)
	for name, cfg := range map[string]Config{
		"nothing": {},
		"no ca":   {CertFile: p.bbs.CertFile, KeyFile: p.bbs.KeyFile},
		"no key":  {CAFile: p.bbs.CAFile, CertFile: p.bbs.CertFile},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: expected an error", name)
		}
	}
}

func TestInternalRoutesFromRoutes(t *testing.T) {
	cases := []struct {
		name    string
		routes  *models.ProtoRoutes
		want    []InternalRoute
		wantErr bool
	}{
		{name: "no routes", routes: nil, want: nil},
		{name: "no internal router", routes: models.NewRoutes(map[string]json.RawMessage{"cf-router": json.RawMessage(`[]`)}), want: nil},
		{name: "null", routes: models.NewRoutes(map[string]json.RawMessage{InternalRouterKey: json.RawMessage(`null`)}), want: nil},
		{name: "empty", routes: models.NewRoutes(map[string]json.RawMessage{InternalRouterKey: json.RawMessage(`[]`)}), want: []InternalRoute{}},
		{name: "hostnames", routes: models.NewRoutes(map[string]json.RawMessage{InternalRouterKey: json.RawMessage(`[{"hostname":"a.apps.internal"},{"hostname":"b"}]`)}),
			want: []InternalRoute{{Hostname: "a.apps.internal"}, {Hostname: "b"}}},
		{name: "bad json", routes: models.NewRoutes(map[string]json.RawMessage{InternalRouterKey: json.RawMessage(`{"hostname":1}`)}), wantErr: true},
	}
	for _, tc := range cases {
		got, err := InternalRoutesFromRoutes(tc.routes)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: error %v", tc.name, err)
			continue
		}
		if (got == nil) != (tc.want == nil) || len(got) != len(tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: got %#v, want %#v", tc.name, got, tc.want)
			}
		}
	}
}
