package bbsbench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/diego-go/diego/internal/certs"
	"github.com/diego-go/diego/internal/tlsconfig"
)

// Auctioneer is a stand-in for the auctioneer: it accepts the BBS's LRP
// and task auction requests (HTTPS, mutual TLS) and records when each LRP
// instance was first requested.
type Auctioneer struct {
	URL string
	srv *http.Server

	mu        sync.Mutex
	requested map[string]time.Time // "<process guid>/<index>" -> first request
	batches   int
}

type lrpStart struct {
	ProcessGuid string `json:"process_guid"`
	Indices     []int  `json:"indices"`
}

// StartAuctioneer listens on a free loopback port with the server
// certificate paths (whose CA also verifies clients).
func StartAuctioneer(paths certs.Paths) (*Auctioneer, error) {
	tc, err := tlsconfig.Server(tlsconfig.Files{CAFile: paths.CAFile, CertFile: paths.CertFile, KeyFile: paths.KeyFile})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &Auctioneer{URL: "https://" + ln.Addr().String(), requested: map[string]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/lrps", a.lrps)
	mux.HandleFunc("POST /v1/tasks", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	a.srv = &http.Server{Handler: mux, TLSConfig: tc, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = a.srv.ServeTLS(ln, "", "") }()
	return a, nil
}

func (a *Auctioneer) lrps(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	var starts []lrpStart
	if err := json.NewDecoder(r.Body).Decode(&starts); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	a.batches++
	for _, s := range starts {
		for _, i := range s.Indices {
			k := fmt.Sprintf("%s/%d", s.ProcessGuid, i)
			if _, ok := a.requested[k]; !ok {
				a.requested[k] = now
			}
		}
	}
	a.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// Requested returns when instance (processGuid, index) was first requested.
func (a *Auctioneer) Requested(processGuid string, index int) (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.requested[fmt.Sprintf("%s/%d", processGuid, index)]
	return t, ok
}

// Counts returns the instances requested and the request batches so far.
func (a *Auctioneer) Counts() (instances, batches int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.requested), a.batches
}

// Reset forgets what was requested.
func (a *Auctioneer) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requested = map[string]time.Time{}
	a.batches = 0
}

// Close stops the server.
func (a *Auctioneer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = a.srv.Shutdown(ctx)
}
