package steps_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/clock/fakeclock"
	"github.com/diego-go/diego/internal/executor/containerd"
	"github.com/diego-go/diego/internal/executor/steps"
	"github.com/diego-go/diego/internal/models"
)

func runStep(c *fakeContainer, log *fakeLog, a *models.RunAction) *steps.RunStep {
	return &steps.RunStep{
		Container: c, Action: a, Log: log, Source: a.LogSource, SourceName: "APP/PROC/WEB",
		Env: []string{"CF_INSTANCE_IP=10.0.0.1"}, GracefulShutdown: 50 * time.Millisecond,
	}
}

func TestRunStepSuccess(t *testing.T) {
	nofile := uint64(77)
	c := &fakeContainer{script: func(containerd.ProcessSpec) behavior {
		return behavior{output: []string{"hello"}, stderr: []string{"oops"}}
	}}
	log := &fakeLog{}
	s := runStep(c, log, &models.RunAction{
		Path: "/bin/app", Args: []string{"-x"}, Dir: "/app", User: "vcap", LogSource: "APP",
		Env:            []*models.EnvironmentVariable{{Name: "A", Value: "1"}},
		ResourceLimits: &models.ResourceLimits{Nofile: &nofile},
	})
	r := start(context.Background(), s)
	if err := r.wait(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !r.isReady() {
		t.Error("not ready after the process started")
	}
	spec := c.started()[0]
	if spec.Path != "/bin/app" || !slices.Equal(spec.Args, []string{"-x"}) || spec.Dir != "/app" || spec.User != "vcap" || spec.NoFile != 77 {
		t.Errorf("spec = %+v", spec)
	}
	if !slices.Equal(spec.Env, []string{"A=1", "CF_INSTANCE_IP=10.0.0.1"}) {
		t.Errorf("env = %v", spec.Env)
	}
	want := []string{"APP|stdout|hello", "APP|stderr|oops", "APP|stdout|Exit status 0"}
	if got := log.get(); !slices.Equal(got, want) {
		t.Errorf("lines = %q, want %q", got, want)
	}
}

func TestRunStepExitStatus(t *testing.T) {
	for _, tc := range []struct {
		name      string
		b         behavior
		suppress  bool
		wantLine  string
		wantError string
	}{
		{"failure", behavior{exit: 3}, false, "|stdout|Exit status 3", "APP/PROC/WEB: Exited with status 3"},
		{"oom", behavior{exit: 137, oom: true}, false, "|stdout|Exit status 137 (out of memory)", "APP/PROC/WEB: Exited with status 137 (out of memory)"},
		{"oom after a clean exit is no oom", behavior{exit: 0, oom: true}, false, "|stdout|Exit status 0", ""},
		{"suppressed exit status", behavior{exit: 2}, true, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &fakeContainer{script: func(containerd.ProcessSpec) behavior { return tc.b }}
			log := &fakeLog{}
			s := runStep(c, log, &models.RunAction{Path: "/bin/app"})
			s.SuppressExitStatus = tc.suppress
			err := s.Run(context.Background(), steps.NoReady)
			if tc.b.exit == 0 {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			} else {
				var em *steps.EmittableError
				if !errors.As(err, &em) || err.Error() != tc.wantError {
					t.Fatalf("Run = %v (%T), want emittable %q", err, err, tc.wantError)
				}
			}
			got := log.get()
			if tc.wantLine == "" {
				if len(got) != 0 {
					t.Errorf("lines = %q, want none", got)
				}
			} else if !slices.Equal(got, []string{tc.wantLine}) {
				t.Errorf("lines = %q, want %q", got, tc.wantLine)
			}
		})
	}
}

func TestRunStepSuppressLogOutput(t *testing.T) {
	c := &fakeContainer{script: func(containerd.ProcessSpec) behavior { return behavior{output: []string{"x"}, exit: 1} }}
	log := &fakeLog{}
	s := runStep(c, log, &models.RunAction{Path: "/bin/app", SuppressLogOutput: true})
	if err := s.Run(context.Background(), steps.NoReady); err == nil || err.Error() != "APP/PROC/WEB: Exited with status 1" {
		t.Fatalf("Run = %v", err)
	}
	if got := log.get(); len(got) != 0 {
		t.Errorf("lines = %q, want none", got)
	}
}

