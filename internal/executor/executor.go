package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/internal/clock"
	"github.com/diego-go/diego/internal/executor/logs"
	"github.com/diego-go/diego/internal/executor/steps"
)

// Defaults of the reference's configuration (§4.14).
const (
	DefaultReservedExpirationTime = time.Minute
	DefaultContainerReapInterval  = time.Minute
	DefaultCreateWorkPoolSize     = 32
	DefaultDeleteWorkPoolSize     = 32
	DefaultContainerMaxCPUShares  = 1024
	// MaxFailureReasonLength bounds a failure reason; longer ones lose
	// their middle.
	MaxFailureReasonLength = 10000
)

const mib = 1024 * 1024

// guidPattern is what a container guid may be: it names containerd
// objects, files, network namespaces and log files.
var guidPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// Config configures an Executor.
type Config struct {
	// CellID names the cell in the app log messages.
	CellID string
	// Backend makes the containers (required).
	Backend Backend
	// Transformer builds the step trees (required).
	Transformer *steps.Transformer
	// LogSink receives the containers' logs (logs.Discard if nil).
	LogSink logs.Sink
	// Capacity overrides the backend's capacity, field by field (0 = the
	// backend's).
	Capacity Resources
	// ReservedExpirationTime: a container still reserved after it is
	// completed as expired; the pruner looks every half of it.
	ReservedExpirationTime time.Duration
	// ContainerReapInterval is how often the backend's containers are
	// compared with the registry.
	ContainerReapInterval time.Duration
	// CreateWorkPoolSize and DeleteWorkPoolSize bound the creations and
	// destructions running at once.
	CreateWorkPoolSize int
	DeleteWorkPoolSize int
	// ContainerMaxCPUShares are the shares of cpu_weight 100.
	ContainerMaxCPUShares uint64
	// MaxLogLinesPerSecond is the operator's log line limit (0 = none).
	MaxLogLinesPerSecond int
	// OnRateLimitExceeded counts log lines over a limit.
	OnRateLimitExceeded func()
	// SkipCleanup leaves what a previous run left (tests that share a
	// backend).
	SkipCleanup bool
	Clock       clock.Clock
	Logger      lager.Logger
}

func (c *Config) setDefaults() error {
	if c.Backend == nil {
		return errors.New("executor: a backend is required")
	}
	if c.Transformer == nil {
		return errors.New("executor: a step transformer is required")
	}
	if c.Capacity.MemoryMB < 0 || c.Capacity.DiskMB < 0 || c.Capacity.Containers < 0 {
		return fmt.Errorf("executor: negative capacity %+v", c.Capacity)
	}
	if c.ReservedExpirationTime < 0 || c.ContainerReapInterval < 0 || c.CreateWorkPoolSize < 0 || c.DeleteWorkPoolSize < 0 || c.MaxLogLinesPerSecond < 0 {
		return errors.New("executor: negative interval or pool size")
	}
	if c.LogSink == nil {
		c.LogSink = logs.Discard{}
	}
	if c.ReservedExpirationTime == 0 {
		c.ReservedExpirationTime = DefaultReservedExpirationTime
	}
	if c.ContainerReapInterval == 0 {
		c.ContainerReapInterval = DefaultContainerReapInterval
	}
	if c.CreateWorkPoolSize == 0 {
		c.CreateWorkPoolSize = DefaultCreateWorkPoolSize
	}
	if c.DeleteWorkPoolSize == 0 {
		c.DeleteWorkPoolSize = DefaultDeleteWorkPoolSize
	}
	if c.ContainerMaxCPUShares == 0 {
		c.ContainerMaxCPUShares = DefaultContainerMaxCPUShares
	}
	if c.Clock == nil {
		c.Clock = clock.New()
	}
	if c.Logger == nil {
		c.Logger = lager.NewLogger("executor")
	}
	return nil
}

// Executor tracks the cell's containers. Its methods are safe for
// concurrent use.
type Executor struct {
	cfg    Config
	logger lager.Logger
	total  Resources
	hub    *hub

	createSlots, deleteSlots chan struct{}

	// ctx ends at Close: creations and step trees run under it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	nodes     map[string]*node
	remaining Resources
	closed    bool
}

