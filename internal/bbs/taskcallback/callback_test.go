package taskcallback

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"code.cloudfoundry.org/lager/v3/lagertest"
	"google.golang.org/protobuf/proto"

	"github.com/diego-go/diego/internal/certs"
	"github.com/diego-go/diego/internal/models"
	"github.com/diego-go/diego/internal/tlsconfig"
)

// memDB is an in-memory TaskDB with the store's rules for the two calls.
type memDB struct {
	mu    sync.Mutex
	tasks map[string]*models.Task
}

var _ TaskDB = (*memDB)(nil)

func newMemDB(tasks ...*models.Task) *memDB {
	db := &memDB{tasks: map[string]*models.Task{}}
	for _, t := range tasks {
		db.tasks[t.GetTaskGuid()] = proto.Clone(t).(*models.Task)
	}
	return db
}

func (db *memDB) ResolvingTask(_ context.Context, guid string) (before, after *models.Task, err error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	t, ok := db.tasks[guid]
	if !ok {
		return nil, nil, models.ErrResourceNotFound
	}
	if err := t.ValidateTransitionTo(models.Task_Resolving); err != nil {
		return nil, nil, err
	}
	before = proto.Clone(t).(*models.Task)
	t.State = models.Task_Resolving
	return before, proto.Clone(t).(*models.Task), nil
}

func (db *memDB) DeleteTask(_ context.Context, guid string) (*models.Task, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	t, ok := db.tasks[guid]
	if !ok {
		return nil, models.ErrResourceNotFound
	}
	if t.State != models.Task_Resolving {
		return nil, models.ErrInvalidStateTransition(t.State, models.Task_Resolving)
	}
	delete(db.tasks, guid)
	return t, nil
}

// state returns the task's state, or -1 once it is deleted.
func (db *memDB) state(guid string) models.Task_State {
	db.mu.Lock()
	defer db.mu.Unlock()
	t, ok := db.tasks[guid]
	if !ok {
		return -1
	}
	return t.State
}

// events collects what the pool emits.
type events struct {
	mu  sync.Mutex
	evs []models.Event
	ch  chan models.Event
}

func newEvents() *events { return &events{ch: make(chan models.Event, 1000)} }

func (e *events) emit(ev models.Event) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
	e.ch <- ev
}

// names lists the emitted events as "type:guid".
func (e *events) names() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.evs {
		out = append(out, ev.EventType()+":"+ev.Key())
	}
	return out
}

type pki struct{ bbs, owner certs.Paths }

func newPKI(t *testing.T) pki {
	t.Helper()
	ca, err := certs.NewAuthority("callback CA")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var p pki
	if p.bbs, err = ca.WriteLeaf(dir, "bbs", certs.LocalNames("bbs")); err != nil {
		t.Fatal(err)
	}
	if p.owner, err = ca.WriteLeaf(dir, "owner", certs.LocalNames("cloud-controller")); err != nil {
		t.Fatal(err)
	}
	return p
}

type call struct {
	method, path, contentType, body, clientCN string
}

// owner is a task owner's callback endpoint answering the queued statuses
// in turn (then 200); a status of 0 makes it wait until the client gives up.
type owner struct {
	mu       sync.Mutex
	calls    []call
	statuses []int
	arrived  chan struct{}
	release  chan struct{}
}

func (o *owner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	cn := ""
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		cn = r.TLS.PeerCertificates[0].Subject.CommonName
	}
	o.mu.Lock()
	o.calls = append(o.calls, call{r.Method, r.URL.Path, r.Header.Get("Content-Type"), string(body), cn})
	status := http.StatusOK
	if len(o.statuses) > 0 {
		status, o.statuses = o.statuses[0], o.statuses[1:]
	}
	o.mu.Unlock()
	select {
	case o.arrived <- struct{}{}:
	default:
	}
	if status == 0 {
		select {
		case <-r.Context().Done():
		case <-o.release:
		}
		return
	}
	w.WriteHeader(status)
}

func (o *owner) seen() []call {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]call(nil), o.calls...)
}

