// Package memory is an executor backend whose containers exist only in
// memory and whose processes are simulated: diego-bench runs hundreds of
// cells on one machine with it. Nothing else may use it.
//
// A simulated process runs until it is stopped, unless Config.Behave says
// otherwise; health check processes (startup and until-ready checks) pass
// at once, liveness and readiness checks run until stopped. StreamIn keeps
// the regular files of the archive, StreamOut returns one of them.
package memory

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/diego-go/diego/internal/executor"
	"github.com/diego-go/diego/internal/executor/containerd"
	"github.com/diego-go/diego/internal/executor/network"
	"github.com/diego-go/diego/internal/executor/steps"
)

// Behaviour is what a simulated process does.
type Behaviour struct {
	// Output lines are written to stdout when the process starts.
	Output []string
	// Exit, when set, ends the process after ExitAfter with ExitCode.
	Exit      bool
	ExitAfter time.Duration
	ExitCode  int
}

// Config configures a Backend.
type Config struct {
	// Capacity is the cell's capacity.
	Capacity executor.Resources
	// HostIP is the cell's address (127.0.0.1 if empty).
	HostIP string
	// FirstHostPort is the first host port handed out (61000 if 0).
	FirstHostPort uint16
	// CreateDelay and DestroyDelay simulate the runtime's latency.
	CreateDelay, DestroyDelay time.Duration
	// Behave picks what a process does (nil = DefaultBehaviour).
	Behave func(guid string, spec containerd.ProcessSpec) Behaviour
}

// DefaultBehaviour: startup and until-ready health checks pass at once;
// everything else runs until stopped.
func DefaultBehaviour(_ string, spec containerd.ProcessSpec) Behaviour {
	for _, a := range spec.Args {
		if strings.HasPrefix(a, "-startup-interval") || strings.HasPrefix(a, "-until-ready-interval") {
			return Behaviour{Exit: true}
		}
	}
	return Behaviour{}
}

// Backend is an in-memory executor.Backend.
type Backend struct {
	cfg Config

	mu         sync.Mutex
	containers map[string]*Container
	nextPort   uint16
	nextIP     uint32
}

var _ executor.Backend = (*Backend)(nil)

// New returns an empty backend.
func New(cfg Config) *Backend {
	if cfg.HostIP == "" {
		cfg.HostIP = "127.0.0.1"
	}
	if cfg.FirstHostPort == 0 {
		cfg.FirstHostPort = 61000
	}
	if cfg.Behave == nil {
		cfg.Behave = DefaultBehaviour
	}
	return &Backend{cfg: cfg, containers: map[string]*Container{}, nextPort: cfg.FirstHostPort, nextIP: 2}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Create makes a simulated container.
func (b *Backend) Create(ctx context.Context, spec executor.Spec) (executor.BackendContainer, error) {
	b.mu.Lock()
	delay := b.cfg.CreateDelay
	b.mu.Unlock()
	if err := sleep(ctx, delay); err != nil {
		return nil, err
	}
	if spec.RootFS == "" {
		return nil, errors.New("memory: no rootfs")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.containers[spec.Guid]; ok {
		return nil, fmt.Errorf("memory: container %q: %w", spec.Guid, containerd.ErrAlreadyExists)
	}
	ip := b.nextIP
	b.nextIP++
	c := &Container{
		b:       b,
		guid:    spec.Guid,
		env:     slices.Clone(spec.Env),
		files:   map[string][]byte{},
		procs:   map[*process]struct{}{},
		created: time.Now(),
	}
	c.net.ExternalIP = b.cfg.HostIP
	c.net.InternalIP = fmt.Sprintf("10.%d.%d.%d", 254-(ip>>16)&0xff, (ip>>8)&0xff, ip&0xff)
	seen := map[uint32]bool{}
	for _, p := range spec.Ports {
		if seen[p] {
			continue
		}
		seen[p] = true
		c.net.Ports = append(c.net.Ports, executor.PortMapping{ContainerPort: uint16(p), HostPort: b.nextPort})
		b.nextPort++
		if b.nextPort < b.cfg.FirstHostPort {
			b.nextPort = b.cfg.FirstHostPort
		}
	}
	c.net.Env = network.InstanceEnv(c.net.ExternalIP, c.net.InternalIP, "", c.net.Ports)
	b.containers[spec.Guid] = c
	return c, nil
}

// Destroy stops a container's processes and forgets it.
func (b *Backend) Destroy(ctx context.Context, guid string) error {
	if err := sleep(ctx, b.cfg.DestroyDelay); err != nil {
		return err
	}
	b.mu.Lock()
	c, ok := b.containers[guid]
	delete(b.containers, guid)
	b.mu.Unlock()
	if ok {
		c.killAll()
	}
	return nil
}

// List returns the containers' guids.
func (b *Backend) List(context.Context) ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]string, 0, len(b.containers))
	for guid := range b.containers {
		out = append(out, guid)
	}
	slices.Sort(out)
	return out, nil
}