// node is one container: its record and what runs it. Fields are guarded
// by Executor.mu.
type node struct {
	info     Container
	bc       BackendContainer
	streamer *logs.Streamer

	// createCancel ends the creation's context (delete); createDone is
	// closed when the creation goroutine ends (nil before RunContainer).
	createCancel context.CancelFunc
	createDone   chan struct{}
	// treeCancel interrupts the step tree; treeDone is closed when it has
	// exited and the container completed (nil until the tree starts).
	treeCancel context.CancelFunc
	treeDone   chan struct{}
	readiness  bool // the tree has readiness checks
	ready      bool // the last readiness result

	// deleting is closed when a deletion ends; deleteErr is its result.
	deleting  chan struct{}
	deleteErr error
}

// New makes an executor on cfg.Backend: it reads the backend's capacity
// and removes what a previous run left (unless cfg.SkipCleanup).
func New(ctx context.Context, cfg Config) (*Executor, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	total, err := cfg.Backend.Capacity(ctx)
	if err != nil {
		return nil, fmt.Errorf("executor: capacity: %w", err)
	}
	if cfg.Capacity.MemoryMB > 0 {
		total.MemoryMB = cfg.Capacity.MemoryMB
	}
	if cfg.Capacity.DiskMB > 0 {
		total.DiskMB = cfg.Capacity.DiskMB
	}
	if cfg.Capacity.Containers > 0 {
		total.Containers = cfg.Capacity.Containers
	}
	if total.MemoryMB <= 0 || total.DiskMB <= 0 || total.Containers <= 0 {
		return nil, fmt.Errorf("executor: capacity must be positive, got %+v", total)
	}
	if !cfg.SkipCleanup {
		if err := cfg.Backend.Cleanup(ctx); err != nil {
			return nil, fmt.Errorf("executor: cleanup of the previous run: %w", err)
		}
	}
	e := &Executor{
		cfg:         cfg,
		logger:      cfg.Logger.Session("executor"),
		total:       total,
		remaining:   total,
		hub:         newHub(),
		createSlots: make(chan struct{}, cfg.CreateWorkPoolSize),
		deleteSlots: make(chan struct{}, cfg.DeleteWorkPoolSize),
		nodes:       map[string]*node{},
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	return e, nil
}

// TotalResources is the cell's capacity.
func (e *Executor) TotalResources() Resources { return e.total }

// RemainingResources is the capacity not reserved by a container in the
// registry (completed containers hold theirs until deleted).
func (e *Executor) RemainingResources() Resources {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.remaining
}

// Subscribe returns a subscription to the events from now on.
func (e *Executor) Subscribe() *Subscription { return e.hub.subscribe() }

// Allocate reserves resources for containers, all or nothing per request,
// and returns the requests it refused.
func (e *Executor) Allocate(reqs []AllocationRequest) []AllocationFailure {
	var failed []AllocationFailure
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, req := range reqs {
		if err := e.reserveLocked(req); err != nil {
			failed = append(failed, AllocationFailure{AllocationRequest: req, Err: err})
		}
	}
	return failed
}

func (e *Executor) reserveLocked(req AllocationRequest) error {
	switch {
	case e.closed:
		return ErrShuttingDown
	case req.Guid == "":
		return ErrGuidNotSpecified
	case !guidPattern.MatchString(req.Guid):
		return fmt.Errorf("%w: %q must be 1-128 letters, digits, '_', '.' or '-', starting with a letter or digit", ErrGuidNotSpecified, req.Guid)
	case req.MemoryMB < 0 || req.DiskMB < 0 || req.MaxPids < 0:
		return ErrLimitsInvalid
	}
	if _, ok := e.nodes[req.Guid]; ok {
		return ErrContainerGuidNotAvailable
	}
	r := e.remaining
	if r.MemoryMB < req.MemoryMB || r.DiskMB < req.DiskMB || r.Containers < 1 {
		return ErrInsufficientResourcesAvailable
	}
	e.remaining = Resources{MemoryMB: r.MemoryMB - req.MemoryMB, DiskMB: r.DiskMB - req.DiskMB, Containers: r.Containers - 1}
	n := &node{info: Container{
		Guid:        req.Guid,
		Resource:    req.Resource,
		Tags:        maps.Clone(req.Tags),
		State:       StateReserved,
		AllocatedAt: e.cfg.Clock.Now().UnixNano(),
	}}
	e.nodes[req.Guid] = n
	e.emitLocked(EventContainerReserved, n)
	return nil
}

// emitLocked sends an event about n; under e.mu, so events keep the order
// of the changes.
func (e *Executor) emitLocked(t EventType, n *node) {
	e.hub.emit(Event{Type: t, Container: n.info.Copy()})
}

// GetContainer returns a container's record.
func (e *Executor) GetContainer(guid string) (Container, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, ok := e.nodes[guid]
	if !ok {
		return Container{}, ErrContainerNotFound
	}
	return n.info.Copy(), nil
}

// ListContainers returns every container's record, by guid.
func (e *Executor) ListContainers() []Container {
	e.mu.Lock()
	out := make([]Container, 0, len(e.nodes))
	for _, n := range e.nodes {
		out = append(out, n.info.Copy())
	}
	e.mu.Unlock()
	slices.SortFunc(out, func(a, b Container) int { return strings.Compare(a.Guid, b.Guid) })
	return out
}

// RunContainer gives a reserved container what it runs and starts its
// creation; the outcome arrives as events (running, complete).
func (e *Executor) RunContainer(req RunRequest) error {
	if req.Action == nil {
		return fmt.Errorf("%w: container cannot have empty action", ErrStepsInvalid)
	}
	if req.LogConfig.Index < 0 || req.LogRateLimitBytesPerSecond < logs.Unlimited {
		return fmt.Errorf("%w: log index %d, log rate limit %d", ErrLimitsInvalid, req.LogConfig.Index, req.LogRateLimitBytesPerSecond)
	}
	if req.CPUWeight > 100 {
		return fmt.Errorf("%w: cpu weight %d over 100", ErrLimitsInvalid, req.CPUWeight)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrShuttingDown
	}
	n, ok := e.nodes[req.Guid]
	if !ok {
		return ErrContainerNotFound
	}
	if n.info.State != StateReserved || n.deleting != nil {
		return ErrInvalidTransition
	}
	n.info.RunInfo = req.RunInfo
	n.info = n.info.Copy()
	if len(req.Tags) > 0 {
		if n.info.Tags == nil {
			n.info.Tags = map[string]string{}
		}
		maps.Copy(n.info.Tags, req.Tags)
	}
	n.info.State = StateInitializing
	ctx, cancel := context.WithCancel(e.ctx)
	n.createCancel = cancel
	n.createDone = make(chan struct{})
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer close(n.createDone)
		defer cancel()
		e.create(ctx, n)
	}()
	return nil
}

