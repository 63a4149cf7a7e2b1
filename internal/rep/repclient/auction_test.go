package repclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/certs"
	"github.com/diego-go/diego/internal/rep/repclient"
	"github.com/diego-go/diego/internal/rep/repmodels"
	"github.com/diego-go/diego/internal/tlsconfig"
)

// auctionRep answers /state and /work and counts connections and TLS
// resumptions.
type auctionRep struct {
	mu          sync.Mutex
	stateStatus int
	delay       time.Duration
	work        []repmodels.Work
	traces      []string
	conns       atomic.Int32
	resumed     atomic.Int32
}

func (a *auctionRep) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		status, delay := a.stateStatus, a.delay
		a.traces = append(a.traces, r.Header.Get(repclient.RequestIDHeader))
		a.mu.Unlock()
		if r.TLS.DidResume {
			a.resumed.Add(1)
		}
		time.Sleep(delay)
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(repmodels.CellState{CellID: "cell-1", Zone: "z1", AvailableResources: repmodels.Resources{MemoryMB: 10}})
	})
	mux.HandleFunc("POST /work", func(w http.ResponseWriter, r *http.Request) {
		var work repmodels.Work
		if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&work) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		a.work = append(a.work, work)
		a.mu.Unlock()
		// Refuse the second LRP.
		refused := repmodels.Work{}
		if len(work.LRPs) > 1 {
			refused.LRPs = work.LRPs[1:]
		}
		_ = json.NewEncoder(w).Encode(refused)
	})
	return mux
}

func startAuctionRep(t *testing.T) (*auctionRep, *httptest.Server, certs.Paths) {
	t.Helper()
	ca, err := certs.NewAuthority("rep CA")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	srvCert, err := ca.WriteLeaf(dir, "rep", certs.LocalNames("cell-1"))
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.WriteLeaf(dir, "auctioneer", certs.LocalNames("auctioneer"))
	if err != nil {
		t.Fatal(err)
	}
	rep := &auctionRep{}
	srv := httptest.NewUnstartedServer(rep.handler())
	if srv.TLS, err = tlsconfig.Server(tlsconfig.Files{CAFile: srvCert.CAFile, CertFile: srvCert.CertFile, KeyFile: srvCert.KeyFile}); err != nil {
		t.Fatal(err)
	}
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			rep.conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return rep, srv, client
}

func newAuctionClient(t *testing.T, p certs.Paths, stateTimeout time.Duration) *repclient.AuctionClient {
	t.Helper()
	c, err := repclient.NewAuctionClient(repclient.AuctionConfig{CAFile: p.CAFile, CertFile: p.CertFile, KeyFile: p.KeyFile, StateTimeout: stateTimeout, WorkTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStateAndWorkOverMutualTLS(t *testing.T) {
	rep, srv, paths := startAuctionRep(t)
	c := newAuctionClient(t, paths, 5*time.Second)
	ctx := bbsclient.WithRequestID(context.Background(), "trace-7")

	for i := 0; i < 3; i++ {
		s, err := c.State(ctx, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if s.CellID != "cell-1" || s.Zone != "z1" || s.AvailableResources.MemoryMB != 10 {
			t.Fatalf("state %+v", s)
		}
	}
	work := &repmodels.Work{CellID: "cell-1", LRPs: []repmodels.LRP{{ProcessGuid: "a"}, {ProcessGuid: "b", Index: 1}}}
	refused, err := c.Perform(ctx, srv.URL, work)
	if err != nil {
		t.Fatal(err)
	}
	if len(refused.LRPs) != 1 || refused.LRPs[0].ProcessGuid != "b" || refused.LRPs[0].Index != 1 {
		t.Fatalf("refused %+v", refused)
	}
	if len(rep.work) != 1 || rep.work[0].CellID != "cell-1" || len(rep.work[0].LRPs) != 2 {
		t.Fatalf("rep received %+v", rep.work)
	}
	if rep.traces[0] != "trace-7" {
		t.Errorf("trace id %q", rep.traces[0])
	}
	// Keep-alive: four requests, one connection.
	if n := rep.conns.Load(); n != 1 {
		t.Errorf("%d connections for 4 requests, want 1", n)
	}
	// A new connection resumes the TLS session.
	c.CloseIdleConnections()
	if _, err := c.State(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	if rep.conns.Load() != 2 || rep.resumed.Load() != 1 {
		t.Errorf("connections %d, resumed %d; want 2 and 1", rep.conns.Load(), rep.resumed.Load())
	}
}

func TestStateFailures(t *testing.T) {
	rep, srv, paths := startAuctionRep(t)
	c := newAuctionClient(t, paths, 200*time.Millisecond)
	ctx := context.Background()

	// The rep's 503 (garden unhealthy) comes with a valid body; still a failure.
	rep.stateStatus = http.StatusServiceUnavailable
	var se *repclient.StatusError
	if _, err := c.State(ctx, srv.URL); !errors.As(err, &se) || se.StatusCode != 503 {
		t.Errorf("503: %v", err)
	}
	rep.stateStatus = 0
	rep.delay = time.Second
	start := time.Now()
	if _, err := c.State(ctx, srv.URL); err == nil || time.Since(start) > 900*time.Millisecond {
		t.Errorf("slow rep: %v after %s, want a timeout after ~200ms", err, time.Since(start))
	}
	if _, err := c.State(ctx, "http://127.0.0.1:1"); !errors.Is(err, repclient.ErrHTTPSRequired) {
		t.Errorf("plain http rep url: %v", err)
	}
	if _, err := c.Perform(ctx, "http://127.0.0.1:1", &repmodels.Work{}); !errors.Is(err, repclient.ErrHTTPSRequired) {
		t.Errorf("plain http rep url: %v", err)
	}
}
