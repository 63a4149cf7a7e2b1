package taskcallback

import (
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/tedsuo/ifrit"

	"github.com/diego-go/diego/internal/models"
)

const within = 20 * time.Second

func stop(t *testing.T, proc ifrit.Process) {
	t.Helper()
	proc.Signal(os.Interrupt)
	select {
	case err := <-proc.Wait():
		if err != nil {
			t.Errorf("pool exited with %v", err)
		}
	case <-time.After(within):
		t.Fatal("pool did not stop")
	}
}

// waitForEvents reads n events from the pool, failing after a deadline.
func waitForEvents(t *testing.T, e *events, n int) []models.Event {
	t.Helper()
	var got []models.Event
	deadline := time.After(within)
	for len(got) < n {
		select {
		case ev := <-e.ch:
			got = append(got, ev)
		case <-deadline:
			t.Fatalf("got %d events, want %d", len(got), n)
		}
	}
	return got
}

func TestPoolRunsSubmittedCallbacks(t *testing.T) {
	p := newPKI(t)
	o, url := startOwner(t, p)
	const n = 12
	var tasks []*models.Task
	for i := range n {
		tasks = append(tasks, completedTask(fmt.Sprintf("t%02d", i), url))
	}
	f := newFixture(t, p, 5*time.Second, 3, tasks...)

	// Submitted before the pool runs: queued until it does.
	f.pool.Submit(tasks[0])
	proc := ifrit.Invoke(f.pool)
	for _, task := range tasks[1:] {
		f.pool.Submit(task)
	}
	evs := waitForEvents(t, f.events, 2*n)
	stop(t, proc)

	// Per task: changed before removed.
	seen := map[string]string{}
	for _, ev := range evs {
		switch ev.EventType() {
		case models.EventTypeTaskChanged:
			if seen[ev.Key()] != "" {
				t.Errorf("%s: changed after %s", ev.Key(), seen[ev.Key()])
			}
			seen[ev.Key()] = "changed"
		case models.EventTypeTaskRemoved:
			if seen[ev.Key()] != "changed" {
				t.Errorf("%s: removed before changed", ev.Key())
			}
			seen[ev.Key()] = "removed"
		}
	}
	for _, task := range tasks {
		if got := f.db.state(task.GetTaskGuid()); got != -1 {
			t.Errorf("%s: state %v, want deleted", task.GetTaskGuid(), got)
		}
		if seen[task.GetTaskGuid()] != "removed" {
			t.Errorf("%s: no removal event", task.GetTaskGuid())
		}
	}
	if got := len(o.seen()); got != n {
		t.Errorf("got %d callbacks, want %d", got, n)
	}
}

func TestPoolStopCancelsCallbacksInFlight(t *testing.T) {
	p := newPKI(t)
	o, url := startOwner(t, p, 0) // the first callback hangs
	slow := completedTask("slow", url)
	f := newFixture(t, p, time.Hour, 1, slow)
	proc := ifrit.Invoke(f.pool)
	f.pool.Submit(slow)
	select {
	case <-o.arrived:
	case <-time.After(within):
		t.Fatal("the callback did not arrive")
	}
	// Queued behind the hanging one, never sent.
	queued := completedTask("queued", url)
	f.pool.Submit(queued)

	stop(t, proc)
	if got := f.db.state("slow"); got != models.Task_Resolving {
		t.Errorf("slow: state %v, want Resolving", got)
	}
	if n := len(o.seen()); n != 1 {
		t.Errorf("got %d callbacks, want 1", n)
	}

	// After the stop, submissions are dropped.
	f.pool.Submit(queued)
	f.pool.mu.Lock()
	defer f.pool.mu.Unlock()
	if len(f.pool.queue) != 0 {
		t.Errorf("queue: %d", len(f.pool.queue))
	}
}

func TestNewChecksTheConfig(t *testing.T) {
	p := newPKI(t)
	f := newFixture(t, p, time.Second, 1)
	valid := Config{Logger: f.logger, DB: f.db, Emit: f.events.emit, HTTPClient: http.DefaultClient, Workers: 1}
	if _, err := New(valid); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*Config){
		"no logger":  func(c *Config) { c.Logger = nil },
		"no db":      func(c *Config) { c.DB = nil },
		"no emit":    func(c *Config) { c.Emit = nil },
		"no client":  func(c *Config) { c.HTTPClient = nil },
		"no workers": func(c *Config) { c.Workers = 0 },
	} {
		cfg := valid
		change(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: expected an error", name)
		}
	}
}