// create makes n's container and starts its step tree.
func (e *Executor) create(ctx context.Context, n *node) {
	e.mu.Lock()
	info := n.info.Copy()
	e.mu.Unlock()
	logger := e.logger.Session("create", lager.Data{"guid": info.Guid})

	streamer, err := logs.New(logs.Config{
		Sink:                e.cfg.LogSink,
		Container:           info.Guid,
		CellID:              e.cfg.CellID,
		SourceID:            info.LogConfig.Guid,
		SourceName:          info.LogConfig.SourceName,
		Index:               info.LogConfig.Index,
		Tags:                info.LogConfig.Tags,
		RateLimit:           info.LogRateLimitBytesPerSecond,
		MaxLinesPerSecond:   e.cfg.MaxLogLinesPerSecond,
		Clock:               e.cfg.Clock,
		Logger:              logger,
		OnRateLimitExceeded: e.cfg.OnRateLimitExceeded,
	})
	if err != nil {
		e.complete(n, true, reasonCreateFailed+err.Error(), false)
		return
	}
	e.mu.Lock()
	n.streamer = streamer
	done := n.info.State == StateCompleted
	e.mu.Unlock()
	if done {
		return
	}

	select {
	case e.createSlots <- struct{}{}:
	case <-ctx.Done():
		e.complete(n, true, ReasonStoppedBeforeRunning, false)
		return
	}
	streamer.CreatingContainer()
	start := e.cfg.Clock.Now()
	bc, err := e.cfg.Backend.Create(ctx, e.spec(info))
	<-e.createSlots
	if err != nil {
		logger.Error("failed-to-create", err)
		streamer.FailedToCreateContainer(err)
		e.complete(n, true, reasonCreateFailed+err.Error(), true)
		return
	}
	logger.Info("created", lager.Data{"took": e.cfg.Clock.Since(start).String()})

	net := bc.Net()
	e.mu.Lock()
	n.bc = bc
	if n.info.State == StateCompleted {
		e.mu.Unlock()
		return
	}
	n.info.State = StateCreated
	n.info.ExternalIP, n.info.InternalIP = net.ExternalIP, net.InternalIP
	n.info.Ports = slices.Clone(net.Ports)
	n.info.MemoryLimit = uint64(info.MemoryMB) * mib
	n.info.DiskLimit = uint64(info.DiskMB) * mib
	e.mu.Unlock()
	streamer.CreatedContainer()

	tree, err := e.cfg.Transformer.Build(bc, streamer, steps.RunInfo{
		Handle:          info.Guid,
		Setup:           info.Setup,
		Action:          info.Action,
		Monitor:         info.Monitor,
		CheckDefinition: info.CheckDefinition,
		Sidecars:        info.Sidecars,
		StartTimeout:    time.Duration(info.StartTimeoutMs) * time.Millisecond,
		Env:             net.Env,
		CreationStart:   start,
	})
	if err != nil {
		logger.Error("failed-to-build-steps", err)
		e.complete(n, true, err.Error(), false)
		return
	}

	treeCtx, cancel := context.WithCancel(e.ctx)
	e.mu.Lock()
	if n.info.State == StateCompleted || n.info.RunResult.Stopped {
		e.mu.Unlock()
		cancel()
		e.complete(n, true, ReasonStoppedBeforeRunning, false)
		return
	}
	n.treeCancel = cancel
	n.treeDone = make(chan struct{})
	n.readiness = tree.Readiness != nil
	e.mu.Unlock()

	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer close(n.treeDone)
		defer cancel()
		e.runTree(treeCtx, n, tree, bc)
	}()
}

