package steps

import (
	"context"
	"errors"
	"fmt"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"google.golang.org/protobuf/proto"

	"github.com/diego-go/diego/internal/clock"
	"github.com/diego-go/diego/internal/models"
)

// Reference defaults of the executor configuration.
const (
	DefaultMaxConcurrentDownloads      = 5
	DefaultMaxConcurrentUploads        = 5
	DefaultHealthyMonitoringInterval   = 30 * time.Second
	DefaultUnhealthyMonitoringInterval = 2 * time.Second
	DefaultGracefulShutdownInterval    = 10 * time.Second
	DefaultHealthCheckWorkPoolSize     = 64
	DefaultDeclarativeCheckTimeout     = time.Second
	// DefaultHealthCheckPath is where the healthcheck binary is
	// bind-mounted in every container.
	DefaultHealthCheckPath = "/etc/cf-assets/healthcheck/healthcheck"
	// HealthSourceName is the log source of the health checks unless the
	// check definition names one.
	HealthSourceName = "HEALTH"
	// DefaultSourceName is the container's source name when neither the
	// run info nor the Logger has one.
	DefaultSourceName = "LOG"
	// healthCheckNoFile is the nofile limit of the health check processes.
	healthCheckNoFile = 1024
)

// Config is the cell's configuration of the step trees.
type Config struct {
	Downloader Downloader
	Uploader   Uploader
	// TempDir holds the upload step's temporary files.
	TempDir string
	// MaxConcurrentDownloads and MaxConcurrentUploads bound the download
	// and upload steps running at once on the cell (5 each).
	MaxConcurrentDownloads int
	MaxConcurrentUploads   int
	// HealthyMonitoringInterval (30 s) is the liveness interval of the
	// legacy monitor and the default interval of declarative checks;
	// UnhealthyMonitoringInterval (2 s) the startup and until-ready one.
	HealthyMonitoringInterval   time.Duration
	UnhealthyMonitoringInterval time.Duration
	// GracefulShutdownInterval (10 s) is the time between SIGTERM and
	// SIGKILL of a cancelled process.
	GracefulShutdownInterval time.Duration
	// HealthCheckWorkPoolSize (64) bounds the legacy monitor checks running
	// at once on the cell.
	HealthCheckWorkPoolSize int
	// HealthCheckPath is the healthcheck binary in the containers
	// (DefaultHealthCheckPath).
	HealthCheckPath string
	// DeclarativeCheckTimeout (1 s) is a check's timeout when its
	// definition has none (declarative_healthcheck_default_timeout).
	DeclarativeCheckTimeout time.Duration
	// PostSetupHook, when set, runs (as PostSetupUser) between the setup
	// and the action, its output discarded.
	PostSetupHook []string
	PostSetupUser string
	// SetupDuration, when set, receives the time from the start of the
	// container's creation to the end of its setup, and the setup's error
	// (ContainerSetup{Succeeded,Failed}Duration).
	SetupDuration func(d time.Duration, err error)
	Clock         clock.Clock
	Logger        lager.Logger
}

func (c *Config) setDefaults() error {
	for name, d := range map[string]time.Duration{
		"healthy monitoring interval":   c.HealthyMonitoringInterval,
		"unhealthy monitoring interval": c.UnhealthyMonitoringInterval,
		"graceful shutdown interval":    c.GracefulShutdownInterval,
		"declarative check timeout":     c.DeclarativeCheckTimeout,
	} {
		if d < 0 {
			return fmt.Errorf("steps: negative %s %s", name, d)
		}
	}
	if c.MaxConcurrentDownloads < 0 || c.MaxConcurrentUploads < 0 || c.HealthCheckWorkPoolSize < 0 {
		return errors.New("steps: negative concurrency limit")
	}
	setDuration(&c.HealthyMonitoringInterval, DefaultHealthyMonitoringInterval)
	setDuration(&c.UnhealthyMonitoringInterval, DefaultUnhealthyMonitoringInterval)
	setDuration(&c.GracefulShutdownInterval, DefaultGracefulShutdownInterval)
	setDuration(&c.DeclarativeCheckTimeout, DefaultDeclarativeCheckTimeout)
	setInt(&c.MaxConcurrentDownloads, DefaultMaxConcurrentDownloads)
	setInt(&c.MaxConcurrentUploads, DefaultMaxConcurrentUploads)
	setInt(&c.HealthCheckWorkPoolSize, DefaultHealthCheckWorkPoolSize)
	if c.HealthCheckPath == "" {
		c.HealthCheckPath = DefaultHealthCheckPath
	}
	if c.Clock == nil {
		c.Clock = clock.New()
	}
	if c.Logger == nil {
		c.Logger = lager.NewLogger("steps")
	}
	return nil
}

