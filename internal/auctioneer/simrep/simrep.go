// Package simrep is a simulated rep for the auctioneer's tests and
// benchmarks: a small HTTPS server with mutual TLS on loopback that answers
// GET /state and POST /work as a rep does (auction-rep-executor §3.2–3.4),
// from an in-memory cell: work that fits is reserved and shows up in the
// next /state as starting containers, the rest is answered back as
// refused. It runs no containers and talks to nobody.
package simrep

import (
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/rep/repmodels"
)

// Config describes a simulated cell.
type Config struct {
	CellID    string
	CellIndex int
	Zone      string
	// Total is the cell's capacity (default 16 GB, 64 GB, 250 containers).
	Total repmodels.Resources
	// Stacks are the preloaded stacks (default cflinuxfs4); docker images
	// are always provided.
	Stacks        []string
	PlacementTags []string
	// TLS is the server's configuration (certificate and client CA).
	TLS *tls.Config
	// Host is the host name of the rep's URL (default 127.0.0.1); the
	// caller resolves it to the loopback listener.
	Host string
}

// Rep is a running simulated rep.
type Rep struct {
	cfg      Config
	URL      string // https://127.0.0.1:port, or https://Host:port
	listener net.Listener
	server   *http.Server

	mu         sync.Mutex
	lrps       []repmodels.LRP
	tasks      []repmodels.Task
	available  repmodels.Resources
	starting   int
	received   []repmodels.Work
	stateCalls int
	workCalls  int
	// Fault injection.
	stateStatus int // answer /state with this status when not 0
	workStatus  int // answer /work with this status when not 0
	refuseNext  int // refuse every item of the next n /work calls
	evacuating  bool
	guid        int
}

// Start runs a simulated rep on a loopback port until Close.
func Start(cfg Config) (*Rep, error) {
	if cfg.Total == (repmodels.Resources{}) {
		cfg.Total = repmodels.Resources{MemoryMB: 16 * 1024, DiskMB: 64 * 1024, Containers: 250}
	}
	if len(cfg.Stacks) == 0 {
		cfg.Stacks = []string{"cflinuxfs4"}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	url := "https://" + ln.Addr().String()
	if cfg.Host != "" {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		url = "https://" + net.JoinHostPort(cfg.Host, port)
	}
	r := &Rep{cfg: cfg, listener: ln, available: cfg.Total, URL: url}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /state", r.state)
	mux.HandleFunc("POST /work", r.work)
	// HTTP/1.1 only, as a rep; a private copy of the TLS configuration, as
	// the server writes to it and many reps may share one.
	var tc *tls.Config
	if cfg.TLS != nil {
		tc = cfg.TLS.Clone()
		tc.NextProtos = []string{"http/1.1"}
	}
	r.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, TLSConfig: tc,
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}}
	go func() { _ = r.server.ServeTLS(ln, "", "") }()
	return r, nil
}

// Close stops the server.
func (r *Rep) Close() error { return r.server.Close() }

// Presence is the cell's presence as a rep registers it in locket.
func (r *Rep) Presence() *models.CellPresence {
	return &models.CellPresence{
		CellId:     r.cfg.CellID,
		RepAddress: "http://" + r.listener.Addr().String(),
		RepUrl:     r.URL,
		Zone:       r.cfg.Zone,
		Capacity: &models.CellCapacity{
			MemoryMb: r.cfg.Total.MemoryMB, DiskMb: r.cfg.Total.DiskMB, Containers: int32(r.cfg.Total.Containers),
		},
		RootfsProviders: []*models.Provider{
			{Name: "preloaded", Properties: r.cfg.Stacks},
			{Name: "docker"},
		},
		PlacementTags: r.cfg.PlacementTags,
	}
}

// State returns the cell state as /state answers it.
func (r *Rep) State() repmodels.CellState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return repmodels.CellState{
		RepURL:    r.URL,
		CellID:    r.cfg.CellID,
		CellIndex: r.cfg.CellIndex,
		RootFSProviders: repmodels.RootFSProviders{
			"docker":          repmodels.Arbitrary(),
			"preloaded":       repmodels.FixedSet(r.cfg.Stacks...),
			"preloaded+layer": repmodels.FixedSet(r.cfg.Stacks...),
		},
		AvailableResources:     r.available,
		TotalResources:         r.cfg.Total,
		LRPs:                   slices.Clone(r.lrps),
		Tasks:                  slices.Clone(r.tasks),
		StartingContainerCount: r.starting,
		Zone:                   r.cfg.Zone,
		Evacuating:             r.evacuating,
		PlacementTags:          r.cfg.PlacementTags,
	}
}

