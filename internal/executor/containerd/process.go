package containerd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"code.cloudfoundry.org/lager/v3"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"

	"github.com/diego-go/diego/internal/executor/rootfs"
)

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Stream tells stdout from stderr.
type Stream int

// The output streams of a process.
const (
	Stdout Stream = iota + 1
	Stderr
)

func (s Stream) String() string {
	if s == Stderr {
		return "stderr"
	}
	return "stdout"
}

// ProcessSpec is a process to run in a container.
type ProcessSpec struct {
	// ID names the process within its container (generated if empty).
	ID string
	// Path and Args are the command; Path is resolved in the container.
	Path string
	Args []string
	// Env (NAME=value) is added to the container's env, overriding it.
	Env []string
	// Dir is the working directory (the user's home if empty).
	Dir string
	// User is a name from the container's /etc/passwd or "uid[:gid]"
	// (root if empty).
	User string
	// NoFile overrides the container's RLIMIT_NOFILE.
	NoFile uint64
	// Output receives every line of stdout and stderr, without its line
	// ending (split on \n and \r); it is called from two goroutines, one per
	// stream. Nil discards the output.
	Output func(stream Stream, line string)
}

// ExitStatus is how a process ended.
type ExitStatus struct {
	// Code is the exit code; 128+n for a process killed by signal n.
	Code int
	// OOMKilled is set when the container's memory limit made the kernel
	// kill a process of it (Garden reports it per container, and so does
	// this: any process exiting after an OOM kill carries it).
	OOMKilled bool
}

// Process is a running or finished process in a container.
type Process struct {
	c      *Container
	id     string
	proc   client.Process
	done   chan struct{}
	status ExitStatus
	err    error
}

// ID returns the process's id within its container.
func (p *Process) ID() string { return p.id }

// Run starts a process in c. It returns once the process runs; its output
// flows to spec.Output until it exits.
func (c *Container) Run(ctx context.Context, spec ProcessSpec) (*Process, error) {
	if spec.Path == "" {
		return nil, fmt.Errorf("%w: process path is required", ErrInvalid)
	}
	user, err := rootfs.LookupUser(c.rootfsDir, spec.User)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	c.mu.Lock()
	if spec.ID == "" {
		c.nextExec++
		spec.ID = fmt.Sprintf("p%d", c.nextExec)
	}
	if _, dup := c.processes[spec.ID]; dup {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: process %s in %s", ErrAlreadyExists, spec.ID, c.id)
	}
	p := &Process{c: c, id: spec.ID, done: make(chan struct{})}
	c.processes[spec.ID] = p
	c.mu.Unlock()

	pspec := *c.spec.Process
	pspec.Args = append([]string{spec.Path}, spec.Args...)
	pspec.Env = mergeEnv([]string{defaultPath}, c.env, []string{"HOME=" + user.Home, "USER=" + user.Name}, spec.Env)
	pspec.Cwd = spec.Dir
	if pspec.Cwd == "" {
		pspec.Cwd = user.Home
	}
	pspec.User.UID, pspec.User.GID = user.UID, user.GID
	pspec.User.AdditionalGids = nil
	nofile := c.nofile
	if spec.NoFile > 0 {
		nofile = spec.NoFile
	}
	pspec.Rlimits = setNoFile(pspec.Rlimits, nofile)

	stdout, stderr := newLineWriter(Stdout, spec.Output), newLineWriter(Stderr, spec.Output)
	ioCreator := cio.NewCreator(cio.WithStreams(nil, stdout, stderr), cio.WithFIFODir(c.b.cfg.StateDir))

	ctx = c.b.nsCtx(ctx)
	fail := func(err error) (*Process, error) {
		c.mu.Lock()
		delete(c.processes, spec.ID)
		c.mu.Unlock()
		return nil, err
	}
	proc, err := c.task.Exec(ctx, spec.ID, &pspec, ioCreator)
	if err != nil {
		return fail(fmt.Errorf("exec in %s: %w", c.id, err))
	}
	// The wait outlives ctx: it ends when the process does.
	exited, err := proc.Wait(c.b.nsCtx(context.Background()))
	if err != nil {
		_, _ = proc.Delete(ctx)
		return fail(err)
	}
	if err := proc.Start(ctx); err != nil {
		_, _ = proc.Delete(ctx)
		return fail(fmt.Errorf("starting %s in %s: %w", spec.Path, c.id, err))
	}
	p.proc = proc
	go p.finish(exited, stdout, stderr)
	return p, nil
}