// Cleanup forgets every container.
func (b *Backend) Cleanup(context.Context) error {
	b.mu.Lock()
	all := b.containers
	b.containers = map[string]*Container{}
	b.mu.Unlock()
	for _, c := range all {
		c.killAll()
	}
	return nil
}

// Capacity is the configured capacity.
func (b *Backend) Capacity(context.Context) (executor.Resources, error) { return b.cfg.Capacity, nil }

// BulkMetrics returns zero usage for each container that exists.
func (b *Backend) BulkMetrics(_ context.Context, guids []string) map[string]executor.Metrics {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]executor.Metrics{}
	for _, guid := range guids {
		if c, ok := b.containers[guid]; ok {
			out[guid] = executor.Metrics{Age: time.Since(c.created)}
		}
	}
	return out
}

// Container is a simulated container.
type Container struct {
	b       *Backend
	guid    string
	env     []string
	net     executor.NetInfo
	created time.Time

	mu    sync.Mutex
	files map[string][]byte
	procs map[*process]struct{}
	dead  bool
}

var _ executor.BackendContainer = (*Container)(nil)

// Net is the simulated network.
func (c *Container) Net() executor.NetInfo { return c.net }

// Failure is always nil.
func (c *Container) Failure() error { return nil }

// Run starts a simulated process.
func (c *Container) Run(ctx context.Context, spec containerd.ProcessSpec) (steps.Process, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	beh := c.b.cfg.Behave(c.guid, spec)
	p := &process{done: make(chan struct{}), kill: make(chan int, 1)}
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return nil, fmt.Errorf("memory: container %q: %w", c.guid, containerd.ErrNotFound)
	}
	c.procs[p] = struct{}{}
	c.mu.Unlock()
	go func() {
		for _, line := range beh.Output {
			if spec.Output != nil {
				spec.Output(containerd.Stdout, line)
			}
		}
		var exit <-chan time.Time
		if beh.Exit {
			t := time.NewTimer(beh.ExitAfter)
			defer t.Stop()
			exit = t.C
		}
		code := beh.ExitCode
		select {
		case <-exit:
		case code = <-p.kill:
		}
		c.mu.Lock()
		delete(c.procs, p)
		c.mu.Unlock()
		p.status = containerd.ExitStatus{Code: code}
		close(p.done)
	}()
	return p, nil
}

func (c *Container) killAll() {
	c.mu.Lock()
	c.dead = true
	procs := c.procs
	c.procs = map[*process]struct{}{}
	c.mu.Unlock()
	for p := range procs {
		p.signal(128 + int(syscall.SIGKILL))
	}
}

// StreamIn keeps the archive's regular files under dst.
func (c *Container) StreamIn(_ context.Context, dst, _ string, tarStream io.Reader) error {
	tr := tar.NewReader(tarStream)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.files[path.Join("/", dst, h.Name)] = data
		c.mu.Unlock()
	}
}

// StreamOut returns a tar archive holding the file src.
func (c *Container) StreamOut(_ context.Context, src, _ string) (io.ReadCloser, error) {
	c.mu.Lock()
	data, ok := c.files[path.Clean("/"+src)]
	c.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("memory: %s: %w", src, containerd.ErrNotFound)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: path.Base(src), Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return io.NopCloser(&buf), nil
}

type process struct {
	done   chan struct{}
	kill   chan int
	status containerd.ExitStatus
}

func (p *process) signal(code int) {
	select {
	case p.kill <- code:
	default:
	}
}

func (p *process) Wait(ctx context.Context) (containerd.ExitStatus, error) {
	select {
	case <-p.done:
		return p.status, nil
	case <-ctx.Done():
		return containerd.ExitStatus{}, ctx.Err()
	}
}

// Stop ends the process as if it honoured SIGTERM.
func (p *process) Stop(ctx context.Context, _ time.Duration) (containerd.ExitStatus, bool, error) {
	p.signal(128 + int(syscall.SIGTERM))
	st, err := p.Wait(ctx)
	return st, false, err
}

// Get returns a container, nil if there is none.
func (b *Backend) Get(guid string) *Container {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.containers[guid]
}

// SetCreateDelay changes the simulated creation latency.
func (b *Backend) SetCreateDelay(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cfg.CreateDelay = d
}

// Forget drops a container without stopping its processes: a runtime that
// lost it (the executor's reaper must notice).
func (b *Backend) Forget(guid string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.containers, guid)
}
