package steps

import (
	"context"
	"errors"
	"fmt"
	"time"

	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/internal/executor/containerd"
	"github.com/diego-go/diego/internal/models"
)

// ExitTimeout is how long a run step waits for its process to exit after
// SIGKILL before giving up with ExitTimeoutError.
const ExitTimeout = time.Second

// RunStep runs a process in the container (the run action). It is ready
// once the process has started. Exit 0 succeeds. Any exit logs `Exit
// status N` on stdout (unless SuppressExitStatus), and a non-zero one fails
// with `<source name>: Exited with status N`, both with ` (out of memory)`
// when the container had an OOM kill. When ctx is cancelled the process is
// stopped (SIGTERM, SIGKILL after GracefulShutdown) and the step fails with
// CancelledError, or ExceededGracefulShutdownIntervalError when SIGKILL was
// needed (the exit line then says `(exceeded <d> graceful shutdown
// interval)`), or ExitTimeoutError when even SIGKILL did not end it within
// ExitTimeout.
type RunStep struct {
	Container Container
	Action    *models.RunAction
	// Env is added after the action's env (the networking variables).
	Env []string
	// ProcessID names the process (sidecars, health checks); "" = generated.
	ProcessID string
	// NoFile overrides the action's nofile limit when not 0.
	NoFile uint64
	// Log receives the output under Source unless the action suppresses it.
	Log    Logger
	Source string
	// SourceName is the name in the failure message (the action's
	// log_source, else the container's default source name).
	SourceName string
	// SuppressExitStatus leaves out the exit status messages (monitor and
	// health check processes: their output is the message).
	SuppressExitStatus bool
	GracefulShutdown   time.Duration
	Logger             lager.Logger
}

// Run runs the process.
func (s *RunStep) Run(ctx context.Context, ready func()) error {
	logger := s.logger().Session("run-step", lager.Data{"path": s.Action.GetPath()})
	if ctx.Err() != nil {
		logger.Info("cancelled-before-creating-process")
		return &CancelledError{}
	}
	a := s.Action
	spec := containerd.ProcessSpec{
		ID:   s.ProcessID,
		Path: a.GetPath(),
		Args: a.GetArgs(),
		Dir:  a.GetDir(),
		User: a.GetUser(),
		Env:  append(envList(a.GetEnv()), s.Env...),
	}
	if rl := a.GetResourceLimits(); rl != nil && rl.Nofile != nil {
		spec.NoFile = rl.GetNofile()
	}
	if s.NoFile > 0 {
		spec.NoFile = s.NoFile
	}
	if !a.GetSuppressLogOutput() {
		spec.Output = func(stream containerd.Stream, line string) { s.log().Line(s.Source, stream, line) }
	}
	// The process is created even if ctx ends meanwhile, and then stopped
	// like any other: nothing is left running behind the step's back.
	proc, err := s.Container.Run(context.WithoutCancel(ctx), spec)
	if err != nil {
		logger.Error("failed-creating-process", err)
		s.stdout("failed-creating-process: " + err.Error())
		return err
	}
	ready()

	type result struct {
		status containerd.ExitStatus
		err    error
	}
	exited := make(chan result, 1)
	go func() {
		st, err := proc.Wait(context.WithoutCancel(ctx))
		exited <- result{st, err}
	}()
	select {
	case r := <-exited:
		if r.err != nil {
			logger.Error("running-error", r.err)
			return r.err
		}
		return s.exited(logger, r.status, false, false)
	case <-ctx.Done():
	}

	logger.Info("signalling-terminate")
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.GracefulShutdown+ExitTimeout)
	defer cancel()
	st, killed, err := proc.Stop(stopCtx, s.GracefulShutdown)
	if errors.Is(err, context.DeadlineExceeded) {
		logger.Error("process-did-not-exit", nil, lager.Data{"timeout": ExitTimeout})
		return &ExitTimeoutError{}
	}
	if err != nil {
		logger.Error("stopping-error", err)
		return err
	}
	return s.exited(logger, st, true, killed)
}

func (s *RunStep) exited(logger lager.Logger, st containerd.ExitStatus, cancelled, killed bool) error {
	logger.Info("process-exit", lager.Data{"exit-status": st.Code, "cancelled": cancelled, "killed": killed})
	var line, reason string
	if !s.SuppressExitStatus {
		line = fmt.Sprintf("Exit status %d", st.Code)
		reason = fmt.Sprintf("%s: Exited with status %d", s.SourceName, st.Code)
	}
	if killed {
		line = fmt.Sprintf("%s (exceeded %s graceful shutdown interval)", line, s.GracefulShutdown)
	}
	if st.Code != 0 && st.OOMKilled {
		line += " (out of memory)"
		reason += " (out of memory)"
	}
	s.stdout(line)
	switch {
	case killed:
		return &ExceededGracefulShutdownIntervalError{}
	case cancelled:
		return &CancelledError{}
	case st.Code != 0:
		return NewEmittableError(nil, "%s", reason)
	}
	return nil
}

// stdout logs an executor message about the process, unless the action
// suppresses its output.
func (s *RunStep) stdout(msg string) {
	if msg != "" && !s.Action.GetSuppressLogOutput() {
		s.log().Line(s.Source, containerd.Stdout, msg)
	}
}

func (s *RunStep) log() Logger {
	if s.Log == nil {
		return DiscardLogger{}
	}
	return s.Log
}

func (s *RunStep) logger() lager.Logger { return loggerOr(s.Logger) }

func loggerOr(l lager.Logger) lager.Logger {
	if l == nil {
		return lager.NewLogger("steps")
	}
	return l
}

func envList(env []*models.EnvironmentVariable) []string {
	out := make([]string, 0, len(env))
	for _, e := range env {
		out = append(out, e.GetName()+"="+e.GetValue())
	}
	return out
}