// finish waits for the exit, drains the output (bounded: children may keep
// the pipes open), removes the exec from the task and records the status.
func (p *Process) finish(exited <-chan client.ExitStatus, writers ...*lineWriter) {
	defer close(p.done)
	defer func() {
		p.c.mu.Lock()
		delete(p.c.processes, p.id)
		p.c.mu.Unlock()
	}()
	st := <-exited
	code, _, err := st.Result()
	pio := p.proc.IO()
	drained := make(chan struct{})
	go func() { pio.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(p.c.b.cfg.IODrainTimeout):
		p.c.b.logger.Info("output-not-drained", lager.Data{"container": p.c.id, "process": p.id})
		pio.Cancel()
		_ = pio.Close() // unblocks the copies
		<-drained
	}
	for _, w := range writers {
		w.flush()
	}
	ctx, cancel := context.WithTimeout(p.c.b.nsCtx(context.Background()), deleteTimeout)
	defer cancel()
	if _, derr := p.proc.Delete(ctx); derr != nil {
		_ = pio.Close()
	}
	p.status.Code = int(code)
	if err != nil {
		p.err = fmt.Errorf("waiting for %s in %s: %w", p.id, p.c.id, err)
		return
	}
	if oom, err := p.c.OOMKilled(ctx); err == nil {
		p.status.OOMKilled = oom
	}
}

// Wait returns the exit status once p has exited and its output has been
// delivered.
func (p *Process) Wait(ctx context.Context) (ExitStatus, error) {
	select {
	case <-p.done:
		return p.status, p.err
	case <-ctx.Done():
		return ExitStatus{}, ctx.Err()
	}
}

// Signal sends sig to p (not to its children).
func (p *Process) Signal(ctx context.Context, sig syscall.Signal) error {
	err := p.proc.Kill(p.c.b.nsCtx(ctx), sig)
	if errdefs.IsNotFound(err) {
		return nil // already gone
	}
	return err
}

// Stop sends SIGTERM to p and its descendants, and SIGKILL if p has not
// exited after grace; it returns p's exit status. Killed reports whether
// SIGKILL was needed.
func (p *Process) Stop(ctx context.Context, grace time.Duration) (status ExitStatus, killed bool, err error) {
	p.signalTree(ctx, syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		return p.status, false, p.err
	case <-ctx.Done():
		return ExitStatus{}, false, ctx.Err()
	case <-timer.C:
	}
	p.signalTree(ctx, syscall.SIGKILL)
	status, err = p.Wait(ctx)
	return status, true, err
}

// signalTree signals p through containerd and every descendant of it
// directly (a process group would be Garden's way; exec'd processes here do
// not get their own).
func (p *Process) signalTree(ctx context.Context, sig syscall.Signal) {
	// The tree is read before the parent dies (its children are then
	// reparented to the container's init), and the parent is signalled
	// first (a child dying first could let it run on).
	tree := descendants(int(p.proc.Pid()))
	_ = p.Signal(ctx, sig)
	for _, pid := range tree {
		_ = syscall.Kill(pid, sig)
	}
}

// descendants returns the pids whose parent chain leads to pid, from /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, s := range stats {
		b, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		end := strings.LastIndexByte(string(b), ')')
		if end < 0 {
			continue
		}
		var child, ppid int
		var state string
		if _, err := fmt.Sscanf(string(b[:strings.IndexByte(string(b), ' ')]), "%d", &child); err != nil {
			continue
		}
		if _, err := fmt.Sscanf(string(b[end+1:]), " %s %d", &state, &ppid); err != nil {
			continue
		}
		children[ppid] = append(children[ppid], child)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		for _, ch := range children[next] {
			out = append(out, ch)
			queue = append(queue, ch)
		}
	}
	return out
}

// mergeEnv merges lists of NAME=value, later lists overriding earlier ones,
// keeping the order of first appearance.
func mergeEnv(lists ...[]string) []string {
	index := map[string]int{}
	var out []string
	for _, list := range lists {
		for _, kv := range list {
			name, _, _ := strings.Cut(kv, "=")
			if i, ok := index[name]; ok {
				out[i] = kv
				continue
			}
			index[name] = len(out)
			out = append(out, kv)
		}
	}
	return out
}