func startOwner(t *testing.T, p pki, statuses ...int) (*owner, string) {
	t.Helper()
	o := &owner{statuses: statuses, arrived: make(chan struct{}, 1), release: make(chan struct{})}
	srv := httptest.NewUnstartedServer(o)
	tc, err := tlsconfig.Server(tlsconfig.Files{CAFile: p.owner.CAFile, CertFile: p.owner.CertFile, KeyFile: p.owner.KeyFile})
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = tc
	srv.StartTLS()
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(o.release) }) // before srv.Close
	return o, srv.URL
}

func completedTask(guid, url string) *models.Task {
	return &models.Task{
		TaskGuid:      guid,
		Domain:        "cf-tasks",
		State:         models.Task_Completed,
		CreatedAt:     5,
		Failed:        true,
		FailureReason: "boom",
		Result:        "r",
		CellId:        "",
		TaskDefinition: &models.TaskDefinition{
			RootFs:                "preloaded:cflinuxfs4",
			CompletionCallbackUrl: url,
			Annotation:            "a",
		},
	}
}

type fixture struct {
	pool   *Pool
	db     *memDB
	events *events
	logger *lagertest.TestLogger
}

func newFixture(t *testing.T, p pki, timeout time.Duration, workers int, tasks ...*models.Task) *fixture {
	t.Helper()
	client, err := NewHTTPClient(tlsconfig.Files{CAFile: p.bbs.CAFile, CertFile: p.bbs.CertFile, KeyFile: p.bbs.KeyFile}, timeout)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: newMemDB(tasks...), events: newEvents(), logger: lagertest.NewTestLogger("bbs")}
	f.pool, err = New(Config{Logger: f.logger, DB: f.db, Emit: f.events.emit, HTTPClient: client, Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

const goldenCallback = `{"task_guid":"t1","failed":true,"failure_reason":"boom","result":"r","annotation":"a","created_at":5}`

func TestCallbackStatuses(t *testing.T) {
	cases := []struct {
		name       string
		statuses   []int
		wantCalls  int
		wantState  models.Task_State
		wantEvents []string
	}{
		{"200 deletes", []int{200}, 1, -1, []string{"task_changed:t1", "task_removed:t1"}},
		{"204 deletes", []int{204}, 1, -1, []string{"task_changed:t1", "task_removed:t1"}},
		{"404 deletes", []int{404}, 1, -1, []string{"task_changed:t1", "task_removed:t1"}},
		{"500 deletes", []int{500}, 1, -1, []string{"task_changed:t1", "task_removed:t1"}},
		{"503 three times stays resolving", []int{503, 503, 503}, 3, models.Task_Resolving, []string{"task_changed:t1"}},
		{"504 three times stays resolving", []int{504, 504, 504}, 3, models.Task_Resolving, []string{"task_changed:t1"}},
		{"503 then 504 then 200 deletes", []int{503, 504, 200}, 3, -1, []string{"task_changed:t1", "task_removed:t1"}},
		{"timeout is retried", []int{0, 201}, 2, -1, []string{"task_changed:t1", "task_removed:t1"}},
		{"three timeouts stay resolving", []int{0, 0, 0}, 3, models.Task_Resolving, []string{"task_changed:t1"}},
	}
	p := newPKI(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, url := startOwner(t, p, tc.statuses...)
			f := newFixture(t, p, 300*time.Millisecond, 1, completedTask("t1", url+"/tasks/t1/completed"))
			f.pool.Handle(context.Background(), completedTask("t1", url+"/tasks/t1/completed"))

			calls := o.seen()
			if len(calls) != tc.wantCalls {
				t.Fatalf("got %d calls, want %d", len(calls), tc.wantCalls)
			}
			want := call{"POST", "/tasks/t1/completed", "application/json", goldenCallback, "bbs"}
			for i, c := range calls {
				if c != want {
					t.Errorf("call %d:\ngot  %+v\nwant %+v", i, c, want)
				}
			}
			if got := f.db.state("t1"); got != tc.wantState {
				t.Errorf("state: got %v, want %v", got, tc.wantState)
			}
			if got := f.events.names(); fmt.Sprint(got) != fmt.Sprint(tc.wantEvents) {
				t.Errorf("events: got %v, want %v", got, tc.wantEvents)
			}
		})
	}
}

