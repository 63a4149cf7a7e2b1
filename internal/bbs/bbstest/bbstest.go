// Package bbstest runs the BBS API in a test process: real handlers,
// controllers and SQL storage behind an mTLS server on loopback, with
// recording stand-ins for the auctioneer and the reps (the outbound
// clients) and a static cell list, and a real client to call it.
package bbstest

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/lager/v3/lagertest"
	"github.com/diego-go/diego/internal/auctioneer/auctioneerclient"
	"github.com/diego-go/diego/internal/bbs/cells"
	bbsclient "github.com/diego-go/diego/internal/bbs/client"
	"github.com/diego-go/diego/internal/bbs/controllers"
	"github.com/diego-go/diego/internal/bbs/db"
	"github.com/diego-go/diego/internal/bbs/encryption"
	"github.com/diego-go/diego/internal/bbs/handlers"
	"github.com/diego-go/diego/internal/certs"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/rep/repclient"
	"github.com/diego-go/diego/internal/sqldb"
	"github.com/diego-go/diego/internal/tlsconfig"
	"github.com/prometheus/client_golang/prometheus"
)

// Options shape the API under test.
type Options struct {
	// DB is the database; the zero value is SQLite in a temporary directory.
	DB sqldb.Config
	// MaxTaskRetries is max_task_retries (default 3; negative for 0, under
	// which the first rejection fails a task).
	MaxTaskRetries int
	// Now is the clock of the store (default the wall clock).
	Now func() time.Time
	// MaxBodyBytes bounds request bodies (default 64 MiB).
	MaxBodyBytes int64
}

// API is a running BBS API.
type API struct {
	URL         string
	Client      *bbsclient.Client
	DB          *db.DB
	Controllers *controllers.Controllers
	Hubs        controllers.Hubs
	Auctioneer  *Auctioneer
	Reps        *Reps
	Cells       *cells.Static
	Callbacks   *Callbacks
	Server      *httptest.Server
	PKI         PKI
	// Unrecoverable receives what the API reported as unrecoverable.
	Unrecoverable chan error
}

// PKI is the test CA with the server's and a client's certificates.
type PKI struct {
	Server, Client certs.Paths
}