func TestRunStepCreateFailure(t *testing.T) {
	c := &fakeContainer{runErr: errors.New("boom")}
	log := &fakeLog{}
	r := start(context.Background(), runStep(c, log, &models.RunAction{Path: "/bin/app"}))
	if err := r.wait(t); err == nil || err.Error() != "boom" {
		t.Fatalf("Run = %v", err)
	}
	if r.isReady() {
		t.Error("ready without a process")
	}
	if !log.has("|stdout|failed-creating-process: boom") {
		t.Errorf("lines = %q", log.get())
	}
}

func TestRunStepCancel(t *testing.T) {
	for _, tc := range []struct {
		name     string
		b        behavior
		wantErr  any
		wantLine string
	}{
		{"exits on SIGTERM", behavior{block: true}, &steps.CancelledError{}, "|stdout|Exit status 143"},
		{"needs SIGKILL", behavior{block: true, ignoreTerm: true}, &steps.ExceededGracefulShutdownIntervalError{},
			"|stdout|Exit status 137 (exceeded 50ms graceful shutdown interval)"},
		{"never exits", behavior{block: true, ignoreTerm: true, unkillable: true}, &steps.ExitTimeoutError{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &fakeContainer{script: func(containerd.ProcessSpec) behavior { return tc.b }}
			log := &fakeLog{}
			ctx, cancel := context.WithCancel(context.Background())
			r := start(ctx, runStep(c, log, &models.RunAction{Path: "/bin/app"}))
			waitFor(t, "ready", r.isReady)
			cancel()
			err := r.wait(t)
			if err == nil || errors.Is(err, context.Canceled) || err.Error() != tc.wantErr.(error).Error() {
				t.Fatalf("Run = %v, want %v", err, tc.wantErr)
			}
			if tc.wantLine != "" && !slices.Equal(log.get(), []string{tc.wantLine}) {
				t.Errorf("lines = %q, want %q", log.get(), tc.wantLine)
			}
			if tc.b.unkillable {
				return
			}
			if left := c.running(); len(left) != 0 {
				t.Errorf("still running: %v", left)
			}
		})
	}
}