func (r *Rep) state(w http.ResponseWriter, _ *http.Request) {
	st := r.State()
	r.mu.Lock()
	r.stateCalls++
	status := r.stateStatus
	r.mu.Unlock()
	if status == 0 {
		status = http.StatusOK
	}
	writeJSON(w, status, st)
}

// work reserves what fits, in the order sent, and answers the rest as
// refused, as a rep does (§3.4; memory, disk and containers are checked
// here at once).
func (r *Rep) work(w http.ResponseWriter, req *http.Request) {
	var work repmodels.Work
	if err := json.NewDecoder(req.Body).Decode(&work); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.workCalls++
	if r.workStatus != 0 {
		w.WriteHeader(r.workStatus)
		return
	}
	if work.CellID != "" && work.CellID != r.cfg.CellID {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	r.received = append(r.received, work)
	refused := repmodels.Work{}
	if r.refuseNext > 0 || r.evacuating {
		if r.refuseNext > 0 {
			r.refuseNext--
		}
		refused.LRPs, refused.Tasks = work.LRPs, work.Tasks
		writeJSON(w, http.StatusOK, refused)
		return
	}
	for _, l := range work.LRPs {
		if !r.fits(l.MemoryMB, l.DiskMB) {
			refused.LRPs = append(refused.LRPs, l)
			continue
		}
		r.reserve(l.MemoryMB, l.DiskMB)
		r.guid++
		l.InstanceGUID = instanceGUID(r.cfg.CellID, r.guid)
		l.State = "CLAIMED"
		r.lrps = append(r.lrps, l)
	}
	for _, t := range work.Tasks {
		if !r.fits(t.MemoryMB, t.DiskMB) {
			refused.Tasks = append(refused.Tasks, t)
			continue
		}
		r.reserve(t.MemoryMB, t.DiskMB)
		r.tasks = append(r.tasks, t)
	}
	writeJSON(w, http.StatusOK, refused)
}

func (r *Rep) fits(mem, disk int32) bool {
	return r.available.MemoryMB >= mem && r.available.DiskMB >= disk && r.available.Containers >= 1
}

func (r *Rep) reserve(mem, disk int32) {
	r.available.MemoryMB -= mem
	r.available.DiskMB -= disk
	r.available.Containers--
	r.starting++
}

func instanceGUID(cell string, n int) string {
	return cell + "-" + strconv.Itoa(n)
}

// Received returns every /work body accepted for processing (refused items
// included), in arrival order.
func (r *Rep) Received() []repmodels.Work {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.received)
}

// LRPs returns the LRP instances the cell holds.
func (r *Rep) LRPs() []repmodels.LRP {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lrps)
}

// Tasks returns the tasks the cell holds.
func (r *Rep) Tasks() []repmodels.Task {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.tasks)
}

// Calls returns how many /state and /work calls arrived.
func (r *Rep) Calls() (state, work int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stateCalls, r.workCalls
}

// FailState makes /state answer status (0 restores 200).
func (r *Rep) FailState(status int) {
	r.mu.Lock()
	r.stateStatus = status
	r.mu.Unlock()
}

// FailWork makes /work answer status without doing anything (0 restores).
func (r *Rep) FailWork(status int) {
	r.mu.Lock()
	r.workStatus = status
	r.mu.Unlock()
}

// RefuseNext makes the next n /work calls refuse everything.
func (r *Rep) RefuseNext(n int) {
	r.mu.Lock()
	r.refuseNext = n
	r.mu.Unlock()
}

// SetEvacuating flips the evacuation flag of /state.
func (r *Rep) SetEvacuating(on bool) {
	r.mu.Lock()
	r.evacuating = on
	r.mu.Unlock()
}

// Reset drops every container and restores the full capacity.
func (r *Rep) Reset() {
	r.mu.Lock()
	r.lrps, r.tasks, r.received = nil, nil, nil
	r.available, r.starting = r.cfg.Total, 0
	r.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
