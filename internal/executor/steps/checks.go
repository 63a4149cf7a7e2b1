package steps

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"

	"code.cloudfoundry.org/lager/v3"

	"github.com/diego-go/diego/internal/models"
)

// checkPhase is how the healthcheck binary runs (its mode flag).
type checkPhase int

const (
	phaseStartup    checkPhase = iota // -startup-interval, -startup-timeout
	phaseLiveness                     // -liveness-interval
	phaseUntilReady                   // -until-ready-interval
	phaseReadiness                    // -readiness-interval
)

// checkSpec is one run of the healthcheck binary.
type checkSpec struct {
	port     uint32
	http     bool
	path     string
	timeout  time.Duration
	phase    checkPhase
	interval time.Duration
	name     string // process name suffix
}

// args are the binary's flags, as the reference executor passes them.
func (c checkSpec) args(startTimeout time.Duration) []string {
	args := []string{
		fmt.Sprintf("-port=%d", c.port),
		fmt.Sprintf("-timeout=%dms", c.timeout.Milliseconds()),
	}
	if c.http {
		args = append(args, "-uri="+c.path)
	}
	switch c.phase {
	case phaseStartup:
		args = append(args, fmt.Sprintf("-startup-interval=%s", c.interval), fmt.Sprintf("-startup-timeout=%s", startTimeout))
	case phaseLiveness:
		args = append(args, fmt.Sprintf("-liveness-interval=%s", c.interval))
	case phaseUntilReady:
		args = append(args, fmt.Sprintf("-until-ready-interval=%s", c.interval))
	case phaseReadiness:
		args = append(args, fmt.Sprintf("-readiness-interval=%s", c.interval))
	}
	return args
}

// healthSource is the log source of the checks.
func (b *builder) healthSource() string {
	return pick(b.info.CheckDefinition.GetLogSource(), HealthSourceName)
}

// check is a step running the healthcheck binary once (it loops itself, in
// the phase's mode): a process named after the container, nofile 1024,
// whose output is its error.
func (b *builder) check(c checkSpec) Step {
	source := b.healthSource()
	nofile := uint64(healthCheckNoFile)
	action := &models.RunAction{
		Path:           b.t.cfg.HealthCheckPath,
		Args:           c.args(b.info.StartTimeout),
		LogSource:      source,
		ResourceLimits: &models.ResourceLimits{Nofile: &nofile},
	}
	id := processID(b.info.Handle, c.name)
	return &OutputWrapper{Build: func(buf Logger) Step {
		s := b.run(action, buf, source, true)
		s.ProcessID = id
		return s
	}}
}

// specs returns the check's parameters with the reference's defaults
// (timeout, path /, interval = healthy monitoring interval); ok is false
// for a check that fails validation.
func (b *builder) specs(check *models.Check) (c checkSpec, ok bool) {
	if err := check.Validate(); err != nil {
		b.logger.Error("invalid-check", err)
		return c, false
	}
	var timeoutMs, intervalMs uint64
	if h := check.GetHttpCheck(); h != nil {
		c = checkSpec{port: h.GetPort(), http: true, path: h.GetPath()}
		timeoutMs, intervalMs = h.GetRequestTimeoutMs(), h.GetIntervalMs()
	} else {
		t := check.GetTcpCheck()
		c = checkSpec{port: t.GetPort()}
		timeoutMs, intervalMs = t.GetConnectTimeoutMs(), t.GetIntervalMs()
	}
	c.timeout = time.Duration(timeoutMs) * time.Millisecond
	if timeoutMs == 0 {
		c.timeout = b.t.cfg.DeclarativeCheckTimeout
	}
	if c.http && c.path == "" {
		c.path = "/"
	}
	c.interval = time.Duration(intervalMs) * time.Millisecond
	if intervalMs == 0 {
		c.interval = b.t.cfg.HealthyMonitoringInterval
	}
	return c, true
}

// checkPhases builds, for every valid check, the step of its first phase
// (at the unhealthy monitoring interval) and the step of its second (at
// the check's own interval), named <name>-healthcheck-<i>.
func (b *builder) checkPhases(checks []*models.Check, first checkPhase, firstName string, second checkPhase, secondName string) (firsts Parallel, seconds []Step) {
	for i, check := range checks {
		spec, ok := b.specs(check)
		if !ok {
			continue
		}
		next := spec
		spec.phase, spec.interval, spec.name = first, b.t.cfg.UnhealthyMonitoringInterval, fmt.Sprintf("%s-healthcheck-%d", firstName, i)
		next.phase, next.name = second, fmt.Sprintf("%s-healthcheck-%d", secondName, i)
		firsts = append(firsts, b.check(spec))
		seconds = append(seconds, b.check(next))
	}
	return firsts, seconds
}

// healthChecks builds the declarative health check: every check's startup
// run in parallel, then their liveness runs, the first failure ending it.
// Nil when no check is valid.
func (b *builder) healthChecks(log Logger) Step {
	startup, liveness := b.checkPhases(b.info.CheckDefinition.GetChecks(), phaseStartup, "startup", phaseLiveness, "liveness")
	if len(startup) == 0 {
		return nil
	}
	return &HealthCheck{
		Startup:      startup,
		Liveness:     &Codependent{Steps: liveness},
		Log:          log,
		HealthSource: b.healthSource(),
		Clock:        b.t.cfg.Clock,
		Logger:       b.logger.Session("health-check"),
	}
}

// readinessChecks builds the readiness loop of the readiness checks, and
// the channel of its results. Nil when no check is valid.
func (b *builder) readinessChecks(log Logger) (Step, <-chan ReadinessState) {
	untilReady, untilFailure := b.checkPhases(b.info.CheckDefinition.GetReadinessChecks(), phaseUntilReady, "until-ready", phaseReadiness, "readiness")
	if len(untilReady) == 0 {
		b.logger.Info("no-valid-readiness-checks")
		return nil, nil
	}
	states := make(chan ReadinessState)
	return &Readiness{
		UntilReady:   untilReady,
		UntilFailure: &Codependent{Steps: untilFailure, ErrorOnExit: true, CancelOthersOnExit: true},
		States:       states,
		Log:          log,
		Source:       b.healthSource(),
		Logger:       b.logger.Session("readiness-check", lager.Data{"checks": len(untilReady)}),
	}, states
}

// validExecID is containerd's rule for exec ids.
var validExecID = regexp.MustCompile(`^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$`)

const maxExecID = 76

// processID names a health check process after its container; a handle
// that would make an invalid exec id is replaced by its hash. No handle:
// a generated id.
func processID(handle, name string) string {
	if handle == "" {
		return ""
	}
	id := handle + "-" + name
	if len(id) <= maxExecID && validExecID.MatchString(id) {
		return id
	}
	sum := sha256.Sum256([]byte(handle))
	return hex.EncodeToString(sum[:8]) + "-" + name
}
