package logs

import (
	"fmt"
	"time"

	"github.com/diego-go/diego/internal/executor/containerd"
)

// The executor's own messages about a container, with the reference's
// texts. They go under the container's default source name (for an LRP
// the desired LRP's log_source, CELL from Cloud Controller).
//
// The container lifecycle messages bypass the rate limit (the reference
// sends them straight to loggregator); the health-check messages pass it
// (the reference writes them through the streamer).

// cell logs a lifecycle message, not rate limited.
func (s *Streamer) cell(stream containerd.Stream, format string, args ...any) {
	s.line("", stream, fmt.Sprintf(format, args...), false)
}

// CreatingContainer: the executor starts creating the container.
func (s *Streamer) CreatingContainer() {
	s.cell(containerd.Stdout, "Cell %s creating container for instance %s", s.cellID, s.container)
}

// CreatedContainer: the container exists.
func (s *Streamer) CreatedContainer() {
	s.cell(containerd.Stdout, "Cell %s successfully created container for instance %s", s.cellID, s.container)
}

// FailedToCreateContainer: creating the container failed with err.
func (s *Streamer) FailedToCreateContainer(err error) {
	s.cell(containerd.Stderr, "Cell %s failed to create container for instance %s: %s", s.cellID, s.container, errText(err))
}

// StoppingInstance: the executor stops the instance's processes.
func (s *Streamer) StoppingInstance() {
	s.cell(containerd.Stdout, "Cell %s stopping instance %s", s.cellID, s.container)
}

// DestroyingContainer: the executor starts destroying the container.
func (s *Streamer) DestroyingContainer() {
	s.cell(containerd.Stdout, "Cell %s destroying container for instance %s", s.cellID, s.container)
}

// FailedToDestroyContainer: destroying the container failed (the
// reference logs it on stdout, without the error).
func (s *Streamer) FailedToDestroyContainer() {
	s.cell(containerd.Stdout, "Cell %s failed to destroy container for instance %s", s.cellID, s.container)
}

// DestroyedContainer: the container is gone.
func (s *Streamer) DestroyedContainer() {
	s.cell(containerd.Stdout, "Cell %s successfully destroyed container for instance %s", s.cellID, s.container)
}

// StartingHealthMonitoring: the startup check begins.
func (s *Streamer) StartingHealthMonitoring() {
	s.Line("", containerd.Stdout, "Starting health monitoring of container")
}

// ContainerHealthy: the startup check passed.
func (s *Streamer) ContainerHealthy() {
	s.Line("", containerd.Stdout, "Container became healthy")
}

// StartupCheckFailed: the startup check gave up after the given time with
// err (the healthcheck binary's message), logged under healthSource
// (HealthSourceName if empty).
func (s *Streamer) StartupCheckFailed(healthSource string, after time.Duration, err error) {
	s.Line(healthSourceOr(healthSource), containerd.Stderr, errText(err))
	s.Line("", containerd.Stderr, fmt.Sprintf("Failed after %s: startup health check never passed.", after.Round(time.Millisecond)))
}

// ContainerUnhealthy: the liveness check failed with err, logged under
// healthSource (HealthSourceName if empty).
func (s *Streamer) ContainerUnhealthy(healthSource string, err error) {
	s.Line(healthSourceOr(healthSource), containerd.Stderr, errText(err))
	s.Line("", containerd.Stderr, "Container became unhealthy")
}

// StartingReadinessMonitoring: the readiness checks begin.
func (s *Streamer) StartingReadinessMonitoring() {
	s.Line("", containerd.Stdout, "Starting readiness health monitoring of container")
}

// ReadinessCheckFailedToRun: the until-ready check could not run.
func (s *Streamer) ReadinessCheckFailedToRun() {
	s.Line("", containerd.Stdout, "Failed to run the readiness check")
}

// ContainerReady: the readiness check passed; the instance is routable.
func (s *Streamer) ContainerReady() {
	s.Line("", containerd.Stdout, "Container passed the readiness health check. Container marked ready and added to route pool.")
}

// ContainerNotReady: the readiness check failed; the instance is not
// routable.
func (s *Streamer) ContainerNotReady() {
	s.Line("", containerd.Stdout, "Container failed the readiness health check. Container marked not ready and removed from route pool.")
}

// NeverHealthyReason is the crash reason of an instance whose startup check
// gave up after the given time with err.
func NeverHealthyReason(after time.Duration, err error) string {
	return fmt.Sprintf("Instance never healthy after %s: %s", after.Round(time.Millisecond), errText(err))
}

// BecameUnhealthyReason is the crash reason of an instance whose liveness
// check failed with err.
func BecameUnhealthyReason(err error) string {
	return fmt.Sprintf("Instance became unhealthy: %s", errText(err))
}

func healthSourceOr(source string) string {
	if source == "" {
		return HealthSourceName
	}
	return source
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
