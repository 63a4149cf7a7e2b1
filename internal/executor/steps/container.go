package steps

import (
	"context"
	"io"
	"time"

	"github.com/diego-go/diego/internal/executor/containerd"
)

// Container is what steps need of a container.
type Container interface {
	// Run starts a process; its output lines go to spec.Output.
	Run(ctx context.Context, spec containerd.ProcessSpec) (Process, error)
	// StreamIn extracts a tar archive into the directory dst, as user.
	StreamIn(ctx context.Context, dst, user string, tarStream io.Reader) error
	// StreamOut returns a tar archive of src, read as user.
	StreamOut(ctx context.Context, src, user string) (io.ReadCloser, error)
}

// Process is a process started by Container.Run.
type Process interface {
	// Wait returns the exit status once the process has exited and its
	// output has been delivered.
	Wait(ctx context.Context) (containerd.ExitStatus, error)
	// Stop sends SIGTERM to the process and its descendants, SIGKILL after
	// grace, and returns the exit status; killed tells whether SIGKILL was
	// needed. It returns ctx's error if ctx ends first.
	Stop(ctx context.Context, grace time.Duration) (status containerd.ExitStatus, killed bool, err error)
}

// Logger receives the lines the steps log for the app: process output and
// the executor's messages. source is the action's log_source; "" is the
// container's default source name.
type Logger interface {
	Line(source string, stream containerd.Stream, text string)
}

// sourceNamer is a Logger that knows the container's default source name
// (logs.Streamer does).
type sourceNamer interface {
	SourceName() string
}

// DiscardLogger drops every line.
type DiscardLogger struct{}

// Line does nothing.
func (DiscardLogger) Line(string, containerd.Stream, string) {}

// FromContainerd adapts a containerd container to Container.
func FromContainerd(c *containerd.Container) Container { return containerdContainer{c} }

type containerdContainer struct{ c *containerd.Container }

var _ Container = containerdContainer{}

func (a containerdContainer) Run(ctx context.Context, spec containerd.ProcessSpec) (Process, error) {
	p, err := a.c.Run(ctx, spec)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (a containerdContainer) StreamIn(ctx context.Context, dst, user string, tarStream io.Reader) error {
	return a.c.StreamIn(ctx, dst, user, tarStream)
}

func (a containerdContainer) StreamOut(ctx context.Context, src, user string) (io.ReadCloser, error) {
	return a.c.StreamOut(ctx, src, user)
}

var _ Process = (*containerd.Process)(nil)