func setDuration(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

func setInt(n *int, def int) {
	if *n == 0 {
		*n = def
	}
}

// Transformer builds step trees. One serves the whole cell: it holds the
// cell's download, upload and health check slots.
type Transformer struct {
	cfg           Config
	downloadSlots chan struct{}
	uploadSlots   chan struct{}
	healthSlots   chan struct{}
}

// NewTransformer checks cfg and fills in its defaults.
func NewTransformer(cfg Config) (*Transformer, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &Transformer{
		cfg:           cfg,
		downloadSlots: make(chan struct{}, cfg.MaxConcurrentDownloads),
		uploadSlots:   make(chan struct{}, cfg.MaxConcurrentUploads),
		healthSlots:   make(chan struct{}, cfg.HealthCheckWorkPoolSize),
	}, nil
}

// RunInfo is what the step tree of a container is made of.
type RunInfo struct {
	// Handle is the container's guid; health check processes are named
	// after it.
	Handle string
	// Setup runs first (may be nil); Action is the container's work.
	Setup, Action *models.Action
	// Monitor is the legacy health check action, used when there is no
	// CheckDefinition.
	Monitor         *models.Action
	CheckDefinition *models.CheckDefinition
	Sidecars        []*models.Sidecar
	// StartTimeout bounds the startup check (start_timeout_ms; 0 = none).
	StartTimeout time.Duration
	// Env is added to the env of every process (network.InstanceEnv).
	Env []string
	// SourceName is the container's default log source name; "" = the
	// Logger's SourceName() if it has one, else DefaultSourceName.
	SourceName string
	// CreationStart is when the container's creation began (setup
	// duration).
	CreationStart time.Time
}

// Tree is a container's step tree.
type Tree struct {
	// Step runs everything; it is ready when the container is running.
	Step Step
	// Readiness receives the results of the readiness checks (nil without
	// any); it must be read while Step runs.
	Readiness <-chan ReadinessState
}

// Build makes the step tree of a container, composed as the reference
// does:
//
//	Serial[ Timed(setup), post-setup hook?, LongLived ]
//	LongLived = action, or Codependent[action, sidecars..., health?, readiness?]
//	            (a step ending cleanly stops the others only with sidecars)
//	health    = declarative checks if the check definition has any, else
//	            the legacy monitor (when there is no check definition)
func (t *Transformer) Build(c Container, log Logger, info RunInfo) (*Tree, error) {
	if c == nil {
		return nil, errors.New("steps: no container")
	}
	if log == nil {
		log = DiscardLogger{}
	}
	if info.Action == nil {
		return nil, errors.New("container cannot have empty action")
	}
	if info.StartTimeout < 0 {
		return nil, fmt.Errorf("negative start timeout %s", info.StartTimeout)
	}
	b := &builder{t: t, c: c, info: info, logger: t.cfg.Logger.Session("steps", lager.Data{"handle": info.Handle})}
	b.defaultName = info.SourceName
	if b.defaultName == "" {
		if n, ok := log.(sourceNamer); ok {
			b.defaultName = n.SourceName()
		}
	}
	if b.defaultName == "" {
		b.defaultName = DefaultSourceName
	}

	var setup Step
	if info.Setup != nil {
		s, err := b.step(info.Setup, log, "", false, false)
		if err != nil {
			return nil, fmt.Errorf("setup: %w", err)
		}
		setup = s
	}
	tree := Serial{&Timed{
		Step: setup, Start: info.CreationStart, Clock: t.cfg.Clock,
		Logger: b.logger.Session("setup"), Report: t.cfg.SetupDuration,
	}}
	if hook := t.cfg.PostSetupHook; len(hook) > 0 {
		tree = append(tree, b.run(&models.RunAction{Path: hook[0], Args: hook[1:], User: t.cfg.PostSetupUser}, DiscardLogger{}, "", false))
	}

	action, err := b.step(info.Action, log, "", false, false)
	if err != nil {
		return nil, fmt.Errorf("action: %w", err)
	}
	long := []Step{action}
	for i, sc := range info.Sidecars {
		s, err := b.step(sc.GetAction(), log, "", false, false)
		if err != nil {
			return nil, fmt.Errorf("sidecar %d: %w", i, err)
		}
		long = append(long, s)
	}
	var readiness <-chan ReadinessState
	if cd := info.CheckDefinition; cd != nil {
		if h := b.healthChecks(log); h != nil {
			long = append(long, h)
		}
		if r, states := b.readinessChecks(log); r != nil {
			long = append(long, r)
			readiness = states
		}
	} else if info.Monitor != nil {
		m, err := b.monitor(log)
		if err != nil {
			return nil, fmt.Errorf("monitor: %w", err)
		}
		long = append(long, m)
	}
	if len(long) == 1 {
		tree = append(tree, action)
	} else {
		tree = append(tree, &Codependent{Steps: long, CancelOthersOnExit: len(info.Sidecars) > 0})
	}
	return &Tree{Step: tree, Readiness: readiness}, nil
}

// builder builds the steps of one container.
type builder struct {
	t           *Transformer
	c           Container
	info        RunInfo
	defaultName string
	logger      lager.Logger
}

// pick is the log source of an action: its own, else the inherited one.
func pick(own, inherited string) string {
	if own != "" {
		return own
	}
	return inherited
}

// step builds the step of action a, logging to log under source. In a
// monitor (the legacy health check) run steps keep their exit status to
// themselves and the steps of parallel and codependent actions log into
// buffers that become their error.
func (b *builder) step(a *models.Action, log Logger, source string, suppressExit, monitor bool) (Step, error) {
	if a == nil {
		return nil, errors.New("missing action")
	}
	switch {
	case a.RunAction != nil:
		return b.run(a.RunAction, log, pick(a.RunAction.LogSource, source), suppressExit), nil
	case a.DownloadAction != nil:
		d := a.DownloadAction
		if b.t.cfg.Downloader == nil {
			return nil, errors.New("download action: no downloader configured")
		}
		return &DownloadStep{
			Container: b.c, Action: d, Downloader: b.t.cfg.Downloader, Slots: b.t.downloadSlots,
			Log: log, Source: pick(d.LogSource, source), Logger: b.logger,
		}, nil
	case a.UploadAction != nil:
		u := a.UploadAction
		if b.t.cfg.Uploader == nil {
			return nil, errors.New("upload action: no uploader configured")
		}
		return &UploadStep{
			Container: b.c, Action: u, Uploader: b.t.cfg.Uploader, TempDir: b.t.cfg.TempDir,
			Slots: b.t.uploadSlots, Log: log, Source: pick(u.LogSource, source), Logger: b.logger,
		}, nil
	case a.EmitProgressAction != nil:
		e := a.EmitProgressAction
		inner, err := b.step(e.Action, log, source, suppressExit, monitor)
		if err != nil {
			return nil, fmt.Errorf("emit_progress: %w", err)
		}
		return &EmitProgress{
			Step: inner, Start: e.StartMessage, Success: e.SuccessMessage, FailurePrefix: e.FailureMessagePrefix,
			Log: log, Source: pick(e.LogSource, source),
		}, nil
	case a.TimeoutAction != nil:
		ta := a.TimeoutAction
		d := time.Duration(ta.TimeoutMs) * time.Millisecond
		if ta.TimeoutMs == 0 {
			d = time.Duration(ta.DeprecatedTimeoutNs)
		}
		if d <= 0 {
			return nil, fmt.Errorf("timeout action: timeout_ms must be positive, not %d", ta.TimeoutMs)
		}
		inner, err := b.step(ta.Action, log, pick(ta.LogSource, source), suppressExit, monitor)
		if err != nil {
			return nil, fmt.Errorf("timeout: %w", err)
		}
		return &Timeout{Step: inner, Timeout: d, Clock: b.t.cfg.Clock, Logger: b.logger}, nil
	case a.TryAction != nil:
		inner, err := b.step(a.TryAction.Action, log, pick(a.TryAction.LogSource, source), suppressExit, monitor)
		if err != nil {
			return nil, fmt.Errorf("try: %w", err)
		}
		return &Try{Step: inner, Logger: b.logger}, nil
	case a.ParallelAction != nil:
		p := a.ParallelAction
		children, err := b.children(p.Actions, log, pick(p.LogSource, source), suppressExit, monitor)
		if err != nil {
			return nil, fmt.Errorf("parallel: %w", err)
		}
		return Parallel(children), nil
	case a.CodependentAction != nil:
		p := a.CodependentAction
		children, err := b.children(p.Actions, log, pick(p.LogSource, source), suppressExit, monitor)
		if err != nil {
			return nil, fmt.Errorf("codependent: %w", err)
		}
		return &Codependent{Steps: children, ErrorOnExit: true}, nil
	case a.SerialAction != nil:
		var children Serial
		for i, child := range a.SerialAction.Actions {
			s, err := b.step(child, log, source, suppressExit, monitor)
			if err != nil {
				return nil, fmt.Errorf("serial %d: %w", i, err)
			}
			children = append(children, s)
		}
		return children, nil
	}
	return nil, errors.New("action has no kind")
}

// children builds the steps of a parallel or codependent action.
func (b *builder) children(actions []*models.Action, log Logger, source string, suppressExit, monitor bool) ([]Step, error) {
	out := make([]Step, 0, len(actions))
	for i, child := range actions {
		s, err := b.step(child, log, source, suppressExit, monitor)
		if err != nil {
			return nil, fmt.Errorf("%d: %w", i, err)
		}
		if monitor {
			s = &OutputWrapper{Build: func(buf Logger) Step {
				s, err := b.step(child, buf, source, suppressExit, monitor)
				if err != nil { // checked above
					return StepFunc(func(context.Context, func()) error { return err })
				}
				return s
			}}
		}
		out = append(out, s)
	}
	return out, nil
}

func (b *builder) run(a *models.RunAction, log Logger, source string, suppressExit bool) *RunStep {
	return &RunStep{
		Container: b.c, Action: a, Env: b.info.Env,
		Log: log, Source: source, SourceName: pick(source, b.defaultName),
		SuppressExitStatus: suppressExit, GracefulShutdown: b.t.cfg.GracefulShutdownInterval,
		Logger: b.logger,
	}
}

// monitor builds the legacy health check: the monitor action run afresh
// (throttled by the cell's health check pool) every unhealthy interval
// until it passes (within the start timeout), then every healthy interval
// until it fails. Its run actions always log (suppress_log_output is
// ignored) but keep their exit status to themselves.
func (b *builder) monitor(log Logger) (Step, error) {
	m := proto.Clone(b.info.Monitor).(*models.Action)
	forceLogOutput(m)
	if _, err := b.step(m, log, "", true, true); err != nil {
		return nil, err
	}
	check := func() Step {
		s, _ := b.step(m, log, "", true, true) // checked above
		return &Throttle{Step: s, Slots: b.t.healthSlots}
	}
	cfg := b.t.cfg
	return &HealthCheck{
		Startup: Parallel{&EventuallySucceeds{
			Create: check, Frequency: cfg.UnhealthyMonitoringInterval, Timeout: b.info.StartTimeout, Clock: cfg.Clock,
		}},
		Liveness: &ConsistentlySucceeds{Create: check, Frequency: cfg.HealthyMonitoringInterval, Clock: cfg.Clock},
		Log:      log,
		Clock:    cfg.Clock,
		Logger:   b.logger.Session("monitor"),
	}, nil
}

// forceLogOutput clears suppress_log_output in the run actions of a.
func forceLogOutput(a *models.Action) {
	switch {
	case a == nil:
	case a.RunAction != nil:
		a.RunAction.SuppressLogOutput = false
	case a.TryAction != nil:
		forceLogOutput(a.TryAction.Action)
	case a.TimeoutAction != nil:
		forceLogOutput(a.TimeoutAction.Action)
	case a.EmitProgressAction != nil:
		forceLogOutput(a.EmitProgressAction.Action)
	case a.ParallelAction != nil:
		for _, c := range a.ParallelAction.Actions {
			forceLogOutput(c)
		}
	case a.SerialAction != nil:
		for _, c := range a.SerialAction.Actions {
			forceLogOutput(c)
		}
	case a.CodependentAction != nil:
		for _, c := range a.CodependentAction.Actions {
			forceLogOutput(c)
		}
	}
}