func TestEventsCarryTheTasks(t *testing.T) {
	p := newPKI(t)
	_, url := startOwner(t, p)
	f := newFixture(t, p, time.Second, 1, completedTask("t1", url))
	f.pool.Handle(context.Background(), completedTask("t1", url))
	f.events.mu.Lock()
	defer f.events.mu.Unlock()
	if len(f.events.evs) != 2 {
		t.Fatalf("got %d events", len(f.events.evs))
	}
	changed, ok := f.events.evs[0].(*models.TaskChangedEvent)
	if !ok || changed.GetBefore().GetState() != models.Task_Completed || changed.GetAfter().GetState() != models.Task_Resolving {
		t.Errorf("first event: %v", f.events.evs[0])
	}
	removed, ok := f.events.evs[1].(*models.TaskRemovedEvent)
	if !ok || removed.GetTask().GetTaskGuid() != "t1" || removed.GetTask().GetState() != models.Task_Resolving {
		t.Errorf("second event: %v", f.events.evs[1])
	}
}

func TestOtherTransportErrorsAreNotRetried(t *testing.T) {
	p := newPKI(t)
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close() // the connection dies under the request: EOF, not a timeout
		}
	}))
	tc, err := tlsconfig.Server(tlsconfig.Files{CAFile: p.owner.CAFile, CertFile: p.owner.CertFile, KeyFile: p.owner.KeyFile})
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = tc
	srv.StartTLS()
	t.Cleanup(srv.Close)

	f := newFixture(t, p, time.Second, 1, completedTask("t1", srv.URL))
	f.pool.Handle(context.Background(), completedTask("t1", srv.URL))
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 {
		t.Errorf("got %d calls, want 1", calls)
	}
	if got := f.db.state("t1"); got != models.Task_Resolving {
		t.Errorf("state: got %v, want Resolving", got)
	}

	// Refused connections end the callback too.
	g := newFixture(t, p, time.Second, 1, completedTask("t2", "https://127.0.0.1:1/cb"))
	g.pool.Handle(context.Background(), completedTask("t2", "https://127.0.0.1:1/cb"))
	if got := g.db.state("t2"); got != models.Task_Resolving {
		t.Errorf("refused: state %v, want Resolving", got)
	}
}

func TestTaskNotCompletedIsLeftAlone(t *testing.T) {
	p := newPKI(t)
	o, url := startOwner(t, p)
	running := completedTask("t1", url)
	running.State = models.Task_Running
	f := newFixture(t, p, time.Second, 1, running)
	f.pool.Handle(context.Background(), completedTask("t1", url))
	f.pool.Handle(context.Background(), completedTask("missing", url))
	if n := len(o.seen()); n != 0 {
		t.Errorf("got %d calls", n)
	}
	if got := f.db.state("t1"); got != models.Task_Running {
		t.Errorf("state: got %v", got)
	}
	if got := f.events.names(); len(got) != 0 {
		t.Errorf("events: %v", got)
	}
}

func TestNoCallbackURLDoesNothing(t *testing.T) {
	p := newPKI(t)
	noURL := completedTask("t1", "")
	f := newFixture(t, p, time.Second, 1, noURL)
	f.pool.Handle(context.Background(), noURL)
	f.pool.Submit(noURL)
	f.pool.mu.Lock()
	queued := len(f.pool.queue)
	f.pool.mu.Unlock()
	if queued != 0 {
		t.Errorf("queued %d tasks", queued)
	}
	if got := f.db.state("t1"); got != models.Task_Completed {
		t.Errorf("state: got %v", got)
	}
	if got := f.events.names(); len(got) != 0 {
		t.Errorf("events: %v", got)
	}
}

func TestCallbackWithoutTLS(t *testing.T) {
	p := newPKI(t)
	o := &owner{arrived: make(chan struct{}, 1)}
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	f := newFixture(t, p, time.Second, 1, completedTask("t1", srv.URL))
	f.pool.Handle(context.Background(), completedTask("t1", srv.URL))
	if got := f.db.state("t1"); got != -1 || len(o.seen()) != 1 {
		t.Errorf("state %v, calls %v", got, o.seen())
	}
}