// Start runs an API for the test and stops it at the end.
func Start(t testing.TB, opts Options) *API {
	t.Helper()
	ctx := context.Background()
	if opts.DB.DriverName == "" {
		opts.DB = sqldb.Config{DriverName: "sqlite", ConnectionString: filepath.Join(t.TempDir(), "bbs.db")}
	}
	if opts.MaxTaskRetries == 0 {
		opts.MaxTaskRetries = 3
	}
	if opts.MaxTaskRetries < 0 {
		opts.MaxTaskRetries = 0
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = 64 << 20
	}
	sqlDB, err := sqldb.Open(ctx, opts.DB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	crypt, err := encryption.New(encryption.Config{ActiveKeyLabel: "test", EncryptionKeys: map[string]string{"test": "a passphrase"}})
	if err != nil {
		t.Fatal(err)
	}
	logger := lagertest.NewTestLogger("bbs")
	store := db.New(db.Deps{SQL: sqlDB, Cryptor: crypt, Logger: logger, Now: opts.Now, MaxTaskRetries: opts.MaxTaskRetries})
	if err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	a := &API{
		DB:            store,
		Hubs:          controllers.NewHubs(),
		Auctioneer:    &Auctioneer{},
		Reps:          &Reps{},
		Cells:         cells.NewStatic(),
		Callbacks:     &Callbacks{},
		Unrecoverable: make(chan error, 16),
	}
	t.Cleanup(a.Hubs.Close)
	ctrl := controllers.New(controllers.Deps{
		Logger: logger, DB: store, Hubs: a.Hubs, Auctioneer: a.Auctioneer, Reps: a.Reps,
		Cells: a.Cells, Callbacks: a.Callbacks, UpdateWorkers: 16,
	})
	a.Controllers = ctrl
	h, err := handlers.New(handlers.Deps{
		Logger: logger, DB: store, Controllers: ctrl, Hubs: a.Hubs, Cells: a.Cells,
		Metrics: handlers.NewMetrics(prometheus.NewRegistry()), MaxBodyBytes: opts.MaxBodyBytes,
		Unrecoverable: func(err error) {
			select {
			case a.Unrecoverable <- err:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	ca, err := certs.NewAuthority("bbstest CA")
	if err != nil {
		t.Fatal(err)
	}
	if a.PKI.Server, err = ca.WriteLeaf(dir, "server", certs.LocalNames("bbs", "bbs.service.cf.internal")); err != nil {
		t.Fatal(err)
	}
	if a.PKI.Client, err = ca.WriteLeaf(dir, "client", certs.LocalNames("client")); err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := tlsconfig.Server(tlsconfig.Files{CAFile: a.PKI.Server.CAFile, CertFile: a.PKI.Server.CertFile, KeyFile: a.PKI.Server.KeyFile})
	if err != nil {
		t.Fatal(err)
	}
	a.Server = httptest.NewUnstartedServer(h)
	a.Server.TLS = tlsCfg
	a.Server.StartTLS()
	t.Cleanup(func() {
		a.Hubs.Close()
		a.Server.Close()
	})
	a.URL = a.Server.URL
	a.Client, err = bbsclient.New(bbsclient.Config{
		URL: a.URL, CAFile: a.PKI.Client.CAFile, CertFile: a.PKI.Client.CertFile, KeyFile: a.PKI.Client.KeyFile,
		Retries: 1, RequestTimeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Auctioneer records auction requests.
type Auctioneer struct {
	mu    sync.Mutex
	LRPs  []*auctioneerclient.LRPStartRequest
	Tasks []*auctioneerclient.TaskStartRequest
	// Err, if set, is returned by every request.
	Err error
}

func (f *Auctioneer) RequestLRPAuctions(_ context.Context, starts []*auctioneerclient.LRPStartRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.LRPs = append(f.LRPs, starts...)
	return f.Err
}

func (f *Auctioneer) RequestTaskAuctions(_ context.Context, starts []*auctioneerclient.TaskStartRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Tasks = append(f.Tasks, starts...)
	return f.Err
}

// SetErr makes every later request fail with err (nil restores
// success), safely while the API runs.
func (f *Auctioneer) SetErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Err = err
}

// LRPRequests returns a copy of the LRP auction requests so far.
func (f *Auctioneer) LRPRequests() []*auctioneerclient.LRPStartRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*auctioneerclient.LRPStartRequest(nil), f.LRPs...)
}

// TaskRequests returns a copy of the task auction requests so far.
func (f *Auctioneer) TaskRequests() []*auctioneerclient.TaskStartRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*auctioneerclient.TaskStartRequest(nil), f.Tasks...)
}

// RepCall is one call the BBS made to a rep.
type RepCall struct {
	Op       string // "stop", "cancel", "update"
	RepURL   string
	Key      *models.ActualLRPKey
	Instance *models.ActualLRPInstanceKey
	TaskGuid string
	Update   *repclient.LRPUpdate
}

// Reps records calls to reps.
type Reps struct {
	mu    sync.Mutex
	calls []RepCall
	// Err, if set, is returned by every call.
	Err error
}

func (f *Reps) record(c RepCall) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
	return f.Err
}

// SetErr makes every later call fail with err (nil restores success),
// safely while the API runs.
func (f *Reps) SetErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Err = err
}

func (f *Reps) StopLRPInstance(_ context.Context, repURL string, key *models.ActualLRPKey, ik *models.ActualLRPInstanceKey) error {
	return f.record(RepCall{Op: "stop", RepURL: repURL, Key: key, Instance: ik})
}

func (f *Reps) CancelTask(_ context.Context, repURL, guid string) error {
	return f.record(RepCall{Op: "cancel", RepURL: repURL, TaskGuid: guid})
}

func (f *Reps) UpdateLRPInstance(_ context.Context, repURL string, u *repclient.LRPUpdate) error {
	return f.record(RepCall{Op: "update", RepURL: repURL, Update: u})
}

// Calls returns a copy of the calls so far.
func (f *Reps) Calls() []RepCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]RepCall(nil), f.calls...)
}

// Callbacks records tasks submitted for completion callbacks.
type Callbacks struct {
	mu    sync.Mutex
	tasks []*models.Task
}

func (f *Callbacks) Submit(t *models.Task) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tasks = append(f.tasks, t)
}

// Submitted returns a copy of the submitted tasks.
func (f *Callbacks) Submitted() []*models.Task {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*models.Task(nil), f.tasks...)
}

// Cell returns a cell presence whose rep is reached at an https URL.
func Cell(id, zone string) *models.CellPresence {
	return &models.CellPresence{CellId: id, Zone: zone, RepAddress: "http://127.0.0.1:1800", RepUrl: "https://" + id + ".cell.service.cf.internal:1801",
		Capacity: &models.CellCapacity{MemoryMb: 1024, DiskMb: 4096, Containers: 100}}
}