// spec is the backend's view of a container.
func (e *Executor) spec(c Container) Spec {
	var shares uint64
	if c.CPUWeight > 0 {
		shares = e.cfg.ContainerMaxCPUShares * uint64(c.CPUWeight) / 100
	}
	return Spec{
		Guid:             c.Guid,
		RootFS:           c.RootFSPath,
		ImageUsername:    c.ImageUsername,
		ImagePassword:    c.ImagePassword,
		MemoryLimitBytes: uint64(c.MemoryMB) * mib,
		DiskLimitBytes:   uint64(c.DiskMB) * mib,
		MaxPids:          int64(c.MaxPids),
		CPUShares:        shares,
		Privileged:       c.Privileged,
		Env:              slices.Clone(c.Env),
		Ports:            slices.Clone(c.RunInfo.Ports),
		EgressRules:      c.EgressRules,
	}
}

// runTree runs n's step tree until it exits and completes n.
func (e *Executor) runTree(ctx context.Context, n *node, tree *steps.Tree, bc BackendContainer) {
	if tree.Readiness != nil {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				select {
				case st := <-tree.Readiness:
					e.setRoutable(n, st == steps.IsReady)
				case <-stop:
					return
				}
			}
		}()
	}
	err := tree.Step.Run(ctx, func() { e.markRunning(n) })
	if err == nil {
		e.complete(n, false, "", false)
		return
	}
	reason := err.Error()
	if f := bc.Failure(); f != nil {
		reason = f.Error()
	}
	e.complete(n, true, reason, false)
}

func (e *Executor) markRunning(n *node) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if n.info.State != StateCreated {
		return
	}
	n.info.State = StateRunning
	n.info.Routable = !n.readiness || n.ready
	e.emitLocked(EventContainerRunning, n)
}

func (e *Executor) setRoutable(n *node, routable bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n.ready = routable
	if n.info.State != StateRunning {
		return
	}
	n.info.Routable = routable
	e.emitLocked(EventContainerRunning, n)
}

