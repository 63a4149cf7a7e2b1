// Package taskcallback tells task owners that their task finished (reference
// notes: bbs-api §7.4). A completed task with a completion_callback_url is
// submitted to a pool of workers; a worker marks it Resolving, POSTs the
// result to the URL and deletes the task once the owner has answered.
//
//	Submit(task) --queue--> worker: ResolvingTask --> emit task_changed
//	                                POST callback (≤3 attempts)
//	                                any status but 503/504 --> DeleteTask --> emit task_removed
//
// A callback that cannot be delivered leaves the task Resolving; task
// convergence puts it back to Completed after the kick duration and submits
// it again.
package taskcallback

import (
	"context"
	"errors"
	"net/http"
	"os"
	"sync"

	"code.cloudfoundry.org/lager/v3"
	"github.com/tedsuo/ifrit"

	"github.com/diego-go/diego/internal/models"
)

// TaskDB is the part of the BBS store the callbacks change.
type TaskDB interface {
	// ResolvingTask moves a Completed task to Resolving; it fails when the
	// task is not Completed (another worker owns it).
	ResolvingTask(ctx context.Context, guid string) (before, after *models.Task, err error)
	// DeleteTask removes a Resolving task and returns it.
	DeleteTask(ctx context.Context, guid string) (*models.Task, error)
}

// Config configures a Pool.
type Config struct {
	Logger lager.Logger
	DB     TaskDB
	// Emit publishes task_changed and task_removed events, in order, from
	// the worker that caused them. It must not block for long.
	Emit func(models.Event)
	// HTTPClient posts the callbacks; see NewHTTPClient.
	HTTPClient *http.Client
	// Workers is task_callback_workers, the number of callbacks in flight
	// at most.
	Workers int
}

// Pool runs the callbacks of completed tasks on a fixed number of workers.
// It is an ifrit.Runner: the workers run between Run and its signal. Tasks
// submitted before Run wait for it; tasks still queued when the pool stops
// are dropped (convergence submits them again).
type Pool struct {
	logger  lager.Logger
	db      TaskDB
	emit    func(models.Event)
	client  *http.Client
	workers int

	mu      sync.Mutex
	wake    *sync.Cond
	queue   []*models.Task
	stopped bool
}

var _ ifrit.Runner = (*Pool)(nil)

// New checks cfg and returns a pool that is not running yet.
func New(cfg Config) (*Pool, error) {
	switch {
	case cfg.Logger == nil:
		return nil, errors.New("task callback pool: a logger is required")
	case cfg.DB == nil:
		return nil, errors.New("task callback pool: a task db is required")
	case cfg.Emit == nil:
		return nil, errors.New("task callback pool: an event emitter is required")
	case cfg.HTTPClient == nil:
		return nil, errors.New("task callback pool: an http client is required")
	case cfg.Workers <= 0:
		return nil, errors.New("task callback pool: task_callback_workers must be positive")
	}
	p := &Pool{
		logger:  cfg.Logger.Session("task-completion-workpool"),
		db:      cfg.DB,
		emit:    cfg.Emit,
		client:  cfg.HTTPClient,
		workers: cfg.Workers,
	}
	p.wake = sync.NewCond(&p.mu)
	return p, nil
}

// Submit queues the callback of a completed task and returns at once. A
// task without a callback URL is ignored.
func (p *Pool) Submit(task *models.Task) {
	if task.GetTaskDefinition().GetCompletionCallbackUrl() == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		p.logger.Info("dropped-after-stop", lager.Data{"task_guid": task.GetTaskGuid()})
		return
	}
	p.queue = append(p.queue, task)
	p.wake.Signal()
}

// Run starts the workers, and on a signal stops them: a callback in flight
// is cancelled, and Run returns once every worker has returned.
func (p *Pool) Run(signals <-chan os.Signal, ready chan<- struct{}) error {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range p.workers {
		wg.Go(func() { p.work(ctx) })
	}
	p.logger.Info("started", lager.Data{"workers": p.workers})
	close(ready)

	<-signals
	p.mu.Lock()
	p.stopped = true
	dropped := len(p.queue)
	p.queue = nil
	p.wake.Broadcast()
	p.mu.Unlock()
	cancel()
	wg.Wait()
	p.logger.Info("finished", lager.Data{"dropped": dropped})
	return nil
}

func (p *Pool) work(ctx context.Context) {
	for {
		task, ok := p.next()
		if !ok {
			return
		}
		p.Handle(ctx, task)
	}
}

// next waits for a queued task; ok is false once the pool stops.
func (p *Pool) next() (task *models.Task, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.queue) == 0 && !p.stopped {
		p.wake.Wait()
	}
	if p.stopped {
		return nil, false
	}
	task = p.queue[0]
	p.queue[0] = nil
	p.queue = p.queue[1:]
	return task, true
}