func TestRunStepCancelledBeforeStart(t *testing.T) {
	c := &fakeContainer{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := runStep(c, &fakeLog{}, &models.RunAction{Path: "/bin/app"}).Run(ctx, steps.NoReady)
	var ce *steps.CancelledError
	if !errors.As(err, &ce) {
		t.Fatalf("Run = %v, want cancelled", err)
	}
	if len(c.started()) != 0 {
		t.Error("a process was started")
	}
}

// recorder is a step that records its run and returns err.
type recorder struct {
	name  string
	err   error
	ready bool          // call ready
	wait  chan struct{} // block until closed or cancelled
	log   *[]string
	mu    chan struct{}
}

func (r *recorder) Run(ctx context.Context, ready func()) error {
	r.mu <- struct{}{}
	*r.log = append(*r.log, r.name)
	<-r.mu
	if r.ready {
		ready()
	}
	if r.wait != nil {
		select {
		case <-r.wait:
		case <-ctx.Done():
			return &steps.CancelledError{}
		}
	}
	return r.err
}

type recorders struct {
	log []string
	mu  chan struct{}
}

func newRecorders() *recorders { return &recorders{mu: make(chan struct{}, 1)} }

func (rs *recorders) step(name string, err error, ready bool, wait chan struct{}) *recorder {
	return &recorder{name: name, err: err, ready: ready, wait: wait, log: &rs.log, mu: rs.mu}
}

func (rs *recorders) get() []string {
	rs.mu <- struct{}{}
	defer func() { <-rs.mu }()
	return slices.Clone(rs.log)
}

func TestSerial(t *testing.T) {
	rs := newRecorders()
	boom := errors.New("boom")
	s := steps.Serial{rs.step("a", nil, false, nil), rs.step("b", boom, true, nil), rs.step("c", nil, true, nil)}
	r := start(context.Background(), s)
	if err := r.wait(t); err != boom {
		t.Fatalf("Run = %v", err)
	}
	if got := rs.get(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("ran %v", got)
	}
	if r.isReady() {
		t.Error("ready although the last step never ran")
	}

	rs = newRecorders()
	r = start(context.Background(), steps.Serial{rs.step("a", nil, true, nil), rs.step("b", nil, true, nil)})
	if err := r.wait(t); err != nil || !r.isReady() {
		t.Fatalf("Run = %v, ready %v", err, r.isReady())
	}
}

func TestSerialReadyOnlyFromLastStep(t *testing.T) {
	rs := newRecorders()
	hold := make(chan struct{})
	r := start(context.Background(), steps.Serial{rs.step("setup", nil, true, nil), rs.step("action", nil, false, hold)})
	waitFor(t, "action", func() bool { return len(rs.get()) == 2 })
	if r.isReady() {
		t.Error("ready from the first step")
	}
	close(hold)
	if err := r.wait(t); err != nil {
		t.Fatal(err)
	}
}

func TestParallelAggregates(t *testing.T) {
	rs := newRecorders()
	hold := make(chan struct{})
	p := steps.Parallel{
		rs.step("a", errors.New("a failed"), true, nil),
		rs.step("b", nil, true, hold),
		rs.step("c", steps.NewEmittableError(nil, "c failed"), true, nil),
	}
	r := start(context.Background(), p)
	waitFor(t, "all started", func() bool { return len(rs.get()) == 3 })
	waitFor(t, "ready", r.isReady)
	if r.ended() {
		t.Fatal("ended before all its steps did")
	}
	close(hold)
	err := r.wait(t)
	if err == nil || err.Error() != "a failed; c failed" {
		t.Fatalf("Run = %v", err)
	}
	var agg *steps.AggregateError
	if !errors.As(err, &agg) || len(agg.Errors) != 2 {
		t.Errorf("not an aggregate of 2: %#v", err)
	}
}

func TestParallelNotReadyUntilAll(t *testing.T) {
	rs := newRecorders()
	hold := make(chan struct{})
	r := start(context.Background(), steps.Parallel{rs.step("a", nil, true, hold), rs.step("b", nil, false, hold)})
	waitFor(t, "started", func() bool { return len(rs.get()) == 2 })
	if r.isReady() {
		t.Error("ready although one step is not")
	}
	close(hold)
	if err := r.wait(t); err != nil {
		t.Fatal(err)
	}
}

func TestCodependent(t *testing.T) {
	t.Run("a failure stops the others", func(t *testing.T) {
		rs := newRecorders()
		fail := make(chan struct{})
		c := &steps.Codependent{Steps: []steps.Step{
			rs.step("app", nil, true, make(chan struct{})),
			rs.step("check", steps.NewEmittableError(nil, "unhealthy"), true, fail),
		}}
		r := start(context.Background(), c)
		waitFor(t, "ready", r.isReady)
		close(fail)
		if err := r.wait(t); err == nil || err.Error() != "unhealthy" {
			t.Fatalf("Run = %v", err)
		}
	})
	t.Run("a clean exit is an error with ErrorOnExit", func(t *testing.T) {
		rs := newRecorders()
		c := &steps.Codependent{ErrorOnExit: true, Steps: []steps.Step{
			rs.step("a", nil, true, nil),
			rs.step("b", nil, true, make(chan struct{})),
		}}
		err := c.Run(context.Background(), steps.NoReady)
		if !errors.Is(err, steps.ErrCodependentStepExited) || err.Error() != "Codependent step exited" {
			t.Fatalf("Run = %v", err)
		}
	})
	t.Run("a clean exit stops the others with CancelOthersOnExit", func(t *testing.T) {
		rs := newRecorders()
		c := &steps.Codependent{CancelOthersOnExit: true, Steps: []steps.Step{
			rs.step("app", nil, true, nil),
			rs.step("sidecar", nil, true, make(chan struct{})),
		}}
		err := c.Run(context.Background(), steps.NoReady)
		var agg *steps.AggregateError
		if !errors.As(err, &agg) || err.Error() != "" || !steps.IsCancelled(err) {
			t.Fatalf("Run = %#v, want only the sidecar's cancellation", err)
		}
	})
	t.Run("a clean exit leaves the others running by default", func(t *testing.T) {
		rs := newRecorders()
		hold := make(chan struct{})
		c := &steps.Codependent{Steps: []steps.Step{rs.step("app", nil, true, nil), rs.step("monitor", nil, true, hold)}}
		r := start(context.Background(), c)
		waitFor(t, "both", func() bool { return len(rs.get()) == 2 })
		time.Sleep(20 * time.Millisecond)
		if r.ended() {
			t.Fatal("the monitor was stopped")
		}
		close(hold)
		if err := r.wait(t); err != nil {
			t.Fatal(err)
		}
	})
}

func TestTry(t *testing.T) {
	rs := newRecorders()
	r := start(context.Background(), &steps.Try{Step: rs.step("x", errors.New("nope"), true, nil)})
	if err := r.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if !r.isReady() || !slices.Equal(rs.get(), []string{"x"}) {
		t.Error("the step did not run")
	}
}

func TestTimeout(t *testing.T) {
	clk := fakeclock.New(time.Unix(1000, 0))
	c := &fakeContainer{script: func(containerd.ProcessSpec) behavior { return behavior{block: true, ignoreTerm: false} }}
	log := &fakeLog{}
	s := &steps.Timeout{Step: runStep(c, log, &models.RunAction{Path: "/bin/sleep"}), Timeout: 1500 * time.Millisecond, Clock: clk}
	r := start(context.Background(), s)
	waitFor(t, "ready", r.isReady)
	if !clk.WaitForWatchers(1, 5*time.Second) {
		t.Fatal("no timer")
	}
	clk.Increment(1499 * time.Millisecond)
	time.Sleep(10 * time.Millisecond)
	if r.ended() {
		t.Fatal("ended before the timeout")
	}
	clk.Increment(time.Millisecond)
	err := r.wait(t)
	if err == nil || err.Error() != "exceeded 1.5s timeout" {
		t.Fatalf("Run = %v", err)
	}
	var ce *steps.CancelledError
	if !errors.As(err, &ce) {
		t.Errorf("does not wrap the child's cancellation: %#v", err)
	}
	if left := c.running(); len(left) != 0 {
		t.Errorf("still running: %v", left)
	}

	// The child's emittable message follows.
	hold := make(chan struct{})
	inner := steps.StepFunc(func(ctx context.Context, ready func()) error {
		<-ctx.Done()
		<-hold
		return steps.NewEmittableError(nil, "APP: Exited with status 143")
	})
	s = &steps.Timeout{Step: inner, Timeout: time.Second, Clock: clk}
	r = start(context.Background(), s)
	if !clk.WaitForWatchers(1, 5*time.Second) {
		t.Fatal("no timer")
	}
	clk.Increment(time.Second)
	close(hold)
	if err := r.wait(t); err == nil || err.Error() != "exceeded 1s timeout; APP: Exited with status 143" {
		t.Fatalf("Run = %v", err)
	}
}

func TestEmitProgress(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want []string
	}{
		{"success", nil, []string{"S|stdout|starting", "S|stdout|done"}},
		{"emittable failure", steps.NewEmittableError(errors.New("x"), "Exited with status 1"), []string{"S|stdout|starting", "S|stderr|failed: Exited with status 1"}},
		{"other failure", errors.New("secret"), []string{"S|stdout|starting", "S|stderr|failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := &fakeLog{}
			rs := newRecorders()
			e := &steps.EmitProgress{Step: rs.step("x", tc.err, true, nil), Start: "starting", Success: "done", FailurePrefix: "failed", Log: log, Source: "S"}
			if err := e.Run(context.Background(), steps.NoReady); err != tc.err {
				t.Fatalf("Run = %v", err)
			}
			if got := log.get(); !slices.Equal(got, tc.want) {
				t.Errorf("lines = %q, want %q", got, tc.want)
			}
		})
	}
	log := &fakeLog{}
	e := &steps.EmitProgress{Step: steps.Nop, Log: log}
	if err := e.Run(context.Background(), steps.NoReady); err != nil || len(log.get()) != 0 {
		t.Errorf("empty messages: %v %q", err, log.get())
	}
}