// complete moves n to completed once; later calls do nothing.
func (e *Executor) complete(n *node, failed bool, reason string, retryable bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if n.info.State == StateCompleted {
		return
	}
	n.info.State = StateCompleted
	n.info.Routable = false
	n.info.RunResult.Failed = failed
	n.info.RunResult.FailureReason = truncateMiddle(reason, MaxFailureReasonLength)
	n.info.RunResult.Retryable = retryable
	e.emitLocked(EventContainerComplete, n)
}

// truncateMiddle keeps the start and the end of s within max bytes.
func truncateMiddle(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const marker = " ... "
	keep := (max - len(marker)) / 2
	return s[:keep] + marker + s[len(s)-keep:]
}

// StopContainer stops a container: its processes are interrupted (SIGTERM,
// then SIGKILL after the graceful shutdown interval) and it completes with
// RunResult.Stopped; one not yet running completes at once.
func (e *Executor) StopContainer(guid string) error {
	e.mu.Lock()
	n, ok := e.nodes[guid]
	e.mu.Unlock()
	if !ok {
		return ErrContainerNotFound
	}
	e.stop(n)
	return nil
}

func (e *Executor) stop(n *node) {
	e.mu.Lock()
	already := n.info.RunResult.Stopped
	n.info.RunResult.Stopped = true
	cancel, streamer := n.treeCancel, n.streamer
	completed := n.info.State == StateCompleted
	e.mu.Unlock()
	switch {
	case cancel != nil:
		if !already && !completed && streamer != nil {
			streamer.StoppingInstance()
		}
		cancel()
	case !completed:
		e.complete(n, true, ReasonStoppedBeforeRunning, false)
	}
}

// DeleteContainer stops a container, waits for its processes, destroys it
// and returns its resources. Concurrent deletes of one container share the
// work; a failed destroy leaves the container in the registry to retry.
func (e *Executor) DeleteContainer(ctx context.Context, guid string) error {
	e.mu.Lock()
	n, ok := e.nodes[guid]
	if !ok {
		e.mu.Unlock()
		return ErrContainerNotFound
	}
	if ch := n.deleting; ch != nil {
		e.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		return n.deleteErr
	}
	ch := make(chan struct{})
	n.deleting = ch
	e.mu.Unlock()

	err := e.delete(ctx, n)
	e.mu.Lock()
	n.deleteErr = err
	n.deleting = nil
	if err == nil {
		if e.nodes[n.info.Guid] == n {
			delete(e.nodes, n.info.Guid)
			e.remaining.MemoryMB += n.info.MemoryMB
			e.remaining.DiskMB += n.info.DiskMB
			e.remaining.Containers++
		}
	}
	e.mu.Unlock()
	close(ch)
	return err
}

