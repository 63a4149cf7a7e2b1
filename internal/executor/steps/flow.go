package steps

import (
	"context"
	"strings"
	"sync"
	"time"

	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/internal/clock"
	"github.com/diego-go/diego/internal/executor/containerd"
)

// Serial runs its steps one after the other and stops at the first
// failure. It is ready when its last step is (an empty Serial at once).
type Serial []Step

// Run runs the steps in order.
func (s Serial) Run(ctx context.Context, ready func()) error {
	if len(s) == 0 {
		ready()
		return nil
	}
	for i, step := range s {
		if ctx.Err() != nil {
			return &CancelledError{}
		}
		r := NoReady
		if i == len(s)-1 {
			r = ready
		}
		if err := step.Run(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// Parallel runs its steps at the same time and waits for all of them; the
// failures are aggregated (AggregateError, in the steps' order). It is
// ready when all its steps are.
type Parallel []Step

// Run runs the steps concurrently.
func (p Parallel) Run(ctx context.Context, ready func()) error {
	readies := readyAll(len(p), once(ready))
	errs := make([]error, len(p))
	var wg sync.WaitGroup
	for i, step := range p {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = step.Run(ctx, readies[i])
		}()
	}
	wg.Wait()
	agg := &AggregateError{}
	for _, err := range errs {
		if err != nil {
			agg.add(err)
		}
	}
	return agg.orNil()
}

// Codependent runs its steps at the same time; the first to fail stops the
// others, and so does the first to succeed when CancelOthersOnExit. With
// ErrorOnExit (the codependent action) a step that succeeds counts as a
// failure, ErrCodependentStepExited. The failures are aggregated in the
// order the steps ended. It is ready when all its steps are.
type Codependent struct {
	Steps              []Step
	ErrorOnExit        bool
	CancelOthersOnExit bool
}

// Run runs the steps concurrently.
func (c *Codependent) Run(ctx context.Context, ready func()) error {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	readies := readyAll(len(c.Steps), once(ready))
	ended := make(chan error, len(c.Steps))
	for i, step := range c.Steps {
		go func() { ended <- step.Run(cctx, readies[i]) }()
	}
	agg := &AggregateError{}
	for range c.Steps {
		err := <-ended
		if c.ErrorOnExit && err == nil {
			err = ErrCodependentStepExited
		}
		if err != nil || c.CancelOthersOnExit {
			cancel()
		}
		if err != nil {
			agg.add(err)
		}
	}
	return agg.orNil()
}

// Try runs its step and succeeds whatever the step's result (a failure is
// only logged).
type Try struct {
	Step   Step
	Logger lager.Logger
}

// Run runs the step.
func (t *Try) Run(ctx context.Context, ready func()) error {
	if err := t.Step.Run(ctx, ready); err != nil {
		loggerOr(t.Logger).Info("try-step-failed", lager.Data{"error": err.Error()})
	}
	return nil
}

// Timeout runs its step and stops it after Timeout; it then fails with
// `exceeded <timeout> timeout`, followed by `; <message>` when the step's
// own error is an EmittableError.
type Timeout struct {
	Step    Step
	Timeout time.Duration
	Clock   clock.Clock
	Logger  lager.Logger
}

// Run runs the step under the timeout.
func (t *Timeout) Run(ctx context.Context, ready func()) error {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	timer := clockOr(t.Clock).NewTimer(t.Timeout)
	defer timer.Stop()
	done := make(chan error, 1)
	go func() { done <- t.Step.Run(cctx, ready) }()
	select {
	case err := <-done:
		return err
	case <-timer.C():
	}
	loggerOr(t.Logger).Error("timed-out", nil, lager.Data{"timeout": t.Timeout.String()})
	cancel()
	err := <-done
	msg := "exceeded " + t.Timeout.String() + " timeout"
	if e, ok := err.(*EmittableError); ok {
		msg += "; " + e.Error()
	}
	return NewEmittableError(err, "%s", msg)
}

// EmitProgress logs Start on stdout before its step, Success after it
// succeeds, and `<FailurePrefix>: <message>` on stderr after it fails (the
// message only when the error is an EmittableError). Empty messages are
// not logged.
type EmitProgress struct {
	Step          Step
	Start         string
	Success       string
	FailurePrefix string
	Log           Logger
	Source        string
}

// Run runs the step between the messages.
func (e *EmitProgress) Run(ctx context.Context, ready func()) error {
	if e.Start != "" {
		e.Log.Line(e.Source, containerd.Stdout, e.Start)
	}
	err := e.Step.Run(ctx, ready)
	switch {
	case err != nil && e.FailurePrefix != "":
		msg := e.FailurePrefix
		if em, ok := err.(*EmittableError); ok {
			msg += ": " + em.Error()
		}
		e.Log.Line(e.Source, containerd.Stderr, msg)
	case err == nil && e.Success != "":
		e.Log.Line(e.Source, containerd.Stdout, e.Success)
	}
	return err
}

// Background runs its step detached from cancellation: when ctx is
// cancelled it returns nil at once and leaves the step running (the envoy
// proxy, which dies with its container).
type Background struct {
	Step   Step
	Logger lager.Logger
}

// Run runs the step until it ends or ctx is cancelled.
func (b *Background) Run(ctx context.Context, ready func()) error {
	done := make(chan error, 1)
	go func() { done <- b.Step.Run(context.WithoutCancel(ctx), ready) }()
	select {
	case err := <-done:
		if err != nil {
			loggerOr(b.Logger).Info("background-step-failed", lager.Data{"error": err.Error()})
		}
		return err
	case <-ctx.Done():
		loggerOr(b.Logger).Info("detaching-from-substep")
		return nil
	}
}

// Timed runs its step (none: success) and reports how long after Start it
// ended (the container setup metrics, measured from the start of the
// container's creation).
type Timed struct {
	Step   Step
	Start  time.Time
	Clock  clock.Clock
	Logger lager.Logger
	// Report receives the duration and the step's error; nil = none.
	Report func(d time.Duration, err error)
}

// Run runs the step and reports its duration.
func (t *Timed) Run(ctx context.Context, ready func()) error {
	var err error
	if t.Step != nil {
		err = t.Step.Run(ctx, ready)
	}
	d := clockOr(t.Clock).Since(t.Start)
	if err == nil {
		loggerOr(t.Logger).Info("container-setup-succeeded", lager.Data{"duration": d})
	} else {
		loggerOr(t.Logger).Info("container-setup-failed", lager.Data{"duration": d})
	}
	if t.Report != nil {
		t.Report(d, err)
	}
	return err
}

// Throttle runs its step once it holds one of Slots (a buffered channel
// shared by the steps it limits).
type Throttle struct {
	Step  Step
	Slots chan struct{}
}

// Run waits for a slot and runs the step.
func (t *Throttle) Run(ctx context.Context, ready func()) error {
	select {
	case t.Slots <- struct{}{}:
	case <-ctx.Done():
		return &CancelledError{}
	}
	defer func() { <-t.Slots }()
	return t.Step.Run(ctx, ready)
}

// OutputWrapper builds its step with a Logger that keeps the output, and
// turns a failure into an EmittableError whose message is that output
// (`Failed to invoke process: <error>` when there is none), after `Prefix:
// ` if set: a health check's verdict is what it printed. A stopped step's
// error is returned as is.
type OutputWrapper struct {
	Build  func(Logger) Step
	Prefix string
}

// Run runs a freshly built step.
func (o *OutputWrapper) Run(ctx context.Context, ready func()) error {
	buf := &bufferLogger{}
	err := o.Build(buf).Run(ctx, ready)
	if err == nil || !displayable(err) {
		return err
	}
	msg := strings.TrimSpace(buf.String())
	if msg == "" {
		msg = "Failed to invoke process: " + err.Error()
	}
	if o.Prefix != "" {
		msg = o.Prefix + ": " + msg
	}
	return NewEmittableError(err, "%s", msg)
}

// bufferLogger keeps every line it receives.
type bufferLogger struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *bufferLogger) Line(_ string, _ containerd.Stream, text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.WriteString(text)
	b.b.WriteByte('\n')
}

func (b *bufferLogger) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func clockOr(c clock.Clock) clock.Clock {
	if c == nil {
		return clock.New()
	}
	return c
}
