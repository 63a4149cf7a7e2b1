package steps_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/clock/fakeclock"
	"github.com/diego-go/diego/internal/executor/containerd"
	"github.com/diego-go/diego/internal/executor/steps"
	"github.com/diego-go/diego/internal/models"
)

func newTransformer(t *testing.T, cfg steps.Config) *steps.Transformer {
	t.Helper()
	if cfg.GracefulShutdownInterval == 0 {
		cfg.GracefulShutdownInterval = 50 * time.Millisecond
	}
	tr, err := steps.NewTransformer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func run(path string, args ...string) *models.Action {
	return &models.Action{RunAction: &models.RunAction{Path: path, Args: args}}
}

// count returns how many processes of path were started.
func count(c *fakeContainer, path string) int {
	n := 0
	for _, s := range c.started() {
		if s.Path == path {
			n++
		}
	}
	return n
}

// tick waits for the tree to wait on the clock, then moves it by d.
func tick(t *testing.T, clk *fakeclock.Clock, d time.Duration) {
	t.Helper()
	if !clk.WaitForWatchers(1, 5*time.Second) {
		t.Fatal("nothing waits on the clock")
	}
	clk.Increment(d)
}

func TestLegacyMonitorReadyThenUnhealthy(t *testing.T) {
	clk := fakeclock.New(time.Unix(1000, 0))
	var healthy atomic.Bool
	c := &fakeContainer{script: func(spec containerd.ProcessSpec) behavior {
		switch spec.Path {
		case "/app":
			return behavior{block: true}
		case "/check":
			if healthy.Load() {
				return behavior{output: []string{"healthcheck passed"}}
			}
			return behavior{exit: 1, output: []string{"healthcheck failed"}}
		}
		return behavior{}
	}}
	log := &fakeLog{}
	monitor := &models.Action{RunAction: &models.RunAction{Path: "/check", SuppressLogOutput: true}}
	tree, err := newTransformer(t, steps.Config{Clock: clk}).Build(c, log, steps.RunInfo{
		Handle: "guid", Action: run("/app"), Monitor: monitor, StartTimeout: time.Minute,
	})
	must(t, err)
	r := start(context.Background(), tree.Step)
	waitFor(t, "app", func() bool { return count(c, "/app") == 1 })

	tick(t, clk, 2*time.Second) // first attempt after the unhealthy interval: fails
	waitFor(t, "first check", func() bool { return count(c, "/check") == 1 })
	tick(t, clk, time.Second)
	if r.isReady() || count(c, "/check") != 1 {
		t.Fatalf("ready %v after a failed check, %d checks", r.isReady(), count(c, "/check"))
	}
	healthy.Store(true)
	tick(t, clk, time.Second) // 2 s after the failure
	waitFor(t, "ready", r.isReady)
	if !log.has("|stdout|Starting health monitoring of container") || !log.has("|stdout|Container became healthy") {
		t.Errorf("lines = %q", log.get())
	}
	if !log.has("|stdout|healthcheck failed") {
		t.Error("the monitor's output is not logged (suppress_log_output must be ignored)")
	}
	if hasPrefixLine(log.get(), "|stdout|Exit status") {
		t.Errorf("monitor exit status logged: %q", log.get())
	}
	if !monitor.RunAction.SuppressLogOutput {
		t.Error("the monitor action was modified")
	}

	tick(t, clk, 30*time.Second) // liveness passes
	waitFor(t, "liveness check", func() bool { return count(c, "/check") == 3 })
	healthy.Store(false)
	tick(t, clk, 29*time.Second)
	time.Sleep(10 * time.Millisecond)
	if count(c, "/check") != 3 {
		t.Fatal("liveness checked before the healthy interval")
	}
	clk.Increment(time.Second)
	err = r.wait(t)
	var em *steps.EmittableError
	if !errors.As(err, &em) || err.Error() != "Instance became unhealthy: " {
		t.Fatalf("Run = %q (%T)", err, err)
	}
	if !log.has("|stderr|Container became unhealthy") {
		t.Errorf("lines = %q", log.get())
	}
	if left := c.running(); len(left) != 0 {
		t.Errorf("still running: %v", left)
	}
}

func TestLegacyMonitorNeverHealthy(t *testing.T) {
	clk := fakeclock.New(time.Unix(1000, 0))
	c := &fakeContainer{script: func(spec containerd.ProcessSpec) behavior {
		if spec.Path == "/app" {
			return behavior{block: true}
		}
		return behavior{exit: 1, output: []string{"port 8080 not open"}}
	}}
	log := &fakeLog{}
	monitor := &models.Action{ParallelAction: &models.ParallelAction{Actions: []*models.Action{run("/check")}}}
	tree, err := newTransformer(t, steps.Config{Clock: clk}).Build(c, log, steps.RunInfo{
		Action: run("/app"), Monitor: monitor, StartTimeout: 3 * time.Second, SourceName: "CELL",
	})
	must(t, err)
	r := start(context.Background(), tree.Step)
	tick(t, clk, 2*time.Second)
	waitFor(t, "first check", func() bool { return count(c, "/check") == 1 })
	tick(t, clk, 2*time.Second)
	err = r.wait(t)
	if err == nil || err.Error() != "Instance never healthy after 4s: port 8080 not open" {
		t.Fatalf("Run = %q", err)
	}
	if r.isReady() {
		t.Error("ready although never healthy")
	}
	for _, l := range []string{"|stderr|port 8080 not open", "|stderr|Failed after 4s: startup health check never passed.", "|stdout|Exit status 143"} {
		if !log.has(l) {
			t.Errorf("missing %q in %q", l, log.get())
		}
	}
	if slices.Contains(log.get(), "|stdout|port 8080 not open") {
		t.Error("a parallel monitor's output went to the app log")
	}
	if left := c.running(); len(left) != 0 {
		t.Errorf("still running: %v", left)
	}
}

const hc = "/etc/cf-assets/healthcheck/healthcheck"

func TestDeclarativeChecks(t *testing.T) {
	startupPass := make(chan struct{})
	livenessFail := make(chan struct{})
	c := &fakeContainer{script: func(spec containerd.ProcessSpec) behavior {
		if spec.Path != hc {
			return behavior{block: true}
		}
		args := strings.Join(spec.Args, " ")
		switch {
		case strings.Contains(args, "-startup-interval"):
			return behavior{until: startupPass}
		case strings.Contains(args, "-port=8080"):
			return behavior{until: livenessFail, exit: 4, stderr: []string{"failed to make TCP connection to 10.255.0.2:8080: connection refused"}}
		}
		return behavior{block: true}
	}}
	log := &fakeLog{}
	tree, err := newTransformer(t, steps.Config{}).Build(c, log, steps.RunInfo{
		Handle: "guid-1", Action: run("/app"), StartTimeout: time.Minute,
		Monitor: run("/ignored"), // a check definition wins
		CheckDefinition: &models.CheckDefinition{Checks: []*models.Check{
			{TcpCheck: &models.TCPCheck{Port: 8080}},
			{HttpCheck: &models.HTTPCheck{Port: 8081, Path: "/health", RequestTimeoutMs: 500, IntervalMs: 5000}},
			{TcpCheck: &models.TCPCheck{}}, // invalid: skipped
		}},
	})
	must(t, err)
	if tree.Readiness != nil {
		t.Error("readiness channel without readiness checks")
	}
	r := start(context.Background(), tree.Step)
	waitFor(t, "startup checks", func() bool { return count(c, hc) == 2 })
	time.Sleep(10 * time.Millisecond)
	if r.isReady() {
		t.Fatal("ready before the startup checks passed")
	}
	close(startupPass)
	waitFor(t, "ready", r.isReady)
	waitFor(t, "liveness checks", func() bool { return count(c, hc) == 4 })

	want := map[string][]string{
		"guid-1-startup-healthcheck-0":  {"-port=8080", "-timeout=1000ms", "-startup-interval=2s", "-startup-timeout=1m0s"},
		"guid-1-startup-healthcheck-1":  {"-port=8081", "-timeout=500ms", "-uri=/health", "-startup-interval=2s", "-startup-timeout=1m0s"},
		"guid-1-liveness-healthcheck-0": {"-port=8080", "-timeout=1000ms", "-liveness-interval=30s"},
		"guid-1-liveness-healthcheck-1": {"-port=8081", "-timeout=500ms", "-uri=/health", "-liveness-interval=5s"},
	}
	for _, spec := range c.started() {
		if spec.Path != hc {
			continue
		}
		if w, ok := want[spec.ID]; !ok || !slices.Equal(spec.Args, w) {
			t.Errorf("%s: args %q, want %q", spec.ID, spec.Args, w)
		}
		if spec.NoFile != 1024 {
			t.Errorf("%s: nofile %d", spec.ID, spec.NoFile)
		}
	}
	if count(c, "/ignored") != 0 {
		t.Error("the legacy monitor ran")
	}

	close(livenessFail)
	err = r.wait(t)
	if err == nil || err.Error() != "Instance became unhealthy: failed to make TCP connection to 10.255.0.2:8080: connection refused" {
		t.Fatalf("Run = %q", err)
	}
	for _, l := range []string{
		"|stdout|Starting health monitoring of container", "|stdout|Container became healthy",
		"HEALTH|stderr|failed to make TCP connection to 10.255.0.2:8080: connection refused",
		"|stderr|Container became unhealthy",
	} {
		if !log.has(l) {
			t.Errorf("missing %q in %q", l, log.get())
		}
	}
	if left := c.running(); len(left) != 0 {
		t.Errorf("still running: %v", left)
	}
}

func TestDeclarativeStartupFailure(t *testing.T) {
	msg := "Timed out after 1s (1 attempts) waiting for startup check to succeed: failure to find suitable interface"
	c := &fakeContainer{script: func(spec containerd.ProcessSpec) behavior {
		if spec.Path != hc {
			return behavior{block: true}
		}
		return behavior{exit: 3, stderr: []string{msg}}
	}}
	log := &fakeLog{}
	clk := fakeclock.New(time.Unix(0, 0))
	tree, err := newTransformer(t, steps.Config{Clock: clk}).Build(c, log, steps.RunInfo{
		Handle: "g", Action: run("/app"), StartTimeout: time.Second,
		CheckDefinition: &models.CheckDefinition{LogSource: "HC", Checks: []*models.Check{{TcpCheck: &models.TCPCheck{Port: 8080}}}},
	})
	must(t, err)
	err = tree.Step.Run(context.Background(), steps.NoReady)
	if err == nil || err.Error() != "Instance never healthy after 0s: "+msg {
		t.Fatalf("Run = %q", err)
	}
	if !log.has("HC|stderr|"+msg) || !log.has("|stderr|Failed after 0s: startup health check never passed.") {
		t.Errorf("lines = %q", log.get())
	}
	if left := c.running(); len(left) != 0 {
		t.Errorf("still running: %v", left)
	}
}

func TestReadinessChecks(t *testing.T) {
	readyGate, notReadyGate := make(chan struct{}), make(chan struct{})
	c := &fakeContainer{script: func(spec containerd.ProcessSpec) behavior {
		if spec.Path != hc {
			return behavior{block: true}
		}
		if slices.Contains(spec.Args, "-until-ready-interval=2s") {
			return behavior{until: readyGate}
		}
		if slices.Contains(spec.Args, "-readiness-interval=30s") {
			return behavior{until: notReadyGate, exit: 6, stderr: []string{"received status code 503"}}
		}
		t.Errorf("unexpected args %q", spec.Args)
		return behavior{}
	}}
	log := &fakeLog{}
	tree, err := newTransformer(t, steps.Config{}).Build(c, log, steps.RunInfo{
		Handle: "g", Action: run("/app"),
		CheckDefinition: &models.CheckDefinition{LogSource: "MYHEALTH", ReadinessChecks: []*models.Check{{HttpCheck: &models.HTTPCheck{Port: 8080}}}},
	})
	must(t, err)
	if tree.Readiness == nil {
		t.Fatal("no readiness channel")
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := start(ctx, tree.Step)
	waitFor(t, "ready (the app runs, readiness is not a startup check)", r.isReady)
	next := func() steps.ReadinessState {
		select {
		case s := <-tree.Readiness:
			return s
		case <-time.After(5 * time.Second):
			t.Fatal("no readiness state")
			return -1
		}
	}
	close(readyGate)
	if s := next(); s != steps.IsReady {
		t.Fatalf("state %v", s)
	}
	close(notReadyGate)
	if s := next(); s != steps.IsNotReady {
		t.Fatalf("state %v", s)
	}
	if s := next(); s != steps.IsReady {
		t.Fatalf("state %v after a new until-ready run", s)
	}
	for _, l := range []string{
		"MYHEALTH|stdout|Starting readiness health monitoring of container",
		"MYHEALTH|stdout|Container passed the readiness health check. Container marked ready and added to route pool.",
		"MYHEALTH|stdout|Container failed the readiness health check. Container marked not ready and removed from route pool.",
	} {
		waitFor(t, l, func() bool { return log.has(l) })
	}
	cancel()
	if err := r.wait(t); !steps.IsCancelled(err) {
		t.Fatalf("Run = %v", err)
	}
	if left := c.running(); len(left) != 0 {
		t.Errorf("still running: %v", left)
	}
}

// TestCancelAtAnyPoint stops a whole tree (setup, action, monitor) at each
// of its stages: every process it started must have exited when Run
// returns.
func TestCancelAtAnyPoint(t *testing.T) {
	for _, stage := range []string{"setup", "startup check", "liveness check", "between checks"} {
		t.Run(stage, func(t *testing.T) {
			clk := fakeclock.New(time.Unix(1000, 0))
			var checks atomic.Int32
			c := &fakeContainer{script: func(spec containerd.ProcessSpec) behavior {
				switch spec.Path {
				case "/setup", "/app":
					return behavior{block: true, ignoreTerm: spec.Path == "/app"}
				case "/check":
					n := checks.Add(1)
					if (stage == "startup check" && n == 1) || (stage == "liveness check" && n == 2) {
						return behavior{block: true}
					}
				}
				return behavior{}
			}}
			info := steps.RunInfo{
				Setup: run("/setup"), Action: run("/app"), Monitor: run("/check"),
			}
			if stage != "setup" {
				info.Setup = nil
			}
			tree, err := newTransformer(t, steps.Config{Clock: clk}).Build(c, &fakeLog{}, info)
			must(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			r := start(ctx, tree.Step)
			switch stage {
			case "setup":
				waitFor(t, "setup", func() bool { return count(c, "/setup") == 1 })
			case "startup check":
				tick(t, clk, 2*time.Second)
				waitFor(t, "check", func() bool { return checks.Load() == 1 })
			case "liveness check", "between checks":
				tick(t, clk, 2*time.Second)
				waitFor(t, "healthy", r.isReady)
				tick(t, clk, 30*time.Second)
				waitFor(t, "check", func() bool { return checks.Load() == 2 })
			}
			cancel()
			err = r.wait(t)
			if !steps.IsCancelled(err) {
				t.Fatalf("Run = %#v, want cancelled", err)
			}
			if left := c.running(); len(left) != 0 {
				t.Errorf("still running: %v", left)
			}
			if stage == "setup" && count(c, "/app") != 0 {
				t.Error("the action started after a cancelled setup")
			}
		})
	}
}