func (e *Executor) delete(ctx context.Context, n *node) error {
	logger := e.logger.Session("delete", lager.Data{"guid": n.info.Guid})
	e.stop(n)
	e.mu.Lock()
	createCancel, createDone := n.createCancel, n.createDone
	e.mu.Unlock()
	if createDone == nil {
		return nil // reserved only: nothing was created
	}
	// A creation still running is cancelled: the container will not run.
	select {
	case <-createDone:
	default:
		createCancel()
		select {
		case <-createDone:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	e.mu.Lock()
	treeDone, streamer := n.treeDone, n.streamer
	e.mu.Unlock()
	if treeDone != nil {
		select {
		case <-treeDone:
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	select {
	case e.deleteSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-e.deleteSlots }()
	if streamer != nil {
		streamer.DestroyingContainer()
	}
	if err := e.cfg.Backend.Destroy(ctx, n.info.Guid); err != nil {
		logger.Error("failed-to-destroy", err)
		if streamer != nil {
			streamer.FailedToDestroyContainer()
		}
		return err
	}
	if streamer != nil {
		streamer.DestroyedContainer()
		if err := streamer.Close(); err != nil {
			logger.Error("failed-to-close-log", err)
		}
	}
	return nil
}

// UpdateMetricTags replaces a container's metric tags (its log tags too).
func (e *Executor) UpdateMetricTags(guid string, tags map[string]string) error {
	e.mu.Lock()
	n, ok := e.nodes[guid]
	if !ok {
		e.mu.Unlock()
		return ErrContainerNotFound
	}
	n.info.LogConfig.Tags = maps.Clone(tags)
	streamer := n.streamer
	e.mu.Unlock()
	if streamer != nil {
		streamer.UpdateTags(tags)
	}
	return nil
}

// GetFiles returns a tar archive of path in a created container, read as
// root (a task's result file).
func (e *Executor) GetFiles(ctx context.Context, guid, path string) (io.ReadCloser, error) {
	e.mu.Lock()
	n, ok := e.nodes[guid]
	var bc BackendContainer
	if ok {
		bc = n.bc
	}
	e.mu.Unlock()
	if bc == nil {
		return nil, ErrContainerNotFound
	}
	return bc.StreamOut(ctx, path, "root")
}

// BulkMetrics returns the metrics of the created and running containers.
func (e *Executor) BulkMetrics(ctx context.Context) map[string]Metrics {
	e.mu.Lock()
	var guids []string
	for guid, n := range e.nodes {
		if n.info.State == StateCreated || n.info.State == StateRunning {
			guids = append(guids, guid)
		}
	}
	e.mu.Unlock()
	if len(guids) == 0 {
		return map[string]Metrics{}
	}
	return e.cfg.Backend.BulkMetrics(ctx, guids)
}

// Run runs the pruner of expired reservations and the reaper of lost and
// unknown containers until ctx ends.
func (e *Executor) Run(ctx context.Context) error {
	prune := e.cfg.Clock.NewTicker(e.cfg.ReservedExpirationTime / 2)
	defer prune.Stop()
	reap := e.cfg.Clock.NewTicker(e.cfg.ContainerReapInterval)
	defer reap.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-prune.C():
			e.Prune()
		case <-reap.C():
			if err := e.Reap(ctx); err != nil && ctx.Err() == nil {
				e.logger.Error("reap-failed", err)
			}
		}
	}
}

// Prune completes the containers reserved for longer than the reserved
// expiration time.
func (e *Executor) Prune() {
	now := e.cfg.Clock.Now()
	var expired []*node
	e.mu.Lock()
	for _, n := range e.nodes {
		if n.info.State == StateReserved && now.Sub(time.Unix(0, n.info.AllocatedAt)) >= e.cfg.ReservedExpirationTime {
			expired = append(expired, n)
		}
	}
	e.mu.Unlock()
	for _, n := range expired {
		e.logger.Info("expired-reservation", lager.Data{"guid": n.info.Guid})
		e.complete(n, true, ReasonExpired, false)
	}
}

// Reap destroys the backend's containers the registry does not know, and
// completes the registry's created containers the backend lost.
func (e *Executor) Reap(ctx context.Context) error {
	// Containers created before the listing must appear in it.
	e.mu.Lock()
	created := map[string]*node{}
	for guid, n := range e.nodes {
		if n.bc != nil {
			created[guid] = n
		}
	}
	e.mu.Unlock()
	guids, err := e.cfg.Backend.List(ctx)
	if err != nil {
		return err
	}
	listed := make(map[string]bool, len(guids))
	var unknown []string
	e.mu.Lock()
	for _, guid := range guids {
		listed[guid] = true
		if _, ok := e.nodes[guid]; !ok {
			unknown = append(unknown, guid)
		}
	}
	e.mu.Unlock()
	for _, guid := range unknown {
		e.logger.Info("reaping-unknown-container", lager.Data{"guid": guid})
		if err := e.cfg.Backend.Destroy(ctx, guid); err != nil {
			e.logger.Error("failed-to-reap", err, lager.Data{"guid": guid})
		}
	}
	for guid, n := range created {
		if !listed[guid] {
			e.logger.Info("container-missing", lager.Data{"guid": guid})
			e.complete(n, true, ReasonMissing, false)
		}
	}
	return nil
}

// Close interrupts every step tree and creation, waits for them and ends
// the event subscriptions. Containers are left to the backend (the next
// start's cleanup removes them).
func (e *Executor) Close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait()
	e.hub.close()
}
