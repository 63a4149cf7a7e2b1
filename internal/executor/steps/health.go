package steps

import (
	"context"
	"fmt"
	"time"

	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/internal/clock"
	"github.com/diego-go/diego/internal/executor/containerd"
)

// The executor's health messages (reference texts).
const (
	msgStartingHealth     = "Starting health monitoring of container"
	msgHealthy            = "Container became healthy"
	msgUnhealthy          = "Container became unhealthy"
	msgStartupNeverPass   = "Failed after %s: startup health check never passed."
	msgStartingReadiness  = "Starting readiness health monitoring of container"
	msgReadinessFailedRun = "Failed to run the readiness check"
	msgReady              = "Container passed the readiness health check. Container marked ready and added to route pool."
	msgNotReady           = "Container failed the readiness health check. Container marked not ready and removed from route pool."

	reasonNeverHealthy    = "Instance never healthy after %s: %s"
	reasonBecameUnhealthy = "Instance became unhealthy: %s"
	reasonLivenessEnded   = "liveness check exited"
)

// EventuallySucceeds runs a fresh step from Create every Frequency (the
// first one after Frequency) until one succeeds. With a Timeout, the first
// failure after Timeout is its result. It is ready at once.
type EventuallySucceeds struct {
	Create    func() Step
	Frequency time.Duration
	Timeout   time.Duration
	Clock     clock.Clock
}

// Run checks until a check passes.
func (e *EventuallySucceeds) Run(ctx context.Context, ready func()) error {
	ready()
	clk := clockOr(e.Clock)
	start := clk.Now()
	t := clk.NewTimer(e.Frequency)
	defer t.Stop()
	for {
		select {
		case <-t.C():
		case <-ctx.Done():
			return &CancelledError{}
		}
		err := e.Create().Run(ctx, NoReady)
		if err == nil || ctx.Err() != nil {
			return err
		}
		if e.Timeout > 0 && clk.Now().After(start.Add(e.Timeout)) {
			return err
		}
		t.Reset(e.Frequency)
	}
}

// ConsistentlySucceeds runs a fresh step from Create every Frequency (the
// first one after Frequency) until one fails; that failure is its result.
// It is ready at once.
type ConsistentlySucceeds struct {
	Create    func() Step
	Frequency time.Duration
	Clock     clock.Clock
}

// Run checks until a check fails.
func (c *ConsistentlySucceeds) Run(ctx context.Context, ready func()) error {
	ready()
	t := clockOr(c.Clock).NewTimer(c.Frequency)
	defer t.Stop()
	for {
		select {
		case <-t.C():
		case <-ctx.Done():
			return &CancelledError{}
		}
		if err := c.Create().Run(ctx, NoReady); err != nil {
			return err
		}
		t.Reset(c.Frequency)
	}
}

// HealthCheck runs Startup, and once it succeeds becomes ready and runs
// Liveness until that fails. Its failures are the crash reasons `Instance
// never healthy after <d>: <error>` and `Instance became unhealthy:
// <error>`; the check's own message is logged under HealthSource.
type HealthCheck struct {
	Startup  Step
	Liveness Step
	Log      Logger
	// HealthSource is the source of the checks' messages ("" = the
	// container's default).
	HealthSource string
	Clock        clock.Clock
	Logger       lager.Logger
}

// Run checks startup, then liveness.
func (h *HealthCheck) Run(ctx context.Context, ready func()) error {
	logger := loggerOr(h.Logger).Session("health-check-step")
	clk := clockOr(h.Clock)
	h.Log.Line("", containerd.Stdout, msgStartingHealth)
	start := clk.Now()
	err := h.Startup.Run(ctx, NoReady)
	if ctx.Err() != nil {
		return &CancelledError{}
	}
	if err != nil {
		after := clk.Since(start).Round(time.Millisecond)
		h.Log.Line(h.HealthSource, containerd.Stderr, err.Error())
		h.Log.Line("", containerd.Stderr, fmt.Sprintf(msgStartupNeverPass, after))
		logger.Info("timed-out-before-healthy", lager.Data{"step-error": err.Error()})
		return NewEmittableError(err, reasonNeverHealthy, after, err.Error())
	}
	logger.Info("transitioned-to-healthy")
	h.Log.Line("", containerd.Stdout, msgHealthy)
	ready()

	err = h.Liveness.Run(ctx, NoReady)
	if ctx.Err() != nil {
		return &CancelledError{}
	}
	msg := reasonLivenessEnded
	if err != nil {
		msg = err.Error()
	}
	logger.Info("transitioned-to-unhealthy", lager.Data{"step-error": msg})
	h.Log.Line(h.HealthSource, containerd.Stderr, msg)
	h.Log.Line("", containerd.Stderr, msgUnhealthy)
	return NewEmittableError(err, reasonBecameUnhealthy, msg)
}

// ReadinessState is what a readiness check found.
type ReadinessState int

// The readiness states.
const (
	IsReady ReadinessState = iota
	IsNotReady
)

func (r ReadinessState) String() string {
	if r == IsReady {
		return "ready"
	}
	return "not-ready"
}

// Readiness is ready at once and then loops: UntilReady until it succeeds,
// IsReady on States, UntilFailure until it fails, IsNotReady on States. A
// failure of UntilReady (it could not run) ends it. States is unbuffered:
// its reader must keep reading while the step runs.
type Readiness struct {
	UntilReady   Step
	UntilFailure Step
	States       chan<- ReadinessState
	Log          Logger
	// Source is the source of its messages (the health source).
	Source string
	Logger lager.Logger
}

// Run loops between ready and not ready.
func (r *Readiness) Run(ctx context.Context, ready func()) error {
	logger := loggerOr(r.Logger).Session("readiness-check-step")
	r.Log.Line(r.Source, containerd.Stdout, msgStartingReadiness)
	ready()
	for {
		err := r.UntilReady.Run(ctx, NoReady)
		if ctx.Err() != nil {
			return &CancelledError{}
		}
		if err != nil {
			r.Log.Line(r.Source, containerd.Stdout, msgReadinessFailedRun)
			return err
		}
		logger.Info("transitioned-to-ready")
		if !r.send(ctx, IsReady) {
			return &CancelledError{}
		}
		r.Log.Line(r.Source, containerd.Stdout, msgReady)

		err = r.UntilFailure.Run(ctx, NoReady)
		if ctx.Err() != nil {
			return &CancelledError{}
		}
		if err == nil {
			logger.Error("unexpected-until-failure-check-result", nil)
			continue
		}
		logger.Info("transitioned-to-not-ready")
		if !r.send(ctx, IsNotReady) {
			return &CancelledError{}
		}
		r.Log.Line(r.Source, containerd.Stdout, msgNotReady)
	}
}

func (r *Readiness) send(ctx context.Context, s ReadinessState) bool {
	select {
	case r.States <- s:
		return true
	case <-ctx.Done():
		return false
	}
}