func TestBackgroundDetaches(t *testing.T) {
	c := &fakeContainer{script: func(containerd.ProcessSpec) behavior { return behavior{block: true} }}
	ctx, cancel := context.WithCancel(context.Background())
	r := start(ctx, &steps.Background{Step: runStep(c, &fakeLog{}, &models.RunAction{Path: "/envoy"})})
	waitFor(t, "ready", r.isReady)
	cancel()
	if err := r.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if left := c.running(); !slices.Equal(left, []string{"/envoy"}) {
		t.Errorf("running = %v, want the envoy left alone", left)
	}
}

func TestThrottle(t *testing.T) {
	slots := make(chan struct{}, 1)
	rs := newRecorders()
	hold := make(chan struct{})
	first := start(context.Background(), &steps.Throttle{Step: rs.step("a", nil, true, hold), Slots: slots})
	waitFor(t, "first", first.isReady)
	ctx, cancel := context.WithCancel(context.Background())
	second := start(ctx, &steps.Throttle{Step: rs.step("b", nil, true, nil), Slots: slots})
	time.Sleep(20 * time.Millisecond)
	if slices.Contains(rs.get(), "b") {
		t.Fatal("ran without a slot")
	}
	cancel()
	var ce *steps.CancelledError
	if err := second.wait(t); !errors.As(err, &ce) {
		t.Fatalf("cancelled wait = %v", err)
	}
	close(hold)
	if err := first.wait(t); err != nil {
		t.Fatal(err)
	}
	if err := (&steps.Throttle{Step: steps.Nop, Slots: slots}).Run(context.Background(), steps.NoReady); err != nil {
		t.Fatalf("slot not given back: %v", err)
	}
}

