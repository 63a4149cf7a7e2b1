package steps_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diego-go/diego/internal/executor/containerd"
	"github.com/diego-go/diego/internal/executor/steps"
)

// behavior is how a fake process acts.
type behavior struct {
	output []string      // stdout lines, written first
	stderr []string      // then stderr lines
	exit   int           // its exit code when it ends by itself
	until  chan struct{} // it ends by itself when closed; nil = at once
	block  bool          // it never ends by itself
	// ignoreTerm: SIGTERM does nothing (SIGKILL is needed); unkillable:
	// SIGKILL does nothing either.
	ignoreTerm, unkillable bool
	oom                    bool
}

// fakeContainer runs fake processes whose behavior its script decides.
type fakeContainer struct {
	script func(spec containerd.ProcessSpec) behavior
	runErr error

	mu    sync.Mutex
	procs []*fakeProc

	streamIn     func(dst, user string, r io.Reader) error
	streamOut    func(src, user string) (io.ReadCloser, error)
	streamedIn   map[string]string // dst/name -> content
	streamedUser string
}

var _ steps.Container = (*fakeContainer)(nil)

func (c *fakeContainer) Run(_ context.Context, spec containerd.ProcessSpec) (steps.Process, error) {
	if c.runErr != nil {
		return nil, c.runErr
	}
	b := behavior{}
	if c.script != nil {
		b = c.script(spec)
	}
	p := &fakeProc{spec: spec, b: b, done: make(chan struct{}), term: make(chan struct{})}
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	go p.live()
	return p, nil
}

// StreamIn keeps the regular files of the archive.
func (c *fakeContainer) StreamIn(_ context.Context, dst, user string, r io.Reader) error {
	if c.streamIn != nil {
		return c.streamIn(dst, user, r)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.streamedIn == nil {
		c.streamedIn = map[string]string{}
	}
	c.streamedUser = user
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		c.streamedIn[dst+"/"+hdr.Name] = string(b)
	}
}

func (c *fakeContainer) StreamOut(_ context.Context, src, user string) (io.ReadCloser, error) {
	if c.streamOut != nil {
		return c.streamOut(src, user)
	}
	return nil, errors.New("no such file")
}

// started returns the specs of the processes started so far.
func (c *fakeContainer) started() []containerd.ProcessSpec {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []containerd.ProcessSpec
	for _, p := range c.procs {
		out = append(out, p.spec)
	}
	return out
}

// running returns the paths of the processes that have not exited.
func (c *fakeContainer) running() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, p := range c.procs {
		select {
		case <-p.done:
		default:
			out = append(out, p.spec.Path)
		}
	}
	return out
}

type fakeProc struct {
	spec     containerd.ProcessSpec
	b        behavior
	done     chan struct{}
	exitOnce sync.Once
	status   containerd.ExitStatus
	term     chan struct{}
	termOnce sync.Once
}

func (p *fakeProc) live() {
	for _, l := range p.b.output {
		if p.spec.Output != nil {
			p.spec.Output(containerd.Stdout, l)
		}
	}
	for _, l := range p.b.stderr {
		if p.spec.Output != nil {
			p.spec.Output(containerd.Stderr, l)
		}
	}
	if p.b.block || p.b.until != nil {
		select {
		case <-p.b.until: // a nil channel blocks
		case <-p.term:
			if p.b.ignoreTerm {
				<-p.done // until killed
				return
			}
			p.exit(143)
			return
		}
	}
	p.exit(p.b.exit)
}

func (p *fakeProc) exit(code int) {
	p.exitOnce.Do(func() {
		p.status = containerd.ExitStatus{Code: code, OOMKilled: p.b.oom}
		close(p.done)
	})
}

func (p *fakeProc) Wait(ctx context.Context) (containerd.ExitStatus, error) {
	select {
	case <-p.done:
		return p.status, nil
	case <-ctx.Done():
		return containerd.ExitStatus{}, ctx.Err()
	}
}

func (p *fakeProc) Stop(ctx context.Context, grace time.Duration) (containerd.ExitStatus, bool, error) {
	p.termOnce.Do(func() { close(p.term) })
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return p.status, false, nil
	case <-t.C:
	}
	if p.b.unkillable {
		<-ctx.Done()
		return containerd.ExitStatus{}, false, ctx.Err()
	}
	p.exit(137)
	return p.status, true, nil
}

// fakeLog records lines as "source|stdout|text".
type fakeLog struct {
	mu    sync.Mutex
	lines []string
	name  string // SourceName, when not empty
}

func (l *fakeLog) Line(source string, stream containerd.Stream, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, source+"|"+stream.String()+"|"+text)
}

func (l *fakeLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

func (l *fakeLog) has(line string) bool { return slices.Contains(l.get(), line) }

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// started is a run of a step in the background.
type started struct {
	ready chan struct{}
	done  chan error
}

func start(ctx context.Context, s steps.Step) *started {
	r := &started{ready: make(chan struct{}), done: make(chan error, 1)}
	var once sync.Once
	go func() {
		r.done <- s.Run(ctx, func() { once.Do(func() { close(r.ready) }) })
	}()
	return r
}

func (r *started) isReady() bool {
	select {
	case <-r.ready:
		return true
	default:
		return false
	}
}

func (r *started) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("step did not end")
		return nil
	}
}

func (r *started) ended() bool {
	select {
	case err := <-r.done:
		r.done <- err
		return true
	default:
		return false
	}
}

// tarOf makes a tar archive of name → content.
func tarOf(t *testing.T, files ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		if err := tw.WriteHeader(&tar.Header{Name: files[i], Mode: 0o644, Size: int64(len(files[i+1])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, files[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func hasPrefixLine(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var _ = fmt.Sprintf