func TestOutputWrapper(t *testing.T) {
	c := &fakeContainer{script: func(spec containerd.ProcessSpec) behavior {
		if spec.Path == "/quiet" {
			return behavior{exit: 1}
		}
		return behavior{exit: 4, stderr: []string{"failed to make TCP connection to 10.0.0.2:8080: connection refused", ""}}
	}}
	build := func(path string) func(steps.Logger) steps.Step {
		return func(l steps.Logger) steps.Step {
			s := runStep(c, nil, &models.RunAction{Path: path})
			s.Log, s.SuppressExitStatus = l, true
			return s
		}
	}
	err := (&steps.OutputWrapper{Build: build("/check")}).Run(context.Background(), steps.NoReady)
	if err == nil || err.Error() != "failed to make TCP connection to 10.0.0.2:8080: connection refused" {
		t.Fatalf("Run = %v", err)
	}
	err = (&steps.OutputWrapper{Build: build("/quiet"), Prefix: "instance proxy failed to start"}).Run(context.Background(), steps.NoReady)
	if err == nil || err.Error() != "instance proxy failed to start: Failed to invoke process: " {
		t.Fatalf("Run = %q", err)
	}
}

func TestAggregateErrorMessage(t *testing.T) {
	agg := &steps.AggregateError{Errors: []error{
		&steps.CancelledError{}, errors.New("a"), steps.NewEmittableError(nil, ""), &steps.ExceededGracefulShutdownIntervalError{}, errors.New("b"),
	}}
	if got := agg.Error(); got != "a; b" {
		t.Errorf("Error() = %q", got)
	}
	if !strings.Contains((&steps.ExitTimeoutError{}).Error(), "process did not exit") {
		t.Error("exit timeout message")
	}
}

func TestByteSize(t *testing.T) {
	for n, want := range map[uint64]string{
		0: "0B", 1: "1B", 1023: "1023B", 1024: "1K", 1536: "1.5K", 10 * 1024: "10K",
		1024*1024 + 100*1024: "1.1M", 100*1024*1024 + 512*1024: "100.5M", 3 << 30: "3G",
	} {
		if got := steps.ByteSize(n); got != want {
			t.Errorf("ByteSize(%d) = %q, want %q", n, got, want)
		}
	}
}
